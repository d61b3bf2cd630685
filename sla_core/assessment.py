"""The result of assessing one learner: what each grader said per part, the fusion, the overall.

Plain frozen dataclasses that round-trip through JSON without loss, so the UI, the CLI, the CSV
export and the SQLite store all read the same object.

Honesty rule: every grader score carries its `state`. A score from a grader with no trained
artifact ("untrained": random head) is kept for inspection but never becomes a grade:
`PartAssessment.graded` and `Assessment.graded` say whether the score may be read as a CEFR grade.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from .cefr import GRID
from .delivery.measures import PartDelivery
from .language.measures import PartLanguage

# Grader states, from most to least trustworthy.
TRAINED = "trained"  # loaded a trained artifact (checkpoint / adapter) for this part
ZERO_SHOT = "zero-shot"  # multimodal grader without a part adapter: a real model, uncalibrated
UNTRAINED = "untrained"  # random head or tiny random model: numbers are not grades
GRADER_STATES = (TRAINED, ZERO_SHOT, UNTRAINED)

SCHEMA_VERSION = 1
DETAILS = ("compact", "full")  # the forms Assessment.to_dict gives; "compact" is the app API's default

# A part's status: scored, absent, its audio unusable, or its answers failed the answer checks (sla_core.checks).
NOT_ASSESSABLE = "not_assessable"
PART_STATUSES = ("assessed", "missing", "rejected", NOT_ASSESSABLE)
# What an answer check concluded: the answer passed, failed (left out of grading), or was measured without a
# decision (a random test model's output, or no text to compare).
PASSED, FAILED, NOT_JUDGED = "passed", "failed", "not judged"


@dataclass(frozen=True)
class PartScore:
    """One grader's score for one part, with what explains it.

    Speech grader: `prototype_levels` + `similarities` (softmax over prototypes, one per CEFR level seen
    in training) and `pooling_weights` (per answer, one weight per 20 ms frame).
    Multimodal grader: `distribution` (probability of each GRID point) and `variant` ("TA", "AO", "TO").
    """

    grader: str  # "speech" | "mllm" | "bert" | ...
    part: int
    score: float  # expected score on the 2.0..5.5 scale (not rounded)
    state: str  # one of GRADER_STATES
    prototype_levels: tuple[float, ...] | None = None
    similarities: tuple[float, ...] | None = None
    pooling_weights: tuple[tuple[float, ...], ...] | None = None
    distribution: tuple[float, ...] | None = None
    variant: str | None = None
    transcripts: tuple[str, ...] | None = None  # what the grader read, when it read text

    def __post_init__(self) -> None:
        if self.state not in GRADER_STATES:
            raise ValueError(f"grader state {self.state!r} is not one of {GRADER_STATES}")
        if self.distribution is not None and len(self.distribution) != len(GRID):
            raise ValueError(f"distribution has {len(self.distribution)} values, expected {len(GRID)}")


@dataclass(frozen=True)
class ScoreInterval:
    """A range that holds the learner's mark with a stated probability, and what it rests on.

    Built by `sla_core.intervals` from fitted widths only (dev residuals or a teacher profile's
    leave-one-out residuals): never invented. When the data were too few for the stated coverage,
    `low`/`high` are None and `note` says so.
    """

    low: float | None  # clipped to the 2.0..5.5 scale; None: too few items for `coverage`
    high: float | None
    half_width: float | None  # before clipping: the score +- half_width (what the review flag reads)
    coverage: float  # nominal probability that the mark lies inside, e.g. 0.9
    method: str  # "conformal" (dev residuals) | "profile" (a teacher's marks) | "bound" (conservative overall)
    n: int  # held-out items behind the width
    basis: str = ""  # where it comes from, in words
    note: str = ""  # why there is no range, in words

    @property
    def available(self) -> bool:
        return self.low is not None and self.high is not None and self.half_width is not None

    @property
    def width(self) -> float | None:
        """Full width before clipping (2 x half-width): what "wider than 1.0" is judged on."""
        return None if self.half_width is None else 2 * self.half_width

    @classmethod
    def around(cls, score: float, half_width: float, coverage: float, method: str, n: int,
               basis: str = "") -> "ScoreInterval":
        low, high = max(score - half_width, GRID[0]), min(score + half_width, GRID[-1])
        return cls(round(low, 4), round(high, 4), round(half_width, 4), coverage, method, n, basis)

    @classmethod
    def unavailable(cls, coverage: float, method: str, n: int, basis: str, note: str) -> "ScoreInterval":
        return cls(None, None, None, coverage, method, n, basis, note)


@dataclass(frozen=True)
class OverallScore:
    """A grader's own estimate of the overall mark: a session-level grader reads the whole test at once and
    returns one (graders.session). Shown beside `Assessment.overall` (the mean of the part scores), never in
    its place: the overall stays the mean of the parts the teacher sees."""

    grader: str  # the system, e.g. "Phi4-MTL"
    score: float  # clipped to the 2.0..5.5 scale
    state: str  # one of GRADER_STATES
    cefr: str
    covered_parts: tuple[int, ...]  # the parts the grader heard
    interval: ScoreInterval | None = None  # from the widths fitted on its own dev residuals, when there are any
    review: tuple[str, ...] = ()  # why a teacher should listen, in words

    def __post_init__(self) -> None:
        if self.state not in GRADER_STATES:
            raise ValueError(f"grader state {self.state!r} is not one of {GRADER_STATES}")


@dataclass(frozen=True)
class GraderInfo:
    """Which model produced a grader's scores and from where: shown as the app's model status."""

    name: str  # "speech", "mllm", "asr", "fusion", ...
    source: str  # hub id, local path or "tiny (random, offline)"
    state: str  # TRAINED / ZERO_SHOT / UNTRAINED (fusion: TRAINED = fitted weights)
    parts: tuple[int, ...] = ()  # parts with a trained artifact
    note: str = ""


@dataclass(frozen=True)
class AnswerCheck:
    """One check of one answer (sla_core.checks): what it measured, against what, and what it concluded.

    A FAILED answer is left out of grading; a part whose every answer failed is NOT_ASSESSABLE.
    """

    check: str  # "language" | "topic" | "read_aloud" | "repeat" | "same_recording"
    answer: int  # the answer's number in its part: 1 = the first recording given
    outcome: str  # PASSED | FAILED | NOT_JUDGED
    measured: str  # what was measured, in words a teacher reads
    value: float | None = None  # the number behind the outcome (probability, similarity, overlap share)
    threshold: float | None = None  # the value where the outcome flips
    fingerprint: str | None = None  # same_recording: sha256 of the answer's 16 kHz samples

    def __post_init__(self) -> None:
        if self.outcome not in (PASSED, FAILED, NOT_JUDGED):
            raise ValueError(f"check outcome {self.outcome!r} is not one of {(PASSED, FAILED, NOT_JUDGED)}")

    @property
    def failed(self) -> bool:
        return self.outcome == FAILED


@dataclass(frozen=True)
class PartAssessment:
    """Everything the teacher sees for one part."""

    part: int
    status: str  # one of PART_STATUSES
    problem: str | None = None  # plain-words reason when missing/rejected (or a warning)
    durations: tuple[float, ...] = ()  # seconds of audio per answer
    transcripts: tuple[str | None, ...] = ()
    speech: PartScore | None = None
    mllm: PartScore | None = None
    fusion_weight: float | None = None  # weight w_k on the multimodal score; None without both graders
    fusion_interval: int | None = None  # k, the interval of the multimodal score
    score: float | None = None  # the part's score: fused, or the one grader available
    cefr: str | None = None
    graded: bool = False  # True only when every grader behind `score` is trained (zero-shot is not a grade)
    basis: str = ""  # how `score` was made, in words
    delivery: PartDelivery | None = None  # speech, pauses, speech rate per answer (sla_core.delivery)
    interval: ScoreInterval | None = None  # how sure `score` is; None: no fitted widths for this system
    review: tuple[str, ...] = ()  # why a teacher should listen to this part, in words (empty: no flag)
    language: PartLanguage | None = None  # words, MTLD, filled pauses, vocabulary (sla_core.language); trusted
    #                                       transcripts only: None when the only transcript is a random model's
    checks: tuple[AnswerCheck, ...] = ()  # each answer's checks (sla_core.checks); failed answers are not graded

    @property
    def flagged(self) -> bool:
        return bool(self.review)

    @property
    def failed_checks(self) -> tuple[AnswerCheck, ...]:
        return tuple(c for c in self.checks if c.failed)

    @property
    def ok(self) -> bool:
        return self.status == "assessed" and self.score is not None


@dataclass(frozen=True)
class Assessment:
    """One learner's four parts, the overall score, and how trustworthy it all is."""

    parts: tuple[PartAssessment, ...]
    overall: float | None  # mean of the covered parts' scores
    overall_cefr: str | None
    covered_parts: tuple[int, ...]  # parts the overall averages; fewer than 4 means a partial overall
    graded: bool  # False when any covered part rests on an untrained grader
    graders: tuple[GraderInfo, ...] = ()
    learner: str | None = None
    calibration: str | None = None  # name of the teacher calibration profile applied, if any
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    schema: int = SCHEMA_VERSION
    overall_interval: ScoreInterval | None = None  # how sure `overall` is (see ScoreInterval)
    review: tuple[str, ...] = ()  # why a teacher should listen to this learner: the overall's reasons, then the parts'
    holistic: OverallScore | None = None  # a session-level grader's own overall output, beside `overall`

    @property
    def flagged(self) -> bool:
        return bool(self.review)

    def part(self, part: int) -> PartAssessment | None:
        return next((p for p in self.parts if p.part == part), None)

    @property
    def complete(self) -> bool:
        return len(self.covered_parts) == len(self.parts) and len(self.parts) > 0

    def to_dict(self, detail: str = "full") -> dict[str, Any]:
        """Plain JSON-ready values in the `detail` asked for (one of DETAILS).

        "full": the whole record; each part's delivery and language use also carry their measures ("summary").
        "compact": a projection of the same record (see `compact_dict`): what a program storing or showing
        results needs, without the per-frame detail (one Part 3 answer's full form was 60,040 characters).
        """
        if detail == "compact":
            return compact_dict(self)
        if detail != "full":
            raise ValueError(f"detail {detail!r} is not one of {list(DETAILS)}")
        data = asdict(self)
        for part, values in zip(self.parts, data["parts"]):
            if part.language is not None:
                values["language"]["summary"] = part.language.summary()
            if part.delivery is not None:
                values["delivery"]["summary"] = part.delivery.summary()
                for answer, answer_values in zip(part.delivery.answers, values["delivery"]["answers"]):
                    answer_values["summary"] = PartDelivery((answer,)).summary()
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Assessment":
        if data.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise ValueError(f"assessment schema {data.get('schema')!r} is not {SCHEMA_VERSION}")
        values = dict(data)
        values["parts"] = tuple(_part_from_dict(p) for p in data["parts"])
        values["graders"] = tuple(GraderInfo(**_tupled(g)) for g in data.get("graders", ()))
        values["covered_parts"] = tuple(data["covered_parts"])
        values["review"] = tuple(data.get("review", ()))
        if values.get("overall_interval") is not None:
            values["overall_interval"] = ScoreInterval(**values["overall_interval"])
        if values.get("holistic") is not None:
            holistic = _tupled(values["holistic"])
            if holistic.get("interval") is not None:
                holistic["interval"] = ScoreInterval(**holistic["interval"])
            values["holistic"] = OverallScore(**holistic)
        return cls(**_known(cls, values))

    @classmethod
    def from_json(cls, text: str) -> "Assessment":
        return cls.from_dict(json.loads(text))


def _part_from_dict(data: dict[str, Any]) -> PartAssessment:
    values = _tupled(data)
    for grader in ("speech", "mllm"):
        if values.get(grader) is not None:
            values[grader] = PartScore(**_tupled(values[grader]))
    if values.get("interval") is not None:
        values["interval"] = ScoreInterval(**values["interval"])
    if values.get("delivery") is not None:  # results saved before the delivery measures have none
        values["delivery"] = PartDelivery.from_dict(data["delivery"])
    if values.get("language") is not None:  # results saved before language use have none
        values["language"] = PartLanguage.from_dict(data["language"])
    values["checks"] = tuple(AnswerCheck(**c) for c in data.get("checks", ()))
    return PartAssessment(**_known(PartAssessment, values))


def _tupled(data: dict[str, Any]) -> dict[str, Any]:
    """JSON turns tuples into lists; turn them back (nested once, for pooling weights)."""
    out = {}
    for key, value in data.items():
        if isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        out[key] = value
    return out


def _known(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; expected {sorted(names)}")
    return values


# -- the compact form ----------------------------------------------------------------------------------

def compact_dict(a: Assessment) -> dict[str, Any]:
    """Scores, levels, intervals, review and the delivery summary of `a`, every value copied from it, never
    recomputed, so the compact form cannot disagree with the full one:

    * the learner, when it was made, the overall score, its CEFR level, the parts it covers, whether it is a
      grade, the calibration profile (if any), how sure the overall is, and the review reasons;
    * a session-level grader's own overall (`holistic`: its grader, score, level, state, parts, interval and
      review), None without one;
    * per part: status and problem, score and level, whether it is a grade, how sure (the interval), its review
      reasons, each grader's score and state, the fusion weight, how many answers, the delivery summary
      (`PartDelivery.summary()`: speaking time, speech rate, pauses...) and the language-use summary (words,
      MTLD, CEFR word profile, filled pauses; None where no trusted transcript).

    Left out: each grader's level similarities, score distribution and per-frame pooling weights, the
    transcripts, and every answer's speech segments and syllable times.
    """
    return {
        "detail": "compact", "schema": a.schema, "learner": a.learner, "created": a.created,
        "overall": a.overall, "overall_cefr": a.overall_cefr, "covered_parts": list(a.covered_parts),
        "graded": a.graded, "calibration": a.calibration, "overall_interval": _compact_interval(a.overall_interval),
        "review": list(a.review), "holistic": _compact_holistic(a.holistic),
        "parts": [_compact_part(p) for p in a.parts],
    }


def _compact_holistic(own: OverallScore | None) -> dict[str, Any] | None:
    if own is None:
        return None
    return {"grader": own.grader, "score": own.score, "cefr": own.cefr, "state": own.state,
            "covered_parts": list(own.covered_parts), "interval": _compact_interval(own.interval),
            "review": list(own.review)}


def _compact_part(p: PartAssessment) -> dict[str, Any]:
    grader = lambda s: None if s is None else {"score": s.score, "state": s.state}  # noqa: E731
    return {
        "part": p.part, "status": p.status, "problem": p.problem, "score": p.score, "cefr": p.cefr,
        "graded": p.graded, "interval": _compact_interval(p.interval), "review": list(p.review),
        "speech": grader(p.speech), "mllm": grader(p.mllm), "fusion_weight": p.fusion_weight,
        "answers": len(p.durations), "delivery": p.delivery.summary() if p.delivery is not None else None,
        "language": p.language.summary() if p.language is not None else None,
    }


def _compact_interval(iv: ScoreInterval | None) -> dict[str, Any] | None:
    """The range and its probability, or why there is none (note)."""
    if iv is None:
        return None
    return {"low": iv.low, "high": iv.high, "coverage": iv.coverage, "method": iv.method, "note": iv.note}
