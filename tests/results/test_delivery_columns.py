"""The class CSV and the class table carry the delivery measures, and the class comparison is made
there, from the classmates, never stored in a learner's Assessment."""

from __future__ import annotations

import csv

import pytest

from sla_core.results.export import csv_rows, write_csv
from sla_core.teacher import result_view as report
from sla_core.testing.assessments import sample_assessment, with_delivery


def _class():
    return [with_delivery(sample_assessment(name), speech_rate=rate)
            for name, rate in (("Ana", 2.0), ("Ben", 3.0), ("Cy", 4.0), ("Di", 5.0))]


def test_the_csv_has_each_parts_main_measures_and_feedback(tmp_path):
    path = write_csv(_class(), tmp_path / "class.csv")
    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    ana = rows[0]
    assert float(ana["part3_speech_rate"]) == 2.0 and ana["part3_pauses"] == "2" and ana["part3_long_pauses"] == "1"
    assert float(ana["part3_longest_pause_s"]) == 1.4
    assert "the longest, 1.4 s, at 0:09" in ana["part3_delivery_feedback"]
    assert ana["part3_speech_rate_in_class"] == "slower than 3 of 3 classmates"
    assert rows[3]["part1_speech_rate_in_class"] == "faster than 3 of 3 classmates"


def test_the_learners_record_is_the_same_whoever_is_in_the_class():
    alone, together = csv_rows(_class()[:1])[0], csv_rows(_class())[0]
    assert alone["part3_speech_rate_in_class"] == "" and together["part3_speech_rate_in_class"] != ""
    klass = _class()
    before = klass[0].to_json()
    csv_rows(klass)
    assert klass[0].to_json() == before  # nothing about classmates is in the Assessment
    assert "classmate" not in before


def test_the_class_table_shows_speaking_time_rate_long_pauses_and_standing():
    rows = report.class_rows(_class())
    col = report.CLASS_COLUMNS.index
    assert [r[col("Syllables/s")] for r in rows] == pytest.approx([2.0, 3.0, 4.0, 5.0], abs=0.05)
    assert rows[0][col("Long pauses")] == 4  # one per assessed part, four parts
    assert rows[0][col("Speech rate in class")] == "slower than 3 of 3 classmates"
    assert rows[2][col("Speech rate in class")] == "faster than 2 of 3 classmates"
    old = report.class_row(sample_assessment("Old"))  # saved before the delivery measures
    assert old[col("Syllables/s")] is None and old[col("Speech rate in class")] == "—"
