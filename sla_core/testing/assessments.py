"""Hand-made Assessment objects for UI, chart, store and report tests: every state the page must show.

The numbers follow the pipeline's rules (fused = (1 - w) * speech + w * mllm, overall = mean of the
covered parts, CEFR from the fused score), so a test can check what the page shows against them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from ..assessment import TRAINED, Assessment, GraderInfo, PartAssessment, PartScore
from ..cefr import GRID, cefr_label, interval_index
from ..parts import PARTS

DEFAULT_SCORES = {1: (3.0, 3.6), 3: (3.5, 4.1), 4: (4.0, 3.9), 5: (2.5, 2.4)}  # part: (speech, mllm)
DEFAULT_WEIGHTS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.5, 0.4, 0.3)  # one per fusion interval


def distribution_around(score: float, width: float = 0.5) -> tuple[float, ...]:
    """A probability over GRID peaked at `score` (what a multimodal grader's softmax looks like)."""
    logits = -((np.asarray(GRID) - score) ** 2) / (2 * width**2)
    p = np.exp(logits - logits.max())
    return tuple(float(v) for v in p / p.sum())


def part_assessment(part: int, speech: float | None, mllm: float | None, state: str = TRAINED,
                    weights: Sequence[float] = DEFAULT_WEIGHTS, transcript: str = "I think so.") -> PartAssessment:
    """An assessed part with the given grader scores (None: that grader did not run)."""
    s = None if speech is None else PartScore(
        grader="speech", part=part, score=speech, state=state, prototype_levels=GRID,
        similarities=distribution_around(speech, 0.7))
    m = None if mllm is None else PartScore(
        grader="mllm", part=part, score=mllm, state=state, distribution=distribution_around(mllm), variant="TA")
    weight = interval = None
    if s is not None and m is not None:
        interval = int(interval_index(mllm))
        weight = float(weights[interval])
        score = (1 - weight) * speech + weight * mllm
    else:
        score = speech if speech is not None else mllm
    return PartAssessment(part=part, status="assessed", durations=(3.0,), transcripts=(transcript,), speech=s, mllm=m,
                          fusion_weight=weight, fusion_interval=interval, score=round(score, 4),
                          cefr=cefr_label(score), graded=state == TRAINED, basis="fused" if weight is not None else "one grader")


def sample_assessment(learner: str | None = "Ana", state: str = TRAINED, with_mllm: bool = True,
                      scores: Mapping[int, tuple[float, float]] = DEFAULT_SCORES,
                      missing: Sequence[int] = (), rejected: Mapping[int, str] | None = None,
                      answers: Mapping[int, int] | None = None) -> Assessment:
    """A learner's Assessment; `missing` parts had no recording, `rejected` maps part -> problem text,
    `answers` part -> how many answers were scored (default one each, as a short synthetic test)."""
    rejected = dict(rejected or {})
    parts = []
    for p in PARTS:
        if p in missing:
            parts.append(PartAssessment(part=p, status="missing", problem=f"Part {p}: no recording was given."))
        elif p in rejected:
            parts.append(PartAssessment(part=p, status="rejected", problem=rejected[p]))
        else:
            speech, mllm = scores[p]
            pa = part_assessment(p, speech, mllm if with_mllm else None, state)
            if answers and p in answers:
                pa = replace(pa, durations=(3.0,) * answers[p], transcripts=pa.transcripts * answers[p])
            parts.append(pa)
    ok = [pa for pa in parts if pa.ok]
    overall = round(float(np.mean([pa.score for pa in ok])), 4) if ok else None
    graders = (GraderInfo("speech", "local/w2v", state, PARTS if state == TRAINED else ()),)
    if with_mllm:
        graders += (GraderInfo("mllm", "microsoft/Phi-4-multimodal-instruct", state),)
    return Assessment(parts=tuple(parts), overall=overall, overall_cefr=None if overall is None else cefr_label(overall),
                      covered_parts=tuple(pa.part for pa in ok), graded=bool(ok) and all(pa.graded for pa in ok),
                      graders=graders, learner=learner)


def with_intervals(assessment: Assessment, half_widths: Mapping[int, float] | float = 0.3,
                   overall_half_width: float | None = 0.2, coverage: float = 0.9, n: int = 438) -> Assessment:
    """The assessment with conformal intervals of the given half-widths, and the review reasons the
    pipeline's rules (sla_core.intervals) give it."""
    from dataclasses import replace

    from ..assessment import ScoreInterval
    from ..intervals import overall_review, part_review

    parts = []
    for pa in assessment.parts:
        q = half_widths.get(pa.part) if isinstance(half_widths, Mapping) else half_widths
        iv = ScoreInterval.around(pa.score, q, coverage, "conformal", n, f"{coverage:.0%} test interval") \
            if pa.ok and q is not None else None
        pa = replace(pa, interval=iv)
        parts.append(replace(pa, review=part_review(pa)))
    overall = None
    if assessment.overall is not None and overall_half_width is not None:
        overall = ScoreInterval.around(assessment.overall, overall_half_width, coverage, "conformal", n,
                                       f"{coverage:.0%} test interval")
    return replace(assessment, parts=tuple(parts), overall_interval=overall,
                   review=overall_review(parts, assessment.covered_parts, overall))


__all__ = ["DEFAULT_SCORES", "with_intervals", "DEFAULT_WEIGHTS", "distribution_around", "part_assessment",
           "sample_assessment"]


def with_delivery(assessment: Assessment, speech_rate: float = 3.0, pauses: Sequence[tuple[float, float]] = ((4.0, 0.6),
                  (9.0, 1.4)), duration: float = 20.0) -> Assessment:
    """The assessment with the same hand-made delivery on every assessed part: speech from 0.5 s to
    duration - 1 s, broken by `pauses` (start, length), syllables evenly spread at `speech_rate`."""
    from dataclasses import replace

    from ..delivery.measures import PartDelivery, measure_answer

    start, end = 0.5, duration - 1.0
    edges = [start] + [x for t, g in pauses for x in (t, t + g)] + [end]
    segments = list(zip(edges[::2], edges[1::2]))
    n = round(speech_rate * (end - start))
    answer = measure_answer(duration, segments, [start + (end - start) * (i + 0.5) / n for i in range(n)])
    parts = tuple(replace(pa, delivery=PartDelivery((answer,))) if pa.ok else pa for pa in assessment.parts)
    return replace(assessment, parts=parts)
