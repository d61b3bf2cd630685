"""The evaluation protocol that tells a real gain from noise: runs over seeds, CEFR bands, paired bootstrap.

The best published S&I 2025 results (0.358-0.375 RMSE on 442 eval submissions) lie within each
other's noise, so one number per system says little. Three tools, as a reviewer would ask for them:

- **Runs (seeds) of one system** (`summarise_runs`): mean, median, min-max, sample sd (ddof 1) and a
  95% confidence interval of the *mean* overall RMSE, t-based: mean +- t(0.975, n - 1) * sd / sqrt(n).
  This is what CASA reports (10 runs: 0.363, 95% CI 0.359-0.367, sd 0.006: 2.262 * 0.006 / sqrt(10)
  = 0.0043). It describes training noise (seed, data order, dropout), not the sampling of learners.
- **RMSE per CEFR band** (`band_rmse`): the bands are taken on the *reference* overall mark,
  A2 < 3.0 <= B1 < 4.0 <= B2 < 5.0 <= C1 (C1 holds 5.0 and 5.5; a holistic train mark of 1.875 is A2,
  5.625 and 5.75 are C1), and the macro mean is over the bands present. Most learners are B1-B2, so a
  system can win on RMSE by regressing to the middle; the macro mean weighs the rare ends equally.
- **Paired bootstrap** (`paired_bootstrap`): the difference RMSE(A) - RMSE(B) on the same submissions,
  resampled with replacement (10,000 resamples, seed 0 by default; both are reported). Pairing keeps
  what both systems find hard in both resamples, which is what makes a 0.01 difference testable.
  Reported: the observed difference, the 95% percentile interval, the share of resamples where A is
  better, and a two-sided p-value 2 * min(P(d <= 0), P(d >= 0)) (capped at 1; with 10,000 resamples
  the smallest it can say is 2e-4).

Pure numpy/scipy: no model code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

# CEFR bands of the overall mark: (name, lower edge inclusive). Below 3.0 is A2, whatever its value.
BANDS: tuple[tuple[str, float], ...] = (("A2", -math.inf), ("B1", 3.0), ("B2", 4.0), ("C1", 5.0))
BAND_NAMES: tuple[str, ...] = tuple(name for name, _ in BANDS)
DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 0
CONFIDENCE = 0.95


def cefr_band(mark: float) -> str:
    """The CEFR band of a reference overall mark: A2 < 3.0 <= B1 < 4.0 <= B2 < 5.0 <= C1."""
    if not math.isfinite(mark):
        raise ValueError(f"mark must be a finite number, got {mark!r}")
    return [name for name, low in BANDS if mark >= low][-1]


# ---------------------------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunSummary:
    """Overall RMSE of several runs (seeds) of one system."""

    system: str
    n: int  # runs
    rmses: tuple[float, ...]  # one per run, in the order given
    mean: float
    median: float
    min: float
    max: float
    sd: float | None  # sample sd (ddof 1); None for one run
    ci_low: float | None  # 95% CI of the mean (t-based); None for one run
    ci_high: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def summarise_runs(system: str, rmses: Sequence[float]) -> RunSummary:
    """Mean, median, min-max, sd and 95% CI (t-based, of the mean) of one system's runs."""
    from scipy import stats

    r = np.asarray(rmses, dtype=np.float64)
    if r.ndim != 1 or r.size == 0 or not np.isfinite(r).all():
        raise ValueError(f"{system}: need one finite RMSE per run, got {list(rmses)}")
    sd = ci_low = ci_high = None
    if r.size > 1:
        sd = float(r.std(ddof=1))
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, r.size - 1)) * sd / math.sqrt(r.size)
        ci_low, ci_high = float(r.mean() - half), float(r.mean() + half)
    return RunSummary(system, int(r.size), tuple(float(x) for x in r), float(r.mean()), float(np.median(r)),
                      float(r.min()), float(r.max()), sd, ci_low, ci_high)


# ---------------------------------------------------------------------------------------------- bands


def band_rmse(pred, ref) -> dict:
    """RMSE per CEFR band of the reference overall mark, and their macro mean over the bands present.

    Args:
        pred, ref: (n,) aligned overall scores and reference overall marks.
    Returns:
        {"bands": {band: {"rmse", "n"}} (present bands only, in A2..C1 order), "macro_rmse", "n"}.
    """
    p, y = _aligned(pred, ref)
    names = np.array([cefr_band(v) for v in y])
    bands = {}
    for name in BAND_NAMES:
        hit = names == name
        if hit.any():
            bands[name] = {"rmse": float(np.sqrt(np.mean((p[hit] - y[hit]) ** 2))), "n": int(hit.sum())}
    macro = float(np.mean([b["rmse"] for b in bands.values()])) if bands else None
    return {"bands": bands, "macro_rmse": macro, "n": int(p.size)}


# ---------------------------------------------------------------------------------------------- paired bootstrap


@dataclass(frozen=True)
class BootstrapResult:
    """RMSE(a) - RMSE(b) on the same submissions, with its bootstrap distribution summarised."""

    a: str
    b: str
    n: int  # paired submissions
    rmse_a: float
    rmse_b: float
    difference: float  # observed RMSE(a) - RMSE(b); negative: a is better
    ci_low: float  # 95% percentile interval of the resampled differences
    ci_high: float
    share_a_better: float  # share of resamples with RMSE(a) < RMSE(b)
    p_value: float  # two-sided: 2 * min(P(d <= 0), P(d >= 0)), capped at 1
    resamples: int
    seed: int

    def to_dict(self) -> dict:
        return asdict(self)


def paired_bootstrap(pred_a, pred_b, ref, a: str = "A", b: str = "B", resamples: int = DEFAULT_RESAMPLES,
                     seed: int = DEFAULT_SEED) -> BootstrapResult:
    """Paired bootstrap of RMSE(a) - RMSE(b): each resample draws n submissions with replacement, the same
    ones for both systems.

    Args:
        pred_a, pred_b, ref: (n,) aligned scores of the two systems and the reference marks.
        resamples: bootstrap resamples (10,000 by default); seed: numpy Generator seed (0 by default).
    """
    pa, y = _aligned(pred_a, ref)
    pb, _ = _aligned(pred_b, ref)
    if pa.size < 2:
        raise ValueError(f"a paired bootstrap needs at least 2 submissions, got {pa.size}")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    ea, eb = (pa - y) ** 2, (pb - y) ** 2  # (n,) squared errors
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples)
    chunk = max(1, 2_000_000 // pa.size)  # bounded memory: (chunk, n) indices at a time
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, pa.size, size=(min(chunk, resamples - start), pa.size))  # (c, n)
        diffs[start:start + len(idx)] = np.sqrt(ea[idx].mean(axis=1)) - np.sqrt(eb[idx].mean(axis=1))
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    rmse_a, rmse_b = float(np.sqrt(ea.mean())), float(np.sqrt(eb.mean()))
    return BootstrapResult(a, b, int(pa.size), rmse_a, rmse_b, rmse_a - rmse_b, float(low), float(high),
                           float(np.mean(diffs < 0)), p, int(resamples), int(seed))


def _aligned(pred, ref) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if p.ndim != 1 or p.shape != y.shape:
        raise ValueError(f"pred and ref must be aligned 1-D arrays, got shapes {p.shape} and {y.shape}")
    if not (np.isfinite(p).all() and np.isfinite(y).all()):
        raise ValueError("pred and ref must be finite (no NaN or inf)")
    return p, y


__all__ = ["BANDS", "BAND_NAMES", "DEFAULT_RESAMPLES", "DEFAULT_SEED", "cefr_band", "RunSummary", "summarise_runs",
           "band_rmse", "BootstrapResult", "paired_bootstrap"]
