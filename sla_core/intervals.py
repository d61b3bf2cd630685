"""How sure each score is: split-conformal intervals, and the rules that flag a result for review.

Split conformal prediction (Vovk et al.; Lei et al. 2018, "Distribution-free predictive inference"):
take n absolute residuals |mark - score| of items the system did not learn from, and let q be the
ceil((n + 1) * coverage)-th smallest. Then a new learner's mark lies in [score - q, score + q] with
probability >= coverage, whatever the distribution, as long as the new learner is exchangeable with
those n (same population, same graders). When ceil((n + 1) * coverage) > n there is no finite q:
the interval says "too few items" instead of pretending.

Widths are fitted per system (the fused score, each grader alone), per target (each part, and the
overall for every set of covered parts) and per region of the reported score (the 8 fusion intervals
of `cefr.FUSION_EDGES`: a "Mondrian" split, valid within each region because the region depends only
on the score). A region with fewer than `min_region_count` items uses its target's global width.

Where no width was fitted for a combination (an overall mixing systems, a teacher's profile), the
overall gets a conservative bound: if each covered part p has half-width q_p at coverage 1 - alpha / k
(Bonferroni over the k parts), the mean of the k marks lies within the mean of the q_p of the mean of
the k scores with probability >= 1 - alpha.

Pure numpy: no model code, no fusion code (fusion.py stores these widths beside its weights).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .assessment import NOT_ASSESSABLE, UNTRAINED, PartAssessment, ScoreInterval
from .cefr import FUSION_EDGES, LABELS, N_INTERVALS, SCORE_MAX, SCORE_MIN, interval_index
from .parts import PARTS, part_info

DEFAULT_COVERAGE = 0.9  # the issue's default: 90% of learners' marks inside their interval
DEFAULT_MIN_REGION_COUNT = 30  # items a region needs for its own width; fewer -> the target's global width
SYSTEMS = ("fused", "speech", "mllm")  # what the pipeline can report: both graders fused, or one alone
MAX_WIDTH = 1.0  # review: an interval wider than this spans more than two adjacent levels of the grid
MAX_DISAGREEMENT = 1.0  # review: the two graders' scores differ by more than this
MIN_SPEECH_SHARE = 0.25  # review: answers shorter on average than this share of the part's speaking time
_EPS = 1e-9


def min_items(coverage: float) -> int:
    """Fewest residuals that give a finite conformal width at `coverage` (9 at 90%, 19 at 95%)."""
    _check_coverage(coverage)
    return math.ceil(coverage / (1 - coverage) - _EPS)


def conformal_quantile(residuals, coverage: float) -> float | None:
    """The ceil((n + 1) * coverage)-th smallest residual; None when n is too small for that coverage.

    Args:
        residuals: (n,) absolute errors of held-out items.
        coverage: nominal coverage in (0, 1), e.g. 0.9.
    """
    _check_coverage(coverage)
    r = np.sort(np.asarray(residuals, dtype=np.float64).ravel())  # (n,)
    if not np.isfinite(r).all():
        raise ValueError("residuals contain NaN or inf")
    rank = math.ceil((r.size + 1) * coverage - _EPS)  # the slack keeps (9 + 1) * 0.9 at 9, not 10
    return None if rank > r.size else float(r[rank - 1])


def _check_coverage(coverage: float) -> None:
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must lie strictly between 0 and 1 (e.g. 0.9 for 90%), got {coverage!r}")


def region_of(score: float) -> int:
    """Region 0..7 of a reported score: the fusion interval it falls in (one per level of the grid)."""
    return int(interval_index(float(score)))


@dataclass(frozen=True)
class Widths:
    """Conformal half-widths of one system for one target (a part, or an overall over some parts)."""

    half_width: float | None  # global width at the coverage; None: too few items
    n: int  # held-out items behind it
    regions: tuple[float | None, ...] = (None,) * N_INTERVALS  # (8,) own width per region; None -> global
    region_counts: tuple[int, ...] = (0,) * N_INTERVALS  # (8,) items per region
    bonferroni: tuple[float | None, ...] = ()  # half-widths at coverage 1 - alpha / k for k = 1..4 (bounds)

    def __post_init__(self) -> None:
        cast = lambda v: None if v is None else float(v)  # noqa: E731
        object.__setattr__(self, "half_width", cast(self.half_width))
        object.__setattr__(self, "regions", tuple(cast(v) for v in self.regions))
        object.__setattr__(self, "region_counts", tuple(int(c) for c in self.region_counts))
        object.__setattr__(self, "bonferroni", tuple(cast(v) for v in self.bonferroni))
        if len(self.regions) != N_INTERVALS or len(self.region_counts) != N_INTERVALS:
            raise ValueError(f"regions and region_counts need {N_INTERVALS} entries, got "
                             f"{len(self.regions)} and {len(self.region_counts)}")

    def at(self, score: float) -> tuple[float | None, int, bool]:
        """(half-width, items behind it, whether it is the score's own region's) for a reported score."""
        k = region_of(score)
        if self.regions[k] is not None:
            return self.regions[k], self.region_counts[k], True
        return self.half_width, self.n, False


def fit_widths(pred, ref, coverage: float = DEFAULT_COVERAGE,
               min_region_count: int = DEFAULT_MIN_REGION_COUNT) -> Widths:
    """Conformal widths from held-out predictions and marks, globally and per region of the prediction.

    Args:
        pred, ref: (n,) aligned scores (as reported: clipped to the scale) and marks of held-out items.
        coverage: nominal coverage.
        min_region_count: fewest items for a region's own width (at least `min_items(coverage)`).
    """
    p, y = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(f"pred and ref must be aligned 1-D arrays, got shapes {p.shape} and {y.shape}")
    if min_region_count < min_items(coverage):
        raise ValueError(f"min_region_count {min_region_count} is below {min_items(coverage)}, the fewest items "
                         f"that give a finite width at {coverage:.0%} coverage")
    r = np.abs(p - y)  # (n,)
    k = np.asarray(interval_index(p)) if p.size else np.zeros(0, dtype=int)  # (n,)
    counts = np.bincount(k, minlength=N_INTERVALS)  # (8,)
    regions = tuple(conformal_quantile(r[k == i], coverage) if counts[i] >= min_region_count else None
                    for i in range(N_INTERVALS))
    alpha = 1 - coverage
    bonferroni = tuple(conformal_quantile(r, 1 - alpha / m) for m in range(1, len(PARTS) + 1))
    return Widths(conformal_quantile(r, coverage), int(p.size), regions, tuple(int(c) for c in counts), bonferroni)


def overall_key(parts: Sequence[int]) -> str:
    """Target name of an overall over `parts`, e.g. "overall:1+3+4+5"."""
    return "overall:" + "+".join(str(p) for p in sorted(parts))


def part_key(part: int) -> str:
    return f"part{part}"


# Target of a grader's own overall output (the session grader's fifth output), fitted on its own dev residuals
# against the overall mark; the mean-of-parts overalls keep their `overall_key` targets.
OWN_OVERALL_KEY = "overall:own"


def _subsets(parts: Sequence[int]) -> list[tuple[int, ...]]:
    """Every non-empty subset of `parts`, in test order (the overalls a partial submission can have)."""
    parts = tuple(parts)
    return [tuple(p for j, p in enumerate(parts) if mask >> j & 1) for mask in range(1, 2 ** len(parts))]


@dataclass(frozen=True)
class IntervalWidths:
    """Every width the pipeline can apply, with what they rest on (saved in the fusion-weights JSON)."""

    coverage: float
    method: str  # how the held-out residuals were obtained, in words
    n_submissions: int  # complete held-out submissions behind the overall widths
    states: dict[str, str]  # grader -> state of the predictions they were fitted on ("trained", "zero-shot")
    table: dict[str, dict[str, Widths]]  # system -> target (part_key / overall_key) -> widths
    min_region_count: int = DEFAULT_MIN_REGION_COUNT

    def __post_init__(self) -> None:
        _check_coverage(self.coverage)
        table = {str(s): {str(t): w if isinstance(w, Widths) else Widths(**w) for t, w in targets.items()}
                 for s, targets in dict(self.table).items()}
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "states", {str(k): str(v) for k, v in dict(self.states).items()})
        unknown = set(table) - set(SYSTEMS)
        if unknown:
            raise ValueError(f"interval systems must be among {SYSTEMS}, got {sorted(unknown)}")

    def applies_to(self, states: Mapping[str, str]) -> bool:
        """True when the graders behind a score are in the states the widths were fitted for (never untrained).

        A random (untrained) grader is a different model at every load: no width fitted on one covers another.
        """
        return all(s != UNTRAINED and self.states.get(g) == s for g, s in states.items())

    def part_interval(self, system: str, part: int, score: float) -> ScoreInterval | None:
        """The interval around one part's reported score, or None when no width was fitted for it."""
        widths = self.table.get(system, {}).get(part_key(part))
        if widths is None:
            return None
        return self._interval(widths, score, f"{_SYSTEM_WORDS[system]}, part {part}")

    def overall_interval(self, system: str, parts: Sequence[int], score: float) -> ScoreInterval | None:
        """The interval around an overall over `parts`: its own widths (fitted on the full overall mark)."""
        widths = self.table.get(system, {}).get(overall_key(parts))
        if widths is None:
            return None
        what = "overall" if len(parts) == len(PARTS) else f"overall of {len(parts)} part(s) (vs the full overall mark)"
        return self._interval(widths, score, f"{_SYSTEM_WORDS[system]}, {what}")

    def own_overall_interval(self, system: str, score: float) -> ScoreInterval | None:
        """The interval around a grader's own overall output (OWN_OVERALL_KEY), or None when none was fitted."""
        widths = self.table.get(system, {}).get(OWN_OVERALL_KEY)
        if widths is None:
            return None
        return self._interval(widths, score, f"{_SYSTEM_WORDS[system]}, its own overall output")

    def bonferroni(self, system: str, part: int, n_parts: int) -> float | None:
        """Half-width of a part at coverage 1 - alpha / n_parts (for the conservative overall bound)."""
        widths = self.table.get(system, {}).get(part_key(part))
        if widths is None or len(widths.bonferroni) < n_parts:
            return None
        return widths.bonferroni[n_parts - 1]

    def _interval(self, widths: Widths, score: float, what: str) -> ScoreInterval:
        q, n, own_region = widths.at(score)
        where = f"scores near {LABELS[region_of(score)]}" if own_region else "all scores"
        basis = f"{self.coverage:.0%} split-conformal interval from {n} held-out dev items ({what}; {where}; {self.method})"
        if q is None:
            return ScoreInterval.unavailable(self.coverage, "conformal", n, basis,
                                             f"too few dev items ({n}) for a {self.coverage:.0%} interval: "
                                             f"at least {min_items(self.coverage)} are needed")
        return ScoreInterval.around(score, q, self.coverage, "conformal", n, basis)

    def to_dict(self) -> dict:
        return {"coverage": self.coverage, "method": self.method, "n_submissions": self.n_submissions,
                "states": dict(self.states), "min_region_count": self.min_region_count,
                "table": {s: {t: _widths_dict(w) for t, w in targets.items()} for s, targets in self.table.items()}}

    @classmethod
    def from_dict(cls, doc: Mapping) -> "IntervalWidths":
        return cls(**dict(doc))


def _widths_dict(w: Widths) -> dict:
    return {"half_width": w.half_width, "n": w.n, "regions": list(w.regions), "region_counts": list(w.region_counts),
            "bonferroni": list(w.bonferroni)}


_SYSTEM_WORDS = {"fused": "fused score", "speech": "speech grader alone", "mllm": "multimodal grader alone"}


@dataclass(frozen=True)
class HeldOut:
    """Held-out predictions of one system: (n_submissions, 4) scores and marks, NaN where a part is absent."""

    scores: np.ndarray  # (N, len(PARTS)), columns in PARTS order
    marks: np.ndarray  # (N, len(PARTS))
    overall_marks: np.ndarray | None = field(default=None)  # (N,) the overall mark; None: mean of the part marks
    own_overall: np.ndarray | None = field(default=None)  # (N,) the grader's own overall output (NaN: none)
    own_overall_marks: np.ndarray | None = field(default=None)  # (N,) the overall mark it is compared with


def fit_intervals(held_out: Mapping[str, HeldOut], states: Mapping[str, str], method: str,
                  coverage: float = DEFAULT_COVERAGE,
                  min_region_count: int = DEFAULT_MIN_REGION_COUNT) -> IntervalWidths:
    """Widths for every system, part and set of covered parts from held-out predictions.

    Scores are clipped to the scale first, as the pipeline reports them. An overall over a subset S of
    the parts is the mean of S's scores, compared with the learner's full overall mark (what the teacher
    wants to know), on submissions that have every part: a partial overall gets its own, wider, width.

    Args:
        held_out: system ("fused", "speech", "mllm") -> its held-out predictions.
        states: grader -> state of the predictions (recorded: widths only apply to graders in these states).
        method: how the predictions were held out, in words (stored and shown).
    """
    table: dict[str, dict[str, Widths]] = {}
    n_complete = 0
    for system, h in held_out.items():
        s = np.clip(np.asarray(h.scores, dtype=np.float64), SCORE_MIN, SCORE_MAX)  # (N, 4)
        y = np.asarray(h.marks, dtype=np.float64)  # (N, 4)
        if s.shape != y.shape or s.ndim != 2 or s.shape[1] != len(PARTS):
            raise ValueError(f"{system}: scores and marks must both be (submissions, {len(PARTS)}), "
                             f"got {s.shape} and {y.shape}")
        targets: dict[str, Widths] = {}
        for j, p in enumerate(PARTS):
            ok = np.isfinite(s[:, j]) & np.isfinite(y[:, j])
            targets[part_key(p)] = fit_widths(s[ok, j], y[ok, j], coverage, min_region_count)
        complete = np.isfinite(s).all(axis=1) & np.isfinite(y).all(axis=1)  # (N,)
        overall = y[complete].mean(axis=1) if h.overall_marks is None else np.asarray(h.overall_marks)[complete]
        n_complete = max(n_complete, int(complete.sum()))
        for subset in _subsets(PARTS):
            cols = [PARTS.index(p) for p in subset]
            targets[overall_key(subset)] = fit_widths(s[complete][:, cols].mean(axis=1), overall, coverage,
                                                      min_region_count)
        if h.own_overall is not None:
            own = np.clip(np.asarray(h.own_overall, dtype=np.float64), SCORE_MIN, SCORE_MAX)  # (N,)
            marks = np.asarray(h.own_overall_marks, dtype=np.float64)
            ok = np.isfinite(own) & np.isfinite(marks)
            targets[OWN_OVERALL_KEY] = fit_widths(own[ok], marks[ok], coverage, min_region_count)
        table[system] = targets
    return IntervalWidths(coverage=coverage, method=method, n_submissions=n_complete, states=dict(states),
                          table=table, min_region_count=min_region_count)


def bound_interval(score: float, half_widths: Sequence[float | None], coverage: float, n: int,
                   basis: str) -> ScoreInterval:
    """The conservative overall bound: mean of the covered parts' Bonferroni half-widths (module docstring)."""
    if any(q is None for q in half_widths) or not half_widths:
        k = len(half_widths)
        needed = min_items(1 - (1 - coverage) / max(k, 1))
        return ScoreInterval.unavailable(coverage, "bound", n, basis,
                                         f"too few marks ({n}) for a {coverage:.0%} bound over {k} part(s): "
                                         f"at least {needed} are needed")
    return ScoreInterval.around(score, float(np.mean(half_widths)), coverage, "bound", n, basis)


# -- review flags ------------------------------------------------------------------------------------


def part_review(pa: PartAssessment, answers_dropped: bool = False) -> tuple[str, ...]:
    """Why a teacher should listen to this part, in words; () when nothing calls for it.

    Args:
        pa: the part's result (its interval already set).
        answers_dropped: some of the part's answers were missing or rejected and it was scored on the rest.
    """
    if pa.status == "missing":
        return (f"Part {pa.part} is missing: no recording was given.",)
    if pa.status == "rejected":
        return (f"Part {pa.part}'s answers were rejected: {pa.problem}" if pa.problem
                else f"Part {pa.part}'s answers were rejected.",)
    if pa.status == NOT_ASSESSABLE:
        return (f"Part {pa.part} is not assessable: {pa.problem}",)
    reasons = []
    iv = pa.interval
    if iv is not None and iv.available and iv.width > MAX_WIDTH + _EPS:
        reasons.append(f"Part {pa.part}: the {iv.coverage:.0%} interval is {iv.width:.2f} wide (more than "
                       f"{MAX_WIDTH:.1f}, over two adjacent levels): the score is uncertain.")
    if pa.speech is not None and pa.mllm is not None and pa.speech.state != UNTRAINED and pa.mllm.state != UNTRAINED:
        gap = abs(pa.speech.score - pa.mllm.score)
        if gap > MAX_DISAGREEMENT + _EPS:
            reasons.append(f"Part {pa.part}: the speech grader ({pa.speech.score:.2f}) and the multimodal grader "
                           f"({pa.mllm.score:.2f}) disagree by {gap:.2f}.")
    if answers_dropped:
        reasons.append(f"Part {pa.part}: some answers are missing, were rejected or failed an answer check; "
                       "it was scored on the rest.")
    # Speech time from the delivery measures (voice activity) when the part has them, else the recordings' length.
    answers = pa.delivery.answers if pa.delivery is not None else ()
    seconds, what = ((pa.delivery.speaking_s / len(answers), "of speech") if answers else
                     (float(np.mean(pa.durations)), "recorded") if pa.durations else (None, ""))
    expected = part_info(pa.part).answer_seconds
    if seconds is not None and seconds < MIN_SPEECH_SHARE * expected:
        reasons.append(f"Part {pa.part}: too little speech ({seconds:.0f} s {what} per answer on average; "
                       f"this part expects about {expected:.0f} s).")
    return tuple(reasons)


def overall_review(parts: Sequence[PartAssessment], covered: Sequence[int],
                   interval: ScoreInterval | None) -> tuple[str, ...]:
    """Why the learner's overall needs a teacher: its own reasons, then each flagged part's."""
    reasons = []
    if len(covered) < len(PARTS):
        reasons.append(f"The overall covers {len(covered)} of {len(PARTS)} parts."
                       if covered else "No part could be scored.")
    if interval is not None and interval.available and interval.width > MAX_WIDTH + _EPS:
        reasons.append(f"The overall's {interval.coverage:.0%} interval is {interval.width:.2f} wide "
                       f"(more than {MAX_WIDTH:.1f}).")
    for pa in parts:
        reasons.extend(pa.review)
    return tuple(reasons)


def own_overall_review(score: float, interval: ScoreInterval | None, mean_of_parts: float | None,
                       grader: str) -> tuple[str, ...]:
    """Why a grader's own overall output (the session grader's) needs a teacher: a wide interval, or a
    disagreement of more than MAX_DISAGREEMENT with the overall the parts give."""
    reasons = []
    if interval is not None and interval.available and interval.width > MAX_WIDTH + _EPS:
        reasons.append(f"The {grader} overall's {interval.coverage:.0%} interval is {interval.width:.2f} wide "
                       f"(more than {MAX_WIDTH:.1f}).")
    if mean_of_parts is not None and abs(score - mean_of_parts) > MAX_DISAGREEMENT + _EPS:
        reasons.append(f"The {grader} overall ({score:.2f}) and the mean of the part scores ({mean_of_parts:.2f}) "
                       f"disagree by {abs(score - mean_of_parts):.2f}.")
    return tuple(reasons)


def model_spread(distribution: Sequence[float] | None, grid: Sequence[float], coverage: float = DEFAULT_COVERAGE
                 ) -> tuple[float, float] | None:
    """The central `coverage` range of the multimodal grader's own 8-point distribution (its own uncertainty).

    Not a calibrated interval: a model's probabilities are often over- or under-confident.
    """
    if distribution is None:
        return None
    pr = np.asarray(distribution, dtype=np.float64)
    if pr.sum() <= 0:
        return None
    cdf = np.cumsum(pr / pr.sum())  # (8,)
    tail = (1 - coverage) / 2
    lo = int(np.searchsorted(cdf, tail - _EPS, side="right"))
    hi = int(np.searchsorted(cdf, 1 - tail - _EPS, side="left"))
    return float(grid[min(lo, len(grid) - 1)]), float(grid[min(hi, len(grid) - 1)])


__all__ = ["DEFAULT_COVERAGE", "SYSTEMS", "MAX_WIDTH", "Widths", "IntervalWidths", "HeldOut", "min_items",
           "conformal_quantile", "fit_widths", "fit_intervals", "bound_interval", "part_review", "overall_review",
           "model_spread", "overall_key", "part_key", "region_of", "FUSION_EDGES", "OWN_OVERALL_KEY", "own_overall_review"]
