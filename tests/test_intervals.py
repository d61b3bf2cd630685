"""Score intervals: held-out coverage on synthetic data with known noise, small samples, per-region
fallback, old fusion files, and the intervals and review flags the pipeline puts in an Assessment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sla_core.assessment import TRAINED, UNTRAINED, Assessment, PartAssessment, PartScore, ScoreInterval
from sla_core.cefr import GRID, SCORE_MAX, SCORE_MIN
from sla_core.fusion import cross_fit_fusion, fit_fusion, fuse, load_fusion, save_fusion
from sla_core.intervals import (
    HeldOut, Widths, conformal_quantile, fit_intervals, fit_widths, min_items, model_spread, overall_key, part_review,
    region_of,
)
from sla_core.parts import PARTS

TRAINED_STATES = {"speech": TRAINED, "mllm": TRAINED}


def _learners(n, rng, speech_noise=0.45, mllm_noise=0.35):
    """n learners x 4 parts: marks on the grid, each grader = mark + its own Gaussian noise (known)."""
    ability = rng.uniform(2.3, 5.2, n)  # (n,)
    marks = np.clip(np.round((ability[:, None] + rng.normal(0, 0.3, (n, 4))) * 2) / 2, SCORE_MIN, SCORE_MAX)  # (n, 4)
    speech = marks + rng.normal(0, speech_noise, marks.shape)
    mllm = marks + rng.normal(0, mllm_noise, marks.shape)
    return speech, mllm, marks


def _covered(pred, ref, q):
    pred = np.clip(pred, SCORE_MIN, SCORE_MAX)
    return np.abs(pred - ref) <= q + 1e-9


@pytest.mark.parametrize("coverage", [0.8, 0.9])
def test_single_grader_coverage_is_nominal_on_held_out_learners(coverage):
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(40):
        s_dev, _, y_dev = _learners(300, rng)
        s_test, _, y_test = _learners(500, rng)
        widths = fit_widths(np.clip(s_dev[:, 0], SCORE_MIN, SCORE_MAX), y_dev[:, 0], coverage)
        hits.append(_covered(s_test[:, 0], y_test[:, 0], widths.half_width).mean())
    assert abs(np.mean(hits) - coverage) < 0.03
    assert np.std(hits) > 0  # real draws, not one repeated number


@pytest.mark.slow
def test_fused_and_overall_coverage_with_cross_fitted_weights():
    """Widths from cross-fitted fused scores cover new learners' fused scores, per part and overall,
    including an overall of only two parts judged against the full overall mark."""
    rng = np.random.default_rng(1)
    part_hits, overall_hits, partial_hits, ratio = [], [], [], []
    for _ in range(20):
        s, m, y = _learners(250, rng)
        ids = np.repeat(np.arange(250), 4)
        flat = lambda a: a.reshape(-1)  # noqa: E731  (submission-major, like the pooled dev rows)
        oof = cross_fit_fusion(flat(s), flat(m), flat(y), ids, folds=5).reshape(250, 4)
        weights = fit_fusion(flat(s), flat(m), flat(y))
        iv = fit_intervals({"fused": HeldOut(oof, y)}, TRAINED_STATES, "test")
        s2, m2, y2 = _learners(400, rng)
        fused = np.clip(fuse(s2, m2, weights)[0], SCORE_MIN, SCORE_MAX)  # (400, 4)
        q = np.array([[iv.table["fused"][f"part{p}"].at(v)[0] for p, v in zip(PARTS, row)] for row in fused])
        part_hits.append((np.abs(fused - y2) <= q + 1e-9).mean())
        overall = fused.mean(axis=1)
        q_all = np.array([iv.table["fused"][overall_key(PARTS)].at(v)[0] for v in overall])
        overall_hits.append((np.abs(overall - y2.mean(axis=1)) <= q_all + 1e-9).mean())
        two = fused[:, :2].mean(axis=1)
        q_two = np.array([iv.table["fused"][overall_key(PARTS[:2])].at(v)[0] for v in two])
        partial_hits.append((np.abs(two - y2.mean(axis=1)) <= q_two + 1e-9).mean())
        ratio.append(iv.table["fused"][overall_key(PARTS[:2])].half_width / iv.table["fused"][overall_key(PARTS)].half_width)
    for hits in (part_hits, overall_hits, partial_hits):
        assert abs(np.mean(hits) - 0.9) < 0.03
    assert np.mean(ratio) > 1.1  # two parts say less about the overall than four: a wider interval


@pytest.mark.parametrize("n, coverage, rank", [(9, 0.9, 9), (19, 0.9, 18), (99, 0.9, 90), (19, 0.95, 19), (10, 0.5, 6)])
def test_finite_sample_rank(n, coverage, rank):
    residuals = np.arange(1, n + 1) / 10  # the k-th smallest is k / 10
    assert conformal_quantile(residuals[::-1], coverage) == pytest.approx(rank / 10)


@pytest.mark.parametrize("n, coverage", [(8, 0.9), (18, 0.95), (0, 0.9)])
def test_too_few_items_give_no_width(n, coverage):
    assert n < min_items(coverage)
    assert conformal_quantile(np.ones(n), coverage) is None
    widths = fit_widths(np.full(n, 3.0), np.full(n, 3.5), coverage, min_region_count=min_items(coverage))
    assert widths.half_width is None and widths.n == n


def test_small_samples_still_cover_at_least_nominal():
    """With n = 9 at 90% the width is the largest residual: held-out coverage is >= 90% on average."""
    rng = np.random.default_rng(2)
    hits = [(np.abs(rng.normal(0, 0.4, 2000)) <= conformal_quantile(np.abs(rng.normal(0, 0.4, 9)), 0.9)).mean()
            for _ in range(400)]
    assert np.mean(hits) >= 0.9 - 0.01
    assert np.mean(hits) == pytest.approx(0.9, abs=0.02)  # exact split conformal: ceil((n+1)0.9)/(n+1) = 0.9


def _by_region(rng, n_low, n_high, n_top=0):
    """Predictions near A2+ with marks close by, near C1 with marks far off, and a few at C1+ (region 7)."""
    pred = np.concatenate([2.5 + rng.uniform(-0.2, 0.2, n_low), 5.0 + rng.uniform(-0.2, 0.2, n_high),
                           np.full(n_top, 5.5)])
    noise = np.concatenate([rng.normal(0, 0.1, n_low), rng.normal(0, 0.6, n_high), rng.normal(0, 0.1, n_top)])
    return pred, pred + noise


def test_a_sparse_region_falls_back_to_the_global_width():
    widths = fit_widths(*_by_region(np.random.default_rng(3), 200, 200, n_top=5), 0.9, min_region_count=30)
    tight, loose = widths.at(2.5), widths.at(5.0)
    assert tight[2] and loose[2] and tight[0] < widths.half_width < loose[0]
    assert widths.regions[7] is None and widths.region_counts[7] == 5
    assert widths.at(5.5) == (widths.half_width, widths.n, False)
    assert region_of(5.5) == 7 and region_of(2.5) == 1 and region_of(5.0) == 6


@pytest.mark.slow
def test_per_region_widths_cover_each_region():
    rng = np.random.default_rng(4)
    hits = {1: [], 6: []}
    for _ in range(30):
        widths = fit_widths(*_by_region(rng, 300, 300), 0.9)
        pred, y = _by_region(rng, 2000, 2000)
        q = np.array([widths.at(v)[0] for v in pred])
        for k in hits:
            mine = np.array([region_of(v) == k for v in pred])
            hits[k].append((np.abs(pred - y)[mine] <= q[mine] + 1e-9).mean())
    for k, h in hits.items():
        assert abs(np.mean(h) - 0.9) < 0.03, k


def _fused_intervals():
    rng = np.random.default_rng(5)
    s, m, y = _learners(120, rng)
    return fit_intervals({"fused": HeldOut(s * 0.5 + m * 0.5, y), "speech": HeldOut(s, y), "mllm": HeldOut(m, y)},
                         TRAINED_STATES, "test", min_region_count=30)


def test_a_fusion_file_from_before_intervals_still_loads(tmp_path):
    old = tmp_path / "fusion.json"  # written by the code before this change: version 1, no "intervals"
    old.write_text(json.dumps({
        "format": "sla-fusion-weights", "version": 1, "edges": [0.0, 2.25, 2.75, 3.25, 3.75, 4.25, 4.75, 5.25, 6.0],
        "weights": [0.5, 0.55, 0.6, 0.6, 0.65, 0.7, 0.7, 0.5], "source": "fit_fusion on 1752 items", "fitted": True,
        "counts": [3, 120, 300, 420, 410, 300, 180, 19], "dev_rmse": {"fused": 0.37, "speech": 0.4, "mllm": 0.39},
        "global_weight": 0.6, "fallback_intervals": [0]}))
    weights = load_fusion(old)
    assert weights.fitted and weights.weights[1] == 0.55 and weights.intervals is None


def test_intervals_round_trip_through_the_fusion_file(tmp_path):
    iv = _fused_intervals()
    weights = fit_fusion([3.0, 4.0, 3.5], [3.5, 4.5, 3.0], [3.0, 4.5, 3.5], min_count=1)
    from dataclasses import replace

    path = save_fusion(replace(weights, intervals=iv), tmp_path / "fusion.json")
    back = load_fusion(path)
    assert back.intervals == iv
    assert json.loads(path.read_text())["version"] == 2


def test_intervals_apply_only_to_graders_in_the_fitted_states():
    iv = _fused_intervals()
    assert iv.applies_to({"speech": TRAINED, "mllm": TRAINED})
    assert not iv.applies_to({"speech": UNTRAINED})  # a random grader: no width describes it
    assert not iv.applies_to({"mllm": "zero-shot"})  # fitted on trained predictions
    interval = iv.part_interval("speech", 3, 5.4)
    assert interval.available and interval.high == SCORE_MAX and interval.low == pytest.approx(5.4 - interval.half_width)
    assert "90%" in interval.basis and "part 3" in interval.basis


def _part(**kw) -> PartAssessment:
    base = dict(part=3, status="assessed", durations=(45.0,), score=3.5, cefr="B1+", graded=True,
                speech=PartScore("speech", 3, 3.4, TRAINED), mllm=PartScore("mllm", 3, 3.6, TRAINED))
    return PartAssessment(**(base | kw))


@pytest.mark.parametrize("change, reason", [
    ({}, None),
    ({"interval": ScoreInterval.around(3.5, 0.6, 0.9, "conformal", 400)}, "interval is 1.20 wide"),
    ({"interval": ScoreInterval.around(3.5, 0.5, 0.9, "conformal", 400)}, None),  # exactly 1.0: not wider
    ({"mllm": PartScore("mllm", 3, 4.6, TRAINED)}, "disagree by 1.20"),
    ({"mllm": PartScore("mllm", 3, 4.6, UNTRAINED)}, None),  # an untrained grader's number is not an opinion
    ({"durations": (9.0,)}, "too little speech"),
    ({"status": "missing", "score": None}, "Part 3 is missing"),
    ({"status": "rejected", "score": None, "problem": "Part 3, answer 1: the recording is silent."}, "silent"),
])
def test_review_flags_say_why(change, reason):
    reasons = part_review(_part(**change))
    if reason is None:
        assert reasons == ()
    else:
        assert len(reasons) == 1 and reason in reasons[0]


def test_dropped_answers_flag_the_part():
    assert "some answers are missing, were rejected or failed an answer check" in part_review(_part(), answers_dropped=True)[0]


def test_saved_results_from_before_intervals_still_open():
    from sla_core.testing.assessments import sample_assessment

    doc = sample_assessment().to_dict()
    for key in ("overall_interval", "review"):
        del doc[key]
    for part in doc["parts"]:
        del part["interval"], part["review"]
    old = Assessment.from_dict(doc)
    assert old.overall_interval is None and old.review == () and old.part(1).interval is None
    new = Assessment.from_dict(doc | {"overall_interval": {"low": 3.0, "high": 4.0, "half_width": 0.5, "coverage": 0.9,
                                                          "method": "conformal", "n": 438}})
    assert Assessment.from_json(new.to_json()) == new


def test_model_spread_is_the_central_range_of_the_distribution():
    certain = [0, 0, 0, 1.0, 0, 0, 0, 0]
    assert model_spread(certain, GRID) == (3.5, 3.5)
    spread = [0.0, 0.1, 0.2, 0.4, 0.2, 0.1, 0.0, 0.0]
    assert model_spread(spread, GRID) == (2.5, 4.5)
    assert model_spread(None, GRID) is None


def test_widths_reject_bad_settings():
    with pytest.raises(ValueError, match="coverage"):
        conformal_quantile([0.1], 1.0)
    with pytest.raises(ValueError, match="min_region_count"):
        fit_widths([3.0], [3.0], 0.9, min_region_count=5)
    with pytest.raises(ValueError, match="regions"):
        Widths(0.5, 10, regions=(None,) * 3)


def test_too_little_speech_reads_the_voice_activity_when_the_part_has_it():
    from sla_core.delivery.measures import AnswerDelivery, PartDelivery

    def answer(speaking):
        return AnswerDelivery(duration_s=60.0, segments=((0.0, speaking),), nuclei=(), pauses=(), start_s=0.0,
                              trailing_s=60.0 - speaking, span_s=speaking, speaking_s=speaking, syllables=0)

    quiet = _part(durations=(60.0,), delivery=PartDelivery((answer(8.0),)))  # a full minute, 8 s of it speech
    [reason] = part_review(quiet)
    assert "too little speech (8 s of speech per answer" in reason
    assert part_review(_part(durations=(60.0,), delivery=PartDelivery((answer(40.0),)))) == ()
