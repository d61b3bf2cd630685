"""How long a school keeps children's recordings: a setting, and the sweep that applies it to every copy.

`Retention.days`: None keeps everything (the default, as before), 0 keeps nothing past the assessment,
N keeps N days. The sweep covers the store's recordings (the scores stay), and every cache folder it is
given - transcripts, calibration embeddings, unpacked uploads - by file age.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .store import ResultStore

log = logging.getLogger(__name__)

GRACE_SECONDS = 3600.0  # s; the youngest cache file or upload a sweep may remove (work in progress is younger)


@dataclass(frozen=True)
class Retention:
    """Keep recordings and what was derived from them for `days` (None: keep; 0: do not keep)."""

    days: float | None = None

    @classmethod
    def parse(cls, text: str | None) -> "Retention":
        """'keep' / '' / None -> keep; '0' or 'none' -> keep nothing; '30' -> 30 days."""
        text = (text or "").strip().lower()
        if text in ("", "keep", "forever"):
            return cls(None)
        if text in ("none", "no", "0"):
            return cls(0.0)
        try:
            days = float(text)
        except ValueError:
            raise ValueError(f"keep-recordings {text!r}: write a number of days, 0 (do not keep) or 'keep'") from None
        if days < 0:
            raise ValueError(f"keep-recordings {days:g}: the number of days cannot be negative")
        return cls(days)

    @property
    def keeps_audio(self) -> bool:
        return self.days != 0

    def describe(self) -> str:
        if self.days is None:
            return "kept until a teacher deletes them"
        if self.days == 0:
            return "not kept after the assessment"
        return f"kept for {self.days:g} days, then deleted"

    def sweep(self, store: ResultStore, folders: Iterable[Path] = (), grace_s: float = GRACE_SECONDS) -> int:
        """Delete what is older than the setting: kept recordings, and files in `folders` (caches, uploads).

        Files younger than `grace_s` stay even with "do not keep": another teacher's class may be reading them.
        Returns the number of files removed.
        """
        if self.days is None:
            return 0
        removed = store.purge_recordings(self.days)
        cutoff = time.time() - max(self.days * 86400, grace_s)
        for folder in folders:
            folder = Path(folder)
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                try:
                    if path.is_file() and path.stat().st_mtime <= cutoff:
                        path.unlink()
                        removed += 1
                    elif path.is_dir() and not any(path.iterdir()) and path.stat().st_mtime <= cutoff:
                        path.rmdir()
                except OSError as e:  # a file in use or already gone: the next sweep takes it
                    log.debug("retention: %s stays for now (%s)", path, e)
        return removed



__all__ = ["GRACE_SECONDS", "Retention"]
