"""Audio loading and checking, on real files written here in every format a learner may upload."""

from __future__ import annotations

import pickle
import tempfile
import tracemalloc
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from sla_core.audio import (
    DEFAULT_MAX_SECONDS, MIN_SPEECH_SECONDS, SAMPLE_RATE, AudioIssue, AudioStats, as_mono_16k, check_audio,
    load_audio, load_checked,
)
from sla_core.testing.audio import dummy_waveform, espeak_wav, forge_flac, has_espeak, sine_wave, write_wav

SENTENCE = "I live in a small town near the sea, and I like it because it is quiet and friendly."


@lru_cache(maxsize=None)
def _speech(sr: int = SAMPLE_RATE) -> np.ndarray:
    """About 3 s of espeak-ng speech with no leading or trailing silence, at `sr` (made once)."""
    if not has_espeak():
        pytest.skip("espeak-ng is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        wav, _ = sf.read(espeak_wav(Path(tmp) / "s.wav", "I think my town is a good place to live.", sr=None),
                         dtype="float32")
    loud = np.flatnonzero(np.abs(wav) > 0.01)
    wav = wav[loud[0]:loud[-1] + 1]
    return wav if sr == 22_050 else soxr.resample(wav, 22_050, sr).astype(np.float32)


def _in_silence(speech: np.ndarray, before: float = 0.5, after: float = 0.5) -> np.ndarray:
    """`speech` (16 kHz) with digital silence around it."""
    return np.concatenate([np.zeros(round(before * SAMPLE_RATE), np.float32), speech,
                           np.zeros(round(after * SAMPLE_RATE), np.float32)])


def _pink_noise(seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    """Pink (1/f) noise, (samples, channels) at 16 kHz, peak 0.5."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SAMPLE_RATE)
    spectrum = np.fft.rfft(rng.standard_normal((channels, n)), axis=1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[1]), 1))
    noise = np.fft.irfft(spectrum, n, axis=1).T
    return (0.5 * noise / np.abs(noise).max()).astype(np.float32)


# name -> (how to write it into a folder, expected duration in seconds at 16 kHz)
GOOD = {
    "speech.wav": (lambda p: write_wav(p, _speech()), lambda: _speech().size / SAMPLE_RATE),
    "stereo_8k.wav": (lambda p: write_wav(p, _speech(8000), 8000, channels=2), lambda: _speech(8000).size / 8000),
    "speech_44k.flac": (lambda p: write_wav(p, _speech(44_100), 44_100), lambda: _speech(44_100).size / 44_100),
    "speech_22k.ogg": (lambda p: write_wav(p, _speech(22_050), 22_050), lambda: _speech(22_050).size / 22_050),
    "speech_48k_stereo.mp3": (lambda p: write_wav(p, _speech(48_000), 48_000, 2), lambda: _speech(48_000).size / 48_000),
}

# name -> (writer or None for "leave it absent", reason, part, answer 0-based, max_seconds)
BAD = {
    "silence.wav": (lambda p: write_wav(p, np.zeros(3 * SAMPLE_RATE)), "silent", 3, 0, DEFAULT_MAX_SECONDS),
    "empty.wav": (lambda p: p.write_bytes(b""), "empty", 1, 4, DEFAULT_MAX_SECONDS),
    "header_only.wav": (lambda p: write_wav(p, np.zeros(0)), "empty", 1, 0, DEFAULT_MAX_SECONDS),
    "notes.wav": (lambda p: p.write_text("my answer is about my town\n"), "unreadable", 5, 2, DEFAULT_MAX_SECONDS),
    "missing.wav": (None, "missing", 4, 0, DEFAULT_MAX_SECONDS),
    "tone.wav": (lambda p: write_wav(p, sine_wave(3.0, 440.0)), "no_speech", 3, 0, DEFAULT_MAX_SECONDS),
    "pink_6ch.wav": (lambda p: write_wav(p, _pink_noise(4.0, 6)), "no_speech", 4, 0, DEFAULT_MAX_SECONDS),
    "burst.wav": (lambda p: write_wav(p, _in_silence(_speech()[: SAMPLE_RATE // 2], 1.0, 1.5)), "too_short", 5, 1,
                  DEFAULT_MAX_SECONDS),
    "long.flac": (lambda p: write_wav(p, sine_wave(DEFAULT_MAX_SECONDS + 2, 200.0)), "too_long", 4, 0,
                  DEFAULT_MAX_SECONDS),
    "capped.wav": (lambda p: write_wav(p, dummy_waveform(5.0)), "too_long", 3, 0, 4.0),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    for name, (write, _) in GOOD.items():
        write(root / name)
    for name, (write, *_) in BAD.items():
        if write is not None:
            write(root / name)
    return root


@pytest.mark.parametrize("name", GOOD)
def test_any_rate_channels_and_format_loads_as_16k_mono(folder, name):
    seconds = GOOD[name][1]()
    wav, stats = load_checked(folder / name, part=3, answer=0)
    assert wav.dtype == np.float32 and wav.ndim == 1
    tolerance = 0.1 if name.endswith(".mp3") else 0.002  # MP3 frames pad the end
    assert abs(wav.size / SAMPLE_RATE - seconds) <= tolerance
    assert stats.duration_s == pytest.approx(wav.size / SAMPLE_RATE)
    assert MIN_SPEECH_SECONDS <= stats.speech_s <= stats.duration_s
    assert not stats.heavily_clipped


def test_resampling_keeps_pitch(folder):
    wav = load_audio(folder / "tone.wav")
    write_wav(folder / "tone_8k.wav", sine_wave(2.0, 440.0, sr=8000), 8000)
    spectrum = np.abs(np.fft.rfft(load_audio(folder / "tone_8k.wav")))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / (2 * (spectrum.size - 1))
    assert peak_hz == pytest.approx(440.0, abs=1.0)
    assert wav.size == 3 * SAMPLE_RATE


def test_channels_are_averaged(tmp_path):
    left = sine_wave(1.5, 300.0)
    write_wav(tmp_path / "lr.wav", np.stack([left, 0.5 * left], axis=1), SAMPLE_RATE)
    np.testing.assert_allclose(load_audio(tmp_path / "lr.wav"), 0.75 * left, atol=1e-3)


@pytest.mark.parametrize("name", BAD)
def test_bad_answer_is_one_clear_issue(folder, name):
    _, reason, part, answer, max_seconds = BAD[name]
    with pytest.raises(AudioIssue) as info:
        load_checked(folder / name, part=part, answer=answer, max_seconds=max_seconds)
    issue = info.value
    assert (issue.reason, issue.part, issue.answer, issue.path.name) == (reason, part, answer, name)
    assert str(issue).startswith(f"Part {part}, answer {answer + 1} ({name}): ")
    assert isinstance(issue, ValueError)


def test_unreadable_file_keeps_its_cause(folder):
    with pytest.raises(AudioIssue) as info:
        load_audio(folder / "notes.wav")
    assert info.value.__cause__ is not None
    assert "could not be read as audio" in str(info.value)


@pytest.mark.parametrize("speech_seconds, accepted", [(0.5, False), (0.8, False), (1.3, True), (2.0, True)])
def test_minimum_speech_boundary(speech_seconds, accepted):
    wav = _in_silence(_speech()[: round(speech_seconds * SAMPLE_RATE)], 1.0, 1.0)
    if accepted:
        assert check_audio(wav).speech_s == pytest.approx(speech_seconds, abs=0.15)
    else:
        with pytest.raises(AudioIssue, match="s of speech; at least 1 s is needed"):
            check_audio(wav)


def test_a_tone_or_noise_is_not_speech_however_loud():
    """The old loudness rule took both for speech; voice activity does not."""
    for wav in (sine_wave(3.0, 440.0), _pink_noise(4.0, 1)[:, 0], sine_wave(3.0, 150.0, amplitude=0.9)):
        with pytest.raises(AudioIssue, match="no speech detected") as info:
            check_audio(wav, part=3, answer=0)
        assert info.value.reason == "no_speech" and str(info.value).startswith("Part 3, answer 1: ")


def test_speech_time_leaves_out_pauses():
    speech = _speech()
    wav = _in_silence(np.concatenate([speech, np.zeros(SAMPLE_RATE, np.float32), speech]))  # a 1 s pause
    stats = check_audio(wav)
    assert stats.speech_s == pytest.approx(2 * speech.size / SAMPLE_RATE, abs=0.25)
    assert len(stats.segments) >= 2 and any(b - a >= 0.9 for (_, a), (b, _) in zip(stats.segments, stats.segments[1:]))


@pytest.mark.parametrize("amplitude", [0.02, 0.1, 0.9])  # peaks at -34, -20, -1 dBFS
def test_quiet_and_loud_speech_both_pass(amplitude):
    speech = _speech() * (amplitude / np.abs(_speech()).max())
    stats = check_audio(speech)
    assert 0.7 * stats.duration_s <= stats.speech_s <= stats.duration_s
    assert stats.peak == pytest.approx(amplitude, abs=0.005)


def test_clipping_is_a_warning_not_an_error():
    clipped = np.clip(_speech() * 8.0, -1.0, 1.0)
    stats = check_audio(clipped)
    assert stats.heavily_clipped and stats.clipped_fraction > 0.05
    assert not check_audio(_speech()).heavily_clipped


def test_stats_measure_the_signal():
    speech = _speech()
    stats = check_audio(speech)
    assert isinstance(stats, AudioStats)
    assert stats.duration_s == speech.size / SAMPLE_RATE and stats.peak == pytest.approx(np.abs(speech).max())
    assert stats.rms_dbfs == pytest.approx(20 * np.log10(np.sqrt(np.mean(speech.astype(np.float64) ** 2))), abs=0.01)


def test_invalid_samples_and_wrong_shapes():
    bad = sine_wave(2.0)
    bad[100] = np.nan
    with pytest.raises(AudioIssue) as info:
        check_audio(bad, part=1, answer=2)
    assert info.value.reason == "unreadable" and str(info.value).startswith("Part 1, answer 3: ")
    with pytest.raises(ValueError, match=r"shape \(32000, 2\)"):
        check_audio(np.zeros((32000, 2)))
    with pytest.raises(ValueError, match="max_seconds"):
        check_audio(sine_wave(2.0), max_seconds=0)


def test_issue_without_location_and_pickling():
    issue = AudioIssue("silent")
    assert str(issue) == "The recording: the recording is silent — check the microphone."
    again = pickle.loads(pickle.dumps(AudioIssue("too_long", "(200 s)", part=4, answer=0, path="a/b.wav")))
    assert (again.reason, again.part, again.answer, again.path.name, str(again)) == (
        "too_long", 4, 0, "b.wav", "Part 4, answer 1 (b.wav): the recording is too long (200 s) — trim it or "
        "record a shorter answer.")
    with pytest.raises(ValueError, match="'broken'.*expected one of"):
        AudioIssue("broken")


def test_integer_pcm_is_scaled():
    pcm = (sine_wave(1.0, amplitude=0.5) * 32767).astype(np.int16)  # what gr.Audio(type="numpy") gives
    np.testing.assert_allclose(as_mono_16k(pcm, SAMPLE_RATE), sine_wave(1.0, amplitude=0.5), atol=1e-4)


def test_dummy_waveform_is_repeatable_and_speech_like():
    a, b = dummy_waveform(3.0, seed=7), dummy_waveform(3.0, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dummy_waveform(3.0, seed=8))
    assert a.shape == (3 * SAMPLE_RATE,) and a.dtype == np.float32


@pytest.mark.skipif(not has_espeak(), reason="espeak-ng is not installed")
@pytest.mark.parametrize("sr", [None, SAMPLE_RATE])
def test_real_speech_from_espeak_is_accepted(tmp_path, sr):
    path = espeak_wav(tmp_path / "answer.wav", SENTENCE, speed_wpm=160, sr=sr)
    info = sf.info(path)
    assert info.channels == 1 and info.samplerate == (sr or 22_050)
    wav, stats = load_checked(path, part=1, answer=0)
    assert wav.size / SAMPLE_RATE == pytest.approx(info.duration, abs=1e-3)
    assert 3.0 < stats.duration_s < 10.0  # 19 words at 160 wpm is about 7 s
    assert 0.5 * stats.duration_s < stats.speech_s <= stats.duration_s


def test_espeak_rejects_unknown_voice(tmp_path):
    if not has_espeak():
        pytest.skip("espeak-ng is not installed")
    with pytest.raises(RuntimeError, match="zz-unknown"):
        espeak_wav(tmp_path / "x.wav", "hello", voice="zz-unknown")


def test_librosa_fallback_reads_what_soundfile_cannot(folder, monkeypatch):
    """Formats libsndfile lacks (e.g. m4a) go through librosa; simulate by making sf.read refuse."""
    import sla_core.audio as audio

    expected = load_audio(folder / "stereo_8k.wav")

    def refuse(*args, **kwargs):
        raise audio.sf.LibsndfileError(1, "simulated: ")

    monkeypatch.setattr(audio.sf, "info", refuse)  # librosa itself uses sf.SoundFile, which still works
    np.testing.assert_allclose(load_audio(folder / "stereo_8k.wav"), expected, atol=1e-5)


# -- bombs: limits before decoding, bounded decoding after -----------------------------------------------

FULL_DECODE_MB = 190 * 96_000 * 6 * 4 / 1e6  # what sf.read would hold for the lying file below, as float32
MEMORY_BOUND_MB = 64  # what loading may use at most: 180 s of 16 kHz mono (11.5 MB) plus blocks and resampler


def peak_mb(fn) -> tuple[object, float]:
    tracemalloc.start()
    try:
        try:
            result = fn()
        except Exception as e:  # returned, so the peak is read either way
            result = e
        return result, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_a_flac_whose_header_says_60_minutes_is_refused_before_decoding(tmp_path):
    bomb = forge_flac(tmp_path / "bomb.flac", 3, 60 * 60 * 96_000)  # the attacker's 60 min, 96 kHz, 6 channels
    assert sf.info(str(bomb)).duration == 3600
    issue, peak = peak_mb(lambda: load_checked(bomb, part=3, answer=0))
    assert isinstance(issue, AudioIssue) and issue.reason == "too_long" and "3600 s" in str(issue)
    assert peak < 1  # MB: not one block was decoded


@pytest.mark.slow
def test_a_flac_that_hides_its_length_is_stopped_at_the_limit_within_bounded_memory(tmp_path):
    bomb = forge_flac(tmp_path / "stream.flac", 190, 0)  # 190 s of audio; the header gives no length
    assert sf.info(str(bomb)).frames > 2**62  # libsndfile: "unknown"
    issue, peak = peak_mb(lambda: load_checked(bomb, part=3, answer=0))
    assert isinstance(issue, AudioIssue) and issue.reason == "too_long" and "where reading stopped" in str(issue)
    assert peak < MEMORY_BOUND_MB < FULL_DECODE_MB / 4


@pytest.mark.parametrize("claim", ["channels", "size"])
def test_rate_channels_and_file_size_are_checked_from_the_header(tmp_path, monkeypatch, claim):
    import sla_core.audio as audio

    path = tmp_path / "x.wav"
    if claim == "channels":
        sf.write(path, np.zeros((16_000, 12), np.float32), 16_000)  # 12 channels
    else:
        write_wav(path, dummy_waveform(2.0))
        monkeypatch.setattr(audio, "MAX_FILE_BYTES", 1000)
    with pytest.raises(AudioIssue) as info:
        load_checked(path, part=1, answer=0)
    assert info.value.reason == "too_large"


def test_running_out_of_memory_on_one_answer_is_that_answers_problem(folder, monkeypatch):
    import sla_core.audio as audio

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(audio.sf, "blocks", exhausted)
    with pytest.raises(AudioIssue) as info:
        load_checked(folder / "tone.wav", part=4, answer=0)
    assert info.value.reason == "too_large" and "not enough memory" in str(info.value)
