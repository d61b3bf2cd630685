"""Work is shared, not repeated (issue 24 item 3): in one assessment each answer is decoded once, its 16 kHz
waveform and voice-activity segments serve every grader, measure and the transcriber, and each model's
encoder runs once per answer (the CPU transcriber's spoken language comes from its own pass)."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from sla_core import audio
from sla_core.assess import Assessor, AssessorConfig, load_assessor
from sla_core.asr import CachedTranscriber, TranscriptCache, WhisperTranscriber
from sla_core.delivery import analyse, vad
from sla_core.parts import PARTS
from sla_core.testing.whisper import tiny_ct2_transcriber, tiny_whisper_folder

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "example_learner"  # espeak-ng speech, every part
FILES = {p: sorted(EXAMPLE.glob(f"part{p}*.wav")) for p in PARTS}
ANSWERS = sum(len(f) for f in FILES.values())  # 13


def digest(wav) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(wav, dtype=np.float32)).tobytes()).hexdigest()


@pytest.fixture
def counts(monkeypatch) -> dict[str, Counter]:
    """Decodes per file and voice-activity passes per waveform, wherever they are asked for."""
    found = {"decode": Counter(), "vad": Counter()}
    load, segments = audio.load_audio, vad.speech_segments

    def counted_load(path, *args, **kwargs):
        found["decode"][Path(path).name] += 1
        return load(path, *args, **kwargs)

    def counted_vad(wav, *args, **kwargs):
        found["vad"][digest(wav)] += 1
        return segments(wav, *args, **kwargs)

    monkeypatch.setattr(audio, "load_audio", counted_load)
    monkeypatch.setattr(vad, "speech_segments", counted_vad)  # audio.check_audio imports it at call time
    monkeypatch.setattr(analyse, "speech_segments", counted_vad)  # the delivery measures' own fallback
    return found


def count_speech_encoder(speech, monkeypatch) -> Counter:
    """Answers through each speech grader's encoder (rows of its batches)."""
    rows = Counter()
    for part, grader in speech.graders.items():
        hidden = grader._hidden_states

        def counted(batch, mask, part=part, hidden=hidden):
            rows[part] += batch.shape[0]
            return hidden(batch, mask)

        monkeypatch.setattr(grader, "_hidden_states", counted)
    return rows


@pytest.mark.slow
def test_one_assessment_decodes_checks_and_encodes_each_answer_once(counts, monkeypatch, tmp_path):
    """Speech grader, Whisper through transformers (a tiny one with the real vocabulary layout), delivery measures."""
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    folder = tiny_whisper_folder(tmp_path / "whisper")
    whisper = WhisperTranscriber(WhisperForConditionalGeneration.from_pretrained(folder),
                                 WhisperProcessor.from_pretrained(folder), source="tiny", max_new_tokens=8, random=True)
    assessor = Assessor(speech=load_assessor(AssessorConfig(tiny=True, mllm="off", asr="none")).speech,
                        transcriber=whisper)
    speech_rows = count_speech_encoder(assessor.speech, monkeypatch)
    whisper_rows = Counter()
    encoder = whisper.model.model.encoder
    encoder.register_forward_hook(lambda module, args, out: whisper_rows.update(windows=out.last_hidden_state.shape[0]))

    result = assessor.assess(FILES)
    assert len(result.covered_parts) == len(PARTS)
    assert all(part.delivery is not None for part in result.parts)
    assert sorted(counts["decode"].values()) == [1] * ANSWERS  # each file decoded once
    assert len(counts["vad"]) == ANSWERS and set(counts["vad"].values()) == {1}  # one VAD pass per answer
    assert speech_rows == Counter({p: len(FILES[p]) for p in PARTS})  # each answer through its part's encoder once
    assert whisper_rows["windows"] == ANSWERS  # every example answer fits one 30 s window


@pytest.mark.slow
def test_the_cpu_transcriber_hears_the_language_in_the_same_pass(counts, monkeypatch, tmp_path):
    """Whisper through CTranslate2: one encoder window per answer gives its transcript and its language, and a
    second assessment of the same answers reads both from the transcript cache (no encoder pass at all)."""
    ct2 = tiny_ct2_transcriber(tmp_path / "whisper")
    assessor = Assessor(speech=load_assessor(AssessorConfig(tiny=True, mllm="off", asr="none")).speech,
                        transcriber=CachedTranscriber(ct2, TranscriptCache(tmp_path / "transcripts")))
    windows = Counter()
    model = ct2.model.model

    class Counting:
        def encode(self, features, *args, **kwargs):
            windows["encoded"] += len(np.asarray(features))
            return model.encode(features, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(model, name)

    ct2.model.model = Counting()
    waves = [audio.load_checked(f)[0] for fs in FILES.values() for f in fs]
    counts["decode"].clear()
    assessor.assess(FILES)
    heard = assessor.transcriber.heard_languages(waves)  # what the spoken-language check asks
    assert windows["encoded"] == ANSWERS and all(h is not None and "en" in h for h in heard)
    assert sorted(counts["decode"].values()) == [1] * ANSWERS

    ct2._languages.clear()  # a new process: only the cache remembers
    assessor.assess(FILES)
    assert assessor.transcriber.heard_languages(waves) == heard and windows["encoded"] == ANSWERS


@pytest.mark.slow
def test_a_class_in_turn_reads_the_next_learner_ahead_and_gives_the_same_results(counts, tmp_path):
    """assess_in_turn(pipelined=True) decodes learner k+1 while learner k is graded: every answer is still
    decoded once, results equal the one-after-another run, and a bad file stays that learner's problem."""
    from sla_core.assess import assess_in_turn
    from sla_core.data import PartResponses, Response, Submission

    bad = tmp_path / "part3.wav"
    bad.write_text("not audio")
    parts = {1: FILES[1][:2], 3: FILES[3]}
    learners = [Submission(name, tuple(PartResponses(p, tuple(Response(audio_path=f) for f in fs))
                                       for p, fs in files.items()))
                for name, files in (("a", parts), ("b", {**parts, 3: [bad]}), ("c", parts))]
    assessor = load_assessor(AssessorConfig(tiny=True, mllm="off", asr="none"))
    in_turn = [(s.submission_id, a) for s, a in assess_in_turn(assessor, learners, pipelined=False)]
    decodes = sum(counts["decode"].values())
    counts["decode"].clear()
    pipelined = [(s.submission_id, a) for s, a in assess_in_turn(assessor, learners, pipelined=True)]
    assert sum(counts["decode"].values()) == decodes == 3 * 3  # 3 answers each, read once either way
    assert [n for n, _ in pipelined] == ["a", "b", "c"]
    for (_, x), (_, y) in zip(in_turn, pipelined, strict=True):
        assert [(p.part, p.status, p.score, p.problem) for p in x.parts] == [(p.part, p.status, p.score, p.problem)
                                                                               for p in y.parts]
    assert pipelined[1][1].part(3).status == "rejected" and "could not be read" in pipelined[1][1].part(3).problem
    assert not assessor._prefetched  # nothing read ahead is left behind
