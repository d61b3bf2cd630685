"""Score fusion of the speech and multimodal graders (the seed paper, NTNU arXiv 2506.05121).

The multimodal score m picks one of the 8 intervals of `cefr.FUSION_EDGES`; interval k has a weight
w_k and fused = (1 - w_k) * speech + w_k * m. The weights are fitted once on dev data by grid search
and then fixed (saved as a small JSON file). Pure numpy: no model code is imported here.

The same JSON can carry the conformal interval widths (`intervals.IntervalWidths`). Their residuals
must come from items the weights were not fitted on: `cross_fit_fusion` fits the weights K times, each
time without one fold of submissions, and scores that fold (cross-fitting).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from .cefr import FUSION_EDGES, N_INTERVALS, interval_index
from .intervals import IntervalWidths

FORMAT = "sla-fusion-weights"  # marks our JSON files, so a wrong file fails with a clear message
FORMAT_VERSION = 2  # 2 added "intervals"; version-1 files (weights only) still load
READABLE_VERSIONS = (1, 2)
DEFAULT_FOLDS = 5  # cross-fitting folds for held-out fused scores (each fit sees 80% of the submissions)
DEFAULT_MIN_COUNT = 10  # dev items an interval needs for its own weight; fewer -> the global weight


@dataclass(frozen=True)
class FusionWeights:
    """Per-interval weights on the multimodal score, and where they came from."""

    weights: tuple[float, ...]  # (N_INTERVALS,) w_k in [0, 1], the weight ON THE MULTIMODAL score
    source: str = "default"  # what produced them, e.g. "fit_fusion on 1752 items" (shown to users)
    fitted: bool = False  # False: an untuned prior, and the UI says so
    counts: tuple[int, ...] = (0,) * N_INTERVALS  # (N_INTERVALS,) fitting items per interval
    dev_rmse: dict[str, float] | None = None  # {"fused", "speech", "mllm"} RMSE on the fitting data
    global_weight: float | None = None  # best single weight on all fitting data (the fallback)
    fallback_intervals: tuple[int, ...] = ()  # intervals with < min_count items, given global_weight
    intervals: IntervalWidths | None = None  # conformal widths fitted beside the weights; None: no intervals

    def __post_init__(self) -> None:
        if isinstance(self.intervals, dict):
            object.__setattr__(self, "intervals", IntervalWidths.from_dict(self.intervals))
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "counts", tuple(int(c) for c in self.counts))
        object.__setattr__(self, "fallback_intervals", tuple(int(k) for k in self.fallback_intervals))
        if self.dev_rmse is not None:
            object.__setattr__(self, "dev_rmse", {str(k): float(v) for k, v in dict(self.dev_rmse).items()})
        if self.global_weight is not None:
            object.__setattr__(self, "global_weight", float(self.global_weight))
        if len(self.weights) != N_INTERVALS or not all(0.0 <= w <= 1.0 for w in self.weights):
            raise ValueError(f"weights must be {N_INTERVALS} numbers in [0, 1] (one per interval of "
                             f"{FUSION_EDGES}), got {self.weights}")
        if len(self.counts) != N_INTERVALS or min(self.counts) < 0:
            raise ValueError(f"counts must be {N_INTERVALS} non-negative integers, got {self.counts}")
        if not set(self.fallback_intervals) <= set(range(N_INTERVALS)):
            raise ValueError(f"fallback_intervals must lie in 0..{N_INTERVALS - 1}, got {self.fallback_intervals}")


DEFAULT_WEIGHTS = FusionWeights(weights=(0.5,) * N_INTERVALS, source="default: equal weights, not fitted")


def _as_scores(name: str, values, n: int | None = None) -> np.ndarray:
    """1-D float64 array of finite scores, with an error naming the argument otherwise."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of scores, got shape {a.shape}")
    if n is not None and a.size != n:
        raise ValueError(f"{name} has {a.size} scores but speech has {n}; the arrays must be aligned")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf at positions {np.flatnonzero(~np.isfinite(a))[:10].tolist()}")
    return a


def fit_fusion(speech, mllm, reference, grid_step: float = 0.05, min_count: int = DEFAULT_MIN_COUNT,
               source: str | None = None) -> FusionWeights:
    """Fit one weight per multimodal-score interval by grid search, minimising RMSE.

    Minimising each interval's squared error on its own is the same as minimising the overall RMSE:
    the total squared error is a sum of per-interval terms, each depending only on its own w_k, and
    RMSE = sqrt(total / n) is monotonic in the total.

    Intervals with fewer than `min_count` items (the outer ones are often empty on dev data) get the
    global weight: the single w that minimises RMSE over all items. It is a better guess than the
    0.5 prior and keeps a weight from being fitted to two or three items.

    Args:
        speech, mllm, reference: (n,) aligned scores of the speech grader, the multimodal grader and
            the human marks (typically every part of every dev submission, pooled).
        grid_step: spacing of the candidate weights in [0, 1]; 1 / grid_step must be an integer.
        min_count: fewest items for an interval to get its own weight.
        source: description stored with the weights; default says how many items were used.
    Returns:
        FusionWeights with fitted=True, counts, dev RMSEs and the fallback used.
    """
    s = _as_scores("speech", speech)
    m = _as_scores("mllm", mllm, s.size)
    y = _as_scores("reference", reference, s.size)
    steps = 1.0 / grid_step if grid_step > 0 else math.nan
    if not (math.isfinite(steps) and abs(steps - round(steps)) < 1e-9):
        raise ValueError(f"grid_step must divide 1 into equal steps (e.g. 0.05, 0.1), got {grid_step!r}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count!r}")
    grid = np.round(np.linspace(0.0, 1.0, round(steps) + 1), 9)  # (G,) candidate weights; 0.7, not 0.7000000000000001
    sq_err = ((1 - grid[:, None]) * s + grid[:, None] * m - y) ** 2  # (G, n)
    k = interval_index(m)  # (n,) interval of each item
    counts = np.bincount(k, minlength=N_INTERVALS)  # (N_INTERVALS,)
    sse = np.stack([sq_err[:, k == i].sum(axis=1) for i in range(N_INTERVALS)], axis=1)  # (G, N_INTERVALS)
    # argmin takes the first minimum: ties go to the smaller weight on the multimodal score.
    global_weight = float(grid[np.argmin(sse.sum(axis=1))])
    fallback = tuple(i for i in range(N_INTERVALS) if counts[i] < min_count)
    weights = tuple(global_weight if i in fallback else float(grid[np.argmin(sse[:, i])]) for i in range(N_INTERVALS))
    fused = (1 - np.asarray(weights)[k]) * s + np.asarray(weights)[k] * m
    dev_rmse = {name: float(np.sqrt(np.mean((pred - y) ** 2))) for name, pred in
                (("fused", fused), ("speech", s), ("mllm", m))}
    return FusionWeights(
        weights=weights,
        source=source or f"fit_fusion on {s.size} items (grid step {grid_step:g}, min_count {min_count})",
        fitted=True,
        counts=tuple(int(c) for c in counts),
        dev_rmse=dev_rmse,
        global_weight=global_weight,
        fallback_intervals=fallback,
    )


def fuse(speech, mllm, weights: FusionWeights = DEFAULT_WEIGHTS):
    """Fuse scores: (1 - w_k) * speech + w_k * mllm with k the interval of the multimodal score.

    Args:
        speech, mllm: scalars or equal-shape arrays of scores.
    Returns:
        (fused, weight_used, interval): floats and an int for scalar input, else arrays of the input shape.
    """
    s, m = np.asarray(speech, dtype=np.float64), np.asarray(mllm, dtype=np.float64)
    if s.shape != m.shape:
        raise ValueError(f"speech and mllm scores must have the same shape, got {s.shape} and {m.shape}")
    bad = ~(np.isfinite(s) & np.isfinite(m))
    if bad.any():
        raise ValueError(f"cannot fuse NaN or inf scores ({int(bad.sum())} of {bad.size} pairs)")
    k = np.asarray(interval_index(m))
    w = np.asarray(weights.weights)[k]
    fused = (1 - w) * s + w * m
    if fused.ndim == 0:
        return float(fused), float(w), int(k)
    return fused, w, k


def cross_fit_fusion(speech, mllm, reference, groups, folds: int = DEFAULT_FOLDS, seed: int = 0,
                     **fit_kwargs) -> np.ndarray:
    """Out-of-fold fused scores: each item fused with weights fitted without its submission's fold.

    Folds are drawn over `groups` (submission ids), so a learner's four parts are held out together and
    the overall's residuals are held out too.

    Args:
        speech, mllm, reference: (n,) aligned scores and marks; groups: (n,) submission id of each item.
        folds: K >= 2; seed: the fold draw (fixed, so a refit gives the same widths).
        fit_kwargs: passed to `fit_fusion` (grid_step, min_count), the same as for the saved weights.
    Returns:
        (n,) fused scores, none of them from weights that saw its item.
    """
    s = _as_scores("speech", speech)
    m = _as_scores("mllm", mllm, s.size)
    y = _as_scores("reference", reference, s.size)
    g = np.asarray(groups)
    unique = np.unique(g)
    if folds < 2 or unique.size < folds:
        raise ValueError(f"cross-fitting needs 2 <= folds <= submissions, got {folds} folds for {unique.size} submissions")
    fold_of = dict(zip(unique.tolist(), np.random.default_rng(seed).permutation(unique.size) % folds))
    fold = np.array([fold_of[x] for x in g.tolist()])  # (n,)
    out = np.empty(s.size)
    for f in range(folds):
        test = fold == f
        w = fit_fusion(s[~test], m[~test], y[~test], **fit_kwargs)
        out[test] = fuse(s[test], m[test], w)[0]
    return out


def save_fusion(weights: FusionWeights, path: str | Path) -> Path:
    """Write the weights as a small JSON file a person can read (edges included, to check on load)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "edges": list(FUSION_EDGES), **asdict(weights)}
    if weights.intervals is not None:
        doc["intervals"] = weights.intervals.to_dict()
    # One field per line; the intervals block indented, so a person can read the widths.
    lines = [f"  {json.dumps(key)}: " + (_indented(value) if key == "intervals" else json.dumps(value))
             for key, value in doc.items()]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")
    return path


def _indented(value) -> str:
    """Nested JSON indented two more spaces, each list of numbers kept on one line."""
    text = json.dumps(value, indent=2).replace("\n", "\n  ")
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]",
                  text)


def load_fusion(path: str | Path) -> FusionWeights:
    """Read weights written by `save_fusion`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not valid JSON, not a fusion-weights file, was fitted for other
            intervals, or has a bad field; the message names the file and the problem.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"fusion weights file {path}: not valid JSON ({e})") from e
    except UnicodeDecodeError as e:
        raise ValueError(f"fusion weights file {path}: not a UTF-8 text file") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"fusion weights file {path}: expected \"format\": \"{FORMAT}\", got {got!r}")
    if doc.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"fusion weights file {path}: version {doc.get('version')!r}, this code reads "
                         f"versions {list(READABLE_VERSIONS)}")
    if "weights" not in doc:
        raise ValueError(f"fusion weights file {path}: no \"weights\" field")
    try:
        edges = [float(e) for e in doc.get("edges", [])]
    except (TypeError, ValueError) as e:
        raise ValueError(f"fusion weights file {path}: \"edges\" must be a list of numbers, got {doc['edges']!r}") from e
    if edges != list(FUSION_EDGES):
        raise ValueError(f"fusion weights file {path}: fitted for intervals {doc.get('edges')!r}, "
                         f"but this code uses {list(FUSION_EDGES)}; fit the weights again")
    try:
        return FusionWeights(**{f.name: doc[f.name] for f in fields(FusionWeights) if f.name in doc})
    except (TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"fusion weights file {path}: {e}") from e
