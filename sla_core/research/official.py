"""The official S&I 2025 scorer's file format: one `submissionID<TAB>score` file per part and one overall.

A participant submits `{split}-sla-P1.tsv`, `-P3`, `-P4`, `-P5` and `{split}-sla-overall.tsv`, each in the
order of the reference (the marks file of that name), scores with 3 decimals, no header: the layout of
the corpus's own `sla-marks/` files, so the scorer pairs them line by line and name by name. The same
reader takes the marks released after the challenge (`read_official_marks`), for `evaluate --marks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..manifest import CorpusError
from ..parts import PARTS
from .predictions import OVERALL, Prediction

OFFICIAL_ROWS: tuple[int | str, ...] = (*PARTS, OVERALL)


def official_name(split: str, part: int | str) -> str:
    """`dev-sla-P3.tsv`, `eval-sla-overall.tsv`: the reference's own file names."""
    return f"{split}-sla-{'overall' if part == OVERALL else f'P{part}'}.tsv"


def write_official(out_dir: str | Path, predictions: Sequence[Prediction], split: str,
                   order: dict[int | str, list[str]] | None = None) -> tuple[list[Path], list[str]]:
    """Write one system's scores of `split` in the scorer's format.

    Args:
        predictions: one system's part and overall rows (per-response rows are ignored).
        order: part/OVERALL -> submission ids in the reference's order (`corpus.reference_order`);
            None -> the order of the predictions themselves (a CSV manifest has no reference).
    Returns:
        (files written, problems): a submission the reference lists but the predictions lack is named in
        `problems` and left out (the scorer then reports it missing rather than reading an invented score).
    """
    systems = {p.grader for p in predictions if p.split == split and not p.per_response}
    if len(systems) > 1:
        raise ValueError(f"official files hold one system's scores; got {sorted(systems)}: predict one system at a time")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, problems = [], []
    for row in OFFICIAL_ROWS:
        scores = {p.submission_id: p.score for p in predictions
                  if p.split == split and p.part == row and not p.per_response}
        ids = order.get(row, list(scores)) if order is not None else list(scores)
        lacking = [s for s in ids if s not in scores]
        if lacking:
            problems.append(f"{official_name(split, row)}: no prediction for {len(lacking)} submission(s) of the "
                            f"reference (first: {lacking[0]})")
        path = out_dir / official_name(split, row)
        path.write_text("".join(f"{s}\t{scores[s]:.3f}\n" for s in ids if s in scores), encoding="utf-8")
        written.append(path)
    return written, problems


def read_official_marks(folder: str | Path, split: str) -> dict[int | str, dict[str, float]]:
    """part/OVERALL -> submission -> mark from official-format files in `folder` (those present)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(folder, "marks folder not found")
    marks: dict[int | str, dict[str, float]] = {}
    for row in OFFICIAL_ROWS:
        path = folder / official_name(split, row)
        if not path.exists():
            continue
        marks[row] = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2:
                raise CorpusError(path, f"expected 'submissionID<TAB>score', got {len(fields)} fields", n)
            try:
                marks[row][fields[0]] = float(fields[1])
            except ValueError as e:
                raise CorpusError(path, f"score {fields[1]!r} is not a number", n) from e
    if not marks:
        raise CorpusError(folder, f"no {split}-sla-P#.tsv / {split}-sla-overall.tsv marks files here")
    return marks


__all__ = ["OFFICIAL_ROWS", "official_name", "write_official", "read_official_marks"]
