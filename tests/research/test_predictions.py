"""The predictions file: round trip, clear errors, and pairing graders by (submission, part)."""

import numpy as np
import pytest

from sla_core.research.predictions import COLUMNS, OVERALL, Prediction, align, read_predictions, write_predictions

ROWS = [
    Prediction("dev", "S1", 1, "speech", 3.21, 3.0, "trained"),
    Prediction("dev", "S1", 1, "speech", 3.4, 3.0, "trained", item="P10003", utt_id="S1-P10003"),
    Prediction("dev", "S1", 1, "mllm", 2.9, 3.0, "zero-shot"),
    Prediction("dev", "S2", 1, "speech", 4.1, 4.5, "trained"),
    Prediction("dev", "S2", 1, "mllm", 4.4, 4.5, "zero-shot"),
    Prediction("dev", "S3", 1, "speech", 2.2, None, "trained"),  # no mark: left out of metrics
    Prediction("dev", "S3", 1, "mllm", 2.4, None, "zero-shot"),
    Prediction("dev", "S4", 1, "speech", 5.0, 5.5, "trained"),  # no mllm row: left out of the pair
    Prediction("dev", "S1", OVERALL, "speech", 3.3, 3.125, "trained"),
]


def test_round_trip_keeps_every_field(tmp_path):
    path = write_predictions(tmp_path / "p.tsv", ROWS)
    assert path.read_text().splitlines()[0].split("\t") == list(COLUMNS)
    assert read_predictions(path) == ROWS


def test_several_files_read_as_one(tmp_path):
    a = write_predictions(tmp_path / "a.tsv", ROWS[:3])
    b = write_predictions(tmp_path / "b.tsv", ROWS[3:])
    assert read_predictions(a, b) == ROWS


def test_align_pairs_graders_by_submission_and_skips_unmarked_rows():
    a = align(ROWS, ["speech", "mllm"], 1)
    assert a.submission_ids == ("S1", "S2") and len(a) == 2
    np.testing.assert_allclose(a.scores["speech"], [3.21, 4.1])  # the per-response row is not a part score
    np.testing.assert_allclose(a.scores["mllm"], [2.9, 4.4])
    np.testing.assert_allclose(a.reference, [3.0, 4.5])
    assert align(ROWS, ["speech"], 1).submission_ids == ("S1", "S2", "S4")
    assert align(ROWS, ["speech"], OVERALL).reference.tolist() == [3.125]
    assert len(align(ROWS, ["speech"], 1, split="eval")) == 0


def test_disagreeing_references_are_an_error():
    rows = ROWS[:1] + [Prediction("dev", "S1", 1, "mllm", 2.9, 3.5, "zero-shot")]
    with pytest.raises(ValueError, match=r"S1 part 1: the graders' files disagree on the reference \[3.0, 3.5\]"):
        align(rows, ["speech", "mllm"], 1)
    with pytest.raises(ValueError, match="two predictions for S1 part 1"):
        align(ROWS[:1] * 2, ["speech"], 1)


@pytest.mark.parametrize("line, message", [
    ("dev\tS1\t2\t\t\tspeech\ttrained\t3.0\t3.0\t", r"p.tsv:2: part '2' is not one of \[1, 3, 4, 5, 'overall'\]"),
    ("dev\tS1\t1\t\t\tspeech\ttrained\tx\t3.0\t", r"p.tsv:2: score 'x'"),
    ("dev\tS1\t1\tspeech\t3.0", r"p.tsv:2: 5 fields, expected 10"),
])
def test_malformed_rows_name_file_and_line(tmp_path, line, message):
    (tmp_path / "p.tsv").write_text("\t".join(COLUMNS) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=message):
        read_predictions(tmp_path / "p.tsv")


def test_files_written_before_systems_and_notes_still_read(tmp_path):
    (tmp_path / "old.tsv").write_text("\t".join(COLUMNS[:-1]) + "\ndev\tS1\t1\t\t\tspeech\ttrained\t3.2\t3.0\n")
    assert read_predictions(tmp_path / "old.tsv") == [Prediction("dev", "S1", 1, "speech", 3.2, 3.0, "trained")]


@pytest.mark.parametrize("grader, mode, variant, name", [
    ("speech", "stg", "TA", "W2V"), ("bert", "stg", "TA", "BERT"), ("mllm", "stg", "TA", "Phi4-STG"),
    ("mllm", "ctg", "TA", "Phi4-CTG-TA"), ("mllm", "ctg", "ao", "Phi4-CTG-AO"), ("mllm", "ctg", "TO", "Phi4-CTG-TO"),
    ("mllm", "stg", "AO", "Phi4-STG-AO"),
])
def test_each_run_is_named_as_its_table_1_system(grader, mode, variant, name):
    from sla_core.research.predictions import system_name

    assert system_name(grader, mode, variant) == name


def test_wrong_header_or_missing_file(tmp_path):
    (tmp_path / "p.tsv").write_text("a\tb\n")
    with pytest.raises(ValueError, match=r"p.tsv:1: header \['a', 'b'\] is not the predictions header"):
        read_predictions(tmp_path / "p.tsv")
    with pytest.raises(FileNotFoundError, match="sla_core predict"):
        read_predictions(tmp_path / "none.tsv")
