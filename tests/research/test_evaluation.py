"""The evaluation report: the numbers equal metrics recomputed independently; Table 1 layout; files."""

import json

import numpy as np
import pytest
from scipy import stats

from sla_core.research.evaluation import PAPER_ROWS, build_report, to_markdown, write_report
from sla_core.fusion import FusionWeights
from sla_core.parts import PARTS
from sla_core.research.predictions import OVERALL, Prediction

N = 12
FUSED = "W2V + Phi4-STG (fused)"  # the fused row names the two systems it fuses


def _independent(pred, ref, strict=False):
    pred, ref = np.asarray(pred), np.asarray(ref)
    err = np.abs(pred - ref)
    hit = (lambda t: err < t - 1e-9) if strict else (lambda t: err <= t + 1e-9)
    return [np.sqrt(np.mean((pred - ref) ** 2)), stats.pearsonr(pred, ref)[0], stats.spearmanr(pred, ref)[0],
            100 * hit(0.5).mean(), 100 * hit(1.0).mean()]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    marks = {p: rng.choice(np.arange(2.0, 6.0, 0.5), N) for p in PARTS}
    scores = {g: {p: marks[p] + rng.normal(0, sd, N) for p in PARTS} for g, sd in (("W2V", 0.4), ("Phi4-STG", 0.5))}
    preds = []
    for g in scores:
        for i in range(N):
            for p in PARTS:
                preds.append(Prediction("eval", f"S{i:02d}", p, g, float(scores[g][p][i]), float(marks[p][i]), "trained"))
            preds.append(Prediction("eval", f"S{i:02d}", OVERALL, g, float(np.mean([scores[g][p][i] for p in PARTS])),
                                    float(np.mean([marks[p][i] for p in PARTS])), "trained"))
    preds.append(Prediction("dev", "D1", 1, "W2V", 9.9, 2.0, "trained"))  # another split: ignored
    weights = FusionWeights(weights=(0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), fitted=True, source="test")
    return marks, scores, preds, weights


def _row(report, system, row, strict=False):
    r = report.systems[system][row]
    keys = ("rmse", "pcc", "src", "strict_within_0_5", "strict_within_1_0") if strict else (
        "rmse", "pcc", "src", "within_0_5", "within_1_0")
    return [r[k] for k in keys]


def test_grader_rows_equal_independent_metrics(data):
    marks, scores, preds, _ = data
    report = build_report(preds, split="eval")
    for g in ("W2V", "Phi4-STG"):
        for p in PARTS:
            assert _row(report, g, p) == pytest.approx(_independent(scores[g][p], marks[p]))
            assert _row(report, g, p, strict=True) == pytest.approx(_independent(scores[g][p], marks[p], strict=True))
        overall = np.mean([scores[g][p] for p in PARTS], axis=0)
        truth = np.mean([marks[p] for p in PARTS], axis=0)
        assert _row(report, g, OVERALL) == pytest.approx(_independent(overall, truth))
        assert report.systems[g][OVERALL]["n"] == N


def test_fused_rows_equal_a_hand_made_fusion(data):
    marks, scores, preds, weights = data
    report = build_report(preds, split="eval", fusion_weights=weights)
    edges = [2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25]
    fused = {}
    for p in PARTS:
        w = np.array([weights.weights[sum(m >= e for e in edges)] for m in scores["Phi4-STG"][p]])
        fused[p] = (1 - w) * scores["W2V"][p] + w * scores["Phi4-STG"][p]
        assert _row(report, FUSED, p) == pytest.approx(_independent(fused[p], marks[p]))
    assert _row(report, FUSED, OVERALL) == pytest.approx(_independent(
        np.mean([fused[p] for p in PARTS], axis=0), np.mean([marks[p] for p in PARTS], axis=0)))
    assert report.fusion["weights"] == list(weights.weights)


def test_markdown_has_table_1_layout_with_the_paper_rows(data):
    *_, preds, weights = data
    md = to_markdown(build_report(preds, split="eval", fusion_weights=weights))
    assert "| system | RMSE | PCC | SRC | <=0.5 | <=1.0 | n |" in md
    assert "| system | RMSE | PCC | SRC | <0.5 | <1.0 | n |" in md  # the official scorer's strict variant
    assert "| *paper: W2V + Phi4-STG (fused)* | 0.375 | 0.820 | 0.827 | 82.7 | 99.3 | eval |" in md
    assert "| system | Part 1 | Part 3 | Part 4 | Part 5 | Overall |" in md
    assert all(f"## Part {p}" in md for p in PARTS)


def test_untrained_rows_are_labelled_and_small_sets_do_not_crash():
    preds = [Prediction("dev", "S1", 3, "bert", 3.0, 3.5, "untrained"),
             Prediction("dev", "S2", 3, "bert", 4.0, 4.5, "untrained"),
             Prediction("dev", "S1", 4, "bert", 3.0, 3.5, "untrained")]
    report = build_report(preds)
    md = to_markdown(report)
    assert "BERT baseline (untrained)" in md and "not grades" in md
    assert report.systems["bert"][4] is None and report.systems["bert"][3]["n"] == 2  # one item: no metrics
    assert report.to_dict()["systems"]["bert"]["parts"]["3"]["pcc"] == pytest.approx(1.0)


def test_fusion_without_both_graders_is_noted(data):
    *_, preds, weights = data
    report = build_report([p for p in preds if p.grader == "W2V"], split="eval", fusion_weights=weights)
    assert FUSED not in report.systems and any("no fused row" in n for n in report.notes)
    with pytest.raises(ValueError, match="no part predictions for split 'test'"):
        build_report(preds, split="test")


def test_one_call_makes_every_table_1_row_in_the_papers_order(data):
    marks, scores, preds, weights = data
    extra = [Prediction(p.split, p.submission_id, p.part, name, p.score + 0.1, p.reference, "trained")
             for p in preds if p.grader == "Phi4-STG" for name in ("Phi4-CTG-TA", "Phi4-CTG-AO", "Phi4-CTG-TO", "BERT")]
    report = build_report(preds + extra, split="eval", fusion_weights=weights)
    assert list(report.systems) == ["BERT", "W2V", "Phi4-CTG-TA", "Phi4-CTG-AO", "Phi4-CTG-TO", "Phi4-STG", FUSED]
    md = to_markdown(report)
    assert "| BERT baseline | " in md and "| Phi4-CTG-AO | " in md and f"| {FUSED} | " in md


def test_a_split_without_marks_is_refused_with_the_way_out():
    preds = [Prediction("eval", "S1", 3, "W2V", 3.0, None, "trained")]
    with pytest.raises(ValueError, match="--marks"):
        build_report(preds, split="eval")


def test_write_report_files(data, tmp_path):
    *_, preds, weights = data
    report = build_report(preds, split="eval", fusion_weights=weights)
    written = write_report(report, tmp_path, png=False)
    doc = json.loads(written["json"].read_text())
    assert doc["systems"][FUSED]["parts"]["overall"]["rmse"] == pytest.approx(report.systems[FUSED][OVERALL]["rmse"])
    assert set(doc["paper_eval_rows"]) == set(PAPER_ROWS)
    assert written["markdown"].read_text().startswith("# Evaluation on eval")
    html = written["html"].read_text()
    assert "RMSE per part" in html and "plotly" in html.lower()
    assert written["png"] == "not requested (--no-png)"


@pytest.mark.slow
def test_png_chart_when_kaleido_can_render(data, tmp_path):
    pytest.importorskip("kaleido")
    *_, preds, _ = data
    written = write_report(build_report(preds, split="eval"), tmp_path, png=True)
    if isinstance(written["png"], str):
        pytest.skip(written["png"])  # no Chrome/Chromium on this machine: the reason is reported
    assert written["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_interval_table_reports_coverage_and_width_independently(data):
    from dataclasses import replace

    from sla_core.fusion import fuse
    from sla_core.intervals import IntervalWidths, Widths, overall_key, part_key

    marks, scores, preds, weights = data
    table = {system: {part_key(p): Widths(0.5, 100) for p in PARTS} | {overall_key(PARTS): Widths(0.3, 100)}
             for system in ("fused", "speech")}  # no "mllm" widths: that system gets no row
    widths = IntervalWidths(coverage=0.9, method="test", n_submissions=100, states={"speech": "trained", "mllm": "trained"},
                            table=table)
    report = build_report(preds, split="eval", fusion_weights=replace(weights, intervals=widths))
    assert set(report.intervals) == {"W2V", FUSED} and report.nominal_coverage == 0.9
    for system, pick in (("W2V", lambda p: scores["W2V"][p]),
                         (FUSED, lambda p: fuse(scores["W2V"][p], scores["Phi4-STG"][p], weights)[0])):
        shown = {p: np.clip(pick(p), 2.0, 5.5) for p in PARTS}
        for p in PARTS:
            row = report.intervals[system][p]
            assert row["coverage"] == pytest.approx(100 * np.mean(np.abs(shown[p] - marks[p]) <= 0.5 + 1e-9))
            width = np.minimum(shown[p] + 0.5, 5.5) - np.maximum(shown[p] - 0.5, 2.0)
            assert row["mean_width"] == pytest.approx(width.mean()) and row["n"] == N
        overall = np.mean([shown[p] for p in PARTS], axis=0)
        truth = np.mean([marks[p] for p in PARTS], axis=0)
        assert report.intervals[system][OVERALL]["coverage"] == pytest.approx(100 * np.mean(np.abs(overall - truth) <= 0.3 + 1e-9))
    text = to_markdown(report)
    assert "empirical coverage (nominal 90%)" in text
    assert text.index("Score intervals") < text.index("RMSE per part")  # beside Table 1
    assert json.loads(json.dumps(report.to_dict()))["intervals"]["systems"]["W2V"]["overall"]["n"] == N
