"""The one checked intake for every file a page event or an API call hands the server.

Gradio gives a handler a server path - a plain string, or a FileData dict whose "path" the caller wrote -
and would open whatever it names: `/etc/passwd`, the results database, the login file, another teacher's
recording. So no handler opens a path it was given. Each goes through `Uploads.accept`, which lets a
path through only when

* it arrived as an upload (gradio's `/upload` route) from the same teacher, recorded by the server's
  file guard (`file_guard.FileGuard` sees every upload and its login) - gradio uploads a call's files in a
  request of their own just before the call, so "the same teacher" is the tightest binding its protocol
  allows; without login every visitor is the one shared teacher "" (the page says everyone sees everything);
* or it is one of that teacher's own kept recordings (`ResultStore.owns_recording`);
* or it is one of the app's public example files (gradio's copies of `assets/`, listed at start-up).

Anything else is refused with `IntakeRefused` (a gr.Error), whose message says what to send instead.
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gradio as gr

from . import ui_text


class IntakeRefused(gr.Error):
    """A file the caller may not hand the server; the message says what to send."""


def _key(path: str | Path) -> str:
    return os.path.realpath(str(path))


class Uploads:
    """Which files arrived as uploads, and from which teacher; `accept` is the checked intake.

    Args:
        public: files anyone may hand back (the page's example recordings); folders are public as a whole.
    """

    def __init__(self, public: Iterable[str | Path] = ()) -> None:
        # real path -> the teachers who uploaded it: gradio names an upload by its content, so two teachers
        # uploading the same recording get the same path, and each may use it
        self._owners: dict[str, set[str]] = {}
        self._public: set[str] = set()
        self._public_dirs: list[str] = []
        self._lock = threading.Lock()
        self.add_public(public)

    def add_public(self, paths: Iterable[str | Path]) -> None:
        for p in paths:
            (self._public_dirs.append(_key(p) + os.sep) if Path(p).is_dir() else self._public.add(_key(p)))

    def record(self, paths: Iterable[str | Path], owner: str) -> None:
        """Files that just arrived through the upload route, from `owner` ("" without login)."""
        with self._lock:
            for p in paths:
                self._owners.setdefault(_key(p), set()).add(owner or "")

    def owned_by(self, path: str | Path, owner: str) -> bool:
        with self._lock:
            return (owner or "") in self._owners.get(_key(path), ())

    def uploaded(self, path: str | Path) -> bool:
        """Whether `path` arrived as anybody's upload."""
        with self._lock:
            return bool(self._owners.get(_key(path)))

    def is_public(self, path: str | Path) -> bool:
        key = _key(path)
        return key in self._public or any(key.startswith(d) for d in self._public_dirs)

    def uploaded_by(self, owner: str) -> list[Path]:
        """The files `owner` uploaded that are still on disk."""
        with self._lock:
            mine = [Path(p) for p, who in self._owners.items() if (owner or "") in who]
        return [p for p in mine if p.is_file()]

    def discard(self, paths: Iterable[str | Path], owner: str) -> int:
        """`owner` no longer needs these uploads (a class assessed, a learner deleted): each is deleted once no
        other teacher's upload is the same file (gradio keeps uploads otherwise). Returns the files deleted."""
        removed = 0
        for p in paths:
            key = _key(p)
            with self._lock:
                who = self._owners.get(key)
                if who is None or (owner or "") not in who:
                    continue
                who.discard(owner or "")
                if who:
                    continue
                del self._owners[key]
            Path(key).unlink(missing_ok=True)
            removed += 1
            try:
                Path(key).parent.rmdir()  # gradio's one folder per upload, now empty
            except OSError:
                pass
        return removed

    def accept(self, value: Any, owner: str, what: str, store=None) -> list[Path]:
        """The files of one input, checked: a path, a FileData dict or object, or a list of them.

        Args:
            owner: the teacher calling ("" without login).
            what: the input, as the caller knows it ("part3", "files", "Part 1, answer 2").
            store: the teacher's ResultStore, whose kept recordings they may hand back.
        Raises:
            IntakeRefused: naming the input and what to send instead.
        """
        if value is None or value == "" or value == []:
            return []
        items = value if isinstance(value, (list, tuple)) else [value]
        paths = []
        for item in items:
            path = item.get("path") if isinstance(item, dict) else getattr(item, "path", item)
            if isinstance(path, os.PathLike):
                path = os.fspath(path)
            if not isinstance(path, str) or not path.strip():
                raise IntakeRefused(ui_text.INTAKE_NOT_A_FILE.format(what=what), title=ui_text.INTAKE_TITLE)
            if not self._allowed(path, owner, store):
                raise IntakeRefused(ui_text.INTAKE_REFUSED.format(what=what, name=_shown_name(item, path)),
                                    title=ui_text.INTAKE_TITLE)
            if not Path(path).is_file():
                raise IntakeRefused(ui_text.INTAKE_GONE.format(what=what, name=_shown_name(item, path)),
                                    title=ui_text.INTAKE_TITLE)
            paths.append(Path(path))
        return paths

    def _allowed(self, path: str, owner: str, store) -> bool:
        if self.owned_by(path, owner):
            return True
        if self.is_public(path):
            return True
        return store is not None and store.owns_recording(path)


def _shown_name(item: Any, path: str) -> str:
    """The file's own name for a message (never the server folder it was claimed to be in), cut short."""
    name = str((item.get("orig_name") if isinstance(item, dict) else None) or Path(path).name or "the file")
    return html.escape(name if len(name) <= 80 else name[:77] + "...")


__all__ = ["IntakeRefused", "Uploads"]
