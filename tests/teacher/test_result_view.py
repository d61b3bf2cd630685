"""The summary card, tables and CSV rows a teacher reads: right numbers, honest labels, escaped text."""

import csv
import html

from sla_core.assessment import UNTRAINED, GraderInfo
from sla_core.parts import PARTS
from sla_core.results import export
from sla_core.teacher import result_view as report
from sla_core.teacher import ui_text
from sla_core.testing.assessments import sample_assessment


def test_part_rows_show_each_graders_score_weight_and_cefr():
    a = sample_assessment()
    rows = report.part_rows(a)
    assert [r[0] for r in rows] == ["Part 1: Interview", "Part 3: Opinion", "Part 4: Presentation",
                                    "Part 5: Communication Activity"]
    p1 = a.part(1)
    assert rows[0][2:7] == [f"{p1.speech.score:.2f}", f"{p1.mllm.score:.2f}", f"{p1.fusion_weight:.2f}",
                            f"{p1.score:.2f}", p1.cefr]


def test_untrained_cefr_says_not_a_grade_and_summary_carries_the_banner():
    a = sample_assessment(state=UNTRAINED)
    assert all("(not a grade)" in r[6] for r in report.part_rows(a))
    html = report.summary_html(a)
    assert ui_text.NOT_GRADES_BANNER.split(" —")[0] in html and "sla-ungraded" in html


def test_a_bad_part_is_a_message_on_that_part_and_the_overall_says_what_it_covers():
    a = sample_assessment(rejected={4: "Part 4, answer 1 (x.wav): the recording is silent."})
    html = report.summary_html(a)
    assert "the recording is silent" in html
    assert "Covers Parts 1, 3, 5 only; Part 4 could not be assessed." in html
    assert report.part_rows(a)[2][1] == "could not be assessed"


def test_learner_names_and_problems_are_escaped():
    a = sample_assessment(learner="<script>x</script>", rejected={3: "bad <b>file</b>"})
    html = report.summary_html(a)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>file" not in html


def test_transcripts_drop_undecodable_characters():
    assert export.transcript_text(["\ufffd\ufffd hello", None, "\ufffd", "world"]) == "hello / world"


def test_class_rows_keep_numbers_numeric_and_blank_for_missing_parts(tmp_path):
    a = sample_assessment("Ana", missing=(4,))
    row = report.class_row(a)
    assert row[0] == "Ana" and row[1] == round(a.overall, 2)
    assert row[3] == "provisional: 3 of 4 parts (1, 3, 5)"
    assert row[report.CLASS_COLUMNS.index("Part 4")] is None
    path = export.write_csv([a, sample_assessment("Ben")], tmp_path / "c.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert [r["learner"] for r in rows] == ["Ana", "Ben"]
    assert rows[0]["part4_status"] == "missing" and rows[0]["part4_score"] == ""
    assert float(rows[1]["part1_score"]) == round(sample_assessment().part(1).score, 3)


def test_status_panel_says_plainly_when_nothing_is_trained_and_where_models_come_from():
    infos = (GraderInfo("speech", "tiny (random, offline)", UNTRAINED, note="untrained (random head)"),
             GraderInfo("mllm", "microsoft/Phi-4-multimodal-instruct", UNTRAINED, note="not loaded: no CUDA GPU"))
    html = report.status_html(infos, "/tmp/r.sqlite")
    assert ui_text.NOTHING_TRAINED in html and "tiny (random, offline)" in html
    assert "/tmp" not in html and ui_text.STORE_LINE in html  # visitors are not told server paths
    assert report.status_line(infos) == "Models: speech untrained · multimodal not loaded"
    trained = (GraderInfo("speech", "/models/w2v", "trained", parts=PARTS),)
    assert "Trained artifacts are loaded for: Speech grader" in report.status_html(trained)
    assert "local: w2v" in report.status_html(trained) and "/models" not in report.status_html(trained)


def test_fitted_fusion_or_a_calibration_over_untrained_graders_is_still_no_grade():
    # What the panel lists after "Use this profile" on the tiny models: the profile refitted the fusion weight.
    infos = (GraderInfo("speech", "tiny (random, offline)", UNTRAINED, note="untrained (random head)"),
             GraderInfo("mllm", "tiny (random, offline)", UNTRAINED),
             GraderInfo("calibration", "/p/my-7c", "trained", parts=(1, 3)),
             GraderInfo("fusion", "teacher calibration on 6 responses", "trained"))
    html = report.status_html(infos)
    assert ui_text.NOTHING_TRAINED in html and "Trained artifacts are loaded" not in html
    assert not report.any_grader_trained(infos)
    calibration = html.split('data-grader="calibration"')[1].split("</li>")[0]
    assert 'sla-state-warn">in use (over untrained graders: not grades)<' in calibration
    assert ">trained<" not in calibration and "changes part(s) 1, 3 only" in calibration
    assert 'sla-state-warn">fitted (over untrained graders: not grades)<' in html
    with_speech = (GraderInfo("speech", "/models/w2v", "trained", parts=PARTS), *infos[1:])
    assert "Trained artifacts are loaded for: Speech grader (wav2vec 2.0), Score fusion" in report.status_html(with_speech)


def test_the_card_names_the_calibration_profile_only_when_one_was_used():
    import dataclasses

    plain = sample_assessment()
    assert 'data-testid="calibration"' not in report.summary_html(plain)
    calibrated = dataclasses.replace(plain, calibration="class <3b>")
    html = report.summary_html(calibrated)
    assert "profile \u201cclass &lt;3b&gt;\u201d" in html


def test_the_overall_names_one_part_and_several_parts_in_good_english():
    a = sample_assessment(rejected={1: "silent", 4: "silent", 5: "silent"})
    assert "Covers Part 3 only; Parts 1, 4, 5 could not be assessed." in report.summary_html(a)


FULL = {1: 6, 3: 1, 4: 1, 5: 5}  # every answer the test asks for


def test_one_part_of_four_is_a_provisional_overall_in_the_headline_not_a_plain_level():
    a = sample_assessment(missing=(1, 4, 5), answers=FULL)
    html = report.summary_html(a)
    assert 'data-testid="provisional">provisional: 1 of 4 parts<' in html
    assert "Covers all four parts" not in html
    full = report.summary_html(sample_assessment(answers=FULL))
    assert "provisional" not in full and "Covers all four parts (1, 3, 4, 5), every answer." in full


def test_part_1_with_2_of_its_6_answers_says_so_on_the_part_and_in_the_headline():
    a = sample_assessment(answers={**FULL, 1: 2})
    html = report.summary_html(a)
    assert "provisional: Part 1 on 2 of 6 answers" in html and "Covers all four parts" in html
    assert ">2 of 6 answers<" in html  # on Part 1's chip
    assert report.part_rows(a)[0][1] == "assessed (2 of 6 answers)"
    assert report.part_rows(a)[1][1] == "assessed"  # a one-answer part has no count


def test_the_class_coverage_column_sorts_partial_learners_apart_from_complete_ones():
    rows = report.class_rows([sample_assessment("Ana", answers=FULL), sample_assessment("Ben", missing=(4,)),
                              sample_assessment("Cy", answers={**FULL, 5: 3}), sample_assessment("Di", answers=FULL)])
    coverage = [r[report.CLASS_COLUMNS.index("Coverage")] for r in rows]
    assert coverage[0] == "complete (1, 3, 4, 5)" and coverage[2] == "provisional: Part 5 on 3 of 5 answers (1, 3, 4, 5)"
    assert [r[0] for r in sorted(rows, key=lambda r: r[3])] == ["Ana", "Di", "Ben", "Cy"]


def test_the_card_and_tables_say_how_sure_and_why_to_listen():
    from sla_core.cefr import cefr_label
    from sla_core.testing.assessments import with_intervals

    a = with_intervals(sample_assessment("Ana", missing=(4,)), half_widths={1: 0.7, 3: 0.2, 5: 0.2},
                       overall_half_width=0.3)
    html = report.summary_html(a)
    iv = a.overall_interval
    assert f"between {iv.low:.2f}" in html and "with 90% probability" in html
    assert ui_text.REVIEW_HEADING in html and "The overall covers 3 of 4 parts." in html
    assert "1.40 wide" in html  # Part 1's reason, in words
    rows = report.part_rows(a)
    how = report.PART_COLUMNS.index("How sure")
    p3 = a.part(3).interval
    assert rows[1][how] == f"90% interval: {p3.low:.2f}–{p3.high:.2f} ({cefr_label(p3.low)} to {cefr_label(p3.high)})"
    row = report.class_row(a)
    assert row[report.CLASS_COLUMNS.index("Review")] == len(a.review) > 0
    assert "1.40 wide" in row[report.CLASS_COLUMNS.index("Problems")]
    assert "The overall covers" not in row[report.CLASS_COLUMNS.index("Problems")]  # "Coverage" says it
    calm = sample_assessment("Cy")
    order = [r[0] for r in report.class_rows([calm, a], order="review_first")]
    assert order == ["Ana", "Cy"]  # the flagged learner first


def test_without_fitted_widths_only_the_models_own_spread_is_shown_and_labelled():
    a = sample_assessment()
    how = report.part_rows(a)[0][report.PART_COLUMNS.index("How sure")]
    assert how.startswith("model's own uncertainty (not calibrated)")
    assert "interval" not in how and "overall-interval" not in report.summary_html(a)
    speech_only = sample_assessment(with_mllm=False)
    assert report.part_rows(speech_only)[0][report.PART_COLUMNS.index("How sure")] == report.DASH


def test_the_part_table_holds_short_cells_and_each_parts_words_are_under_it():
    a = sample_assessment()
    assert report.PART_COLUMNS[-1] == "How sure" and all(len(r) == len(report.PART_COLUMNS) for r in report.part_rows(a))
    notes = report.part_notes_html(a)
    assert notes.count("How the score was made:") == 4 and notes.count("What was heard:") == 4
    assert all(f'data-part="{p}"' in notes for p in PARTS)


def test_random_or_missing_transcripts_are_explained_once_above_them():
    import dataclasses

    a = sample_assessment(state=UNTRAINED)
    tiny = dataclasses.replace(a, graders=(GraderInfo("asr", "tiny (random, offline)", UNTRAINED, note="Whisper"),))
    assert html.escape(ui_text.RANDOM_TRANSCRIBER) in report.part_notes_html(tiny)
    none = dataclasses.replace(a, graders=(GraderInfo("speech", "tiny", UNTRAINED),))
    assert ui_text.NO_TRANSCRIBER in report.part_notes_html(none)
    real = dataclasses.replace(a, graders=(GraderInfo("asr", "openai/whisper-base.en", "zero-shot", note="Whisper"),))
    assert 'data-testid="transcriber-note"' not in report.part_notes_html(real)


def test_a_profile_that_did_not_help_says_so_on_the_result_and_is_never_called_trained():
    import dataclasses

    from sla_core.calibration.apply import NOT_HELPING

    note = f"profile 'weak': 6 responses (part 3: 6) on 2026-03-01; in use although it {NOT_HELPING} (too few responses)"
    info = GraderInfo("calibration", "/p/weak", "trained", parts=(3,), note=note)
    a = dataclasses.replace(sample_assessment(), calibration="weak", graders=(info,))
    card = report.summary_html(a)
    assert "sla-calibrated-warn" in card and "not shown to be closer" in card and "(too few responses)" in card
    infos = (GraderInfo("speech", "tiny", UNTRAINED), info)
    assert report.status_line(infos) == "Models: speech untrained · calibration in use (did not help)"
    assert 'sla-state-warn">in use (did not help)<' in report.status_html(infos)
    good = GraderInfo("calibration", "/p/good", "trained", parts=(3,),
                      note="profile 'good': 12 responses (part 3: 12) on 2026-03-01; lowered the error from 0.60 to 0.30")
    helped = report.summary_html(dataclasses.replace(a, calibration="good", graders=(good,)))
    assert "sla-calibrated-warn" not in helped and "its held-out check: lowered the error from 0.60 to 0.30<" in helped
    assert report.status_line((good,)) == "Models: calibration in use"


def test_a_class_row_tells_a_reason_shared_by_several_parts_once():
    import dataclasses

    a = dataclasses.replace(sample_assessment("Ana"), review=(
        "Part 1: too little speech (3 s of speech per answer on average; this part expects about 20 s).",
        "Part 3: too little speech (7 s of speech per answer on average; this part expects about 60 s).",
        "Part 4: the 90% interval is 1.40 wide (more than 1.0, over two adjacent levels): the score is uncertain."))
    problems = report.class_row(a)[report.CLASS_COLUMNS.index("Problems")]
    assert problems.startswith("Too little speech (Parts 1, 3).") and "Part 4: the 90% interval is 1.40 wide." in problems


def test_the_app_and_the_readme_state_the_same_calibration_minimum():
    from pathlib import Path

    from sla_core.calibration.fit import MIN_EXEMPLARS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    said = f"at least {MIN_EXEMPLARS} parts you have graded yourself"
    assert said in ui_text.CALIBRATE_INTRO.replace("\n", " ") and said in readme.replace("\n  ", " ")
    assert f"At least {MIN_EXEMPLARS} of your own graded parts".lower() in readme.replace("\n", " ").lower()
    assert "2-3 per level" not in readme
