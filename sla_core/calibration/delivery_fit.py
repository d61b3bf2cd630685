"""Delivery measures as extra calibration features: used only when held-out responses say they help.

A teacher's marks often follow fluency that the graders miss (a grader blind to pauses, a teacher who
marks them). So after the calibration proper (prototypes, linear maps, fusion: fit.py), a small
correction of its score from the part's delivery measures is fitted and checked:

    score = calibrated score + sum_k c_k * z_k,  z_k = the measure standardised over the exemplars
                                                    (clipped to +-Z_LIMIT sd; a missing measure: z = 0)

The measures (sla_core.delivery.measures, the same code and definitions the pipeline uses) are five
that describe fluency on any answer length: speech rate and articulation rate (syl/s), phonation-time
ratio, mean length of run (syl) and long pauses (>= 1 s) per minute of speaking span. Counts and seconds
(speaking time, pauses) are left out: they follow how long the question let the learner talk.

What the correction learns from: the calibration's own leave-one-out residuals, mark - held-out
calibrated score (stacking: at assess time the calibrated score of a new recording is out-of-sample
too, so in-sample residuals, which are smaller, would teach the wrong correction). c is a ridge
regression without intercept (RIDGE, on standardised measures) so 10-40 responses can carry five
measures, and the correction averages zero over the exemplars: it moves learners apart by their
delivery, never everyone up or down.

When it is used, and what the teacher is shown (leakage): the choice "with or without delivery" is
itself checked by leave-one-out. For each response, the choice (an inner leave-one-out on the other
responses: use the measures when they lower that held-out error) and the correction are made without
it, and it is then scored. The held-out error of these scores is the figure shown, and the profile
uses the measures only when the choice on all responses says so AND that nested figure beats the
calibration without measures by more than chance would (gain.gain_test, a paired test on the
per-response errors). Choosing on the same leave-one-out that is reported would let pure noise win
now and then; nesting makes the reported figure that of the whole procedure. The inner choice is a
plain "lower", not the paired test: with a threshold there, the folds that left out a response the
measures help most fell below it and those leaving out one they help least passed, so a real effect
scored worse held out than no correction at all (a real effect used in 15 of 20 classes of 20 instead of 18).
(One small leak is left: the residuals the correction learns from come from calibration fits that
saw the held-out response; refitting the calibration n^2 times to remove it would cost seconds per
fit for an effect on the linear-map offsets only.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..cefr import clip_score
from ..delivery.measures import PartDelivery
from .gain import gain_test
from .profile import DELIVERY_WORDS, Z_LIMIT, DeliveryFit

MEASURES = tuple(DELIVERY_WORDS)  # speech rate, articulation rate, phonation ratio, mean length of run, long pauses/min
RIDGE = 3.0  # penalty on standardised measures: with n exemplars the coefficients shrink by about n / (n + RIDGE)


def delivery_values(delivery: PartDelivery | None) -> dict[str, float | None] | None:
    """The measures calibration reads from one part's delivery (None without measures)."""
    if delivery is None or not delivery.answers:
        return None
    span = delivery.span_s
    return {
        "speech_rate": delivery.speech_rate, "articulation_rate": delivery.articulation_rate,
        "phonation_ratio": delivery.phonation_ratio, "mean_length_of_run": delivery.mean_length_of_run,
        "long_pauses_per_min": round(60.0 * delivery.n_long_pauses / span, 3) if span > 0 else None,
    }


def _matrix(values: Sequence[Mapping[str, float | None] | None], measures: Sequence[str]) -> np.ndarray:
    """(n, k) float, NaN where a part has no such measure."""
    return np.array([[np.nan if v is None or v.get(m) is None else float(v[m]) for m in measures] for v in values],
                    dtype=np.float64).reshape(len(values), len(measures))


def _standardise(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (k,), scale (k,)) over `rows`, ignoring missing values; a constant measure gets scale 1 (z = 0)."""
    sub = x[rows]
    present = ~np.isnan(sub)
    count = present.sum(0)
    mean = np.where(count > 0, np.nansum(sub, 0) / np.maximum(count, 1), 0.0)
    var = np.where(count > 0, np.nansum((sub - mean) ** 2, 0) / np.maximum(count, 1), 0.0)
    scale = np.where(var > 1e-12, np.sqrt(var), 1.0)
    return mean, scale


def _z(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.clip((x - mean) / scale, -Z_LIMIT, Z_LIMIT), nan=0.0)


def _rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def _choose(x: np.ndarray, base: np.ndarray, y: np.ndarray, rows: np.ndarray) -> dict:
    """Fit the correction on `rows` and decide by leave-one-out over `rows` whether it lowers the error.

    Leave-one-out of a ridge with fixed inputs is exact in closed form (the hat matrix); the
    standardisation is over all of `rows` (it reads no marks).
    Returns:
        {"use", "mean", "scale", "coef", "without", "with"}: the last two are held-out RMSEs over `rows`.
    """
    mean, scale = _standardise(x, rows)
    z = _z(x[rows], mean, scale)  # (m, k)
    r = y[rows] - base[rows]  # (m,) the calibration's held-out residuals
    inverse = np.linalg.inv(z.T @ z + RIDGE * np.eye(z.shape[1]))
    coef = inverse @ z.T @ r  # (k,)
    leverage = np.einsum("ij,jk,ik->i", z, inverse, z)  # (m,) diagonal of the hat matrix, < 1 with RIDGE > 0
    held_out = r - (r - z @ coef) / (1.0 - leverage)  # each row's correction from a fit without it
    with_ = np.array([clip_score(b + c) for b, c in zip(base[rows], held_out)])
    without, with_rmse = _rmse(base[rows], y[rows]), _rmse(with_, y[rows])
    return {"use": with_rmse < without, "mean": mean, "scale": scale, "coef": coef, "without": without,
            "with": with_rmse}


def fit_delivery(values: Sequence[Mapping[str, float | None] | None], base: np.ndarray, marks: np.ndarray,
                 min_items: int) -> tuple[DeliveryFit | None, np.ndarray]:
    """Decide whether delivery measures improve the calibration, by nested leave-one-out.

    Args:
        values: (n,) each exemplar's `delivery_values` (None without measures).
        base: (n,) the calibration's leave-one-out scores, without delivery measures.
        marks: (n,) the teacher's marks.
        min_items: exemplars with measures needed (fit.MIN_EXEMPLARS).
    Returns:
        (the fit, or None when no exemplar has measures; (n,) the held-out scores of the chosen model:
        `base` itself when the measures are not used).
    """
    base, marks = np.asarray(base, dtype=np.float64), np.asarray(marks, dtype=np.float64)
    x = _matrix(values, MEASURES)
    have = ~np.isnan(x).all(1)
    if not have.any():
        return None, base
    keep = [k for k in range(len(MEASURES)) if (~np.isnan(x[:, k])).sum() >= 2 and np.nanstd(x[:, k]) > 1e-12]
    measures, x = tuple(MEASURES[k] for k in keep), x[:, keep]
    n, n_have = len(marks), int(have.sum())
    without = _rmse(base, marks)
    if n_have < min_items or not measures:
        why = (f"only {n_have} of {n} responses have delivery measures, at least {min_items} needed" if measures
               else "every response has the same delivery measures")
        return DeliveryFit(measures, (0.0,) * len(measures), (1.0,) * len(measures), (0.0,) * len(measures), RIDGE,
                           n_have, False, without, without, why), base

    everyone = np.arange(n)
    nested = base.copy()  # (n,) each response scored by a choice and a correction made without it
    for i in range(n):
        fold = _choose(x, base, marks, np.delete(everyone, i))
        if fold["use"]:
            nested[i] = clip_score(base[i] + float(_z(x[i], fold["mean"], fold["scale"]) @ fold["coef"]))
    gain = gain_test(base, nested, marks)
    chosen = _choose(x, base, marks, everyone)
    used = bool(chosen["use"]) and gain.real
    note = ""
    if not used and gain.rmse_after < without:
        note = "a drop that chance could give"
    elif not used and chosen["use"]:
        note = "the gain did not hold when the choice itself was checked on held-out responses"
    fit = DeliveryFit(measures=measures, mean=tuple(float(v) for v in chosen["mean"]),
                      scale=tuple(float(v) for v in chosen["scale"]), coefficients=tuple(float(v) for v in chosen["coef"]),
                      ridge=RIDGE, n=n_have, used=used, rmse_without=without, rmse_with=gain.rmse_after, note=note,
                      better=gain.better, worse=gain.worse, p_value=gain.p_value)
    return fit, (nested if used else base)
