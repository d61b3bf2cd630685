"""The predictions file: what `predict` writes and `fit-fusion` / `evaluate` read.

Tab-separated, UTF-8, one header line, columns (in this order):

    split  submission_id  part  item  utt_id  grader  state  score  reference

- part: 1, 3, 4, 5, or "overall" (the grader's overall for a submission with all four parts).
- item, utt_id: empty on part and overall rows; set on per-response rows (one answer scored alone).
- state: the grader's state (trained / zero-shot / untrained), so untrained numbers stay labelled.
- score: the grader's score (not rounded); reference: the human mark, empty when unknown.

Several graders' files can be concatenated or read together; `align` pairs them by (submission, part).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..parts import PARTS

COLUMNS: tuple[str, ...] = ("split", "submission_id", "part", "item", "utt_id", "grader", "state", "score", "reference")
OVERALL = "overall"


@dataclass(frozen=True)
class Prediction:
    split: str
    submission_id: str
    part: int | str  # 1, 3, 4, 5 or OVERALL
    grader: str  # "speech", "mllm", "bert", "fusion", ...
    score: float
    reference: float | None = None
    state: str = ""
    item: str | None = None  # set on per-response rows
    utt_id: str | None = None

    @property
    def per_response(self) -> bool:
        return self.item is not None or self.utt_id is not None


def write_predictions(path: Path | str, predictions: Iterable[Prediction]) -> Path:
    """Write predictions as TSV (see the module docstring for the columns)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(COLUMNS)
        for p in predictions:
            w.writerow([p.split, p.submission_id, p.part, p.item or "", p.utt_id or "", p.grader, p.state,
                        f"{p.score:.6f}", "" if p.reference is None else f"{p.reference:.3f}"])
    return path


def read_predictions(*paths: Path | str) -> list[Prediction]:
    """Read one or more predictions files; errors name the file and line."""
    out: list[Prediction] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: predictions file not found (write one with `python -m sla_core predict`)")
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f, delimiter="\t")
            header = next(reader, None)
            if header is None or tuple(header) != COLUMNS:
                raise ValueError(f"{path}:1: header {header} is not the predictions header {list(COLUMNS)}")
            for n, row in enumerate(reader, start=2):
                if not row:
                    continue
                out.append(_parse(path, n, row))
    return out


def _parse(path: Path, n: int, row: list[str]) -> Prediction:
    if len(row) != len(COLUMNS):
        raise ValueError(f"{path}:{n}: {len(row)} fields, expected {len(COLUMNS)} ({', '.join(COLUMNS)})")
    v = dict(zip(COLUMNS, row))
    part: int | str = v["part"]
    if part != OVERALL:
        if not part.isdigit() or int(part) not in PARTS:
            raise ValueError(f"{path}:{n}: part {part!r} is not one of {list(PARTS) + [OVERALL]}")
        part = int(part)
    try:
        score = float(v["score"])
        reference = float(v["reference"]) if v["reference"] else None
    except ValueError as e:
        raise ValueError(f"{path}:{n}: score {v['score']!r} / reference {v['reference']!r} is not a number") from e
    if not math.isfinite(score):
        raise ValueError(f"{path}:{n}: score {score} is not finite")
    return Prediction(split=v["split"], submission_id=v["submission_id"], part=part, grader=v["grader"],
                      score=score, reference=reference, state=v["state"], item=v["item"] or None,
                      utt_id=v["utt_id"] or None)


def grader_names(predictions: Iterable[Prediction]) -> list[str]:
    """Graders present, in first-seen order."""
    return list(dict.fromkeys(p.grader for p in predictions))


@dataclass(frozen=True)
class Aligned:
    """Scores of several graders for the same (submission, part) rows, with the human reference."""

    part: int | str
    submission_ids: tuple[str, ...]
    scores: dict[str, np.ndarray]  # grader -> (N,)
    reference: np.ndarray  # (N,)

    def __len__(self) -> int:
        return len(self.submission_ids)


def align(predictions: Sequence[Prediction], graders: Sequence[str], part: int | str,
          split: str | None = None) -> Aligned:
    """Rows of `part` that every grader in `graders` scored and that have a reference, by submission id.

    Per-response rows are ignored. The reference must agree between graders (same marks file);
    a disagreement means two files from different data, which is an error worth seeing.
    """
    table: dict[str, dict[str, Prediction]] = {}
    for p in predictions:
        if p.per_response or p.part != part or (split is not None and p.split != split) or p.grader not in graders:
            continue
        row = table.setdefault(p.submission_id, {})
        if p.grader in row:
            raise ValueError(f"grader {p.grader!r} has two predictions for {p.submission_id} part {part}")
        row[p.grader] = p
    ids, refs = [], []
    for sub_id in sorted(table):
        row = table[sub_id]
        if len(row) < len(graders):
            continue
        ref_values = {p.reference for p in row.values()}
        if None in ref_values:
            continue
        if len(ref_values) > 1:
            raise ValueError(f"{sub_id} part {part}: the graders' files disagree on the reference {sorted(ref_values)}")
        ids.append(sub_id)
        refs.append(ref_values.pop())
    scores = {g: np.array([table[s][g].score for s in ids], dtype=float) for g in graders}
    return Aligned(part=part, submission_ids=tuple(ids), scores=scores, reference=np.array(refs, dtype=float))


__all__ = ["COLUMNS", "OVERALL", "Prediction", "write_predictions", "read_predictions", "grader_names",
           "Aligned", "align"]
