"""The files a teacher downloads - a session's CSV, a learner's JSON, a kept recording to play - served
only to that teacher, and only for DOWNLOAD_SECONDS.

Gradio serves any file in its upload folder at `/gradio_api/file=<path>` to whoever asks (with login: any
teacher). So each download is written (or copied) into `<gradio upload folder>/sla-downloads/`, where gradio
serves it without making a copy of its own, and registered here with its owner; the server's file guard
(`file_guard.FileGuard`) answers a request for it only when the requester is that owner and the link is
younger than DOWNLOAD_SECONDS, and deletes it after that. One folder per session
(`workfolders.session_download_dir`), so deleting a learner or a session removes its downloads too.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..results.workfolders import DOWNLOADS, safe_file_name, session_download_dir

DOWNLOAD_SECONDS = 600.0  # s a download link works; the page makes a fresh one each time it shows the file


class Downloads:
    """Registered download files: path -> (owner, made at)."""

    def __init__(self, upload_folder: str | Path, db_path: str | Path, seconds: float = DOWNLOAD_SECONDS) -> None:
        self.root = Path(upload_folder) / DOWNLOADS
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db_path, self.seconds = Path(db_path), seconds
        self._files: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def covers(self, path: str | Path) -> bool:
        """Whether `path` lies in the downloads folder (a download, or one that is gone)."""
        return os.path.realpath(str(path)).startswith(os.path.realpath(self.root) + os.sep)

    def new(self, owner: str, session_id: int, name: str, suffix: str) -> Path:
        """A fresh path for one download of `owner`'s session, registered; the caller writes the file."""
        self.sweep()
        folder = session_download_dir(self.root, self.db_path, session_id) / secrets.token_hex(8)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{safe_file_name(name)}{suffix}"
        with self._lock:
            self._files[os.path.realpath(path)] = (owner or "", time.time())
        return path

    def write(self, owner: str, session_id: int, name: str, suffix: str, make: Callable[[Path], object]) -> str:
        """`make(path)` writes the download; returns its path (owner-only file)."""
        path = self.new(owner, session_id, name, suffix)
        make(path)
        path.chmod(0o600)
        return str(path)

    def copy(self, owner: str, session_id: int, source: str | Path, name: str) -> str:
        """A copy of `source` (a kept recording) to download or play."""
        return self.write(owner, session_id, name, Path(source).suffix.lower(),
                          lambda path: shutil.copyfile(source, path))

    def may_read(self, path: str | Path, user: str) -> bool:
        """Whether `user` ("" without login) may fetch `path` now; an expired download is deleted."""
        key = os.path.realpath(str(path))
        with self._lock:
            got = self._files.get(key)
        if got is None:
            return False
        owner, made = got
        if time.time() - made > self.seconds:
            self._drop(key)
            return False
        return owner == (user or "")

    def sweep(self) -> None:
        """Delete expired downloads."""
        now = time.time()
        with self._lock:
            old = [k for k, (_, made) in self._files.items() if now - made > self.seconds]
        for key in old:
            self._drop(key)

    def _drop(self, key: str) -> None:
        with self._lock:
            self._files.pop(key, None)
        shutil.rmtree(Path(key).parent, ignore_errors=True)  # the download's own folder


__all__ = ["DOWNLOAD_SECONDS", "Downloads"]
