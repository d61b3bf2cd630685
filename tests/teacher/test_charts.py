"""Charts show the numbers of the Assessment they draw, and say so in words when a grader is absent."""

import numpy as np
import pytest

from sla_core.teacher import charts
from sla_core.assessment import UNTRAINED
from sla_core.cefr import GRID, LABELS
from sla_core.parts import PARTS
from sla_core.testing.assessments import DEFAULT_WEIGHTS, sample_assessment


def _texts(fig) -> str:
    return " ".join(a.text or "" for a in fig.layout.annotations)


def test_part_scores_bars_hold_each_graders_scores_and_the_part_score():
    a = sample_assessment()
    fig = charts.part_scores_figure(a)
    bars = {t.name: list(t.y) for t in fig.data}
    assert bars["Speech grader"] == [a.part(p).speech.score for p in PARTS]
    assert bars["Multimodal grader"] == [a.part(p).mllm.score for p in PARTS]
    assert bars["Part score"] == [a.part(p).score for p in PARTS]
    assert f"overall<br>{a.overall:.2f}" in _texts(fig)


def test_untrained_scores_are_labelled_not_grades_and_hatched():
    fig = charts.part_scores_figure(sample_assessment(state=UNTRAINED))
    names = [t.name for t in fig.data]
    assert "Speech grader (untrained)" in names and "Part score (not a grade)" in names
    assert list(fig.data[0].marker.pattern.shape) == ["/"] * 4
    trained = charts.part_scores_figure(sample_assessment())
    shapes = {t.name: t.marker.pattern.shape for t in trained.data}
    # colour never tells the bars apart alone: each grader has its own pattern, the part score none
    assert list(shapes["Speech grader"]) != list(shapes["Multimodal grader"])
    assert not shapes["Part score"] and "" not in list(shapes["Speech grader"]) + list(shapes["Multimodal grader"])


def test_a_missing_part_is_marked_not_assessed_instead_of_a_zero_bar():
    fig = charts.part_scores_figure(sample_assessment(missing=(4,)))
    fused = next(t for t in fig.data if t.name == "Part score")
    assert fused.y[PARTS.index(4)] is None
    assert "not assessed" in _texts(fig)


def test_fusion_chart_draws_the_eight_weights_and_places_each_part_on_them():
    a = sample_assessment()
    fig = charts.fusion_weights_figure(DEFAULT_WEIGHTS, a)
    curve, points = fig.data
    assert [y for y in curve.y if y is not None][::2] == list(DEFAULT_WEIGHTS)
    assert list(points.x) == [a.part(p).mllm.score for p in PARTS]
    assert list(points.y) == [a.part(p).fusion_weight for p in PARTS]


def test_fusion_chart_without_the_multimodal_grader_says_it_is_not_loaded():
    fig = charts.fusion_weights_figure(None, sample_assessment(with_mllm=False))
    assert not fig.data and "Multimodal grader not loaded" in _texts(fig)


def test_fusion_chart_rejects_a_wrong_number_of_weights():
    with pytest.raises(ValueError, match="8"):
        charts.fusion_weights_figure([0.5] * 3, sample_assessment())


def test_prototype_heatmap_is_parts_by_levels_with_the_similarities():
    a = sample_assessment(missing=(3,))
    heat = charts.prototype_figure(a).data[0]
    assert list(heat.x) == list(LABELS)
    assert len(heat.y) == 3  # Part 3 is missing
    np.testing.assert_allclose(heat.z[0], a.part(1).speech.similarities)


def test_prototype_heatmap_leaves_levels_unseen_in_training_blank():
    a = sample_assessment()
    part = a.part(1)
    speech = part.speech.__class__(**{**part.speech.__dict__, "prototype_levels": GRID[2:],
                                      "similarities": (0.5, 0.5, 0, 0, 0, 0)})
    a = a.__class__(**{**a.__dict__, "parts": (part.__class__(**{**part.__dict__, "speech": speech}),) + a.parts[1:]})
    z = charts.prototype_figure(a).data[0].z[0]
    assert np.isnan(z[0]) and np.isnan(z[1]) and z[2] == 0.5


def test_mllm_distribution_has_one_bar_group_per_part_and_a_message_without_it():
    a = sample_assessment()
    fig = charts.mllm_distribution_figure(a)
    assert [t.name for t in fig.data] == [f"P{p}" for p in PARTS]
    assert list(fig.data[0].y) == list(a.part(1).mllm.distribution)
    absent = charts.mllm_distribution_figure(sample_assessment(with_mllm=False))
    assert "Multimodal grader not loaded" in _texts(absent)


def test_class_overview_sorts_learners_and_marks_partial_overalls():
    a = sample_assessment("Ana", answers={1: 6, 3: 1, 4: 1, 5: 5})
    b = sample_assessment("Ben", missing=(5,))
    fig = charts.class_overview_figure([a, b])
    bar = fig.data[0]
    assert sorted(bar.x) == list(bar.x)
    assert any("(provisional)" in t for t in bar.text)
    complete, provisional = fig.data[1], fig.data[2]  # the class's distribution of overall levels
    assert list(complete.x) == ["A2", "A2+", "B1", "B1+", "B2", "B2+", "C1", "C1+"]
    assert sum(complete.y) == 1 and sum(provisional.y) == 1 and provisional.marker.pattern.shape == "/"
    assert list(provisional.y)[list(provisional.x).index(b.overall_cefr)] == 1
    assert "No learner" in _texts(charts.class_overview_figure([]))


def test_the_part_chart_draws_each_interval_and_the_overall_band():
    from sla_core.testing.assessments import with_intervals

    a = with_intervals(sample_assessment(missing=(4,)), half_widths={1: 0.3, 3: 0.6, 5: 0.4}, overall_half_width=0.25)
    fig = charts.part_scores_figure(a)
    fused = next(t for t in fig.data if t.name.startswith("Part score"))
    assert fused.name == "Part score with 90% interval"
    for p, up, down in zip(PARTS, fused.error_y.array, fused.error_y.arrayminus):
        pa = a.part(p)
        if pa.interval is None:
            assert up == down == 0 and "no calibrated interval" in fused.customdata[PARTS.index(p)]
        else:
            assert (pa.score + up, pa.score - down) == pytest.approx((pa.interval.high, pa.interval.low))
    [band] = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (band.y0, band.y1) == (a.overall_interval.low, a.overall_interval.high)
    assert f"90%: {a.overall_interval.low:.2f}–{a.overall_interval.high:.2f}" in _texts(fig)


def test_without_fitted_widths_no_interval_is_drawn():
    fig = charts.part_scores_figure(sample_assessment())
    fused = next(t for t in fig.data if t.name.startswith("Part score"))
    assert fused.error_y.array is None and not [s for s in fig.layout.shapes if s.type == "rect"]


def test_delivery_timeline_has_a_row_per_answer_with_speech_pauses_and_syllables():
    from sla_core.testing.assessments import sample_assessment, with_delivery

    fig = charts.delivery_figure(with_delivery(sample_assessment(missing=(4,))))
    names = {t.name for t in fig.data}
    assert {"speech", "pause", "pause ≥ 1 s", "syllable"} <= names
    assert set(fig.layout.yaxis.categoryarray) == {"P1 Interview", "P3 Opinion", "P5 Communication Activity"}
    empty = charts.delivery_figure(sample_assessment())  # saved before the measures
    assert "No answer was measured" in empty.layout.annotations[0].text
