import numpy as np
import pytest

from sla_core.cefr import FUSION_EDGES, GRID, LABELS, N_INTERVALS, cefr_label, grid_index, interval_index, round_to_grid


def test_grid_and_labels_line_up():
    assert GRID == (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5)
    assert LABELS == ("A2", "A2+", "B1", "B1+", "B2", "B2+", "C1", "C1+")


@pytest.mark.parametrize(
    "score, label",
    [(2.0, "A2"), (2.24, "A2"), (2.25, "A2+"), (3.0, "B1"), (3.4, "B1+"), (3.75, "B2"), (4.5, "B2+"),
     (5.0, "C1"), (5.5, "C1+"), (1.2, "A2"), (6.3, "C1+")],
)
def test_cefr_label(score, label):
    assert cefr_label(score) == label


@pytest.mark.parametrize("score, rounded", [(3.24, 3.0), (3.25, 3.5), (4.74, 4.5), (0.0, 2.0), (9.0, 5.5)])
def test_round_to_grid(score, rounded):
    assert round_to_grid(score) == rounded
    assert GRID[grid_index(score)] == rounded


def test_round_to_grid_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        round_to_grid(float("nan"))


@pytest.mark.parametrize(
    "score, k",
    [(0.0, 0), (2.0, 0), (2.2499, 0), (2.25, 1), (2.75, 2), (3.5, 3), (3.75, 4), (4.25, 5), (4.75, 6), (5.25, 7), (5.9, 7)],
)
def test_fusion_intervals_are_the_papers(score, k):
    assert N_INTERVALS == 8
    assert FUSION_EDGES == (0.0, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 6.0)
    assert interval_index(score) == k


def test_interval_index_vectorised():
    np.testing.assert_array_equal(interval_index(np.array([2.0, 3.3, 5.5])), [0, 3, 7])
