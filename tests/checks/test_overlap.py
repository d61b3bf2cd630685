"""Read-aloud and repeat measure: word-trigram containment, on worked examples."""

import pytest

from sla_core.checks.overlap import DEFAULT_MAX_OVERLAP, containment, words

QUESTION = "Some people say that it is better to live in a city than in the countryside. What do you think?"


@pytest.mark.parametrize("answer, source, expected", [
    ("the cat sat on the mat today", "the cat sat on the mat today", 1.0),
    ("The cat sat; on the MAT today!", "the cat sat on the mat today", 1.0),  # case and punctuation ignored
    ("the cat sat on a red mat", "the cat sat on the mat", 2 / 5),  # trigrams: the-cat-sat, cat-sat-on of 5
    ("one two three four five six", "six five four three two one", 0.0),  # same words, no run of three
    ("too short to judge", "too short to judge", None),  # under MIN_WORDS
])
def test_containment_is_the_share_of_the_answers_trigrams_in_the_source(answer, source, expected):
    got = containment(answer, source)
    assert got == (None if expected is None else pytest.approx(expected))


def test_reading_the_question_fails_and_echoing_it_then_answering_passes():
    read = containment(QUESTION, QUESTION)
    echoed = containment("I think it is better to live in a city than in the countryside, because there are more "
                         "jobs, better hospitals and buses, and my friends all live there too.", QUESTION)
    assert read == 1.0 > DEFAULT_MAX_OVERLAP
    assert echoed < DEFAULT_MAX_OVERLAP


def test_words_keep_apostrophes():
    assert words("Don’t stop! It's 5 o'clock.") == ["don't", "stop", "it's", "5", "o'clock"]
