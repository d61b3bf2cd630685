"""Whisper through CTranslate2 (the CPU transcriber) on a tiny random converted model: transcripts of short and
long answers independent of their batch, the spoken language from the same encoder pass, kept in the cache."""

from __future__ import annotations

import numpy as np
import pytest

from sla_core.asr import CachedTranscriber, Transcriber, TranscriptCache, load_transcriber, whisper_runtime
from sla_core.assessment import UNTRAINED
from sla_core.graders import ct2_whisper
from sla_core.graders.ct2_whisper import Ct2WhisperTranscriber
from sla_core.testing.audio import tiny_waveform
from sla_core.testing.whisper import tiny_ct2_transcriber, tiny_whisper_folder


class CountingModel:
    """Stands in for the CTranslate2 model: counts encoder passes, delegates the rest."""

    def __init__(self, model) -> None:
        self.model, self.encodes = model, 0

    def encode(self, features, *args, **kwargs):
        self.encodes += len(np.asarray(features))  # windows encoded
        return self.model.encode(features, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.model, name)


@pytest.fixture(scope="module")
def ct2(tmp_path_factory) -> Ct2WhisperTranscriber:
    return tiny_ct2_transcriber(tmp_path_factory.mktemp("ct2"))


@pytest.fixture
def counted(ct2):
    ct2._languages.clear()
    counting = CountingModel(ct2.model.model)
    ct2.model.model = counting
    yield counting
    ct2.model.model = counting.model


CLIPS = [tiny_waveform(2.0, seed=1), tiny_waveform(65.0, seed=2), tiny_waveform(20.0, seed=3)]  # 65 s: 3 windows


def test_a_clip_gets_the_same_transcript_alone_or_batched_and_the_language_from_the_same_pass(ct2, counted):
    assert isinstance(ct2, Transcriber) and ct2.info().state == UNTRAINED
    assert "the spoken language from the same pass" in ct2.info().note
    together = ct2.transcribe(CLIPS)
    windows = counted.encodes
    assert 3 + 2 <= windows <= 3 + 2 + 1  # one encoder pass per window: 1 + at least 3 (long-form seeks) + 1
    assert all(isinstance(t, str) and t for t in together)
    heard = ct2.heard_languages(CLIPS)
    assert counted.encodes == windows  # the language came from the transcription's own first windows
    for languages in heard:
        assert "en" in languages and 0 < sum(languages.values()) <= 1 + 1e-6
        assert list(languages.values())[0] == max(languages.values())  # most likely first
    assert [ct2.transcribe([c])[0] for c in CLIPS] == together
    assert [ct2.transcribe([CLIPS[i] for i in order]) for order in ([2, 0, 1],)] == [[together[2], together[0], together[1]]]


def test_the_language_pass_alone_encodes_one_window_per_answer(ct2, counted):
    heard = ct2.heard_languages(CLIPS)  # nothing transcribed in this process yet
    assert counted.encodes == len(CLIPS) and all(h is not None for h in heard)
    ct2.transcribe(CLIPS[:1])
    assert ct2.heard_languages(CLIPS) == heard  # remembered by content


def test_the_transcript_cache_keeps_the_language_so_a_second_run_encodes_nothing(ct2, counted, tmp_path):
    cache = TranscriptCache(tmp_path)
    first = CachedTranscriber(ct2, cache)
    texts = first.transcribe(CLIPS)
    heard = first.heard_languages(CLIPS)
    encodes = counted.encodes
    ct2._languages.clear()  # a new process: nothing in memory
    second = CachedTranscriber(ct2, cache)
    assert second.transcribe(CLIPS) == texts and second.heard_languages(CLIPS) == heard
    assert counted.encodes == encodes and second.hits == len(CLIPS) and second.misses == 0


def test_a_hub_id_or_folder_is_converted_once_and_auto_picks_ctranslate2_on_a_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("SLA_DATA_DIR", str(tmp_path))
    source = tiny_whisper_folder(tmp_path / "hf", seed=4)
    assert whisper_runtime("auto", "cpu") == "ctranslate2"
    assert whisper_runtime("transformers", "cpu") == "transformers"
    first = load_transcriber("whisper", model_id=str(source), device="cpu", runtime="auto")
    assert isinstance(first, Ct2WhisperTranscriber) and first.source.endswith("(CTranslate2 int8)")
    folders = list((tmp_path / "cache" / "ct2").iterdir())
    assert len(folders) == 1 and ct2_whisper.is_converted(folders[0])
    again = load_transcriber("whisper", model_id=str(source), device="cpu", runtime="ctranslate2")
    assert again.transcribe(CLIPS[:1]) == first.transcribe(CLIPS[:1])
    assert list((tmp_path / "cache" / "ct2").iterdir()) == folders  # not converted again
    with pytest.raises(ValueError, match="ASR runtime 'onnx' is not one of"):
        load_transcriber("whisper", model_id=str(source), runtime="onnx")
