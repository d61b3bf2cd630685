"""The CSV export of a class's results: one writer for the app's download, the CLI and the batch job.

Column names are stable identifiers (no spaces) so a spreadsheet or a script can rely on them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from ..assessment import Assessment
from ..parts import PARTS


def _num(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def transcript_text(transcripts: Sequence[str | None]) -> str:
    """The answers' transcripts joined with ' / '; undecodable bytes (U+FFFD) dropped, as they carry no words."""
    cleaned = (" ".join((t or "").replace("\ufffd", " ").split()) for t in transcripts)
    return " / ".join(t for t in cleaned if t)


def csv_rows(assessments: Sequence[Assessment]) -> list[dict[str, object]]:
    """Flat rows for the CSV download: one per learner, every grader's number per part.

    Column names are stable identifiers (no spaces) so a spreadsheet or a script can rely on them.
    """
    rows = []
    for a in assessments:
        row: dict[str, object] = {
            "learner": a.learner or "",
            "overall": _num(a.overall, 3),
            "overall_cefr": a.overall_cefr or "",
            "covered_parts": " ".join(map(str, a.covered_parts)),
            "graded": a.graded,
            "assessed_at": a.created,
        }
        for p in PARTS:
            pa = a.part(p)
            row.update({
                f"part{p}_status": pa.status if pa else "missing",
                f"part{p}_score": _num(pa.score, 3) if pa else None,
                f"part{p}_cefr": (pa.cefr or "") if pa else "",
                f"part{p}_speech": _num(pa.speech.score, 3) if pa and pa.speech else None,
                f"part{p}_mllm": _num(pa.mllm.score, 3) if pa and pa.mllm else None,
                f"part{p}_fusion_weight": _num(pa.fusion_weight, 3) if pa else None,
                f"part{p}_problem": (pa.problem or "") if pa else "",
                f"part{p}_transcript": transcript_text(pa.transcripts) if pa else "",
            })
        rows.append(row)
    return rows


def write_csv(assessments: Sequence[Assessment], path: str | Path) -> Path:
    """Write csv_rows(assessments) to `path` (UTF-8 with BOM so Excel reads accents); returns the path."""
    path = Path(path)
    rows = csv_rows(assessments)
    fieldnames = list(rows[0]) if rows else ["learner", "overall", "overall_cefr", "covered_parts", "graded"]
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return path


__all__ = ["csv_rows", "transcript_text", "write_csv"]
