"""A CPU laptop without the multimodal grader: Whisper still transcribes, through the shared transcript cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla_core.asr import CachedTranscriber, tiny_whisper_transcriber
from sla_core.assess import AssessorConfig, load_assessor

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "example_learner"  # espeak-ng speech


@pytest.mark.slow
def test_without_the_multimodal_grader_whisper_transcribes_once_per_recording(tmp_path, monkeypatch):
    assessor = load_assessor(AssessorConfig(tiny=True, mllm="off", transcript_cache=str(tmp_path)))
    assert isinstance(assessor.transcriber, CachedTranscriber)
    status = {i.name: i for i in assessor.status()}
    assert status["asr"].source.startswith("tiny whisper") and not status["asr"].note.startswith("not loaded")
    assert status["mllm"].note.startswith("not loaded")
    files = {3: [EXAMPLE / "part3.wav"], 5: sorted(EXAMPLE.glob("part5_*.wav"))[:2]}

    first = assessor.assess(files)
    texts = {p: first.part(p).transcripts for p in files}
    assert [len(t) for t in texts.values()] == [1, 2]
    assert all(isinstance(t, str) for ts in texts.values() for t in ts)  # random model: noise (may be empty)
    assert assessor.transcriber.misses == 3 and assessor.transcriber.hits == 0

    def no_model(waveforms):
        raise AssertionError(f"transcribed {len(waveforms)} recording(s) again")

    monkeypatch.setattr(assessor.transcriber.transcriber, "transcribe", no_model)
    again = assessor.assess(files)  # re-assessing the same recordings transcribes nothing
    assert {p: again.part(p).transcripts for p in files} == texts
    assert assessor.transcriber.hits == 3

    fresh = load_assessor(AssessorConfig(tiny=True, mllm="off", transcript_cache=str(tmp_path)))
    monkeypatch.setattr(fresh.transcriber.transcriber, "transcribe", no_model)
    assert fresh.assess(files).part(3).transcripts == texts[3]  # the cache outlives the process's models


def test_asr_none_and_cache_off_are_honoured(tmp_path):
    assert load_assessor(AssessorConfig(tiny=True, mllm="off", asr="none")).transcriber is None
    plain = load_assessor(AssessorConfig(tiny=True, mllm="off", transcript_cache="off")).transcriber
    assert plain is not None and not isinstance(plain, CachedTranscriber)


def test_a_whisper_that_cannot_load_is_named_and_the_rest_still_runs(tmp_path):
    from sla_core.graders.speech import tiny_speech_grader

    for p in (1, 3, 4, 5):
        tiny_speech_grader(part=p).save_pretrained(tmp_path / "w2v" / f"part{p}")
    assessor = load_assessor(AssessorConfig(speech_checkpoints=str(tmp_path / "w2v"), mllm="off", device="cpu",
                                            asr_model=str(tmp_path / "no-such-whisper")))
    assert assessor.transcriber is None
    asr = next(i for i in assessor.status() if i.name == "asr")
    assert asr.note.startswith("not loaded") and asr.source.endswith("no-such-whisper")
    result = assessor.assess({3: [EXAMPLE / "part3.wav"]})
    assert result.part(3).ok and result.part(3).transcripts == (None,)


def test_english_only_whisper_gets_no_language_or_task():
    asr = tiny_whisper_transcriber()
    asr.model.generation_config.is_multilingual = False  # what a *.en checkpoint says; generate() refuses a language
    from sla_core.audio import load_checked

    wav = load_checked(EXAMPLE / "part1_1.wav")[0]
    assert isinstance(asr.transcribe([wav])[0], str)
