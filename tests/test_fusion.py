"""Score fusion: fitting recovers known per-interval weights; fuse applies them; the JSON round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sla_core.cefr import FUSION_EDGES, N_INTERVALS
from sla_core.fusion import DEFAULT_WEIGHTS, FusionWeights, fit_fusion, fuse, load_fusion, save_fusion

TRUE_W = (0.0, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95, 1.0)  # one per interval, all on the 0.05 grid


def _synthetic(true_w, n_per_interval=40, noise=0.0, seed=0, empty=()):
    """Predictions whose best weights are known: reference = (1 - w_k) * speech + w_k * mllm (+ noise)."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array(FUSION_EDGES[:-1]), np.array(FUSION_EDGES[1:])
    lo[0], hi[-1] = 1.8, 5.7  # realistic scores in the outer intervals
    m = np.concatenate([rng.uniform(lo[k], hi[k] - 1e-6, n_per_interval)
                        for k in range(N_INTERVALS) if k not in empty])
    s = m + rng.normal(0, 0.6, m.size)  # the graders disagree, so the weight matters
    w = np.asarray(true_w)[np.searchsorted(FUSION_EDGES[1:-1], m, side="right")]
    y = (1 - w) * s + w * m + rng.normal(0, noise, m.size)
    return s, m, y


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_fit_recovers_known_weights(noise):
    s, m, y = _synthetic(TRUE_W, noise=noise)
    fitted = fit_fusion(s, m, y, grid_step=0.05)
    tolerance = 1e-9 if noise == 0 else 0.05  # exact data: exactly on the grid; noisy: within one step
    np.testing.assert_allclose(fitted.weights, TRUE_W, atol=tolerance)
    assert fitted.fitted and fitted.counts == (40,) * N_INTERVALS and fitted.fallback_intervals == ()
    assert fitted.dev_rmse["fused"] <= min(fitted.dev_rmse["speech"], fitted.dev_rmse["mllm"])
    if noise == 0:
        assert fitted.dev_rmse["fused"] < 1e-9


def test_coarser_grid_rounds_to_its_own_steps():
    s, m, y = _synthetic(TRUE_W)
    fitted = fit_fusion(s, m, y, grid_step=0.25)
    assert all(w in (0.0, 0.25, 0.5, 0.75, 1.0) for w in fitted.weights)
    np.testing.assert_allclose(fitted.weights, TRUE_W, atol=0.125 + 1e-9)


def test_sparse_intervals_get_the_global_weight():
    single = (0.6,) * N_INTERVALS  # one true weight everywhere: the global best is 0.6 too
    s, m, y = _synthetic(single, empty=(0, 7))
    s2, m2, y2 = _synthetic((0.0,) * N_INTERVALS, n_per_interval=3, seed=1)  # 3 items per interval
    few = np.flatnonzero(m2 >= FUSION_EDGES[-2])  # the 3 items of interval 7 only, best weight 0
    s, m, y = (np.concatenate([a, b[few]]) for a, b in ((s, s2), (m, m2), (y, y2)))
    fitted = fit_fusion(s, m, y, min_count=5)
    assert fitted.counts[0] == 0 and fitted.counts[7] == 3
    assert fitted.fallback_intervals == (0, 7)
    assert fitted.weights[0] == fitted.weights[7] == fitted.global_weight
    assert fitted.global_weight == pytest.approx(0.6, abs=0.05)
    np.testing.assert_allclose(fitted.weights[1:7], 0.6, atol=1e-9)
    # with min_count 1 the three items fit their own (true) weight, 0
    assert fit_fusion(s, m, y, min_count=1).weights[7] == 0.0


@pytest.mark.parametrize("speech, mllm, expected, w, k", [
    (3.0, 2.0, 2.5, 0.5, 0),
    (3.0, 2.25, 2.625, 0.5, 1),  # edges are [lo, hi): 2.25 opens interval 1
    (4.0, 5.5, 4.75, 0.5, 7),
])
def test_fuse_default_weights_scalars(speech, mllm, expected, w, k):
    fused, weight, interval = fuse(speech, mllm)
    assert (fused, weight, interval) == (pytest.approx(expected), w, k)
    assert isinstance(fused, float) and isinstance(interval, int)


def test_fuse_arrays_use_each_items_interval():
    weights = FusionWeights(weights=TRUE_W, source="test")
    speech, mllm = np.array([4.0, 4.0, 2.0]), np.array([2.0, 3.5, 5.5])
    fused, used, interval = fuse(speech, mllm, weights)
    np.testing.assert_array_equal(interval, [0, 3, 7])
    np.testing.assert_allclose(used, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(fused, [4.0, 3.75, 5.5])


@pytest.mark.parametrize("speech, mllm, match", [
    ([3.0, 4.0], [3.0], "same shape"),
    ([3.0, np.nan], [3.0, 4.0], "NaN or inf"),
])
def test_fuse_rejects_bad_input(speech, mllm, match):
    with pytest.raises(ValueError, match=match):
        fuse(np.array(speech), np.array(mllm))


@pytest.mark.parametrize("kwargs, match", [
    (dict(grid_step=0.3), "grid_step"),
    (dict(grid_step=0), "grid_step"),
    (dict(min_count=0), "min_count"),
    (dict(reference=[3.0, 3.5]), "reference has 2 scores but speech has 3"),
    (dict(mllm=[3.0, np.nan, 4.0]), r"mllm contains NaN or inf at positions \[1\]"),
])
def test_fit_rejects_bad_input(kwargs, match):
    args = dict(speech=[3.0, 3.5, 4.0], mllm=[3.0, 3.5, 4.0], reference=[3.0, 3.5, 4.0]) | kwargs
    with pytest.raises(ValueError, match=match):
        fit_fusion(**args)


def test_weights_validate_themselves():
    with pytest.raises(ValueError, match=r"8 numbers in \[0, 1\]"):
        FusionWeights(weights=(0.5,) * 7)
    with pytest.raises(ValueError, match=r"8 numbers in \[0, 1\]"):
        FusionWeights(weights=(1.5,) + (0.5,) * 7)
    assert DEFAULT_WEIGHTS.weights == (0.5,) * N_INTERVALS and not DEFAULT_WEIGHTS.fitted


@pytest.mark.parametrize("weights", [DEFAULT_WEIGHTS, "fitted"])
def test_save_load_round_trip(tmp_path, weights):
    if weights == "fitted":
        weights = fit_fusion(*_synthetic(TRUE_W, empty=(0,)), source="dev set, test run")
    path = save_fusion(weights, tmp_path / "sub" / "fusion.json")
    assert load_fusion(path) == weights
    doc = json.loads(path.read_text())
    assert doc["weights"] == list(weights.weights) and doc["edges"] == list(FUSION_EDGES)


@pytest.mark.parametrize("content, match", [
    ("{not json", "not valid JSON"),
    ('{"weights": [0.5]}', 'expected "format"'),
    ('[1, 2]', 'expected "format"'),
    ('{"format": "sla-fusion-weights", "version": 99}', "version 99"),
    ('{"format": "sla-fusion-weights", "version": 1, "edges": [0, 1, 6], "weights": [0.5]}', "fit the weights again"),
    ('{"format": "sla-fusion-weights", "version": 1, "edges": [0, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 6]}',
     'no "weights"'),
    ('{"format": "sla-fusion-weights", "version": 1, "edges": [0, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 6], '
     '"weights": [0.5, 0.5]}', r"8 numbers in \[0, 1\]"),
    ('{"format": "sla-fusion-weights", "version": 1, "edges": [0, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 6], '
     '"weights": [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, "x"]}', "could not convert"),
])
def test_malformed_file_names_file_and_problem(tmp_path, content, match):
    path = tmp_path / "weights.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        load_fusion(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_fusion(tmp_path / "nope.json")
