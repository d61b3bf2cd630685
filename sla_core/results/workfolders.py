"""The app's temporary work folders, and the file names it derives from what teachers type.

Each running app claims one run folder under `default_work_base()` (the system temp dir,
`sla-app-<uid>/run-<pid>-<random>`), holding everything it writes outside the results store:
gradio's upload cache (main points GRADIO_TEMP_DIR there), unpacked uploads and the downloads it
serves. The folder's `owner.lock` holds the process id and is locked (flock) while that process lives.
At start-up every run folder whose lock nobody holds (its process is gone: a crash, kill -9, a
restart) is deleted; folders of another running instance are never touched. `python -m sla_core
delete` reaches into all of them to remove a deleted learner's copies.

A name may be 20,000 characters long or hostile ("../..", NUL, newlines): it is stored whole, but a
file name made from it goes through `safe_file_name` (letters, digits, '-' and '_', at most
NAME_CHARS characters, plus a short digest when it had to be cut, so two long names stay apart).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = "owner.lock"
RUN_PREFIX = "run-"
STAGING_PREFIX = ".new-"  # a run folder being made (locked, then renamed); one left behind by a crash is purged
NAME_CHARS = 60  # characters of a name kept in a file name; file systems allow 255 bytes per name
DOWNLOADS = "sla-downloads"  # the folder (inside gradio's upload cache) of the files a teacher downloads


def default_work_base(env: dict[str, str] | None = None) -> Path:
    """$SLA_WORK_DIR, else <system temp dir>/sla-app-<uid>: where every app run keeps its folder."""
    env = os.environ if env is None else env
    if env.get("SLA_WORK_DIR"):
        return Path(env["SLA_WORK_DIR"]).expanduser()
    return Path(tempfile.gettempdir()) / f"sla-app-{os.getuid()}"


def safe_file_name(text: str | None, default: str = "file", limit: int = NAME_CHARS) -> str:
    """A file-name stem made from `text`: ASCII letters and digits (accents dropped), '-' and '_', at most
    `limit` characters, never empty, never a dot name; a cut name ends with 8 hex digits of the whole."""
    text = str(text or "")
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in plain).strip("_") or default
    if len(stem) > limit:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem = f"{stem[:limit - 9]}_{digest}"
    return stem


def session_download_dir(downloads: Path, db_path: str | Path, session_id: int) -> Path:
    """Where one session's downloads go: `<downloads>/s<session>-<database key>/`; the CLI finds them there."""
    key = hashlib.sha256(str(Path(db_path).expanduser().resolve()).encode()).hexdigest()[:12]
    return Path(downloads) / f"s{int(session_id)}-{key}"


class RunFolder:
    """This process's work folder, locked for as long as the process lives (see the module docstring)."""

    def __init__(self, base: str | Path | None = None) -> None:
        self.base = Path(base) if base is not None else default_work_base()
        _private(self.base)
        self.purged = purge_stale_runs(self.base)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        staging = self.base / f"{STAGING_PREFIX}{name}"  # locked before it carries the run prefix: no purge can race it
        _private(staging)
        fd = os.open(staging / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh file: nobody else can hold it
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd  # kept open: the lock lasts until this process ends, however it ends
        self.path = self.base / f"{RUN_PREFIX}{name}"
        staging.rename(self.path)

    def close(self) -> None:
        """Remove the folder (a clean shutdown); a crash leaves it to the next start's purge."""
        shutil.rmtree(self.path, ignore_errors=True)
        try:
            os.close(self._fd)
        except OSError:
            pass


def run_folders(base: str | Path | None = None) -> Iterator[Path]:
    """Every run folder under `base` (default: default_work_base()), live or not."""
    base = Path(base) if base is not None else default_work_base()
    if base.is_dir():
        yield from sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith((RUN_PREFIX, STAGING_PREFIX)))


def owner_alive(folder: Path) -> bool:
    """Whether a live process holds the folder's lock (a folder without a lock file has no owner)."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True  # held: its process is running
    finally:
        os.close(fd)  # closing drops a lock we took
    return False


def purge_stale_runs(base: str | Path | None = None) -> list[Path]:
    """Delete the run folders whose owning process is gone; returns them. Live ones are left alone."""
    gone = [folder for folder in run_folders(base) if not owner_alive(folder)]
    for folder in gone:
        shutil.rmtree(folder, ignore_errors=True)
        log.info("removed the work folder of an earlier run: %s", folder)
    return gone


def _private(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        path.chmod(0o700)
    except PermissionError:
        pass


__all__ = ["DOWNLOADS", "NAME_CHARS", "RunFolder", "default_work_base", "owner_alive", "purge_stale_runs",
           "run_folders", "safe_file_name", "session_download_dir"]
