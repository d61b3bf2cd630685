import pytest

from sla_core.assessment import TRAINED, UNTRAINED, ZERO_SHOT, Assessment, GraderInfo, PartAssessment, PartScore
from sla_core.delivery.measures import PartDelivery, measure_answer


def _example() -> Assessment:
    speech = PartScore(grader="speech", part=1, score=3.4, state=TRAINED, prototype_levels=(2.0, 3.0, 4.0),
                       similarities=(0.2, 0.5, 0.3), pooling_weights=((0.5, 0.5), (0.25, 0.25, 0.5)))
    mllm = PartScore(grader="mllm", part=1, score=3.7, state=ZERO_SHOT, distribution=(0.0, 0.1, 0.2, 0.3, 0.2, 0.1, 0.1, 0.0),
                     variant="TA", transcripts=("I live in Lyon.", "I am a student."))
    parts = (
        PartAssessment(part=1, status="assessed", durations=(2.0, 3.1), transcripts=("I live in Lyon.", None),
                       speech=speech, mllm=mllm, fusion_weight=0.4, fusion_interval=3, score=3.52, cefr="B1+",
                       graded=False, basis="fused",
                       delivery=PartDelivery((measure_answer(2.0, [(0.3, 0.9), (1.4, 1.9)], (0.4, 0.6, 1.5), "I live in Lyon."),
                                              measure_answer(3.1, [(0.2, 3.0)], (0.5, 1.0, 2.0), None)))),
        PartAssessment(part=3, status="rejected", problem="Part 3, answer 1: the recording is silent."),
        PartAssessment(part=4, status="missing", problem="Part 4: no recording was given."),
    )
    return Assessment(parts=parts, overall=3.52, overall_cefr="B1+", covered_parts=(1,), graded=False,
                      graders=(GraderInfo(name="speech", source="/models/w2v", state=TRAINED, parts=(1,)),),
                      learner="Ana", calibration=None)


def test_json_round_trip_is_lossless():
    original = _example()
    again = Assessment.from_json(original.to_json())
    assert again == original
    assert again.part(1).speech.pooling_weights == ((0.5, 0.5), (0.25, 0.25, 0.5))
    assert again.part(3).problem.startswith("Part 3")
    assert not again.complete
    assert again.part(1).delivery.answers[0].pauses == ((0.9, 0.5),)


def test_a_result_saved_before_the_delivery_measures_still_opens():
    data = _example().to_dict()
    for part in data["parts"]:
        del part["delivery"]  # what results saved before the delivery measures look like
    again = Assessment.from_dict(data)
    assert again.part(1).delivery is None and again.part(1).score == 3.52


def test_the_json_carries_every_delivery_measure():
    part = _example().to_dict()["parts"][0]["delivery"]
    assert part["summary"]["pauses"] == 1 and part["summary"]["syllables"] == 6
    assert part["summary"]["longest_pause_s"] == 0.5 and part["summary"]["longest_pause_at_s"] == 0.9
    assert part["answers"][0]["summary"]["words_per_minute"] == pytest.approx(4 / 1.6 * 60, abs=0.01)


def test_unknown_state_is_rejected():
    with pytest.raises(ValueError, match="not one of"):
        PartScore(grader="speech", part=1, score=3.0, state="guessed")


def test_distribution_must_cover_the_grid():
    with pytest.raises(ValueError, match="expected 8"):
        PartScore(grader="mllm", part=1, score=3.0, state=UNTRAINED, distribution=(0.5, 0.5))


def test_unknown_fields_are_named():
    data = _example().to_dict()
    data["parts"][0]["colour"] = "red"
    with pytest.raises(ValueError, match="colour"):
        Assessment.from_dict(data)


# -- the compact form: a projection of the same Assessment, every value copied, the bulky detail left out --------

def _with_detail() -> Assessment:
    from sla_core.testing.assessments import sample_assessment, with_delivery, with_intervals

    return with_delivery(with_intervals(sample_assessment("Ana", missing=(4,)), half_widths={1: 0.3, 3: 0.6, 5: 0.4},
                                        overall_half_width=0.25))


def test_compact_holds_the_scores_levels_intervals_review_and_delivery_summary():
    a = _with_detail()
    c = a.to_dict("compact")
    assert (c["overall"], c["overall_cefr"], c["covered_parts"], c["graded"]) == (
        a.overall, a.overall_cefr, list(a.covered_parts), a.graded)
    assert c["overall_interval"]["low"] == a.overall_interval.low and c["review"] == list(a.review)
    for part, pa in zip(c["parts"], a.parts):
        assert (part["part"], part["status"], part["score"], part["cefr"]) == (pa.part, pa.status, pa.score, pa.cefr)
        if pa.ok:
            assert part["speech"] == {"score": pa.speech.score, "state": pa.speech.state}
            assert part["interval"]["high"] == pa.interval.high and part["fusion_weight"] == pa.fusion_weight
            assert part["delivery"] == pa.delivery.summary()


def test_compact_leaves_out_the_per_frame_detail():
    import json

    a = _with_detail()
    compact, full = json.dumps(a.to_dict("compact")), json.dumps(a.to_dict())
    for bulky in ("pooling_weights", "similarities", "distribution", "segments", "nuclei"):
        assert bulky in full and bulky not in compact
    assert len(compact) < len(full)


def test_detail_chooses_the_form_and_names_the_choices_when_wrong():
    from sla_core.assessment import DETAILS

    a = _with_detail()
    assert a.to_dict("full") == a.to_dict() and a.to_dict("compact")["detail"] == "compact"
    assert DETAILS == ("compact", "full")
    with pytest.raises(ValueError, match=r"'short' is not one of \['compact', 'full'\]"):
        a.to_dict("short")


def test_compact_keeps_a_session_graders_own_overall_beside_the_mean_of_the_parts():
    from dataclasses import replace

    from sla_core.assessment import OverallScore

    a = _with_detail()
    assert a.to_dict("compact")["holistic"] is None  # no session grader: nothing invented
    own = OverallScore(grader="Phi4-MTL", score=4.25, state=TRAINED, cefr="B2", covered_parts=(1, 3, 5),
                       review=("Phi4-MTL overall's 90% interval is 1.20 wide",))
    c = replace(a, holistic=own).to_dict("compact")
    assert c["holistic"] == {"grader": "Phi4-MTL", "score": 4.25, "cefr": "B2", "state": TRAINED,
                             "covered_parts": [1, 3, 5], "interval": None,
                             "review": ["Phi4-MTL overall's 90% interval is 1.20 wide"]}
    assert c["overall"] == a.overall  # the overall stays the mean of the parts
