"""The official scorer's files: one `submissionID<TAB>score` file per part and overall, in the reference's order."""

import pytest

from sla_core.manifest import CorpusError
from sla_core.research.official import read_official_marks, write_official
from sla_core.research.predictions import OVERALL, Prediction

# A hand-written example of what the official scorer reads for dev Part 3 and the overall.
EXPECTED_P3 = "SI114J-00011\t3.712\nSI102A-00004\t2.000\n"
EXPECTED_OVERALL = "SI114J-00011\t3.500\nSI102A-00004\t2.431\n"


def _preds():
    rows = []
    for sub, p3, overall in (("SI102A-00004", 2.0, 2.43125), ("SI114J-00011", 3.71249, 3.5)):
        rows.append(Prediction("dev", sub, 3, "W2V", p3, None, "trained"))
        rows.append(Prediction("dev", sub, 3, "W2V", 9.9, None, "trained", item="P30017"))  # per answer: not official
        rows.append(Prediction("dev", sub, OVERALL, "W2V", overall, None, "trained"))
    return rows


def test_files_match_a_hand_written_example_in_reference_order(tmp_path):
    order = {3: ["SI114J-00011", "SI102A-00004"], OVERALL: ["SI114J-00011", "SI102A-00004"]}
    written, problems = write_official(tmp_path, _preds(), "dev", order)
    assert [p.name for p in written] == ["dev-sla-P1.tsv", "dev-sla-P3.tsv", "dev-sla-P4.tsv", "dev-sla-P5.tsv",
                                         "dev-sla-overall.tsv"]
    assert (tmp_path / "dev-sla-P3.tsv").read_text() == EXPECTED_P3
    assert (tmp_path / "dev-sla-overall.tsv").read_text() == EXPECTED_OVERALL
    assert problems == []


def test_a_reference_submission_without_a_prediction_is_named_not_invented(tmp_path):
    order = {3: ["SI114J-00011", "SI999Z-00001", "SI102A-00004"]}
    _, problems = write_official(tmp_path, _preds(), "dev", order)
    assert (tmp_path / "dev-sla-P3.tsv").read_text() == EXPECTED_P3
    assert problems == ["dev-sla-P3.tsv: no prediction for 1 submission(s) of the reference (first: SI999Z-00001)"]


def test_one_system_per_set_of_files(tmp_path):
    rows = _preds() + [Prediction("dev", "SI114J-00011", 3, "Phi4-STG", 3.0, None, "trained")]
    with pytest.raises(ValueError, match="one system"):
        write_official(tmp_path, rows, "dev")


def test_released_marks_read_back_as_references(tmp_path):
    (tmp_path / "eval-sla-P3.tsv").write_text("SI114J-00011\t3.500\nSI102A-00004\t2.000\n")
    (tmp_path / "eval-sla-overall.tsv").write_text("SI114J-00011\t1.875\n")
    assert read_official_marks(tmp_path, "eval") == {3: {"SI114J-00011": 3.5, "SI102A-00004": 2.0},
                                                     OVERALL: {"SI114J-00011": 1.875}}
    (tmp_path / "eval-sla-P4.tsv").write_text("SI114J-00011 x\n")
    with pytest.raises(CorpusError, match=r"eval-sla-P4\.tsv:1: score 'x' is not a number"):
        read_official_marks(tmp_path, "eval")
