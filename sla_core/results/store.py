"""Local SQLite store of assessment sessions, so a teacher's results survive a crash, a refresh or a restart.

Each learner's Assessment is written (and committed) the moment it is computed, before the app shows
it; a session (a class, or a day of individual assessments) groups them. The result itself is kept as
`Assessment.to_json()`, so every number the page showed can be reloaded exactly; a few columns are
copied out of it only for listing and sorting.

The recordings behind a result are copied next to the database (`<db name>_audio/<session>/<result>/`)
when `add` is given them, so a past class can be used later, e.g. to calibrate to the teacher's marks
(uploads otherwise live only in temporary folders). Deleting the session deletes them.

One connection per call: the app's handlers run in worker threads, and SQLite connections must not be
shared across threads. WAL mode lets a reader list sessions while a class is being written.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..assessment import Assessment
from .export import write_csv

log = logging.getLogger(__name__)

DB_NAME = "results.sqlite"
SESSION_KINDS = ("class", "single")

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
    if env.get("SLA_DATA_DIR"):
        return Path(env["SLA_DATA_DIR"]).expanduser() / DB_NAME
    base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sla-demo" / DB_NAME


@dataclass(frozen=True)
class SessionInfo:
    """One saved session as listed: enough to pick it from a dropdown."""

    id: int
    name: str
    kind: str  # "class" | "single"
    source: str  # what was uploaded (file names), for the teacher's memory
    created: str  # ISO 8601, UTC
    n_results: int


class ResultStore:
    """Sessions and their assessments in one SQLite file (created on first use)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.audio_dir = self.path.with_name(f"{self.path.stem}_audio")  # kept recordings, relative paths below
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:  # commits on success, rolls back on error
                yield db
        finally:
            db.close()

    def new_session(self, name: str, kind: str = "class", source: str = "") -> int:
        """Create a session and return its id."""
        if kind not in SESSION_KINDS:
            raise ValueError(f"session kind {kind!r} is not one of {SESSION_KINDS}")
        name = name.strip() or "Untitled session"
        with self._connect() as db:
            cur = db.execute("INSERT INTO sessions (name, kind, source, created) VALUES (?, ?, ?, ?)",
                             (name, kind, source, _now()))
            return int(cur.lastrowid)

    def session_named(self, name: str, kind: str = "single") -> int:
        """The id of the newest session with this name and kind, created when there is none (e.g. one per day)."""
        with self._connect() as db:
            row = db.execute("SELECT id FROM sessions WHERE name = ? AND kind = ? ORDER BY id DESC LIMIT 1",
                             (name, kind)).fetchone()
        return int(row[0]) if row else self.new_session(name, kind)

    def add(self, session_id: int, assessment: Assessment,
            audio: Mapping[int, Sequence[str | Path | None]] | None = None) -> int:
        """Save one learner's result now (committed before returning); returns the result id.

        Args:
            audio: part -> the answer files it was assessed from; copied into the store's audio folder.
                A file that cannot be copied is left out (logged): the result itself is never lost.
        """
        with self._connect() as db:
            if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise KeyError(f"no session with id {session_id} in {self.path}")
            cur = db.execute(
                "INSERT INTO results (session_id, learner, overall, graded, created, assessment) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, assessment.learner or "", assessment.overall, int(assessment.graded), assessment.created,
                 assessment.to_json(indent=None)),
            )
            result_id = int(cur.lastrowid)
            for part, files in (audio or {}).items():
                for answer, source in enumerate(f for f in files if f):
                    rel = Path(str(session_id), str(result_id), f"part{part}_{answer + 1}{Path(source).suffix.lower()}")
                    try:
                        (self.audio_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(source, self.audio_dir / rel)
                    except OSError as e:
                        log.warning("could not keep %s for result %d: %s", source, result_id, e)
                        continue
                    db.execute("INSERT INTO result_audio (result_id, part, answer, path) VALUES (?, ?, ?, ?)",
                               (result_id, int(part), answer + 1, rel.as_posix()))
            return result_id

    def sessions(self) -> list[SessionInfo]:
        """All sessions, newest first, with their result counts."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT s.id, s.name, s.kind, s.source, s.created, COUNT(r.id) FROM sessions s "
                "LEFT JOIN results r ON r.session_id = s.id GROUP BY s.id ORDER BY s.id DESC"
            ).fetchall()
        return [SessionInfo(*row) for row in rows]

    def session(self, session_id: int) -> SessionInfo:
        found = [s for s in self.sessions() if s.id == session_id]
        if not found:
            raise KeyError(f"no session with id {session_id} in {self.path}")
        return found[0]

    def load(self, session_id: int) -> list[Assessment]:
        """The session's assessments in the order they were made."""
        self.session(session_id)
        with self._connect() as db:
            rows = db.execute("SELECT assessment FROM results WHERE session_id = ? ORDER BY id",
                              (session_id,)).fetchall()
        return [Assessment.from_json(text) for (text,) in rows]

    def audio(self, session_id: int) -> list[dict[int, tuple[Path, ...]]]:
        """The kept recordings of the session's results, aligned with `load`: part -> answer files.

        A result saved without recordings (or before they were kept) has {}; missing files are left out.
        """
        self.session(session_id)
        with self._connect() as db:
            ids = [r for (r,) in db.execute("SELECT id FROM results WHERE session_id = ? ORDER BY id", (session_id,))]
            rows = db.execute("SELECT a.result_id, a.part, a.path FROM result_audio a JOIN results r ON r.id = "
                              "a.result_id WHERE r.session_id = ? ORDER BY a.result_id, a.part, a.answer",
                              (session_id,)).fetchall()
        found: dict[int, dict[int, list[Path]]] = {}
        for result_id, part, rel in rows:
            if (self.audio_dir / rel).is_file():
                found.setdefault(result_id, {}).setdefault(part, []).append(self.audio_dir / rel)
        return [{p: tuple(f) for p, f in found.get(i, {}).items()} for i in ids]

    def export_csv(self, session_id: int, path: str | Path) -> Path:
        """Write the session as CSV (report.csv_rows columns) and return the path."""
        return write_csv(self.load(session_id), path)

    def delete_session(self, session_id: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        shutil.rmtree(self.audio_dir / str(session_id), ignore_errors=True)  # its kept recordings too


def submission_audio(submission) -> dict[int, list[Path]]:
    """part -> the answer files of a data.Submission: what `ResultStore.add(audio=...)` keeps."""
    return {pr.part: [r.audio_path for r in pr.responses if r.audio_path is not None] for pr in submission.parts}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["ResultStore", "SessionInfo", "default_db_path", "submission_audio", "SESSION_KINDS"]
