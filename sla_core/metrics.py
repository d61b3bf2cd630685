"""Evaluation metrics of the S&I 2025 SLA task: RMSE (primary), Pearson, Spearman, % within 0.5 / 1.0.

The paper reports |error| <= 0.5 and <= 1.0; the official scorer counts strictly (< 0.5, < 1.0).
Reports give both, so numbers can be compared with either. Pure numpy/scipy: no model code.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
from scipy import stats

from .parts import PARTS

# Score differences like 3.3 - 2.8 come out as 0.49999999999999956 in floating point; comparing
# with this slack makes them count as the exact 0.5 they stand for, for both <= and <.
_EPS = 1e-9


def _pair(pred, ref, min_items: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(n,) float64 arrays, checked: same length, finite, at least `min_items` items."""
    p, r = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if p.ndim != 1 or r.ndim != 1:
        raise ValueError(f"pred and ref must be 1-D arrays of scores, got shapes {p.shape} and {r.shape}")
    if p.size != r.size:
        raise ValueError(f"pred has {p.size} scores but ref has {r.size}; they must be aligned item by item")
    for name, a in (("pred", p), ("ref", r)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise ValueError(f"{name} contains NaN or inf at positions {bad[:10].tolist()}")
    if p.size < min_items:
        why = " (correlation is undefined for fewer)" if min_items >= 2 else ""
        raise ValueError(f"need at least {min_items} scored items{why}, got {p.size}")
    return p, r


def rmse(pred, ref) -> float:
    """Root mean squared error; the task's primary metric."""
    p, r = _pair(pred, ref)
    return float(np.sqrt(np.mean((p - r) ** 2)))


def _correlation(func, pred, ref) -> float:
    p, r = _pair(pred, ref, min_items=2)
    if np.ptp(p) == 0 or np.ptp(r) == 0:
        return float("nan")  # constant input (e.g. an untrained grader): correlation is undefined
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(func(p, r)[0])


def pcc(pred, ref) -> float:
    """Pearson correlation; NaN when either side is constant."""
    return _correlation(stats.pearsonr, pred, ref)


def src(pred, ref) -> float:
    """Spearman rank correlation; NaN when either side is constant."""
    return _correlation(stats.spearmanr, pred, ref)


def within(pred, ref, tol: float, strict: bool = False) -> float:
    """Percent (0..100) of items with |pred - ref| <= tol (the paper) or < tol (strict, the official scorer)."""
    if not tol > 0:
        raise ValueError(f"tol must be a positive score difference such as 0.5 or 1.0, got {tol!r}")
    p, r = _pair(pred, ref)
    err = np.abs(p - r)
    hit = err < tol - _EPS if strict else err <= tol + _EPS
    return float(100.0 * hit.mean())


def score_report(pred, ref) -> dict[str, float | int]:
    """All metrics for one set of scores.

    Returns:
        {"rmse", "pcc", "src", "within_0_5", "within_1_0" (paper, <=), "strict_within_0_5",
         "strict_within_1_0" (official scorer, <), "n"}; percentages are 0..100.
    """
    p, r = _pair(pred, ref, min_items=2)
    return {
        "rmse": rmse(p, r),
        "pcc": pcc(p, r),
        "src": src(p, r),
        "within_0_5": within(p, r, 0.5),
        "within_1_0": within(p, r, 1.0),
        "strict_within_0_5": within(p, r, 0.5, strict=True),
        "strict_within_1_0": within(p, r, 1.0, strict=True),
        "n": int(p.size),
    }


def report_by_part(pred: Mapping[int, object], ref: Mapping[int, object],
                   overall: bool = True) -> dict[int | str, dict[str, float | int]]:
    """Metrics per part, plus an "overall" row as the task defines it.

    Args:
        pred, ref: {part: (n,) scores}; pred and ref must have the same parts, and within a part the
            arrays are aligned item by item. For the overall row, every part's arrays must also be
            aligned across parts: item i of each part belongs to submission i (complete submissions).
        overall: add the "overall" row: per submission, the mean of its part scores, for predictions
            and references alike (the S&I overall mark is the mean of the four part marks).
    Returns:
        {part: score_report, ..., "overall": score_report}, parts in test order.
    """
    if set(pred) != set(ref):
        raise ValueError(f"pred has parts {sorted(pred)} but ref has parts {sorted(ref)}")
    unknown = set(pred) - set(PARTS)
    if unknown or not pred:
        raise ValueError(f"parts must be a non-empty subset of {PARTS}, got {sorted(pred)}")
    parts = [p for p in PARTS if p in pred]
    rows: dict[int | str, dict[str, float | int]] = {}
    for part in parts:
        try:
            rows[part] = score_report(pred[part], ref[part])
        except ValueError as e:
            raise ValueError(f"part {part}: {e}") from e
    if overall:
        sizes = {part: rows[part]["n"] for part in parts}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"the overall row needs every part scored for the same submissions, got items "
                             f"per part {sizes}; align them by submission or pass overall=False")
        mean_pred = np.mean([np.asarray(pred[p], dtype=np.float64) for p in parts], axis=0)  # (n,)
        mean_ref = np.mean([np.asarray(ref[p], dtype=np.float64) for p in parts], axis=0)  # (n,)
        rows["overall"] = score_report(mean_pred, mean_ref)
    return rows
