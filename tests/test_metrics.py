"""Metrics, checked against scipy and plain numpy, with literal boundary cases for within()."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sla_core.metrics import pcc, report_by_part, rmse, score_report, src, within

KEYS = {"rmse", "pcc", "src", "within_0_5", "within_1_0", "strict_within_0_5", "strict_within_1_0", "n"}


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    ref = rng.choice(np.arange(2.0, 6.0, 0.5), size=200)  # marks on the 0.5 grid
    pred = np.clip(ref + rng.normal(0, 0.45, ref.size), 2.0, 5.5)
    return pred, ref


def test_against_scipy_and_numpy(scores):
    pred, ref = scores
    err = np.abs(pred - ref)
    assert rmse(pred, ref) == pytest.approx(np.sqrt(np.mean((pred - ref) ** 2)))
    assert pcc(pred, ref) == pytest.approx(stats.pearsonr(pred, ref).statistic)
    assert src(pred, ref) == pytest.approx(stats.spearmanr(pred, ref).statistic)
    assert within(pred, ref, 0.5) == pytest.approx(100 * np.mean(err <= 0.5))
    assert within(pred, ref, 1.0, strict=True) == pytest.approx(100 * np.mean(err < 1.0))
    assert 0.5 < pcc(pred, ref) < 1.0  # a sensible, imperfect grader


@pytest.mark.parametrize("pred, ref, tol, strict, expected", [
    ([3.5], [3.0], 0.5, False, 100.0),  # the paper: exactly 0.5 counts
    ([3.5], [3.0], 0.5, True, 0.0),  # the official scorer: it does not
    ([3.3], [2.8], 0.5, False, 100.0),  # 0.49999999999999956 in floats, still exactly 0.5
    ([3.3], [2.8], 0.5, True, 0.0),
    ([3.49], [3.0], 0.5, True, 100.0),
    ([3.51], [3.0], 0.5, False, 0.0),
    ([2.0, 3.0, 4.0, 5.0], [3.0, 3.0, 3.0, 3.0], 1.0, False, 75.0),
    ([2.0, 3.0, 4.0, 5.0], [3.0, 3.0, 3.0, 3.0], 1.0, True, 25.0),
    ([4.0], [5.0], 0.5, False, 0.0),
])
def test_within_boundaries(pred, ref, tol, strict, expected):
    assert within(pred, ref, tol, strict=strict) == expected


@pytest.mark.parametrize("pred, ref, expected", [
    ([3.0, 4.0], [3.0, 4.0], 0.0),
    ([3.0, 4.0], [4.0, 3.0], 1.0),
    ([2.0, 2.0, 2.0, 2.0], [2.0, 3.0, 2.0, 3.0], np.sqrt(0.5)),
])
def test_rmse_literals(pred, ref, expected):
    assert rmse(pred, ref) == pytest.approx(expected)


def test_score_report(scores):
    pred, ref = scores
    report = score_report(pred, ref)
    assert set(report) == KEYS and report["n"] == 200
    assert report["within_0_5"] >= report["strict_within_0_5"]
    assert report["within_0_5"] <= report["within_1_0"] <= 100.0
    assert report["rmse"] == rmse(pred, ref)


def test_constant_predictions_have_undefined_correlation():
    report = score_report([3.0, 3.0, 3.0], [2.0, 3.0, 4.0])
    assert np.isnan(report["pcc"]) and np.isnan(report["src"])
    assert report["rmse"] == pytest.approx(np.sqrt(2 / 3))


@pytest.mark.parametrize("call, match", [
    (lambda: rmse([3.0, 4.0], [3.0]), "pred has 2 scores but ref has 1"),
    (lambda: rmse([3.0, np.nan], [3.0, 4.0]), r"pred contains NaN or inf at positions \[1\]"),
    (lambda: within([3.0], [np.inf], 0.5), r"ref contains NaN or inf at positions \[0\]"),
    (lambda: pcc([3.0], [3.5]), "at least 2 scored items .correlation is undefined"),
    (lambda: score_report([3.0], [3.5]), "at least 2"),
    (lambda: rmse([], []), "at least 1"),
    (lambda: rmse([[3.0]], [[3.0]]), "1-D"),
    (lambda: within([3.0], [3.0], 0), "tol must be a positive"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_report_by_part_and_overall(scores):
    pred, ref = scores
    n = 50  # 50 complete submissions, item i of each part = submission i
    pred_parts = {p: pred[i * n:(i + 1) * n] for i, p in enumerate((5, 1, 4, 3))}  # any order in
    ref_parts = {p: ref[i * n:(i + 1) * n] for i, p in enumerate((5, 1, 4, 3))}
    rows = report_by_part(pred_parts, ref_parts)
    assert list(rows) == [1, 3, 4, 5, "overall"]  # test order out
    for p in (1, 3, 4, 5):
        assert rows[p] == score_report(pred_parts[p], ref_parts[p])
    overall_pred = (pred_parts[1] + pred_parts[3] + pred_parts[4] + pred_parts[5]) / 4
    overall_ref = (ref_parts[1] + ref_parts[3] + ref_parts[4] + ref_parts[5]) / 4
    assert rows["overall"]["rmse"] == pytest.approx(rmse(overall_pred, overall_ref))
    assert rows["overall"]["n"] == n
    # averaging four parts cancels part errors, as in the paper where overall RMSE < part RMSE
    assert rows["overall"]["rmse"] < min(rows[p]["rmse"] for p in (1, 3, 4, 5))


def test_report_by_part_errors():
    two, three = [3.0, 4.0], [3.0, 4.0, 5.0]
    with pytest.raises(ValueError, match=r"pred has parts \[1, 3\] but ref has parts \[1\]"):
        report_by_part({1: two, 3: two}, {1: two})
    with pytest.raises(ValueError, match=r"subset of \(1, 3, 4, 5\), got \[2\]"):
        report_by_part({2: two}, {2: two})
    with pytest.raises(ValueError, match="part 3: pred has 2 scores but ref has 3"):
        report_by_part({1: two, 3: two}, {1: two, 3: three})
    with pytest.raises(ValueError, match=r"same submissions.*\{1: 2, 3: 3\}.*overall=False"):
        report_by_part({1: two, 3: three}, {1: two, 3: three})
    assert set(report_by_part({1: two, 3: three}, {1: two, 3: three}, overall=False)) == {1, 3}
