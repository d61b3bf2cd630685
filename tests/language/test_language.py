"""Language use from the transcript (issue 26 item 2): MTLD against worked examples, filled pauses, repetitions,
the vocabulary profile, and the rule that only trusted transcripts are measured."""

from __future__ import annotations

import csv

import pytest

from sla_core.assess import AssessorConfig, load_assessor
from sla_core.assessment import TRAINED, UNTRAINED, Assessment, GraderInfo
from sla_core.data import PartResponses, Response, Submission
from sla_core.language import PartLanguage, language_use
from sla_core.language.feedback import language_feedback, language_numbers
from sla_core.language.measures import MIN_MTLD_WORDS, mtld, mtld_pass, repetitions, words_of
from sla_core.language.vocabulary import LEVEL_NAMES, word_level
from sla_core.results.export import write_csv
from sla_core.teacher import result_view as report
from sla_core.testing.audio import espeak_wav


# -- MTLD ----------------------------------------------------------------------------------------------------

def test_mtld_follows_mccarthy_and_jarvis_worked_example():
    """Their illustration (2010, p. 384): "of (1.00) the (1.00) people (1.00) by (1.00) the (.800) people (.667)"
    ends the first factor; "for the people" never falls, and an unfinished factor at TTR 1.0 adds nothing."""
    words = "of the people by the people for the people".split()
    assert mtld_pass(words) == 1.0
    assert mtld_pass(words[::-1]) == 1.0  # backward: "people the for people the(.600)" ends it after 5 words
    assert mtld(words) == 9.0


def test_an_unfinished_factor_counts_as_the_share_of_the_way_its_ratio_fell():
    words = "a b c d e f g h i j a b".split()  # never falls to 0.72: ends at 10 types / 12 words
    partial = (1 - 10 / 12) / (1 - 0.72)
    assert mtld_pass(words) == pytest.approx(partial)
    assert mtld(words) == pytest.approx(12 / partial)


def test_mtld_agrees_with_lexicalrichness_on_its_own_test():
    """lexicalrichness 0.5.1's test_mtld expects 14.000000000000004 for this token list (its preprocessing done)."""
    tokens = "test text with some text numbers hyphenhere and text punctuations".split()
    assert mtld(tokens) == pytest.approx(14.0)


def test_all_different_words_give_their_number():
    assert mtld("only unique terms in this little string".split()) == 7


# -- counting -------------------------------------------------------------------------------------------------

def test_words_repetitions_and_filled_pauses():
    assert words_of("Um, I don’t KNOW... 42 cats") == ["um", "i", "don't", "know", "cats"]
    assert repetitions("i i think in the in the park the the the end".split()) == ["i", "in the", "the", "the"]
    lang = language_use(["Um, I I think, uh, the park is nice.", "Er, yes. Yes it is."], "given")
    assert (lang.words, lang.filled_pauses, lang.repetitions, lang.answers) == (11, 3, 2, 2)
    assert lang.repeated == ("i", "yes")  # punctuation does not hide a repetition; a filled pause between neither
    assert lang.per_100(lang.filled_pauses) == pytest.approx(27.3)
    assert lang.mtld is None  # 11 words < MIN_MTLD_WORDS


def test_the_vocabulary_profile_uses_the_word_list():
    assert word_level("book") == 0  # A1 as a noun (B1 as a verb): the lowest level is taken
    assert LEVEL_NAMES[word_level("environment")] == "B2"
    assert word_level("don't") == 0 and word_level("qwzx") is None
    lang = language_use(["The environment in my town is polluted but the people are friendly, qwzx."], "asr")
    assert "environment" in lang.advanced and lang.levels[-1] == 1  # qwzx: not in the list
    assert sum(lang.levels) == lang.words and lang.b1_or_above > 0


def test_nothing_to_measure_gives_none():
    assert language_use([None, None], "given") is None
    assert language_use(["Um, uh, er."], "given") is None


def test_feedback_states_the_facts_and_notes_what_an_asr_leaves_out():
    text = " ".join(["I think that living in a big city is exciting because there are many museums and "
                     "restaurants, um, and the transport is convenient."] * 3)
    lang = language_use([text], "asr")
    said = language_feedback(lang)
    assert lang.words >= MIN_MTLD_WORDS and lang.mtld is not None
    assert any(s.startswith("Lexical diversity (MTLD)") for s in said)
    assert any("3 times" in s and "may leave out 'um'" in s for s in said)
    assert "MTLD" in language_numbers(lang) and "automatic transcript" in language_numbers(lang)
    assert language_feedback(None) == ()


def test_round_trip_through_json():
    lang = language_use(["I I think the environment is important, um, for everybody."], "given")
    again = PartLanguage.from_dict({**lang.__dict__, "summary": lang.summary()})
    assert again == lang


# -- in the pipeline ------------------------------------------------------------------------------------------

ANSWER = "I think living in a city is better because there are more jobs, um, and more things to do."


@pytest.fixture(scope="module")
def assessor():
    """The tiny speech grader without a transcriber; each test gives it the one it needs."""
    return load_assessor(AssessorConfig(tiny=True, mllm="off", asr="none"))


@pytest.fixture(scope="module")
def answer(tmp_path_factory):
    return espeak_wav(tmp_path_factory.mktemp("lang") / "p3.wav", ANSWER)


class _Transcriber:
    """Says real words, in the state a transcriber declares (the tiny random one is UNTRAINED)."""

    def __init__(self, state):
        self.state = state

    def info(self):
        return GraderInfo(name="asr", source="test", state=self.state)

    def transcribe(self, waveforms):
        return [ANSWER for _ in waveforms]


@pytest.mark.parametrize("state, measured", [(UNTRAINED, False), (TRAINED, True)])
def test_only_a_real_transcribers_words_are_measured(assessor, answer, state, measured, monkeypatch):
    """The tiny offline transcriber makes random words: no language use may be built from them."""
    monkeypatch.setattr(assessor, "transcriber", _Transcriber(state))
    a = assessor.assess({3: [answer]})
    assert a.part(3).transcripts == (ANSWER,)
    assert (a.part(3).language is not None) is measured
    assert ("sla-language" in report.delivery_html(a)) is measured
    if measured:
        assert a.part(3).language.source == "asr"


def test_a_given_transcript_is_measured_and_shown_everywhere(assessor, answer, tmp_path):
    sub = Submission("Ana", (PartResponses(3, (Response(answer, transcript=ANSWER),)),))
    a = assessor.assess_submission(sub)
    lang = a.part(3).language
    assert lang is not None and lang.source == "given" and lang.filled_pauses == 1 and lang.words == 18
    data = a.to_dict()
    assert data["parts"][1]["language"]["summary"]["words"] == 18
    assert Assessment.from_json(a.to_json()).part(3).language == lang
    assert 'data-testid="language"' in report.delivery_html(a)
    row = dict(zip(report.CLASS_COLUMNS, report.class_row(a)))
    assert row["Words"] == 18 and row["Fillers /100 words"] == pytest.approx(5.6)
    with write_csv([a], tmp_path / "c.csv").open(encoding="utf-8-sig") as f:
        cells = next(csv.DictReader(f))
    assert cells["part3_words"] == "18" and cells["part3_words_from"] == "given"
    assert "per 100 words" in cells["part3_language_feedback"] and cells["part1_words"] == ""


def test_an_old_result_without_language_use_still_loads():
    from sla_core.testing.assessments import sample_assessment

    data = sample_assessment().to_dict()
    for part in data["parts"]:
        part.pop("language", None)
    assert Assessment.from_dict(data).part(3).language is None
