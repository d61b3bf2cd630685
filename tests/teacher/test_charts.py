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
    fig = charts.prototype_figure(a)
    heat, score = fig.data
    assert list(heat.x) == list(GRID) and list(fig.layout.xaxis.ticktext) == list(LABELS)
    assert list(fig.layout.yaxis.ticktext) == ["P1", "P4", "P5"]  # Part 3 is missing
    np.testing.assert_allclose(heat.z[0], a.part(1).speech.similarities)
    # The grader's own score is marked in each row, and the chart says why it need not sit on the darkest cell.
    assert list(score.x) == [a.part(p).speech.score for p in (1, 4, 5)]
    assert "need not sit on the most similar level" in fig.layout.title.subtitle.text.replace("<br>", " ")


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
    # Each learner's name, score and level label its bar on the axis; a provisional one says so.
    labels = list(fig.layout.yaxis.ticktext)
    assert [t.split("<br>")[0] for t in labels] == [x.learner for x in sorted((a, b), key=lambda x: x.overall)]
    assert sum("(provisional)" in t for t in labels) == 1 and f"{b.overall:.2f} {b.overall_cefr}" in " ".join(labels)
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
    assert {"speech", "pause", "pause ≥ 1 s", "syllable", "before/after speaking"} <= names
    assert set(fig.layout.yaxis.categoryarray) == {"P1", "P3", "P5"}  # short: a phone keeps its width for the bars
    assert "gaps under 0.25 s" in fig.layout.title.subtitle.text.replace("<br>", " ")


def test_the_timeline_draws_what_the_measures_count_as_speech_so_no_gap_is_unexplained_white():
    from sla_core.delivery.measures import measure_answer

    # Speech 0.5-2.0 and 2.1-3.0 (a 0.1 s gap: speech, not a pause), a pause, speech 4.0-5.0; 6 s recorded.
    ans = measure_answer(6.0, [(0.5, 2.0), (2.1, 3.0), (4.0, 5.0)], [1.0, 2.5, 4.5])
    assert charts.speech_runs(ans) == [(0.5, 3.0), (4.0, 5.0)]
    from sla_core.testing.assessments import with_delivery

    fig = charts.delivery_figure(with_delivery(sample_assessment(missing=(4,))))
    for row in fig.layout.yaxis.categoryarray:  # every row is covered from 0 to its recording's end
        spans = sorted((t.base[0], t.base[0] + t.x[0]) for t in fig.data if t.type == "bar" and t.y[0] == row)
        assert spans[0][0] == 0 and all(b[0] <= a[1] + 1e-9 for a, b in zip(spans, spans[1:]))


@pytest.mark.parametrize("make", [
    lambda: charts.part_scores_figure(sample_assessment(state=UNTRAINED)),
    lambda: charts.mllm_distribution_figure(sample_assessment()),
    lambda: charts.prototype_figure(sample_assessment()),
    lambda: charts.class_overview_figure([sample_assessment("Ana"), sample_assessment("Ben", missing=(5,))]),
])
def test_title_note_and_legend_stack_in_fixed_pixels_so_they_never_overlap_on_any_width(make):
    fig = make()
    title_lines = fig.layout.title.text.count("<br>") + 1
    note_lines = fig.layout.title.subtitle.text.count("<br>") + 1 if fig.layout.title.subtitle.text else 0
    names = charts.legend_names(fig)
    rows = charts._legend_grid(names)[0] if len(names) > 1 else 0
    needed = (charts.TOP_PAD + charts.TITLE_LINE * title_lines + charts.NOTE_LINE * note_lines
              + (charts.LEGEND_LINE * rows + 2 * charts.LEGEND_PAD if rows else 0))
    assert fig.layout.margin.t >= needed
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yanchor == "bottom"  # grows up from the plot
    width = fig.layout.legend.entrywidth  # fixed-width entries: a phone gets at most `rows` rows
    assert width is None or width >= 40 + 7 * max(len(n) for n in names)
    empty = charts.delivery_figure(sample_assessment())  # saved before the measures
    assert "No answer was measured" in empty.layout.annotations[0].text
