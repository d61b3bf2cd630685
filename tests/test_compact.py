"""The compact form is a projection of the same Assessment: every value copied, the bulky detail left out."""

import json

import pytest

from sla_core.assessment import Assessment
from sla_core.compact import DETAILS, assessment_dict, compact_dict
from sla_core.testing.assessments import sample_assessment, with_delivery, with_intervals


@pytest.fixture
def assessment() -> Assessment:
    a = with_intervals(sample_assessment("Ana", missing=(4,)), half_widths={1: 0.3, 3: 0.6, 5: 0.4},
                       overall_half_width=0.25)
    return with_delivery(a)


def test_compact_holds_the_scores_levels_intervals_review_and_delivery_summary(assessment):
    c = compact_dict(assessment)
    assert (c["overall"], c["overall_cefr"], c["covered_parts"], c["graded"]) == (
        assessment.overall, assessment.overall_cefr, list(assessment.covered_parts), assessment.graded)
    assert c["overall_interval"]["low"] == assessment.overall_interval.low and c["review"] == list(assessment.review)
    for part, pa in zip(c["parts"], assessment.parts):
        assert (part["part"], part["status"], part["score"], part["cefr"]) == (pa.part, pa.status, pa.score, pa.cefr)
        if pa.ok:
            assert part["speech"] == {"score": pa.speech.score, "state": pa.speech.state}
            assert part["interval"]["high"] == pa.interval.high and part["fusion_weight"] == pa.fusion_weight
            assert part["delivery"] == pa.delivery.summary()


def test_compact_leaves_out_the_per_frame_detail_and_is_json(assessment):
    text = json.dumps(compact_dict(assessment))
    full = json.dumps(assessment.to_dict())
    for bulky in ("pooling_weights", "similarities", "distribution", "segments", "nuclei"):
        assert bulky in full and bulky not in text
    assert len(text) < len(full)


def test_detail_chooses_the_form_and_names_the_choices_when_wrong(assessment):
    assert assessment_dict(assessment, "full") == assessment.to_dict()
    assert assessment_dict(assessment, "compact") == compact_dict(assessment)
    assert DETAILS == ("compact", "full")
    with pytest.raises(ValueError, match=r"'short' is not one of \['compact', 'full'\]"):
        assessment_dict(assessment, "short")
