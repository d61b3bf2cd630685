"""The CSV carries each score's interval and the review flag with its reasons."""

import csv

import pytest

from sla_core.results.export import csv_rows, write_csv
from sla_core.testing.assessments import sample_assessment, with_intervals


def test_intervals_and_review_reach_the_csv(tmp_path):
    sure = with_intervals(sample_assessment("Ana"), half_widths=0.2, overall_half_width=0.15)
    unsure = with_intervals(sample_assessment("Ben", missing=(4,)), half_widths={1: 0.7, 3: 0.2, 5: 0.2})
    plain = sample_assessment("Cleo")  # no fitted widths: empty bounds, never invented ones
    rows = {r["learner"]: r for r in csv_rows([sure, unsure, plain])}
    ana = rows["Ana"]
    assert ana["part3_low"] == pytest.approx(round(sure.part(3).score - 0.2, 3))
    assert ana["overall_high"] == pytest.approx(round(sure.overall + 0.15, 3))
    assert ana["interval_coverage"] == 0.9
    ben = rows["Ben"]
    assert ben["review"] is True and "covers 3 of 4 parts" in ben["review_reasons"]
    assert "1.40 wide" in ben["part1_review"] and ben["part4_low"] is None
    assert rows["Cleo"]["part1_low"] is None and rows["Cleo"]["interval_coverage"] is None

    path = write_csv([sure, unsure, plain], tmp_path / "class.csv")
    with path.open(encoding="utf-8-sig") as f:
        read = {r["learner"]: r for r in csv.DictReader(f)}
    assert read["Ben"]["review"] == "True" and read["Cleo"]["part1_low"] == ""


def test_a_session_graders_own_overall_has_its_columns_beside_the_overall():
    from dataclasses import replace

    from sla_core.assessment import TRAINED, OverallScore

    own = OverallScore(grader="Phi4-MTL", score=3.875, state=TRAINED, cefr="B1", covered_parts=(1, 3, 4, 5))
    rows = {r["learner"]: r for r in csv_rows([replace(sample_assessment("Ana"), holistic=own), sample_assessment("Ben")])}
    assert (rows["Ana"]["holistic_grader"], rows["Ana"]["holistic_overall"], rows["Ana"]["holistic_cefr"],
            rows["Ana"]["holistic_state"]) == ("Phi4-MTL", 3.875, "B1", TRAINED)
    assert rows["Ana"]["overall"] != rows["Ana"]["holistic_overall"]  # the mean of the parts, not replaced
    assert (rows["Ben"]["holistic_grader"], rows["Ben"]["holistic_overall"]) == ("", None)
