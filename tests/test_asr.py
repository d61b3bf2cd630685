"""Transcripts: Phi-4 with its speech adapter (default) and Whisper (alternative), on tiny random models."""

import pytest

from sla_core.asr import (
    Phi4Transcriber,
    Transcriber,
    WhisperTranscriber,
    load_transcriber,
)
from sla_core.assessment import UNTRAINED
from sla_core.data import PartInput
from sla_core.asr import tiny_whisper_transcriber
from sla_core.testing.mllm import tiny_mllm_grader
from sla_core.testing.audio import tiny_waveform


@pytest.fixture(scope="module")
def grader():
    return tiny_mllm_grader()


@pytest.fixture(scope="module")
def whisper():
    return tiny_whisper_transcriber()


def test_phi4_transcriber_reuses_the_graders_model(grader):
    asr = load_transcriber("phi4", grader=grader)
    assert isinstance(asr, Phi4Transcriber) and isinstance(asr, Transcriber)
    assert asr.grader.model is grader.model  # no second model
    assert asr.info().state == UNTRAINED and "speech adapter" in asr.info().source


def test_phi4_transcripts_come_back_in_input_order(grader):
    clips = [tiny_waveform(2.0, seed=1), tiny_waveform(1.0, seed=2), tiny_waveform(1.5, seed=3)]
    asr = Phi4Transcriber(grader, batch_size=1, max_new_tokens=6)  # batches sorted by duration
    texts = asr.transcribe(clips)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert texts == [asr.transcribe([c])[0] for c in clips]
    assert texts[0] != texts[1]  # different audio, different (random-model) text


def test_phi4_batched_transcription_matches_one_at_a_time(grader):
    clips = [tiny_waveform(1.0, seed=s) for s in (4, 5, 6)]  # equal lengths: padding-free audio batch
    assert Phi4Transcriber(grader, batch_size=8, max_new_tokens=6).transcribe(clips) == [
        Phi4Transcriber(grader, batch_size=1, max_new_tokens=6).transcribe([c])[0] for c in clips
    ]


def test_whisper_transcribes_short_and_long_answers(whisper):
    assert isinstance(whisper, WhisperTranscriber) and isinstance(whisper, Transcriber)
    texts = whisper.transcribe([tiny_waveform(1.0, seed=1), tiny_waveform(31.0, seed=2)])  # 31 s: long form
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
    assert whisper.info().state == UNTRAINED


def test_the_grader_reads_the_transcripts_of_the_configured_transcriber(whisper):
    grader = tiny_mllm_grader(transcriber=whisper)
    clips = (tiny_waveform(1.0, seed=7), tiny_waveform(1.2, seed=8))
    (score,) = grader.score([PartInput(5, clips)])
    assert score.transcripts == tuple(whisper.transcribe(list(clips)))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"kind": "vosk"}, "unknown transcriber 'vosk'"), ({"kind": "phi4"}, "pass grader=")],
)
def test_bad_transcriber_requests_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_transcriber(**kwargs)


def test_bad_waveforms_are_named(grader):
    with pytest.raises(ValueError, match=r"recording 1: expected a non-empty 1-D waveform, got \(0,\)"):
        Phi4Transcriber(grader).transcribe([tiny_waveform(), tiny_waveform()[:0]])
