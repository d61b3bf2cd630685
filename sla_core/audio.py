"""Audio in: load any common file as 16 kHz mono float32 and check it before a grader sees it.

Every grader expects the same input (wav2vec 2.0 and Phi-4-multimodal both run at 16 kHz), so the
sample rate is named once here. Loading uses soundfile (libsndfile: WAV/FLAC/OGG/MP3) and soxr for
resampling; librosa is only a lazily imported fallback for formats libsndfile cannot read, because
its first import takes seconds. torchaudio is not used (maintenance mode; see the README).

Every problem with a learner's recording is raised as one exception type, `AudioIssue`, whose
message a teacher can act on and whose attributes say which part and answer it came from.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16_000  # Hz; what every grader consumes
MIN_SPEECH_SECONDS = 1.0  # s of detected speech below which an answer cannot be graded
DEFAULT_MAX_SECONDS = 180.0  # s per answer; configurable cap (the longest S&I answer is about 1 min)

FRAME_SECONDS = 0.025  # s; frame length of the energy-based speech estimate
SILENCE_DBFS = -50.0  # dBFS; a recording whose loudest frame is quieter than this is silent
SPEECH_RANGE_DB = 30.0  # dB; frames within this range of the loudest frame count as speech
GAP_BRIDGE_SECONDS = 0.2  # s; pauses shorter than this between speech frames count as speech
CLIP_LEVEL = 0.999  # |sample| at or above this (full scale = 1.0) counts as clipped
HEAVY_CLIPPING_FRACTION = 0.01  # fraction of clipped samples from which clipping is worth a warning
_DB_FLOOR = -120.0  # dBFS reported for digital silence instead of -inf

# reason code -> what the teacher is told (the detail, e.g. a duration, is filled in).
REASONS: dict[str, str] = {
    "missing": "the file was not found{detail} — upload the recording again.",
    "unreadable": "the file could not be read as audio{detail} — use a WAV, FLAC, OGG or MP3 recording.",
    "empty": "the recording is empty{detail} — record the answer again.",
    "silent": "the recording is silent{detail} — check the microphone.",
    "too_short": "there is too little speech{detail} — record a longer answer.",
    "too_long": "the recording is too long{detail} — trim it or record a shorter answer.",
}


class AudioIssue(ValueError):
    """A recording that cannot be graded: the one error type for every bad response.

    Attributes:
        part: test part (1, 3, 4, 5) or None when unknown.
        answer: 0-based index of the answer within the part, or None. The message counts from 1.
        path: the file, or None for an in-memory waveform.
        reason: one of REASONS ("missing", "unreadable", "empty", "silent", "too_short", "too_long").
        detail: the measured facts behind the reason, e.g. "(0.4 s of speech; at least 1 s is needed)".
    """

    def __init__(self, reason: str, detail: str = "", *, part: int | None = None,
                 answer: int | None = None, path: str | Path | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown audio issue reason {reason!r}; expected one of {sorted(REASONS)}")
        self.reason, self.detail = reason, detail
        self.part, self.answer = part, answer
        self.path = None if path is None else Path(path)
        super().__init__(f"{self.where}: {REASONS[reason].format(detail=f' {detail}' if detail else '')}")

    @property
    def where(self) -> str:
        """'Part 3, answer 1 (opinion.wav)', or 'The recording' when nothing is known."""
        place = ", ".join(
            ([f"Part {self.part}"] if self.part is not None else [])
            + ([f"answer {self.answer + 1}"] if self.answer is not None else [])
        )
        name = f"({self.path.name})" if self.path is not None else ""
        return " ".join(s for s in (place, name) if s) or "The recording"

    def __reduce__(self):  # keep attributes through pickling (multiprocessing, caching)
        return (_rebuild_issue, (self.reason, self.detail, self.part, self.answer, self.path))


def _rebuild_issue(reason, detail, part, answer, path) -> AudioIssue:
    return AudioIssue(reason, detail, part=part, answer=answer, path=path)


@dataclass(frozen=True)
class AudioStats:
    """Measurements of an accepted recording (shown to the user, logged with a score)."""

    duration_s: float  # total length in seconds
    speech_s: float  # seconds the frame-energy estimate takes for speech
    peak: float  # max |sample|, full scale = 1.0
    rms_dbfs: float  # overall RMS in dB relative to full scale (a full-scale square wave = 0)
    clipped_fraction: float  # share of samples at full scale

    @property
    def heavily_clipped(self) -> bool:
        """A warning, not an error: clipped speech is still gradable but sounds distorted."""
        return self.clipped_fraction >= HEAVY_CLIPPING_FRACTION


def as_mono_16k(wav: np.ndarray, sr: int) -> np.ndarray:
    """Downmix (mean over channels) and resample to SAMPLE_RATE.

    Args:
        wav: (samples,) or (samples, channels); float in [-1, 1] or integer PCM (e.g. Gradio's int16).
        sr: its sample rate in Hz.
    Returns:
        (samples_16k,) float32.
    """
    wav = np.asarray(wav)
    if wav.ndim not in (1, 2):
        raise ValueError(f"waveform must be (samples,) or (samples, channels), got shape {wav.shape}")
    if np.issubdtype(wav.dtype, np.integer):
        wav = wav / float(np.iinfo(wav.dtype).max + 1)  # int16 -32768..32767 -> [-1, 1)
    wav = wav.astype(np.float32)
    if wav.ndim == 2:
        wav = wav.mean(axis=1)  # (samples, channels) -> (samples,)
    if int(sr) != SAMPLE_RATE and wav.size:
        wav = soxr.resample(wav, int(sr), SAMPLE_RATE)
    return np.ascontiguousarray(wav, dtype=np.float32)


def load_audio(path: str | Path, *, part: int | None = None, answer: int | None = None) -> np.ndarray:
    """Read an audio file as (samples,) float32 mono at SAMPLE_RATE, whatever its rate and channels.

    Raises:
        AudioIssue: reason "missing", "empty" (0 bytes) or "unreadable"; `part`/`answer` only label it.
    """
    path = Path(path)
    where = dict(part=part, answer=answer, path=path)
    if not path.exists():
        raise AudioIssue("missing", f"({path})", **where)
    if path.is_dir():
        raise AudioIssue("unreadable", "(it is a folder, not a sound file)", **where)
    if path.stat().st_size == 0:
        raise AudioIssue("empty", "(the file has 0 bytes)", **where)
    try:
        wav, sr = sf.read(path, dtype="float32", always_2d=True)  # (samples, channels)
    except sf.SoundFileError:  # its complaint stays in the traceback as context
        try:
            wav, sr = _read_with_librosa(path)
        except Exception as e:  # the fallback's decoders raise many types; all mean "not audio to us"
            raise AudioIssue("unreadable", **where) from e
    return as_mono_16k(wav, sr)


def _read_with_librosa(path: Path) -> tuple[np.ndarray, int]:
    """Fallback for what libsndfile cannot read (e.g. m4a via audioread + ffmpeg)."""
    import librosa  # lazy: slow first import, rarely needed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns that soundfile failed and audioread is deprecated
        wav, sr = librosa.load(path, sr=None, mono=False)  # (samples,) or (channels, samples)
    return (wav if wav.ndim == 1 else wav.T), int(sr)


def _speech_seconds(wav: np.ndarray) -> tuple[float, float]:
    """Loudest frame level (dBFS) and seconds of speech by a frame-energy estimate.

    The threshold is relative to the clip's own loudest frame, so quiet and loud recordings,
    speech and steady tones are treated alike; short pauses inside speech are bridged.
    """
    frame = round(FRAME_SECONDS * SAMPLE_RATE)  # samples
    n_frames = math.ceil(wav.size / frame)
    frames = np.zeros(n_frames * frame, np.float32)
    frames[: wav.size] = wav
    rms = np.sqrt(np.mean(frames.reshape(n_frames, frame).astype(np.float64) ** 2, axis=1))  # (n_frames,)
    level = 20 * np.log10(np.maximum(rms, 10 ** (_DB_FLOOR / 20)))  # dBFS per frame
    loudest = float(level.max())
    voiced = np.flatnonzero(level >= max(SILENCE_DBFS, loudest - SPEECH_RANGE_DB))  # frame indices
    if voiced.size == 0:
        return loudest, 0.0
    steps = np.diff(voiced)  # 1 for neighbours; a gap of g frames gives g + 1
    bridge = round(GAP_BRIDGE_SECONDS / FRAME_SECONDS)
    n_speech = 1 + int(np.where(steps <= bridge + 1, steps, 1).sum())
    return loudest, round(min(n_speech * FRAME_SECONDS, wav.size / SAMPLE_RATE), 3)


def check_audio(wav: np.ndarray, *, part: int | None = None, answer: int | None = None,
                path: str | Path | None = None, max_seconds: float = DEFAULT_MAX_SECONDS) -> AudioStats:
    """Check that a 16 kHz mono waveform can be graded and measure it.

    Args:
        wav: (samples,) float at SAMPLE_RATE, e.g. from `load_audio`.
        part, answer, path: only used to say where a problem is (answer is 0-based).
        max_seconds: longest accepted answer in seconds.
    Returns:
        AudioStats of the accepted recording (`heavily_clipped` is a warning, not an error).
    Raises:
        AudioIssue: "empty", "unreadable" (NaN/inf samples), "silent", "too_short" or "too_long".
    """
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be a positive number of seconds, got {max_seconds!r}")
    wav = np.asarray(wav)
    if wav.ndim != 1:
        raise ValueError(f"check_audio expects a mono (samples,) waveform, got shape {wav.shape}; "
                         "use as_mono_16k first")
    where = dict(part=part, answer=answer, path=path)
    if wav.size == 0:
        raise AudioIssue("empty", "(it contains no sound samples)", **where)
    if not np.isfinite(wav).all():
        raise AudioIssue("unreadable", "(it contains invalid samples)", **where)
    duration = wav.size / SAMPLE_RATE
    loudest, speech = _speech_seconds(wav)
    if loudest < SILENCE_DBFS:
        raise AudioIssue("silent", **where)  # loudest frame below SILENCE_DBFS
    if speech < MIN_SPEECH_SECONDS:
        raise AudioIssue("too_short", f"({speech:.1f} s of speech; at least {MIN_SPEECH_SECONDS:g} s is needed)",
                         **where)
    if duration > max_seconds:
        raise AudioIssue("too_long", f"({duration:.0f} s; the limit is {max_seconds:g} s)", **where)
    magnitude = np.abs(wav)
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
    return AudioStats(
        duration_s=duration,
        speech_s=speech,
        peak=float(magnitude.max()),
        rms_dbfs=max(20 * math.log10(rms), _DB_FLOOR) if rms > 0 else _DB_FLOOR,
        clipped_fraction=float(np.mean(magnitude >= CLIP_LEVEL)),
    )


def load_checked(path: str | Path, *, part: int | None = None, answer: int | None = None,
                 max_seconds: float = DEFAULT_MAX_SECONDS) -> tuple[np.ndarray, AudioStats]:
    """Load and check one answer; every failure, unreadable files included, is an AudioIssue.

    Returns:
        (wav, stats): wav is (samples,) float32 at SAMPLE_RATE.
    """
    wav = load_audio(path, part=part, answer=answer)
    return wav, check_audio(wav, part=part, answer=answer, path=path, max_seconds=max_seconds)
