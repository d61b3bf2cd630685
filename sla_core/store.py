"""Local SQLite store of assessment sessions, so a teacher's results survive a crash, a refresh or a restart.

Each learner's Assessment is written (and committed) the moment it is computed, before the app shows
it; a session (a class, or a day of individual assessments) groups them. The result itself is kept as
`Assessment.to_json()`, so every number the page showed can be reloaded exactly; a few columns are
copied out of it only for listing and sorting.

One connection per call: the app's handlers run in worker threads, and SQLite connections must not be
shared across threads. WAL mode lets a reader list sessions while a class is being written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .assessment import Assessment
from .report import write_csv

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

    def add(self, session_id: int, assessment: Assessment) -> int:
        """Save one learner's result now (committed before returning); returns the result id."""
        with self._connect() as db:
            if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
                raise KeyError(f"no session with id {session_id} in {self.path}")
            cur = db.execute(
                "INSERT INTO results (session_id, learner, overall, graded, created, assessment) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, assessment.learner or "", assessment.overall, int(assessment.graded), assessment.created,
                 assessment.to_json(indent=None)),
            )
            return int(cur.lastrowid)

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

    def export_csv(self, session_id: int, path: str | Path) -> Path:
        """Write the session as CSV (report.csv_rows columns) and return the path."""
        return write_csv(self.load(session_id), path)

    def delete_session(self, session_id: int) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["ResultStore", "SessionInfo", "default_db_path", "SESSION_KINDS"]
