"""The predictions file: what `predict` writes and `fit-fusion` / `evaluate` read.

Tab-separated, UTF-8, one header line, columns (in this order):

    split  submission_id  part  item  utt_id  grader  state  score  reference  note

- part: 1, 3, 4, 5, or "overall" (the system's overall for a submission: the mean of the parts it
  scored, the BERT baseline's calibrated mean, or the session grader's own overall output (Phi4-MTL,
  noted `OWN_OVERALL_NOTE`); the reference is the corpus's overall mark, which for an incomplete
  train submission is a holistic mark).
- item, utt_id: empty on part and overall rows; set on per-response rows (one answer scored alone).
- grader: the system's name as in the paper's Table 1 (`SYSTEMS`: W2V, Phi4-STG, Phi4-CTG-TA, ...), so
  several multimodal systems' files sit side by side in one `evaluate`.
- state: the grader's state (trained / zero-shot / untrained), so untrained numbers stay labelled.
- score: the grader's score (not rounded); reference: the human mark, empty when unknown.
- note: empty, or why the score is not the model's (e.g. no gradable speech: `answers.NO_SPEECH_NOTE`).

Files written before the `note` column (nine columns) still read. Several systems' files can be read
together; `align` pairs them by (submission, part).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..parts import PARTS

COLUMNS: tuple[str, ...] = ("split", "submission_id", "part", "item", "utt_id", "grader", "state", "score",
                            "reference", "note")
_OLD_COLUMNS = COLUMNS[:-1]  # files written before `note`
OVERALL = "overall"
# The paper's Table 1 systems, and the session grader (issue 25): the name each predictions file gives its grader.
SYSTEMS: tuple[str, ...] = ("BERT", "W2V", "Phi4-CTG-TA", "Phi4-CTG-AO", "Phi4-CTG-TO", "Phi4-STG", "Phi4-MTL")
# The note of an overall row that is a grader's own output, not the mean of its parts (fit-fusion fits its width).
OWN_OVERALL_NOTE = "the grader's own overall output"


def system_name(grader: str, mode: str = "stg", variant: str = "TA") -> str:
    """The Table 1 name of a grader run: speech -> W2V, bert -> BERT, mllm -> Phi4-STG / Phi4-CTG-<variant>,
    session -> Phi4-MTL (the session-level multi-target grader).

    An STG run on another input variant than the paper's TA says so (Phi4-STG-AO), so it never passes
    for the paper's system.
    """
    if grader == "speech":
        return "W2V"
    if grader == "bert":
        return "BERT"
    if grader == "session":
        return "Phi4-MTL"
    if grader == "mllm":
        variant = variant.upper()
        if mode == "ctg":
            return f"Phi4-CTG-{variant}"
        return "Phi4-STG" if variant == "TA" else f"Phi4-STG-{variant}"
    raise ValueError(f"unknown grader {grader!r}; expected speech, mllm, session or bert")


@dataclass(frozen=True)
class Prediction:
    split: str
    submission_id: str
    part: int | str  # 1, 3, 4, 5 or OVERALL
    grader: str  # the system: "W2V", "Phi4-STG", "Phi4-CTG-TA", "BERT", ... (see SYSTEMS)
    score: float
    reference: float | None = None
    state: str = ""
    item: str | None = None  # set on per-response rows
    utt_id: str | None = None
    note: str = ""  # why the score is not the model's, when it is not

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
                        f"{p.score:.6f}", "" if p.reference is None else f"{p.reference:.3f}", p.note])
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
            if header is None or tuple(header) not in (COLUMNS, _OLD_COLUMNS):
                raise ValueError(f"{path}:1: header {header} is not the predictions header {list(COLUMNS)}")
            for n, row in enumerate(reader, start=2):
                if not row:
                    continue
                out.append(_parse(path, n, row, tuple(header)))
    return out


def _parse(path: Path, n: int, row: list[str], columns: tuple[str, ...] = COLUMNS) -> Prediction:
    if len(row) != len(columns):
        raise ValueError(f"{path}:{n}: {len(row)} fields, expected {len(columns)} ({', '.join(columns)})")
    v = dict(zip(columns, row))
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
                      utt_id=v["utt_id"] or None, note=v.get("note", ""))


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


def with_references(predictions: Sequence[Prediction], marks: dict[int | str, dict[str, float]],
                    split: str | None = None) -> list[Prediction]:
    """Predictions with their reference set from `marks` (part or OVERALL -> submission -> mark), e.g. the
    eval marks released after the challenge; rows of other splits, and rows the marks lack, are unchanged."""
    from dataclasses import replace

    return [replace(p, reference=marks[p.part][p.submission_id])
            if (split is None or p.split == split) and p.submission_id in marks.get(p.part, {}) else p
            for p in predictions]


__all__ = ["COLUMNS", "OVERALL", "OWN_OVERALL_NOTE", "SYSTEMS", "system_name", "with_references", "Prediction", "write_predictions", "read_predictions", "grader_names",
           "Aligned", "align"]
