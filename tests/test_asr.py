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
from sla_core.testing.batching import random_groupings, score_grouped


@pytest.fixture(scope="module")
def grader():
    return tiny_mllm_grader()


@pytest.fixture(scope="module")
def whisper():
    return tiny_whisper_transcriber()


@pytest.mark.slow
def test_phi4_transcriber_reuses_the_graders_model(grader):
    asr = load_transcriber("phi4", grader=grader)
    assert isinstance(asr, Phi4Transcriber) and isinstance(asr, Transcriber)
    assert asr.grader.model is grader.model  # no second model
    assert asr.info().state == UNTRAINED and "speech adapter" in asr.info().source


@pytest.mark.slow
def test_phi4_transcripts_come_back_in_input_order(grader):
    clips = [tiny_waveform(2.0, seed=1), tiny_waveform(1.0, seed=2), tiny_waveform(1.5, seed=3)]
    asr = Phi4Transcriber(grader, batch_size=1, max_new_tokens=6)  # batches sorted by duration
    texts = asr.transcribe(clips)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert texts == [asr.transcribe([c])[0] for c in clips]
    assert texts[0] != texts[1]  # different audio, different (random-model) text


@pytest.mark.slow
def test_phi4_gives_a_clip_the_same_transcript_alone_or_in_any_batch(grader):
    """Clips of different lengths: no padding reaches the audio encoder, and each clip keeps its own token cap."""
    clips = [tiny_waveform(s, seed=20 + k) for k, s in enumerate((1.0, 2.6, 1.5, 0.7, 3.3))]
    asr = Phi4Transcriber(grader)  # token cap by duration: 22 new tokens for 1 s, 35 for 3.3 s
    alone = [asr.transcribe([c])[0] for c in clips]
    assert len(set(alone)) == len(clips)  # real, different (random) texts
    for groups in random_groupings(len(clips), seed=1)[1:]:
        assert score_grouped(asr.transcribe, clips, groups) == alone, groups
    assert asr.transcribe(clips) == asr.transcribe(clips)  # repeat runs: the same text


@pytest.mark.slow
def test_whisper_gives_a_clip_the_same_transcript_alone_or_in_any_batch(whisper):
    """Short clips go short-form (padded to 30 s as always), long ones long-form in equal-length groups."""
    clips = [tiny_waveform(s, seed=30 + k) for k, s in enumerate((1.0, 31.0, 2.0, 33.0))]
    alone = [whisper.transcribe([c])[0] for c in clips]
    assert alone[1] and alone[3]  # the random model says something about the long clips
    for groups in random_groupings(len(clips), seed=2, rounds=2)[1:]:
        assert score_grouped(whisper.transcribe, clips, groups) == alone, groups


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


@pytest.mark.slow
def test_bad_waveforms_are_named(grader):
    with pytest.raises(ValueError, match=r"recording 1: expected a non-empty 1-D waveform, got \(0,\)"):
        Phi4Transcriber(grader).transcribe([tiny_waveform(), tiny_waveform()[:0]])


# -- the transcript cache ------------------------------------------------------------------------


class _CountingTranscriber:
    """A transcriber that says how many clips it heard (to see what the cache spares)."""

    name = "counting"

    def __init__(self):
        self.heard = 0

    def info(self):
        from sla_core.assessment import GraderInfo

        return GraderInfo("asr", "counting-asr-v1", UNTRAINED)

    def transcribe(self, waveforms):
        self.heard += len(waveforms)
        return [f"words {len(w)}" for w in waveforms]


def test_second_run_transcribes_nothing_and_keys_on_content_and_model(tmp_path):
    from sla_core.asr import CachedTranscriber, TranscriptCache

    clips = [tiny_waveform(1.0, seed=1), tiny_waveform(1.5, seed=2)]
    model = _CountingTranscriber()
    first = CachedTranscriber(model, TranscriptCache(tmp_path))
    assert first.transcribe(clips) == ["words 16000", "words 24000"] and model.heard == 2
    again = CachedTranscriber(model, TranscriptCache(tmp_path))  # a new process: same folder, same model
    assert again.transcribe([clips[1].copy(), clips[0]]) == ["words 24000", "words 16000"]
    assert model.heard == 2 and (again.hits, again.misses) == (2, 0)
    other = CachedTranscriber(model, TranscriptCache(tmp_path), model_id="another-asr")
    other.transcribe(clips[:1])
    assert model.heard == 3  # another model's transcript is not this one's


def test_cache_exports_words_and_refuses_a_ctm_without_times(tmp_path):
    from sla_core.asr import CachedTranscriber, TranscriptCache, audio_digest

    cache = TranscriptCache(tmp_path / "cache")
    clip = tiny_waveform(1.0, seed=3)
    asr = CachedTranscriber(_CountingTranscriber(), cache)
    asr.transcribe([clip])
    out = cache.export(tmp_path / "train.tsv", {"SI114J-00011-P10003": audio_digest(clip)}, asr.model_id)
    assert out.read_text() == "SI114J-00011-P10003\twords 16000\n"
    with pytest.raises(ValueError, match="gave no word times"):
        cache.export(tmp_path / "train.ctm", {"SI114J-00011-P10003": audio_digest(clip)}, asr.model_id, ctm=True)
    cache.put(audio_digest(clip), "timed-asr", "hello there", words=[(0.0, 0.4, "hello"), (0.4, 0.5, "there")])
    ctm = cache.export(tmp_path / "t.ctm", {"U1": audio_digest(clip)}, "timed-asr", ctm=True).read_text()
    assert ctm == "U1 1 0.00 0.40 hello\nU1 1 0.40 0.50 there\n"
    with pytest.raises(KeyError, match="no transcript by 'timed-asr'"):
        cache.export(tmp_path / "x.tsv", {"U2": "0" * 64}, "timed-asr")


def test_default_cache_lives_in_the_data_folder(tmp_path):
    from sla_core.asr import default_transcript_cache_dir

    assert default_transcript_cache_dir({"SLA_DATA_DIR": str(tmp_path)}) == tmp_path / "cache" / "transcripts"


def test_tiny_whisper_behind_the_cache(whisper, tmp_path):
    from sla_core.asr import CachedTranscriber, TranscriptCache

    asr = CachedTranscriber(whisper, TranscriptCache(tmp_path))
    clips = [tiny_waveform(1.0, seed=4)]
    assert asr.transcribe(clips) == whisper.transcribe(clips) == asr.transcribe(clips)
    assert (asr.hits, asr.misses) == (1, 1) and "seed 0" in asr.model_id


def test_a_transcript_cached_by_older_code_is_made_again(tmp_path, monkeypatch):
    """The key carries TRANSCRIBE_VERSION: an entry written under the key before it (format + model only),
    or by another version of the decoding code, is a miss, and the model hears the clip again."""
    import hashlib
    import json

    import sla_core.asr as asr_module
    from sla_core.asr import TRANSCRIPT_CACHE_FORMAT, CachedTranscriber, TranscriptCache, audio_digest

    clip = tiny_waveform(1.0, seed=5)
    model = _CountingTranscriber()
    cache = TranscriptCache(tmp_path)
    key = audio_digest(clip)
    old = hashlib.sha256(f"{TRANSCRIPT_CACHE_FORMAT}\x1fcounting-asr-v1".encode()).hexdigest()[:16]  # the old key
    entry = tmp_path / old / key[:2] / f"{key}.json"
    entry.parent.mkdir(parents=True)
    entry.write_text(json.dumps({"model": "counting-asr-v1", "text": "stale words", "words": None}))
    asr = CachedTranscriber(model, cache)
    assert asr.transcribe([clip]) == ["words 16000"] and (asr.hits, asr.misses, model.heard) == (0, 1, 1)
    assert asr.transcribe([clip]) == ["words 16000"] and model.heard == 1  # now cached under the new key

    monkeypatch.setattr(asr_module, "TRANSCRIBE_VERSION", asr_module.TRANSCRIBE_VERSION + 1)  # the code changes
    assert cache.get(key, asr.model_id) is None
    assert CachedTranscriber(model, cache).transcribe([clip]) == ["words 16000"] and model.heard == 2


def test_a_model_folder_with_new_weights_is_a_new_cache_key(whisper, tmp_path):
    """A Whisper loaded from a folder keys the cache by its files too: retrained into the same folder, the old
    transcripts are not reused."""
    import os

    from sla_core.asr import CachedTranscriber, TranscriptCache

    folder = tmp_path / "whisper"
    whisper.model.save_pretrained(folder)
    whisper.processor.save_pretrained(folder)
    first = CachedTranscriber(WhisperTranscriber.load(str(folder), device="cpu"), TranscriptCache(tmp_path / "c"))
    assert first.model_id.startswith(f"{folder}@folder-")
    weights = folder / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # rewritten later
    again = CachedTranscriber(WhisperTranscriber.load(str(folder), device="cpu"), TranscriptCache(tmp_path / "c"))
    assert again.model_id != first.model_id and again.model_id.startswith(f"{folder}@folder-")


def test_whisper_decodes_without_a_length_warning():
    """The token cap per window is the transcriber's own: no max_length beside it, so transformers does not
    warn about the pair on every batch (it did, three times per batch of short answers; long ones take the
    same call)."""
    import logging

    from sla_core.testing.audio import tiny_waveform as clip

    model = tiny_whisper_transcriber(seed=1)
    model.model.generation_config.max_length = 448  # what a hub checkpoint's generation_config.json carries
    whisper = WhisperTranscriber(model.model, model.processor, source="hub-like", max_new_tokens=8, random=True)
    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        whisper.transcribe([clip(2.0, seed=1), clip(3.0, seed=2)])
    finally:
        logger.removeHandler(handler)
    assert not [m for m in seen if "max_length" in m], seen
