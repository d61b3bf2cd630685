"""The text alternatives of the class chart, the calibration chart and the delivery timeline: what a teacher
using a screen reader, or a phone too narrow for the chart, reads in place of each."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from sla_core.calibration.profile import Evidence
from sla_core.delivery.measures import measure_answer
from sla_core.teacher import charts
from sla_core.teacher.calibration_chart import evidence_figure
from sla_core.teacher.chart_text import answer_timeline_text, class_overview_html, clock, evidence_html, timeline_html
from sla_core.testing.assessments import sample_assessment, with_delivery

COLOUR_WORDS = re.compile(r"\b(red|green|grey|gray|blue|orange|amber|colou?r)\b", re.I)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("seconds, shown", [(0.0, "0:00"), (7.2, "0:07"), (31.0, "0:31"), (62.4, "1:02")])
def test_times_read_as_minutes_and_seconds(seconds, shown):
    assert clock(seconds) == shown


def test_the_class_chart_in_words_counts_learners_per_level_and_says_who_is_provisional():
    ana = sample_assessment("Ana", answers={1: 6, 3: 1, 4: 1, 5: 5})
    ben = sample_assessment("Ben", missing=(5,))
    dan = replace(sample_assessment("Dan"), overall=None)
    text = class_overview_html([ben, ana, dan])
    assert (f"<p>2 learners with an overall score: 2 at {ana.overall_cefr} (1 provisional). "
            f"Highest Ben {ben.overall:.2f} ({ben.overall_cefr}); lowest Ana {ana.overall:.2f} "
            f"({ana.overall_cefr}).</p>") in text
    assert "1 of them provisional" in text and "1 learner without an overall score, not in the chart: Dan." in text
    # The level table, then one row per learner, highest first, as the chart reads top down.
    assert f"<tr><td>{ana.overall_cefr}</td><td>2</td><td>1</td></tr>" in text
    assert text.index("<td>Ben</td>") < text.index("<td>Ana</td>")
    assert "<td>provisional: 3 of 4 parts</td>" in text and "<td>complete</td>" in text
    assert "not grades" not in text  # trained sample graders


def test_the_class_text_and_chart_draw_the_same_counts():
    learners = [sample_assessment("Ana"), sample_assessment("Ben", missing=(5,)), sample_assessment("Cy", missing=(1, 4))]
    fig, text = charts.class_overview_figure(learners), class_overview_html(learners)
    complete, provisional = fig.data[1], fig.data[2]
    for level, whole, late in zip(complete.x, complete.y, provisional.y):
        if whole + late:
            assert f"<tr><td>{level}</td><td>{whole + late}</td><td>{late}</td></tr>" in text


def test_the_class_text_says_untrained_scores_are_not_grades_and_when_nobody_has_a_score():
    untrained = sample_assessment("Ana", state="untrained")
    assert "Untrained models: these scores are not grades." in class_overview_html([untrained])
    assert class_overview_html([]) == f"<p>{charts.NO_OVERALL_YET}</p>"


def _evidence(marks, before, after, before_pcc=0.5, after_pcc=0.8):
    report = {"before": {"rmse": 0.62, "pcc": before_pcc, "within_0_5": 50.0},
              "after": {"rmse": 0.31, "pcc": after_pcc, "within_0_5": 75.0}}
    n = len(marks)
    return Evidence("leave-one-out", tuple("abcd"[:n]), (3, 3, 4, 4)[:n], marks, before, after, report, {})


def test_the_calibration_chart_in_words_gives_n_the_errors_before_and_after_and_every_mark():
    evidence = _evidence((3.0, 4.0, 3.5, 2.5), (3.5, 3.2, 3.5, 3.4), (3.1, 3.8, 3.5, 2.9))
    text = evidence_html(evidence)
    assert "4 graded responses from 4 learners (parts 3, 4)" in text
    assert "RMSE (the typical error; lower is better): 0.62 before, 0.31 after calibration" in text
    assert "Pearson correlation (higher is better): 0.50 before, 0.80 after calibration" in text
    assert "share within half a band of your mark (1.00 = all): 0.50 before, 0.75 after calibration" in text
    assert "Closer to your mark after calibration: 3 of 4; further: 0; unchanged: 1." in text
    # The table lists every response by mark, lowest first (the chart's x axis), with both scores.
    rows = re.findall(r"<tr><td>(\w)</td><td>(\d)</td><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td></tr>", text)
    assert rows == [("d", "4", "2.5", "3.40", "2.90"), ("a", "3", "3.0", "3.50", "3.10"),
                    ("c", "4", "3.5", "3.50", "3.50"), ("b", "3", "4.0", "3.20", "3.80")]


def test_the_calibration_text_shows_the_bars_numbers_and_says_what_n_a_means():
    evidence = _evidence((3.5, 3.5, 3.5), (3.0, 3.0, 3.0), (3.5, 3.5, 3.5), float("nan"), float("nan"))
    text, fig = evidence_html(evidence), evidence_figure(evidence)
    for bar, when in zip([t for t in fig.data if t.type == "bar"], ("before", "after")):
        assert [f"{label}" for label in bar.text] == ["0.62" if when == "before" else "0.31", "n/a",
                                                       "0.50" if when == "before" else "0.75"]
    assert "Pearson correlation (higher is better): n/a before, n/a after calibration" in text
    assert "n/a means undefined: all the marks, or all the scores, are the same." in text
    assert "Too few graded responses" in evidence_html(None)


def test_the_delivery_timeline_in_words_lists_speech_and_pauses_with_their_times():
    a = with_delivery(sample_assessment(missing=(4,)))  # speech 0.5-19 s, pauses 0.6 s at 4.0 s and 1.4 s at 9.0 s
    text = timeline_html(a)
    assert text.count("<li>") == 3  # the chart's rows: Parts 1, 3 and 5, one answer each
    assert ("<li>P3 Opinion (0:20 recorded): spoke 0:00–0:04, pause 0.6 s, spoke 0:05–0:09, pause 1.4 s, "
            "spoke 0:10–0:19. 2 pauses of 0.25 s or more, 1 of at least 1 s; longest 1.4 s at 0:09. "
            "56 syllables.</li>") in text
    assert [row for row, _ in charts.timeline_rows(a)] == ["P1 Interview", "P3 Opinion", "P5 Communication Activity"]
    assert "No answer was measured." in timeline_html(sample_assessment())  # saved before the measures


def test_a_long_answer_is_summed_up_not_listed_pause_by_pause():
    # A 60 s answer in 15 stretches of speech, each followed by a 1.3 s pause.
    answer = measure_answer(60.0, [(4.0 * k + 0.3, 4.0 * k + 3.0) for k in range(15)], [k / 3 for k in range(150)])
    text = answer_timeline_text("P3 Long turn", answer)
    assert text.startswith("P3 Long turn (1:00 recorded): spoke 0:00–0:03, pause 1.3 s, spoke 0:04–0:07")
    assert text.count("spoke") == 5 and "… then 10 more stretches of speech, to 0:59." in text
    assert "14 pauses of 0.25 s or more, 14 of at least 1 s; longest 1.3 s at 0:03." in text
    assert len(text) < 350
    assert answer_timeline_text("P3 x", measure_answer(10.0, [], [])) == "P3 x (0:10 recorded): no speech was found."
    assert "No pause of 0.25 s or more. 2 syllables." in answer_timeline_text("P3 x", measure_answer(9.0, [(1, 5)], [2, 3]))


def test_no_text_alternative_carries_meaning_by_colour():
    learners = [sample_assessment("Ana"), sample_assessment("Ben", missing=(5,), state="untrained")]
    evidence = _evidence((3.0, 4.0, 3.5), (3.5, 3.2, 3.5), (3.1, 3.8, 3.5))
    for html in (class_overview_html(learners), evidence_html(evidence), timeline_html(with_delivery(learners[0]))):
        assert not COLOUR_WORDS.search(_text(html)), _text(html)


@pytest.mark.parametrize("title, shown", [
    ("Scores per part", "Scores per part"),
    ("Speech grader: similarity to each CEFR level", "Speech grader:<br>similarity to each CEFR level"),
    ("Overall score per learner (untrained models: not grades)",
     "Overall score per learner<br>(untrained models: not grades)"),
])
def test_long_chart_titles_wrap_where_a_reader_would_pause(title, shown):
    assert charts.wrap_title(title) == shown


def test_a_long_chart_title_wraps_on_a_phone_and_gets_room_above_the_plot():
    fig = charts.prototype_figure(sample_assessment(), "Speech grader: similarity to each CEFR level")
    assert fig.layout.title.text == "Speech grader:<br>similarity to each CEFR level"
    # Two title lines, then the three-line note on how the score relates to the cells, then the plot.
    assert fig.layout.margin.t == charts.TOP_PAD + 2 * charts.TITLE_LINE + 3 * charts.NOTE_LINE + charts.PLOT_GAP
    assert fig.layout.title.y * fig.layout.height == pytest.approx(fig.layout.height - charts.TOP_PAD - 14)
    assert charts.part_scores_figure(sample_assessment(), "Scores per part").layout.title.text == "Scores per part"
    # A chart's "why nothing is drawn" message is in phone-wide lines, not one line running off both sides.
    note = charts.message_figure("", "Press Fit: the before/after numbers and the verdict appear here.")
    lines = note.layout.annotations[0].text.split("<br>")
    assert len(lines) == 2 and max(map(len, lines)) <= 40
