"""Local SQLite store of assessment sessions, so a teacher's results survive a crash, a refresh or a restart.

Each learner's Assessment is written (and committed) the moment it is computed, before the app shows
it; a session (a class, or a day of individual assessments) groups them. The result itself is kept as
`Assessment.to_json()`, so every number the page showed can be reloaded exactly; a few columns are
copied out of it only for listing and sorting.

The recordings behind a result are copied next to the database (`<db name>_audio/<session>/<result>/`)
when `add` is given them, so a past class can be used later, e.g. to calibrate to the teacher's marks
(uploads otherwise live only in temporary folders). Deleting a learner or a session deletes them, and
`purge_recordings` applies the retention setting (keep N days, or do not keep at all).

Every session belongs to an owner (a teacher's login; "" when the app runs without login). A store
bound to an owner (`as_owner`) sees and changes only that owner's sessions, results, recordings and
settings: asking for another owner's session id is the same KeyError as asking for one that does not
exist. An unbound store (owner None: the CLI, run by the machine's own user) sees everything.
The database, its recordings and their folders are created owner-only (0600 / 0700).

One connection per call: the app's handlers run in worker threads, and SQLite connections must not be
shared across threads. WAL mode lets a reader list sessions while a class is being written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..assessment import Assessment
from ..paths import DATA, default_folder
from .export import ExportContext, write_csv

log = logging.getLogger(__name__)

DB_NAME = "results.sqlite"
SESSION_KINDS = ("class", "single")
FILE_MODE, DIR_MODE = 0o600, 0o700  # owner-only: children's voices and names

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    learner TEXT NOT NULL DEFAULT '',
    overall REAL,
    graded INTEGER NOT NULL,
    created TEXT NOT NULL,
    assessment TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_session ON results(session_id, id);
CREATE TABLE IF NOT EXISTS settings (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE TABLE IF NOT EXISTS session_plan (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    learner TEXT NOT NULL,
    files TEXT NOT NULL,
    PRIMARY KEY (session_id, position)
);
CREATE TABLE IF NOT EXISTS result_audio (
    result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
    part INTEGER NOT NULL,
    answer INTEGER NOT NULL,
    path TEXT NOT NULL,
    PRIMARY KEY (result_id, part, answer)
);
"""


def default_db_path(env: dict[str, str] | None = None) -> Path:
    """$SLA_DB, else $SLA_DATA_DIR/results.sqlite, else ~/.local/share/sla-demo/results.sqlite (XDG)."""
    env = os.environ if env is None else env
    if env.get("SLA_DB"):
        return Path(env["SLA_DB"]).expanduser()
    return default_folder(DATA, env=env) / DB_NAME


@dataclass(frozen=True)
class SessionInfo:
    """One saved session as listed: enough to pick it from a dropdown."""

    id: int
    name: str
    kind: str  # "class" | "single"
    source: str  # what was uploaded (file names), for the teacher's memory
    created: str  # ISO 8601, UTC
    n_results: int
    owner: str = ""  # the teacher's login ("" without login)


@dataclass(frozen=True)
class PlannedFile:
    """One answer file of a planned learner: its content hash, and the store's copy if one was kept."""

    part: int
    answer: int  # 1-based
    name: str  # the uploaded file's name, to ask for it again
    sha256: str
    kept: Path | None = None  # the copy in the store's audio folder (None: not kept, or purged)


@dataclass(frozen=True)
class PlannedLearner:
    """A learner a class run set out to assess, and whether a result for them is saved."""

    learner: str
    files: tuple[PlannedFile, ...]
    done: bool


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class ResultStore:
    """Sessions and their assessments in one SQLite file (created on first use, owner-only)."""

    def __init__(self, path: str | Path | None = None, *, owner: str | None = None, keep_audio: bool = True) -> None:
        """
        Args:
            owner: bind the store to one teacher (see the module docstring); None sees every owner.
            keep_audio: False = the retention setting "do not keep recordings": `add` copies none.
        """
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.audio_dir = self.path.with_name(f"{self.path.stem}_audio")  # kept recordings, relative paths below
        self.owner, self.keep_audio = owner, keep_audio
        _private_dir(self.path.parent)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            if "owner" not in {row[1] for row in db.execute("PRAGMA table_info(sessions)")}:
                db.execute("ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT ''")  # stores from before login
        for suffix in ("", "-wal", "-shm"):
            extra = Path(f"{self.path}{suffix}")
            if extra.exists():
                extra.chmod(FILE_MODE)

    def as_owner(self, owner: str) -> "ResultStore":
        """The same file, seen by one teacher only."""
        bound = copy.copy(self)
        bound.owner = owner
        return bound

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:  # commits on success, rolls back on error
                yield db
        finally:
            db.close()

    def _mine(self, alias: str = "") -> tuple[str, tuple]:
        """SQL condition (and its parameter) limiting sessions to this store's owner; always true when unbound."""
        column = f"{alias}.owner" if alias else "owner"
        return ("1", ()) if self.owner is None else (f"{column} = ?", (self.owner,))

    def new_session(self, name: str, kind: str = "class", source: str = "") -> int:
        """Create a session (owned by this store's owner) and return its id."""
        if kind not in SESSION_KINDS:
            raise ValueError(f"session kind {kind!r} is not one of {SESSION_KINDS}")
        name = name.strip() or "Untitled session"
        with self._connect() as db:
            cur = db.execute("INSERT INTO sessions (name, kind, source, created, owner) VALUES (?, ?, ?, ?, ?)",
                             (name, kind, source, _now(), self.owner or ""))
            return int(cur.lastrowid)

    def session_named(self, name: str, kind: str = "single") -> int:
        """The id of the newest session with this name and kind, created when there is none (e.g. one per day)."""
        mine, args = self._mine()
        with self._connect() as db:
            row = db.execute(f"SELECT id FROM sessions WHERE name = ? AND kind = ? AND {mine} ORDER BY id DESC LIMIT 1",
                             (name, kind, *args)).fetchone()
        return int(row[0]) if row else self.new_session(name, kind)

    def add(self, session_id: int, assessment: Assessment,
            audio: Mapping[int, Sequence[str | Path | None]] | None = None) -> int:
        """Save one learner's result now (committed before returning); returns the result id.

        Args:
            audio: part -> the answer files it was assessed from; copied into the store's audio folder
                (owner-only) unless the store keeps no recordings. A file that cannot be copied is left
                out (logged): the result itself is never lost.
        """
        self.session(session_id)  # KeyError for a session that is not this owner's
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO results (session_id, learner, overall, graded, created, assessment) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, assessment.learner or "", assessment.overall, int(assessment.graded), _now(),
                 assessment.to_json(indent=None)),
            )
            result_id = int(cur.lastrowid)
            for part, files in (audio or {}).items() if self.keep_audio else ():
                for answer, source in enumerate(f for f in files if f):
                    rel = Path(str(session_id), str(result_id), f"part{part}_{answer + 1}{Path(source).suffix.lower()}")
                    try:
                        for folder in (self.audio_dir, self.audio_dir / rel.parts[0], self.audio_dir / rel.parent):
                            _private_dir(folder)
                        shutil.copyfile(source, self.audio_dir / rel)
                        (self.audio_dir / rel).chmod(FILE_MODE)
                    except OSError as e:
                        log.warning("could not keep %s for result %d: %s", source, result_id, e)
                        continue
                    db.execute("INSERT INTO result_audio (result_id, part, answer, path) VALUES (?, ?, ?, ?)",
                               (result_id, int(part), answer + 1, rel.as_posix()))
            return result_id

    def plan(self, session_id: int, learners: Sequence[tuple[str, Mapping[int, Sequence[str | Path]]]]) -> None:
        """Record, before a class run starts, every learner it will assess and their files' content hashes,
        keeping a copy of each file (unless the store keeps no recordings): an interrupted run can then
        show expected vs done and be resumed on exactly the learners not yet done (`planned`).

        Args:
            learners: (learner, {part: answer files in order}) in the order they will be assessed.
        """
        self.session(session_id)
        with self._connect() as db:
            db.execute("DELETE FROM session_plan WHERE session_id = ?", (session_id,))
            for position, (learner, parts) in enumerate(learners):
                files = []
                for part, paths in sorted(parts.items()):
                    for answer, source in enumerate(paths, start=1):
                        kept = self._keep(source, Path(str(session_id), "plan", str(position),
                                                       f"part{part}_{answer}{Path(source).suffix.lower()}"))
                        files.append({"part": int(part), "answer": answer, "name": Path(source).name,
                                      "sha256": file_sha256(source), "kept": kept})
                db.execute("INSERT INTO session_plan (session_id, position, learner, files) VALUES (?, ?, ?, ?)",
                           (session_id, position, learner, json.dumps(files)))

    def planned(self, session_id: int) -> list[PlannedLearner]:
        """The learners a class run set out to assess, in order, each marked done when a result of that
        name is saved in the session; [] for a session saved without a plan (before plans were kept)."""
        self.session(session_id)
        with self._connect() as db:
            rows = db.execute("SELECT learner, files FROM session_plan WHERE session_id = ? ORDER BY position",
                              (session_id,)).fetchall()
            done = {name for (name,) in db.execute("SELECT learner FROM results WHERE session_id = ?", (session_id,))}
        out = []
        for learner, files in rows:
            planned = tuple(PlannedFile(f["part"], f["answer"], f["name"], f["sha256"],
                                        self.audio_dir / f["kept"] if f["kept"] and (self.audio_dir / f["kept"]).is_file()
                                        else None) for f in json.loads(files))
            out.append(PlannedLearner(learner, planned, learner in done))
        return out

    def release_plan(self, session_id: int, learner: str) -> None:
        """Delete the plan's copies of a learner now assessed: their result keeps its own (or, by the
        retention setting, none); the hashes stay, so the plan still says who was expected."""
        with self._connect() as db:
            rows = db.execute("SELECT position, files FROM session_plan WHERE session_id = ? AND learner = ?",
                              (session_id, learner)).fetchall()
            for position, files in rows:
                self._drop_plan_copies(db, session_id, position, files)
        for position, _ in rows:
            shutil.rmtree(self.audio_dir / str(session_id) / "plan" / str(position), ignore_errors=True)

    def _drop_plan_copies(self, db, session_id: int, position: int, files_json: str) -> None:
        """Delete one plan row's kept recordings and record that they are gone (the content hashes stay)."""
        files = json.loads(files_json)
        for f in files:
            if f.get("kept"):
                (self.audio_dir / f["kept"]).unlink(missing_ok=True)
                f["kept"] = None
        db.execute("UPDATE session_plan SET files = ? WHERE session_id = ? AND position = ?",
                   (json.dumps(files), session_id, position))

    def _keep(self, source: str | Path, rel: Path) -> str | None:
        """Copy `source` to the audio folder at `rel` (owner-only); its relative path, or None if not kept."""
        if not self.keep_audio:
            return None
        try:
            _private_dir(self.audio_dir)
            for k in range(1, len(rel.parts)):
                _private_dir(self.audio_dir.joinpath(*rel.parts[:k]))
            shutil.copyfile(source, self.audio_dir / rel)
            (self.audio_dir / rel).chmod(FILE_MODE)
        except OSError as e:
            log.warning("could not keep %s: %s", source, e)
            return None
        return rel.as_posix()

    def sessions(self) -> list[SessionInfo]:
        """This owner's sessions (all, when unbound), newest first, with their result counts."""
        mine, args = self._mine("s")
        with self._connect() as db:
            rows = db.execute(
                "SELECT s.id, s.name, s.kind, s.source, s.created, COUNT(r.id), s.owner FROM sessions s "
                f"LEFT JOIN results r ON r.session_id = s.id WHERE {mine} GROUP BY s.id ORDER BY s.id DESC", args
            ).fetchall()
        return [SessionInfo(*row) for row in rows]

    def session(self, session_id: int) -> SessionInfo:
        """One session of this owner; KeyError when there is none (another owner's is "none" too)."""
        found = [s for s in self.sessions() if s.id == session_id]
        if not found:
            raise KeyError(f"no session with id {session_id}")
        return found[0]

    def load(self, session_id: int) -> list[Assessment]:
        """The session's assessments in the order they were made."""
        self.session(session_id)
        with self._connect() as db:
            rows = db.execute("SELECT assessment FROM results WHERE session_id = ? ORDER BY id",
                              (session_id,)).fetchall()
        return [Assessment.from_json(text) for (text,) in rows]

    def result_ids(self, session_id: int) -> list[int]:
        """The ids of the session's results, aligned with `load` (what `delete_result` takes)."""
        self.session(session_id)
        with self._connect() as db:
            return [r for (r,) in db.execute("SELECT id FROM results WHERE session_id = ? ORDER BY id", (session_id,))]

    def audio(self, session_id: int) -> list[dict[int, tuple[Path, ...]]]:
        """The kept recordings of the session's results, aligned with `load`: part -> answer files.

        A result saved without recordings (or before they were kept, or after they were purged) has {};
        missing files are left out.
        """
        ids = self.result_ids(session_id)
        with self._connect() as db:
            rows = db.execute("SELECT a.result_id, a.part, a.path FROM result_audio a JOIN results r ON r.id = "
                              "a.result_id WHERE r.session_id = ? ORDER BY a.result_id, a.part, a.answer",
                              (session_id,)).fetchall()
        found: dict[int, dict[int, list[Path]]] = {}
        for result_id, part, rel in rows:
            if (self.audio_dir / rel).is_file():
                found.setdefault(result_id, {}).setdefault(part, []).append(self.audio_dir / rel)
        return [{p: tuple(f) for p, f in found.get(i, {}).items()} for i in ids]

    def export_csv(self, session_id: int, path: str | Path) -> Path:
        """Write the session as CSV (results.export columns, with the session's name) and return the path."""
        info = self.session(session_id)
        path = write_csv(self.load(session_id), path, ExportContext(session=info.name))
        path.chmod(FILE_MODE)
        return path

    def delete_result(self, result_id: int) -> None:
        """Delete one learner's result and its recordings (KeyError when it is not this owner's)."""
        mine, args = self._mine("s")
        with self._connect() as db:
            row = db.execute(f"SELECT r.session_id FROM results r JOIN sessions s ON s.id = r.session_id "
                             f"WHERE r.id = ? AND {mine}", (result_id, *args)).fetchone()
            if row is None:
                raise KeyError(f"no saved learner result with id {result_id}")
            db.execute("DELETE FROM results WHERE id = ?", (result_id,))
        shutil.rmtree(self.audio_dir / str(row[0]) / str(result_id), ignore_errors=True)

    def delete_session(self, session_id: int) -> None:
        """Delete a session, its results and their recordings (KeyError when it is not this owner's)."""
        self.session(session_id)
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        shutil.rmtree(self.audio_dir / str(session_id), ignore_errors=True)  # its kept recordings too

    def purge_recordings(self, older_than_days: float) -> int:
        """Delete kept recordings of results saved more than `older_than_days` ago (0: all); returns how many.

        The results (scores) stay; only the audio goes. Applies to every owner: retention is the school's rule.
        """
        cutoff = (datetime.now(timezone.utc) - timedelta(days=older_than_days)).isoformat(timespec="seconds")
        with self._connect() as db:
            rows = db.execute("SELECT a.result_id, a.part, a.answer, a.path FROM result_audio a JOIN results r "
                              "ON r.id = a.result_id WHERE r.created <= ?", (cutoff,)).fetchall()
            for result_id, part, answer, rel in rows:
                (self.audio_dir / rel).unlink(missing_ok=True)
                db.execute("DELETE FROM result_audio WHERE result_id = ? AND part = ? AND answer = ?",
                           (result_id, part, answer))
            # The copies a class plan kept for a resume go by the same rule (the hashes stay: a resume asks again).
            plans = db.execute("SELECT p.session_id, p.position, p.files FROM session_plan p JOIN sessions s ON "
                               "s.id = p.session_id WHERE s.created <= ?", (cutoff,)).fetchall()
            for session_id, position, files in plans:
                self._drop_plan_copies(db, session_id, position, files)
        for plan_dir in self.audio_dir.glob("*/plan/*") if self.audio_dir.is_dir() else ():
            if plan_dir.is_dir() and not any(plan_dir.iterdir()):
                plan_dir.rmdir()
        for folder in sorted(self.audio_dir.glob("*/*"), reverse=True) if self.audio_dir.is_dir() else ():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        return len(rows)

    def claim_unowned(self, owner: str) -> int:
        """Give the sessions saved before login was turned on (owner "") to `owner`; returns how many."""
        with self._connect() as db:
            n = db.execute("UPDATE sessions SET owner = ? WHERE owner = ''", (owner,)).rowcount
            db.execute("UPDATE OR IGNORE settings SET owner = ? WHERE owner = ''", (owner,))
        return int(n)

    def setting(self, key: str, default: str | None = None) -> str | None:
        """A per-owner setting (e.g. the active calibration profile); survives a restart."""
        with self._connect() as db:
            row = db.execute("SELECT value FROM settings WHERE owner = ? AND key = ?",
                             (self.owner or "", key)).fetchone()
        return default if row is None else row[0]

    def set_setting(self, key: str, value: str | None) -> None:
        """Set (None: remove) a per-owner setting."""
        with self._connect() as db:
            if value is None:
                db.execute("DELETE FROM settings WHERE owner = ? AND key = ?", (self.owner or "", key))
            else:
                db.execute("INSERT INTO settings (owner, key, value) VALUES (?, ?, ?) ON CONFLICT(owner, key) "
                           "DO UPDATE SET value = excluded.value", (self.owner or "", key, value))


def submission_audio(submission) -> dict[int, list[Path]]:
    """part -> the answer files of a data.Submission: what `ResultStore.add(audio=...)` keeps."""
    return {pr.part: [r.audio_path for r in pr.responses if r.audio_path is not None] for pr in submission.parts}


def _private_dir(path: Path) -> None:
    """Create `path` (and parents) owner-only; an existing folder we created is tightened to 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    try:
        path.chmod(DIR_MODE)
    except PermissionError:  # a shared parent we do not own (e.g. /tmp): leave it
        pass


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["DIR_MODE", "FILE_MODE", "PlannedFile", "PlannedLearner", "ResultStore", "SessionInfo", "default_db_path",
           "file_sha256", "submission_audio", "SESSION_KINDS"]
