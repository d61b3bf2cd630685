"""The compact form of an Assessment: what a program that stores or shows results needs, without the detail.

`Assessment.to_dict()` is the whole record (every grader's similarities, distribution and per-frame pooling
weights, every answer's speech segments and syllable times): one Part 3 answer alone was 60,040 characters,
mostly pooling weights. A caller usually wants the numbers and the words around them, so the API's default is
this projection of the same Assessment (the full form stays one flag away: detail="full"):

* the learner, when it was made, the overall score, its CEFR level, the parts it covers, whether it is a grade,
  the calibration profile (if any), how sure the overall is, and the review reasons;
* per part: status and problem, score and level, whether it is a grade, how sure (the interval), its review
  reasons, each grader's score and state, the fusion weight, how many answers, and the delivery summary
  (speaking time, speech rate, pauses... as `PartDelivery.summary()` gives them).

Every value is copied from the Assessment, never recomputed, so the compact form cannot disagree with the full.
"""

from __future__ import annotations

from typing import Any

from .assessment import Assessment, PartAssessment, PartScore, ScoreInterval

DETAILS = ("compact", "full")  # what `assessment_dict` offers; "compact" is the API's default


def assessment_dict(assessment: Assessment, detail: str = "full") -> dict[str, Any]:
    """The Assessment as JSON-ready values in the `detail` asked for ("compact" or "full")."""
    if detail == "full":
        return assessment.to_dict()
    if detail == "compact":
        return compact_dict(assessment)
    raise ValueError(f"detail {detail!r} is not one of {list(DETAILS)}")


def compact_dict(a: Assessment) -> dict[str, Any]:
    """Scores, levels, intervals, review and the delivery summary of `a` (see the module docstring)."""
    return {
        "detail": "compact",
        "schema": a.schema,
        "learner": a.learner,
        "created": a.created,
        "overall": a.overall,
        "overall_cefr": a.overall_cefr,
        "covered_parts": list(a.covered_parts),
        "graded": a.graded,
        "calibration": a.calibration,
        "overall_interval": _interval(a.overall_interval),
        "review": list(a.review),
        "parts": [_part(p) for p in a.parts],
    }


def _part(p: PartAssessment) -> dict[str, Any]:
    return {
        "part": p.part,
        "status": p.status,
        "problem": p.problem,
        "score": p.score,
        "cefr": p.cefr,
        "graded": p.graded,
        "interval": _interval(p.interval),
        "review": list(p.review),
        "speech": _grader(p.speech),
        "mllm": _grader(p.mllm),
        "fusion_weight": p.fusion_weight,
        "answers": len(p.durations),
        "delivery": p.delivery.summary() if p.delivery is not None else None,
    }


def _grader(score: PartScore | None) -> dict[str, Any] | None:
    return None if score is None else {"score": score.score, "state": score.state}


def _interval(iv: ScoreInterval | None) -> dict[str, Any] | None:
    """The range and its probability, or why there is none (note)."""
    if iv is None:
        return None
    return {"low": iv.low, "high": iv.high, "coverage": iv.coverage, "method": iv.method, "note": iv.note}
