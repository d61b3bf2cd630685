"""The CEFR-aligned score scale of the S&I Corpus 2025 and the fusion intervals of the paper.

Scale source: Knill et al., "Speak & Improve Corpus 2025" (arXiv 2412.11986), holistic scores: integer
scores map to CEFR levels (2 = A2, 3 = B1, 4 = B2, 5 = C1, 6 = C2) and a half point marks the "+"
band above a level (3.5 = B1+). The corpus' part marks span 2.0 (A2) .. 5.5 (C1+).
Fusion intervals: the seed paper (NTNU, arXiv 2506.05121), Section on score fusion.
"""

from __future__ import annotations

import math

import numpy as np

SCORE_MIN = 2.0
SCORE_MAX = 5.5
SCORE_STEP = 0.5
GRID: tuple[float, ...] = (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5)
LABELS: tuple[str, ...] = ("A2", "A2+", "B1", "B1+", "B2", "B2+", "C1", "C1+")
LEVEL_NAMES: dict[str, str] = {
    "A2": "Elementary",
    "A2+": "Elementary (strong)",
    "B1": "Intermediate",
    "B1+": "Intermediate (strong)",
    "B2": "Upper intermediate",
    "B2+": "Upper intermediate (strong)",
    "C1": "Advanced",
    "C1+": "Advanced (strong)",
}

# The eight intervals of the multimodal score that select a fusion weight: [lo, hi).
# The outer edges are wide (0 and 6) so every real-valued score falls in exactly one interval.
FUSION_EDGES: tuple[float, ...] = (0.0, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 6.0)
N_INTERVALS = len(FUSION_EDGES) - 1


def clip_score(score: float) -> float:
    """Clamp a model output to the scale (graders may extrapolate a little)."""
    return float(min(max(score, SCORE_MIN), SCORE_MAX))


def on_grid(score: float) -> bool:
    """True when `score` is one of the 8 grid points (2.0, 2.5, .., 5.5), up to float noise."""
    return any(math.isclose(score, g, abs_tol=1e-6) for g in GRID)


def round_to_grid(score: float) -> float:
    """Nearest grid point, halves rounded up (3.25 -> 3.5), as the S&I marks are."""
    if not math.isfinite(score):
        raise ValueError(f"score must be a finite number, got {score!r}")
    return clip_score(math.floor(score / SCORE_STEP + 0.5) * SCORE_STEP)


def grid_index(score: float) -> int:
    """Index 0..7 of the grid point nearest `score` (the class used for macro-F1)."""
    return GRID.index(round_to_grid(score))


def cefr_label(score: float) -> str:
    """CEFR label of a score on the 2.0..5.5 scale, e.g. 3.4 -> "B1+", 2.1 -> "A2"."""
    return LABELS[grid_index(score)]


def interval_index(mllm_score: float | np.ndarray) -> int | np.ndarray:
    """Fusion interval (0..7) that a multimodal score falls in; works on scalars and arrays."""
    idx = np.searchsorted(np.asarray(FUSION_EDGES[1:-1]), mllm_score, side="right")
    return int(idx) if np.ndim(idx) == 0 else idx
