"""Audio in: load any common file as 16 kHz mono float32 and check it before a grader sees it.

Every grader expects the same input (wav2vec 2.0 and Phi-4-multimodal both run at 16 kHz), so the
sample rate is named once here. Loading uses soundfile (libsndfile: WAV/FLAC/OGG/MP3) and soxr for
resampling; librosa is only a lazily imported fallback for formats libsndfile cannot read, because
its first import takes seconds. torchaudio is not used (maintenance mode; see the README).

Every problem with a learner's recording is raised as one exception type, `AudioIssue`, whose
message a teacher can act on and whose attributes say which part and answer it came from.

Limits come before decoding (`probe_audio`: file size, then the header's duration, sample rate and
channels), and decoding itself is bounded (`read_bounded`: blocks of one second, downmixed as they come,
stopping at the limit), so a header that lies - a FLAC without a sample count, a streamed WAV - cannot
make the server decode an hour of 6-channel 96 kHz audio (8 GiB as float32). A decoder failure or a
MemoryError is that answer's AudioIssue, never the learner's or the class's.
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
MIN_SPEECH_SECONDS = 1.0  # s of speech (voice activity, sla_core/delivery/vad.py) below which an answer cannot be graded
DEFAULT_MAX_SECONDS = 180.0  # s per answer; configurable cap (the longest S&I answer is about 1 min)

FRAME_SECONDS = 0.025  # s; frame length of the loudness check
SILENCE_DBFS = -50.0  # dBFS; a recording whose loudest frame is quieter than this is silent
CLIP_LEVEL = 0.999  # |sample| at or above this (full scale = 1.0) counts as clipped
HEAVY_CLIPPING_FRACTION = 0.01  # fraction of clipped samples from which clipping is worth a warning
_DB_FLOOR = -120.0  # dBFS reported for digital silence instead of -inf
MAX_FILE_BYTES = 200 * 1024**2  # bytes per answer file; 3 min of 48 kHz stereo 24-bit WAV is ~52 MB
MAX_SAMPLE_RATE = 192_000  # Hz; above this no microphone recording, only a crafted file
MAX_CHANNELS = 8  # a recorder's channels (6-channel surround is accepted and downmixed)
BLOCK_SECONDS = 1.0  # s of native-rate audio decoded at a time
FLOAT_PEAK_LIMIT = 8.0  # |sample| (full scale = 1.0); a float file may exceed full scale a little, never this far:
#                         beyond it the answer is scaled to a peak of 1.0 (samples x 1e30 would overflow the graders)

# reason code -> what the teacher is told (the detail, e.g. a duration, is filled in).
REASONS: dict[str, str] = {
    "missing": "the file was not found{detail} — upload the recording again.",
    "unreadable": "the file could not be read as audio{detail} — use a WAV, FLAC, OGG or MP3 recording.",
    "empty": "the recording is empty{detail} — record the answer again.",
    "silent": "the recording is silent{detail} — check the microphone.",
    "no_speech": "no speech detected{detail} — check that the file holds the learner's answer.",
    "too_short": "there is too little speech{detail} — record a longer answer.",
    "too_long": "the recording is too long{detail} — trim it or record a shorter answer.",
    "too_large": "the file is too large to assess{detail} — export it as a mono WAV or FLAC of the answer only.",
}


class AudioIssue(ValueError):
    """A recording that cannot be graded: the one error type for every bad response.

    Attributes:
        part: test part (1, 3, 4, 5) or None when unknown.
        answer: 0-based index of the answer within the part, or None. The message counts from 1.
        path: the file, or None for an in-memory waveform.
        reason: one of REASONS ("missing", "unreadable", "empty", "silent", "no_speech", "too_short", "too_long",
            "too_large").
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
    speech_s: float  # seconds of speech: the total length of `segments`
    peak: float  # max |sample|, full scale = 1.0
    rms_dbfs: float  # overall RMS in dB relative to full scale (a full-scale square wave = 0)
    clipped_fraction: float  # share of samples at full scale
    segments: tuple[tuple[float, float], ...] = ()  # (start, end) s of each voice-activity speech segment

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


def load_audio(path: str | Path, *, part: int | None = None, answer: int | None = None,
               max_seconds: float | None = None) -> np.ndarray:
    """Read an audio file as (samples,) float32 mono at SAMPLE_RATE, whatever its rate and channels.

    Args:
        max_seconds: refuse ("too_long") a file longer than this, from its header when it says so and
            otherwise by stopping the decoder there; None = no duration limit (the size limits still hold).
    Raises:
        AudioIssue: "missing", "empty" (0 bytes), "unreadable" (also a decoder failure), "too_long" or
            "too_large" (file size, rate x channels, or out of memory); `part`/`answer` only label it.
    """
    path = Path(path)
    where = dict(part=part, answer=answer, path=path)
    try:
        header = probe_audio(path, max_seconds=max_seconds, part=part, answer=answer)
        if header is None:  # not for libsndfile: the fallback decoder, stopped after the limit too
            try:
                wav, sr = _read_with_librosa(path, max_seconds)
            except Exception as e:  # the fallback's decoders raise many types; all mean "not audio to us"
                raise AudioIssue("unreadable", **where) from e
            if max_seconds is not None and wav.shape[0] > (max_seconds + BLOCK_SECONDS) * sr:
                raise AudioIssue("too_long", f"(over {max_seconds:g} s; the limit is {max_seconds:g} s)", **where)
            return _within_full_scale(as_mono_16k(wav, sr))
        return _within_full_scale(read_bounded(path, header.samplerate, max_seconds, part=part, answer=answer))
    except MemoryError as e:  # this answer's problem only: the other answers and learners go on
        raise AudioIssue("too_large", "(there was not enough memory to decode it)", **where) from e


def _within_full_scale(wav: np.ndarray) -> np.ndarray:
    """A waveform whose peak passes FLOAT_PEAK_LIMIT, scaled to a peak of 1.0 (finite samples only: NaN and inf
    are check_audio's "unreadable"). Only a float file can get there, and only a broken or crafted one."""
    with np.errstate(invalid="ignore", over="ignore"):
        peak = float(np.max(np.abs(wav))) if wav.size else 0.0
    if FLOAT_PEAK_LIMIT < peak < math.inf:
        wav = (wav.astype(np.float64) / peak).astype(np.float32)
    return wav


def precheck_audio(path: str | Path, *, part: int | None = None, answer: int | None = None,
                   max_seconds: float | None = DEFAULT_MAX_SECONDS) -> AudioIssue | None:
    """The checks that need no decoding, for a whole upload before anything is assessed: the file's size, and
    its header (readable as audio, not too long, at least MIN_SPEECH_SECONDS long). None: worth decoding.

    Milliseconds a file, so a zip of 2,000 tiny "recordings" is judged in seconds, not one decoder run each.
    """
    try:
        header = probe_audio(path, max_seconds=max_seconds, part=part, answer=answer)
    except AudioIssue as issue:
        return issue
    where = dict(part=part, answer=answer, path=Path(path))
    if header is None:
        return AudioIssue("unreadable", **where)
    if 0 < header.frames < 2**62 and header.frames / header.samplerate < MIN_SPEECH_SECONDS:
        return AudioIssue("too_short", f"({header.frames / header.samplerate:.2f} s of audio in all; at least "
                                       f"{MIN_SPEECH_SECONDS:g} s of speech is needed)", **where)
    return None


def probe_audio(path: str | Path, *, max_seconds: float | None = None, part: int | None = None,
                answer: int | None = None):
    """Check a file against the limits before decoding a sample: its size, then its header.

    Returns:
        soundfile's header info, or None when libsndfile cannot read the format (use the fallback).
    Raises:
        AudioIssue: "missing", "empty", "unreadable" (a folder), "too_large" or "too_long" (by the header).
    """
    path = Path(path)
    where = dict(part=part, answer=answer, path=path)
    if not path.exists():
        raise AudioIssue("missing", f"({path.name})", **where)
    if path.is_dir():
        raise AudioIssue("unreadable", "(it is a folder, not a sound file)", **where)
    size = path.stat().st_size
    if size == 0:
        raise AudioIssue("empty", "(the file has 0 bytes)", **where)
    if size > MAX_FILE_BYTES:
        raise AudioIssue("too_large", f"({size / 1024**2:.0f} MB; the limit is {MAX_FILE_BYTES / 1024**2:.0f} MB)",
                         **where)
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError):
        return None
    if not 0 < info.samplerate <= MAX_SAMPLE_RATE or not 0 < info.channels <= MAX_CHANNELS:
        raise AudioIssue("too_large", f"({info.channels} channels at {info.samplerate} Hz; the limit is "
                                      f"{MAX_CHANNELS} channels at {MAX_SAMPLE_RATE} Hz)", **where)
    seconds = info.frames / info.samplerate if 0 < info.frames < 2**62 else None  # None: the header does not say
    if max_seconds is not None and seconds is not None and seconds > max_seconds:
        raise AudioIssue("too_long", f"({seconds:.0f} s; the limit is {max_seconds:g} s)", **where)
    return info


def read_bounded(path: str | Path, samplerate: int, max_seconds: float | None = None, *,
                 part: int | None = None, answer: int | None = None) -> np.ndarray:
    """Decode in blocks of BLOCK_SECONDS, downmixing each, and stop past `max_seconds` ("too_long").

    Each block is downmixed and resampled as it comes (soxr's stream), so memory stays near max_seconds
    of 16 kHz mono plus one block, whatever the header claims.
    Returns:
        (samples,) float32 mono at SAMPLE_RATE.
    """
    path = Path(path)
    where = dict(part=part, answer=answer, path=path)
    limit = None if max_seconds is None else int(max_seconds * samplerate) + 1  # frames at the native rate
    resampler = None if samplerate == SAMPLE_RATE else soxr.ResampleStream(samplerate, SAMPLE_RATE, 1, dtype="float32")
    out, total = [], 0
    try:
        for block in sf.blocks(str(path), blocksize=max(1, int(BLOCK_SECONDS * samplerate)), dtype="float32",
                               always_2d=True):  # block: (frames, channels)
            total += block.shape[0]
            if limit is not None and total > limit:
                raise AudioIssue("too_long", f"(over {max_seconds:g} s, where reading stopped; the limit is "
                                             f"{max_seconds:g} s)", **where)
            mono = block.mean(axis=1, dtype=np.float32)  # (frames,)
            out.append(mono if resampler is None else resampler.resample_chunk(mono))
    except (sf.SoundFileError, RuntimeError) as e:  # a decoder failure mid-file: this answer only
        raise AudioIssue("unreadable", "(the decoder failed part-way through)", **where) from e
    if resampler is not None:
        out.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))  # the filter's tail
    return np.ascontiguousarray(np.concatenate(out) if out else np.zeros(0, np.float32), dtype=np.float32)


def _read_with_librosa(path: Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Fallback for what libsndfile cannot read (e.g. m4a via audioread + ffmpeg), stopped past max_seconds."""
    import librosa  # lazy: slow first import, rarely needed

    duration = None if max_seconds is None else max_seconds + 2 * BLOCK_SECONDS  # a little over: "too long" shows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns that soundfile failed and audioread is deprecated
        wav, sr = librosa.load(path, sr=None, mono=False, duration=duration)  # (samples,) or (channels, samples)
    return (wav if wav.ndim == 1 else wav.T), int(sr)


def _loudest_dbfs(wav: np.ndarray) -> float:
    """Level of the loudest FRAME_SECONDS frame in dBFS: below SILENCE_DBFS nothing was recorded."""
    frame = round(FRAME_SECONDS * SAMPLE_RATE)  # samples
    n_frames = math.ceil(wav.size / frame)
    frames = np.zeros(n_frames * frame, np.float32)
    frames[: wav.size] = wav
    rms = np.sqrt(np.mean(frames.reshape(n_frames, frame).astype(np.float64) ** 2, axis=1))  # (n_frames,)
    return float(20 * np.log10(max(float(rms.max()), 10 ** (_DB_FLOOR / 20))))


def speech_segments(wav: np.ndarray) -> tuple[tuple[float, float], ...]:
    """(start, end) seconds of each speech segment by voice activity: the one rule for "speech".

    Training, prediction and the pipeline all check answers with `check_audio`, so a tone, noise or
    music that the old loudness rule took for speech is rejected by all of them alike.
    """
    from .delivery.vad import VAD_SAMPLE_RATE, speech_segments as vad_segments  # lazy: loads torch

    assert VAD_SAMPLE_RATE == SAMPLE_RATE, "the VAD network runs at the graders' rate"
    return tuple((s.start, s.end) for s in vad_segments(wav))


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
        AudioIssue: "empty", "unreadable" (NaN/inf samples), "silent", "too_long", "no_speech" (voice
            activity finds none: a tone, noise) or "too_short" (under MIN_SPEECH_SECONDS of speech).
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
    if _loudest_dbfs(wav) < SILENCE_DBFS:
        raise AudioIssue("silent", **where)
    if duration > max_seconds:  # before the voice-activity pass, which is the costly check
        raise AudioIssue("too_long", f"({duration:.0f} s; the limit is {max_seconds:g} s)", **where)
    segments = speech_segments(wav)
    if not segments:
        raise AudioIssue("no_speech", f"(in {duration:.1f} s of sound)", **where)
    speech = round(sum(end - start for start, end in segments), 3)
    if speech < MIN_SPEECH_SECONDS:
        raise AudioIssue("too_short", f"({speech:.1f} s of speech; at least {MIN_SPEECH_SECONDS:g} s is needed)",
                         **where)
    magnitude = np.abs(wav)
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
    return AudioStats(
        duration_s=duration,
        speech_s=speech,
        peak=float(magnitude.max()),
        rms_dbfs=max(20 * math.log10(rms), _DB_FLOOR) if rms > 0 else _DB_FLOOR,
        clipped_fraction=float(np.mean(magnitude >= CLIP_LEVEL)),
        segments=segments,
    )


def load_checked(path: str | Path, *, part: int | None = None, answer: int | None = None,
                 max_seconds: float = DEFAULT_MAX_SECONDS) -> tuple[np.ndarray, AudioStats]:
    """Load and check one answer; every failure, unreadable files included, is an AudioIssue.

    Returns:
        (wav, stats): wav is (samples,) float32 at SAMPLE_RATE.
    """
    wav = load_audio(path, part=part, answer=answer, max_seconds=max_seconds)
    try:
        return wav, check_audio(wav, part=part, answer=answer, path=path, max_seconds=max_seconds)
    except MemoryError as e:
        raise AudioIssue("too_large", "(there was not enough memory to check it)", part=part, answer=answer,
                         path=path) from e
