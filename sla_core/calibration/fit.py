"""Fitting a teacher calibration from a handful of graded parts, and the held-out evidence for it.

What is fitted (all on CPU, in milliseconds once the exemplars are collected):
1. Speech prototypes: each level with exemplars gets the mean of their embeddings as its prototype;
   levels without exemplars keep the loaded one. Per part when the part has >= PER_PART_MIN exemplars
   at >= PER_PART_MIN_LEVELS levels, else pooled over all exemplars whose grader shares the part's
   encoder (the untrained graders share one; trained graders each have their own, so they do not pool).
2. One linear map y = a * x + b per grader and part (same per-part/pooled rule). Guards: a constant
   score or fewer than MIN_LINEAR_ITEMS items gives an offset-only map (a = 1, b = mean(y - x)); the
   slope is kept within [0, MAX_SLOPE] (a sign flip becomes a = 0: everyone gets the mean mark).
   Not offset-only on a sign flip: that switch depends on the held-out mark (leaving out a point that
   supports the order flips the sign), so it leaks the answer into the leave-one-out evidence; on pure
   noise it "beat" the class mean in a quarter of the cases. A clamped slope is continuous in the data.
   x for the speech grader is its head's score when the grader is TRAINED. An untrained grader's head
   is random, so x is then the prototype score: the level expected under its similarities to the
   re-estimated prototypes, sum_k s_k * level_k over the levels that have exemplars.
3. Fusion: one weight for every interval (fusion.fit_fusion with min_count above the number of
   exemplars, so all intervals take the global weight): 10-40 items cannot support 8 weights. Fitted
   only when both graders contribute (the Assessor never lets an untrained grader dilute a real one).
4. Delivery measures (delivery_fit): a small ridge correction of the calibrated score from the part's
   speech rate, pauses and runs, kept only when a nested leave-one-out shows it lowers the held-out error.

Evidence: leave-one-out. Each exemplar is scored by a calibration fitted on all the others (steps
1-3 again) and compared with the uncalibrated system's score of it; when delivery measures are used,
each held-out score also comes from a delivery choice and correction made without it. The verdict says the calibration
helps only when there are enough exemplars, the held-out error drops by more than chance would give
(gain.gain_test: a paired test on the per-response errors) and the calibrated scores still follow the
marks (held-out Pearson >= MIN_PCC). It never says "applied": a
profile is applied (in use) only once a teacher or a flag puts it in use (`apply.use_calibration`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from .. import metrics
from ..assessment import TRAINED, UNTRAINED
from ..cefr import clip_score
from ..fusion import FusionWeights, fit_fusion, fuse
from ..parts import PARTS
from .delivery_fit import fit_delivery
from .features import ExemplarData, SpeechPart
from .gain import ALPHA, gain_test
from .profile import IDENTITY, CalibrationProfile, Evidence, LinearMap, PrototypeFit, check_profile_name

MIN_EXEMPLARS = 10  # fewer graded parts: the evidence is too thin to trust (the 10-40)
PER_PART_MIN = 8  # exemplars a part needs for its own maps and prototypes ...
PER_PART_MIN_LEVELS = 2  # ... at this many different marks; otherwise it shares the pooled fit
MIN_LINEAR_ITEMS = 3  # fewer: offset-only (a slope through two points is pure noise)
MAX_SLOPE = 10.0  # a steeper map would mostly amplify noise; the prototype score is compressed, so not 2
MIN_PCC = 0.3  # held-out Pearson below this: calibration would give everyone about the same score
SPEECH, MLLM = "speech", "mllm"


@dataclass(frozen=True)
class CalibrationResult:
    """A fitted profile plus the verdict; `profile` is built even when it does not apply (for --force)."""

    profile: CalibrationProfile
    skipped: tuple[str, ...] = ()  # graded parts left out, with the reason

    @property
    def applies(self) -> bool:
        return self.profile.applies

    @property
    def reason(self) -> str:
        return self.profile.reason

    @property
    def evidence(self) -> Evidence | None:
        return self.profile.evidence


@dataclass
class _Fit:
    prototypes: dict[int, PrototypeFit] = field(default_factory=dict)
    maps: dict[str, dict[int, LinearMap]] = field(default_factory=dict)
    fusion: FusionWeights | None = None


# -- the pieces --------------------------------------------------------------------------------------


def fit_linear(x, y, scope: str) -> LinearMap:
    """Least-squares y = a * x + b with the guards above; scope is recorded ("part" / "pooled")."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size == 0:
        return IDENTITY
    note = ""
    if x.size < MIN_LINEAR_ITEMS:
        note = f"only {x.size} exemplar(s): offset only"
    elif np.ptp(x) < 1e-6:
        note = "the grader gave every exemplar the same score: offset only"
    else:
        slope, _ = np.polyfit(x, y, 1)
        clamped = float(np.clip(slope, 0.0, MAX_SLOPE))  # the least-squares slope within [0, MAX_SLOPE]
        if clamped != slope:
            note = (f"the fitted slope {slope:.2f} would {'reverse the order of' if slope < 0 else 'over-stretch'} "
                    f"the grader's scores: slope {clamped:g}")
        return LinearMap(clamped, float(np.mean(y) - clamped * np.mean(x)), int(x.size), scope, note)
    return LinearMap(1.0, float(np.mean(y - x)), int(x.size), scope, note)


def prototype_score(similarities, levels: Sequence[float], fitted: Sequence[float]) -> np.ndarray:
    """Expected level under the similarities, renormalised over the `fitted` levels.

    Args:
        similarities: (N, K) or (K,) softmax over the grader's prototypes; levels: (K,) their levels;
        fitted: the levels that have exemplars (a subset of levels).
    Returns:
        (N,) or a 0-d array of scores.
    """
    s = np.asarray(similarities, dtype=np.float64)
    index = [list(levels).index(v) for v in fitted]
    sub = s[..., index]  # (N, L)
    return sub @ np.asarray(fitted, dtype=np.float64) / sub.sum(-1)


def combine(scores: Mapping[str, float], states: Mapping[str, str], fusion: FusionWeights) -> float:
    """One part's score from its graders' scores, by the Assessor's rule (assess.Assessor._combine):
    untrained graders count only when no other grader is there; two graders are fused."""
    present = [g for g in (SPEECH, MLLM) if g in scores] + [g for g in scores if g not in (SPEECH, MLLM)]
    real = [g for g in present if states[g] != UNTRAINED]
    use = real or present
    if len(use) == 2 and set(use) == {SPEECH, MLLM}:
        return clip_score(float(fuse(scores[SPEECH], scores[MLLM], fusion)[0]))
    return clip_score(float(scores[use[0]]))


def _speech_x(sp: SpeechPart, fit: PrototypeFit | None, embeddings: np.ndarray) -> np.ndarray:
    """(N, H) -> (N,) the speech score the linear map reads (see the module docstring)."""
    prototypes = sp.prototypes.copy()  # (K, H)
    if fit is not None:
        prototypes[[sp.levels.index(v) for v in fit.levels]] = fit.vectors
    raw, sims = sp.score(embeddings, prototypes)
    if fit is not None and fit.kind == "prototypes":
        return prototype_score(sims, sp.levels, fit.levels)
    return np.array([clip_score(float(v)) for v in raw])


def _own_fit_ok(parts: np.ndarray, marks: np.ndarray, part: int) -> bool:
    mine = parts == part
    return int(mine.sum()) >= PER_PART_MIN and len(set(marks[mine].tolist())) >= PER_PART_MIN_LEVELS


def _fit(data: ExemplarData, idx: np.ndarray) -> _Fit:
    """Steps 1-3 on the exemplars `idx` (all of them, or all but one for the evidence)."""
    ex = [data.exemplars[i] for i in idx]
    parts = np.array([e.part for e in ex])
    y = np.array([e.mark for e in ex], dtype=np.float64)
    out = _Fit()

    # 1. prototypes
    for p, sp in data.speech_parts.items():
        if _own_fit_ok(parts, y, p):
            pool, scope = np.flatnonzero(parts == p), "part"
        else:
            pool = np.array([k for k, e in enumerate(ex) if e.part in data.speech_parts
                             and data.speech_parts[e.part].space == sp.space], dtype=int)
            scope = "pooled" if any(ex[k].part != p for k in pool) else "part"
        levels = tuple(v for v in sp.levels if (y[pool] == v).any()) if pool.size else ()
        if levels:
            vectors = np.stack([np.mean([ex[k].embedding for k in pool if y[k] == v], axis=0) for v in levels])
            counts = tuple(int((y[pool] == v).sum()) for v in levels)
            kind = "head" if sp.state == TRAINED else "prototypes"
            out.prototypes[p] = PrototypeFit(levels, vectors.astype(np.float32), counts, scope, kind)

    # 2. linear maps
    xs = _features(data, out, idx)
    for g, x in xs.items():
        pooled = fit_linear(x, y, "pooled")
        maps = {}
        for p in PARTS:
            sp = data.speech_parts.get(p)
            if g == SPEECH and data.speech_parts and (sp is None or (sp.state != TRAINED and p not in out.prototypes)):
                maps[p] = IDENTITY  # an untrained part without prototypes: its head is random, nothing to map
            elif _own_fit_ok(parts, y, p):
                maps[p] = fit_linear(x[parts == p], y[parts == p], "part")
            else:
                maps[p] = pooled
        out.maps[g] = maps

    # 3. fusion
    if {SPEECH, MLLM} <= set(xs):
        both = [k for k, e in enumerate(ex) if all(e.states[g] != UNTRAINED for g in (SPEECH, MLLM))
                or all(e.states[g] == UNTRAINED for g in (SPEECH, MLLM))]
        if len(both) >= 2:
            s = [out.maps[SPEECH][ex[k].part](xs[SPEECH][k]) for k in both]
            m = [out.maps[MLLM][ex[k].part](xs[MLLM][k]) for k in both]
            source = f"teacher calibration on {len(both)} responses: one weight for all intervals"
            out.fusion = fit_fusion(s, m, y[both], min_count=len(both) + 1, source=source)
    return out


def _features(data: ExemplarData, fit: _Fit, idx: np.ndarray) -> dict[str, np.ndarray]:
    """grader name -> (len(idx),) the uncalibrated x each map reads, under `fit`'s prototypes."""
    ex = [data.exemplars[i] for i in idx]
    xs = {g: np.array([e.scores[g] for e in ex], dtype=np.float64) for g in data.graders}
    if data.speech_parts:
        parts = np.array([e.part for e in ex])
        for p in set(parts.tolist()):
            rows = np.flatnonzero(parts == p)
            embeddings = np.stack([ex[k].embedding for k in rows])  # (n_p, H)
            xs[SPEECH][rows] = _speech_x(data.speech_parts[p], fit.prototypes.get(p), embeddings)
    return xs


def _predict(data: ExemplarData, fit: _Fit, i: int) -> float:
    e = data.exemplars[i]
    xs = _features(data, fit, np.array([i]))
    calibrated = {g: fit.maps[g][e.part](x[0]) for g, x in xs.items()}
    return combine(calibrated, e.states, fit.fusion or data.fusion)


# -- evidence and verdict ----------------------------------------------------------------------------


def leave_one_out(data: ExemplarData) -> Evidence:
    """Score each exemplar by a calibration fitted on all the others; needs at least 3 exemplars."""
    n = len(data.exemplars)
    if n < 3:
        raise ValueError(f"leave-one-out needs at least 3 exemplars, got {n}")
    everyone = np.arange(n)
    before = np.array([combine(e.scores, e.states, data.fusion) for e in data.exemplars])
    after = np.array([_predict(data, _fit(data, np.delete(everyone, i)), i) for i in range(n)])
    return _evidence(data, before, after)


def _evidence(data: ExemplarData, before: np.ndarray, after: np.ndarray) -> Evidence:
    """Evidence from (n,) uncalibrated and (n,) held-out calibrated scores."""
    marks, parts = data.marks, np.array([e.part for e in data.exemplars])
    by_part = {int(p): {"before": metrics.score_report(before[parts == p], marks[parts == p]),
                        "after": metrics.score_report(after[parts == p], marks[parts == p])}
               for p in PARTS if (parts == p).sum() >= 2}
    return Evidence(
        method="leave-one-out", learners=tuple(e.learner for e in data.exemplars), parts=tuple(int(p) for p in parts),
        marks=tuple(float(v) for v in marks), before=tuple(float(v) for v in before),
        after=tuple(float(v) for v in after),
        overall={"before": metrics.score_report(before, marks), "after": metrics.score_report(after, marks)},
        by_part=by_part,
    )


def verdict(n: int, n_levels: int, evidence: Evidence | None) -> tuple[bool, str]:
    """(applies, the reason in plain words)."""
    if n < MIN_EXEMPLARS:
        return False, f"too few responses: {n} given, at least {MIN_EXEMPLARS} needed; it does not help"
    if n_levels < 2:
        return False, (f"all {n} responses have the same mark: calibration needs at least two different marks; "
                       "it does not help")
    b, a = evidence.overall["before"], evidence.overall["after"]
    if a["rmse"] >= b["rmse"]:
        return False, f"calibration did not lower the error ({b['rmse']:.2f} -> {a['rmse']:.2f}): it does not help"
    gain = gain_test(evidence.before, evidence.after, evidence.marks)
    if not gain.real:
        return False, (f"calibration lowered the error from {b['rmse']:.2f} to {a['rmse']:.2f}, but no more than chance "
                       f"could: the error was {gain.words}, and p must be below {ALPHA}; it does not help")
    if not a["pcc"] >= MIN_PCC:  # NaN (constant scores) fails too
        pcc = "undefined" if np.isnan(a["pcc"]) else f"{a['pcc']:.2f}"
        return False, (f"the calibrated scores do not follow your marks (Pearson {pcc} on held-out responses, at "
                       f"least {MIN_PCC} needed): every learner would get about the same score; it does not help")
    return True, (f"lowered the error from {b['rmse']:.2f} to {a['rmse']:.2f} on held-out responses, "
                  f"{gain.words} (Pearson {_num(b['pcc'])} -> {_num(a['pcc'])}, within 0.5: {b['within_0_5']:.0f}% -> "
                  f"{a['within_0_5']:.0f}%): it helps")


def _num(v: float) -> str:
    return "n/a" if np.isnan(v) else f"{v:.2f}"


def fit_calibration(data: ExemplarData, name: str = "calibration", created: str | None = None) -> CalibrationResult:
    """Fit a calibration on all exemplars, check it by leave-one-out, and decide whether it applies.

    Args:
        data: from `features.collect_exemplars` (or built by hand in tests).
        name: the profile's name (a safe folder name: profile.check_profile_name).
        created: ISO timestamp; default now (UTC).
    Returns:
        CalibrationResult: the profile (always), its evidence (None below 3 exemplars) and verdict.
    Raises:
        ValueError: no exemplars, or a bad name.
    """
    check_profile_name(name)
    n = len(data.exemplars)
    if n == 0:
        why = f" ({len(data.skipped)} left out: {'; '.join(data.skipped[:3])})" if data.skipped else ""
        raise ValueError(f"no usable graded responses to calibrate with{why}")
    levels = len(set(data.marks.tolist()))
    evidence = leave_one_out(data) if n >= 3 else None
    delivery = None
    if evidence is not None:  # 4. delivery measures, when held-out responses say they help (delivery_fit)
        delivery, after = fit_delivery([e.delivery for e in data.exemplars], np.array(evidence.after), data.marks,
                                       MIN_EXEMPLARS)
        if delivery is not None and delivery.used:
            evidence = _evidence(data, np.array(evidence.before), after)
    applies, reason = verdict(n, levels, evidence)
    fit = _fit(data, np.arange(n))
    profile = CalibrationProfile(
        name=name, created=created or datetime.now(timezone.utc).isoformat(timespec="seconds"), n_exemplars=n,
        n_by_part={p: n for p in PARTS if (n := sum(e.part == p for e in data.exemplars))},
        graders=data.graders, maps=fit.maps, prototypes=fit.prototypes, fusion=fit.fusion, evidence=evidence,
        applies=applies, reason=reason, delivery=delivery,
    )
    return CalibrationResult(profile=profile, skipped=tuple(data.skipped))
