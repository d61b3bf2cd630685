"""The CSV manifest: a teacher's (or a researcher's) own recordings as `Submission`s.

One row per response, header `learner,part,audio,question,transcript,score`. The CLI, the classroom
intake and calibration all read manifests through `read_manifest`; the S&I corpus layout is read by
`sla_core.research.corpus`. Every problem with a file is a `CorpusError` naming the file and line.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from .cefr import GRID, on_grid
from .data import PartResponses, Response, Submission
from .parts import PARTS, part_info

MANIFEST_COLUMNS: tuple[str, ...] = ("learner", "part", "audio", "question", "transcript", "score")
MANIFEST_REQUIRED: tuple[str, ...] = ("learner", "part", "audio")


class CorpusError(ValueError):
    """A corpus file is missing or malformed; the message starts with `file[:line]:`."""

    def __init__(self, path: Path | str, reason: str, line: int | None = None):
        self.path, self.line, self.reason = Path(path), line, reason
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")


def read_manifest(path: Path | str, problems: list[CorpusError] | None = None) -> list[Submission]:
    """Read a CSV manifest: one row per response, header `learner,part,audio,question,transcript,score`.

    `question`, `transcript` and `score` may be absent or empty. Audio paths resolve against the CSV's
    folder. `score` is the PART's mark, repeated on each row of a multi-answer part. Rows of the same
    learner and part are that part's answers in file order. Learners keep their first-seen order.

    Every problem raises a CorpusError naming the file and line, unless `problems` is a list: then a bad
    row (or a part with too many answers) is left out and its error appended there, and the rest is read
    (a class upload: one mistyped row must not refuse the other learners). A missing file or a bad header
    always raises.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(path, "file not found")
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in MANIFEST_REQUIRED if c not in header]
        if missing:
            raise CorpusError(path, f"header {header} lacks {missing}; columns are {', '.join(MANIFEST_COLUMNS)}", 1)
        unknown = [c for c in header if c not in MANIFEST_COLUMNS]
        if unknown:
            raise CorpusError(path, f"unknown columns {unknown}; columns are {', '.join(MANIFEST_COLUMNS)}", 1)
        answers: dict[str, dict[int, list[Response]]] = defaultdict(lambda: defaultdict(list))
        marks: dict[tuple[str, int], tuple[float, int]] = {}
        for row in reader:
            try:
                learner, part, response, score = _manifest_row(path, reader.line_num, row)
                if score is not None:
                    first = marks.setdefault((learner, part), (score, reader.line_num))
                    if first[0] != score:
                        raise CorpusError(path, f"score {score} disagrees with {first[0]} on line {first[1]} "
                                                f"for learner {learner!r} part {part}", reader.line_num)
            except CorpusError as e:
                if problems is None:
                    raise
                problems.append(e)
                continue
            answers[learner][part].append(response)
    submissions = []
    for learner, by_part in answers.items():
        parts = []
        for part in sorted(by_part):
            info = part_info(part)
            if len(by_part[part]) > info.max_answers:
                e = CorpusError(path, f"learner {learner!r} has {len(by_part[part])} answers for part {part}, "
                                      f"at most {info.max_answers}")
                if problems is None:
                    raise e
                problems.append(e)
                continue
            mark = marks.get((learner, part))
            parts.append(PartResponses(part=part, responses=tuple(by_part[part]), mark=None if mark is None else mark[0]))
        complete = all(p.mark is not None for p in parts) and {p.part for p in parts} == set(PARTS)
        overall = sum(p.mark for p in parts) / len(parts) if complete else None
        if parts:
            submissions.append(Submission(submission_id=learner, parts=tuple(parts), overall_mark=overall))
    return submissions


def _manifest_row(path: Path, line: int, row: dict) -> tuple[str, int, Response, float | None]:
    """One row: (learner, part, the response, the part's mark or None); a CorpusError names what is wrong."""
    row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
    learner, part = row["learner"], _manifest_part(path, line, row["part"])
    if not learner:
        raise CorpusError(path, "learner is empty", line)
    if not row["audio"]:
        raise CorpusError(path, "audio is empty", line)
    audio = Path(row["audio"])
    audio = audio if audio.is_absolute() else path.parent / audio
    score = _manifest_score(path, line, row["score"]) if row.get("score") else None
    return learner, part, Response(audio_path=audio, question=row.get("question") or None,
                                   transcript=row.get("transcript") or None), score


def _manifest_part(path: Path, line: int, text: str) -> int:
    try:
        part = int(text)
        part_info(part)
    except ValueError as e:
        raise CorpusError(path, f"part {text!r} is not one of {', '.join(map(str, PARTS))}", line) from e
    return part


def _manifest_score(path: Path, line: int, text: str) -> float:
    try:
        score = float(text)
    except ValueError as e:
        raise CorpusError(path, f"score {text!r} is not a number", line) from e
    if not on_grid(score):
        raise CorpusError(path, f"score {score} is not one of {GRID}", line)
    return score


__all__ = ["CorpusError", "MANIFEST_COLUMNS", "MANIFEST_REQUIRED", "read_manifest"]
