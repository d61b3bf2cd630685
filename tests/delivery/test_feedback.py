"""Feedback sentences and class standing: only measured facts, and nothing that depends on classmates
ends up in a learner's own record."""

from __future__ import annotations

import pytest

from sla_core.delivery.feedback import class_standing, clock, part_feedback
from sla_core.delivery.measures import PartDelivery, measure_answer


def _answer(duration=60.0, start=0.5, pauses=((10.0, 0.5), (31.2, 2.4), (40.0, 1.2), (45.0, 1.1), (50.0, 1.3)),
            end=58.0, nuclei=150):
    """An answer with speech from `start` to `end` broken by `pauses` (start, length)."""
    edges = [start] + [x for t, g in pauses for x in (t, t + g)] + [end]
    segments = list(zip(edges[::2], edges[1::2]))
    return measure_answer(duration, segments, [start + (end - start) * (i + 0.5) / nuclei for i in range(nuclei)])


def test_the_issues_examples_come_out_in_these_words():
    said = part_feedback(PartDelivery((_answer(),)))
    assert 1 <= len(said) <= 3
    assert said[0] == "You spoke for 51 s of 60 s of recording."  # 57.5 s span - 6.5 s of pauses
    assert said[1] == "4 pauses longer than 1 s; the longest, 2.4 s, at 0:31."


def test_a_late_start_is_named_and_a_part_with_several_answers_says_which():
    late = _answer(duration=20.0, start=3.4, pauses=(), end=18.0, nuclei=40)
    said = part_feedback(PartDelivery((_answer(), late)))
    assert "over 2 answers" in said[0]
    assert said[1].endswith("in answer 1 at 0:31.")
    assert said[2] == "You took 3.4 s to start speaking in answer 2."


def test_fluent_answer_gets_its_rate_and_no_invented_pauses():
    said = part_feedback(PartDelivery((_answer(pauses=(), nuclei=200),)))
    assert said[1] == "No pause was longer than 1 s."
    assert said[2].startswith("You said about 3.5 syllables per second")
    assert not any(level in " ".join(said) for level in ("A2", "B1", "B2", "C1"))  # no CEFR norm


def test_nothing_measured_means_no_feedback():
    assert part_feedback(None) == ()


@pytest.mark.parametrize("seconds, text", [(0.0, "0:00"), (31.2, "0:31"), (59.6, "1:00"), (125.0, "2:05")])
def test_clock(seconds, text):
    assert clock(seconds) == text


def test_class_standing_counts_classmates_not_the_learner():
    standing = class_standing({"Ana": 3.0, "Ben": 4.0, "Cy": 2.0, "Di": 2.5, "Ed": None})
    assert standing["Cy"] == "slower than 3 of 3 classmates"
    assert standing["Ben"] == "faster than 3 of 3 classmates"
    assert standing["Ana"] == "faster than 2 of 3 classmates"
    assert standing["Ed"] == "" and class_standing({"Solo": 3.0}) == {"Solo": ""}


def test_a_random_asrs_words_give_no_words_per_minute(tmp_path):
    """The tiny offline ASR makes random text: counting its words would be a number with no meaning."""
    from sla_core.assess import AssessorConfig, load_assessor
    from sla_core.testing.audio import espeak_wav

    path = espeak_wav(tmp_path / "a.wav", "I think cities are better because there is more to do there.")
    part = load_assessor(AssessorConfig(tiny=True, mllm="on")).assess({3: [path]}).part(3)
    assert part.transcripts and part.delivery.summary()["words_per_minute"] is None
