"""Uploads for handler tests: a unit test hands the page's handlers its own files, where on a server the file
guard (sla_core.teacher.file_guard) would have recorded them as the teacher's uploads."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def as_uploads(*folders: str | Path):
    """An upload ledger (sla_core.teacher.intake.Uploads) that takes every file under `folders`, and the app's
    example assets, as uploaded by anyone; any other path is still refused."""
    from ..teacher.intake import Uploads

    return Uploads(public=[*map(Path, folders), ASSETS])


__all__ = ["as_uploads"]
