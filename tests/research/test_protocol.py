"""The evaluation protocol (research/protocol.py, `evaluate --runs/--compare`), each figure against a hand computation."""

import itertools
import json
import math

import numpy as np
import pytest

from sla_core.__main__ import main as cli_main
from sla_core.research.evaluation import add_comparison, add_runs, build_report, to_markdown
from sla_core.research.predictions import OVERALL, Prediction, write_predictions
from sla_core.research.protocol import band_rmse, cefr_band, paired_bootstrap, summarise_runs


@pytest.mark.parametrize(("mark", "band"), [(1.875, "A2"), (2.0, "A2"), (2.999, "A2"), (3.0, "B1"), (3.875, "B1"),
                                            (4.0, "B2"), (4.75, "B2"), (5.0, "C1"), (5.5, "C1"), (5.75, "C1")])
def test_bands_follow_the_reference_overall_mark(mark, band):
    assert cefr_band(mark) == band


def test_runs_summary_by_hand():
    s = summarise_runs("X", [0.36, 0.37, 0.35])
    # mean 0.36, sd sqrt(((0)^2 + 0.01^2 + 0.01^2) / 2) = 0.01, t(0.975, 2) = 4.302653
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert (s.n, s.mean, s.median, s.min, s.max) == pytest.approx((3, 0.36, 0.36, 0.35, 0.37))
    assert s.sd == pytest.approx(0.01)
    assert (s.ci_low, s.ci_high) == pytest.approx((0.36 - half, 0.36 + half), abs=1e-6)
    # CASA's figures: 10 runs, mean 0.363, sd 0.006 -> 95% CI 0.359-0.367
    casa = summarise_runs("CASA", 0.363 + 0.006 * np.array([1, -1] * 5) * math.sqrt(9 / 10))
    assert casa.sd == pytest.approx(0.006) and (round(casa.ci_low, 3), round(casa.ci_high, 3)) == (0.359, 0.367)
    one = summarise_runs("Y", [0.4])
    assert one.sd is None and one.ci_low is None and one.mean == one.median == 0.4


def test_band_rmse_and_macro_mean_by_hand():
    ref = [2.5, 2.0, 3.5, 4.5, 4.0]  # A2, A2, B1, B2, B2; no C1
    pred = [3.0, 2.0, 3.0, 4.0, 5.0]  # errors 0.5, 0, -0.5, -0.5, 1.0
    b = band_rmse(pred, ref)
    a2, b1, b2 = math.sqrt((0.25 + 0) / 2), 0.5, math.sqrt((0.25 + 1.0) / 2)
    assert list(b["bands"]) == ["A2", "B1", "B2"]  # C1 absent: left out of the macro mean
    assert [b["bands"][k]["rmse"] for k in ("A2", "B1", "B2")] == pytest.approx([a2, b1, b2])
    assert [b["bands"][k]["n"] for k in ("A2", "B1", "B2")] == [2, 1, 2]
    assert b["macro_rmse"] == pytest.approx((a2 + b1 + b2) / 3) and b["n"] == 5


def test_paired_bootstrap_against_the_exact_resampling_distribution():
    ref = np.array([3.0, 4.0, 5.0])
    a, b = np.array([3.5, 4.0, 5.0]), np.array([3.0, 5.0, 4.0])  # squared errors: a (0.25, 0, 0), b (0, 1, 1)
    r = paired_bootstrap(a, b, ref, a="A", b="B", resamples=10_000, seed=0)
    assert (r.resamples, r.seed, r.n) == (10_000, 0, 3)
    assert r.rmse_a == pytest.approx(math.sqrt(0.25 / 3)) and r.rmse_b == pytest.approx(math.sqrt(2 / 3))
    assert r.difference == pytest.approx(math.sqrt(0.25 / 3) - math.sqrt(2 / 3))
    # All 27 equally likely ordered resamples, by hand: A is better unless all three draws are item 0.
    ea, eb = np.array([0.25, 0, 0]), np.array([0, 1.0, 1.0])
    exact = np.array([math.sqrt(ea[list(i)].mean()) - math.sqrt(eb[list(i)].mean())
                      for i in itertools.product(range(3), repeat=3)])
    assert np.mean(exact < 0) == pytest.approx(26 / 27)
    assert r.share_a_better == pytest.approx(26 / 27, abs=0.01)
    assert r.p_value == pytest.approx(2 / 27, abs=0.01)  # 2 * P(d >= 0) = 2 * 1/27
    # the exact 2.5% and 97.5% points: P(d = -1) = 8/27 and P(d = 0.5) = 1/27 sit on atoms
    assert (r.ci_low, r.ci_high) == pytest.approx(tuple(np.quantile(exact, [0.025, 0.975], method="inverted_cdf")))
    assert paired_bootstrap(a, b, ref, resamples=10_000, seed=0) == r  # fixed seed: the same numbers
    same = paired_bootstrap(a, a, ref)
    assert (same.difference, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)


def _run_file(tmp_path, name, system, errors, refs, split="eval"):
    preds = [Prediction(split, f"S{i}", OVERALL, system, ref + e, ref, "trained") for i, (e, ref) in
             enumerate(zip(errors, refs))]
    return write_predictions(tmp_path / name, preds)


def test_evaluate_cli_prints_runs_bands_and_the_bootstrap(tmp_path, capsys):
    refs = [2.5, 3.5, 4.0, 5.0]
    seed_errors = {0: [0.3, -0.3, 0.3, -0.3], 1: [0.4, 0.4, -0.4, 0.4], 2: [0.5, 0.5, 0.5, -0.5]}  # RMSE .3 .4 .5
    runs = [str(_run_file(tmp_path, f"mtl-{s}.tsv", "Phi4-MTL", e, refs)) for s, e in seed_errors.items()]
    other = _run_file(tmp_path, "w2v.tsv", "W2V", [0.6, -0.6, 0.6, 0.6], refs)
    out = tmp_path / "report"
    assert cli_main(["evaluate", "--predictions", runs[0], str(other), "--split", "eval", "--out-dir", str(out),
                     "--no-png", "--runs", *runs, "--compare", "Phi4-MTL", "W2V",
                     "--bootstrap-resamples", "500", "--bootstrap-seed", "7"]) == 0
    printed = capsys.readouterr().out
    doc = json.loads((out / "report.json").read_text())
    (run,) = doc["runs"]
    assert run["system"] == "Phi4-MTL" and run["rmses"] == pytest.approx([0.3, 0.4, 0.5])
    assert (run["mean"], run["sd"]) == pytest.approx((0.4, 0.1))
    assert "| Phi4-MTL | 3 | 0.400 | 0.400 | 0.300-0.500 | 0.1000 |" in printed
    (boot,) = doc["paired_bootstrap"]
    assert (boot["a"], boot["b"], boot["resamples"], boot["seed"]) == ("Phi4-MTL", "W2V", 500, 7)
    assert boot["difference"] == pytest.approx(0.3 - 0.6)
    assert "500 resamples of submissions with replacement, seed 7" in printed
    bands = doc["cefr_bands"]["systems"]["W2V"]
    assert {k: v["n"] for k, v in bands["bands"].items()} == {"A2": 1, "B1": 1, "B2": 1, "C1": 1}
    assert bands["macro_rmse"] == pytest.approx(0.6)


def test_runs_of_two_systems_and_unknown_comparisons_are_refused(tmp_path):
    refs = [3.0, 4.0]
    report = build_report([Prediction("eval", f"S{i}", OVERALL, "W2V", r, r, "trained") for i, r in enumerate(refs)])
    mixed = [[Prediction("eval", "S0", OVERALL, "W2V", 3.0, 3.0, "trained")],
             [Prediction("eval", "S0", OVERALL, "Phi4-MTL", 3.0, 3.0, "trained")]]
    with pytest.raises(ValueError, match="of one system"):
        add_runs(report, mixed)
    with pytest.raises(ValueError, match=r"cannot compare \['Nope'\].*W2V"):
        add_comparison(report, "W2V", "Nope")
    assert "per CEFR band" in to_markdown(report)
