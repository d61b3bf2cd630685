"""Audio factories for tests, example assets and the miniature corpus: synthetic and real speech.

`dummy_waveform` is fast and deterministic (a seed); `espeak_wav` makes real, intelligible speech with
the espeak-ng synthesiser (a Debian package, not a Python one) for tests that need words;
`spoken_answer` joins espeak-ng sentences with sox silences into an answer whose delivery is known.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..audio import SAMPLE_RATE

NOISE_DBFS = -60.0  # dBFS RMS of the background hiss under synthetic speech (a quiet room)


def sine_wave(seconds: float, freq: float = 440.0, sr: int = SAMPLE_RATE, amplitude: float = 0.5) -> np.ndarray:
    """A steady tone, (round(seconds * sr),) float32."""
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dummy_waveform(seconds: float, freq: float = 150.0, sr: int = SAMPLE_RATE, seed: int = 0,
                   amplitude: float = 0.3, pauses: bool = True) -> np.ndarray:
    """Speech-like audio: a voiced harmonic tone with syllable-rate loudness changes and phrase pauses.

    Phrases last 1.2-2.5 s and pauses 0.15-0.4 s, so about 85% of the clip is "speech" to a
    frame-energy detector; under it lies hiss at NOISE_DBFS, as in a real room.

    Args:
        seconds: length; freq: fundamental in Hz (a typical voice is 100-250 Hz);
        sr: sample rate in Hz; seed: makes the pause pattern, pitch wobble and hiss repeatable;
        amplitude: peak level of the voice (full scale = 1.0); pauses: False for continuous voice.
    Returns:
        (round(seconds * sr),) float32.
    """
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    # Pitch wobbles slowly around freq, as intonation does; integrate the frequency to get the phase.
    f0 = freq * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    voice = sum(np.sin(h * phase) / h for h in range(1, 6))  # 5 harmonics with a falling spectrum
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi))  # ~4 syllables / s
    gate = np.ones(n)
    if pauses:
        start = rng.uniform(1.2, 2.5)
        while start < seconds:
            stop = start + rng.uniform(0.15, 0.4)
            gate[round(start * sr):round(stop * sr)] = 0.0
            start = stop + rng.uniform(1.2, 2.5)
    wav = voice * syllables * gate
    wav *= amplitude / max(np.abs(wav).max(), 1e-9)
    wav += rng.normal(0.0, 10 ** (NOISE_DBFS / 20), n)
    return wav.astype(np.float32)


def write_wav(path: str | Path, wav: np.ndarray, sr: int = SAMPLE_RATE, channels: int = 1) -> Path:
    """Write `wav` (at `sr`) as an audio file; the suffix picks the format (.wav .flac .ogg .mp3).

    Args:
        wav: (samples,) mono, copied to `channels` channels (the copies get slightly different gains,
            so a downmix has something to average), or (samples, channels) written as it is.
    Returns:
        The path written.
    """
    path = Path(path)
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 1 and channels > 1:
        wav = np.stack([wav * (1.0 - 0.1 * c) for c in range(channels)], axis=1)  # (samples, channels)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, sr)
    return path


def has_espeak() -> bool:
    """Whether espeak-ng is on PATH (tests that need real speech skip without it)."""
    return shutil.which("espeak-ng") is not None


def espeak_wav(path: str | Path, text: str, speed_wpm: int = 150, voice: str = "en-gb", pitch: int = 50,
               sr: int | None = SAMPLE_RATE) -> Path:
    """Synthesise `text` with espeak-ng and write it to `path` (format from the suffix).

    Args:
        speed_wpm: speaking rate in words per minute (espeak-ng `-s`; 80..450).
        voice: espeak-ng voice, e.g. "en-gb", "en-us", "en-gb-scotland" (`espeak-ng --voices=en`).
        pitch: 0..99 (espeak-ng `-p`), to vary the "speaker".
        sr: output sample rate in Hz; None keeps espeak-ng's own 22.05 kHz.
    Returns:
        The path written (mono).
    Raises:
        RuntimeError: espeak-ng is not installed or failed.
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed, so no real speech can be made: "
                           "install it with `apt-get install espeak-ng` (Debian/Ubuntu)")
    if not text.strip():
        raise ValueError("espeak_wav needs some text to say, got an empty string")
    cmd = [exe, "--stdout", "-v", voice, "-s", str(int(speed_wpm)), "-p", str(int(pitch)), text]
    done = subprocess.run(cmd, capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout:
        raise RuntimeError(f"espeak-ng failed (exit {done.returncode}) for voice {voice!r}: "
                           f"{done.stderr.decode(errors='replace').strip()}")
    wav, native_sr = sf.read(io.BytesIO(done.stdout), dtype="float32")  # (samples,) at 22.05 kHz
    if sr is not None and sr != native_sr:
        wav = soxr.resample(wav, native_sr, sr).astype(np.float32)
    return write_wav(path, wav, sr or native_sr)


def tiny_waveform(seconds: float = 1.5, seed: int = 0, sample_rate: int = 16000) -> np.ndarray:
    """A speech-like test signal: a gliding tone with noise bursts, float32 in [-1, 1], shape (samples,)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 120 + 40 * rng.random() + 30 * np.sin(2 * np.pi * 1.5 * t)
    voice = np.sin(2 * np.pi * np.cumsum(f0) / sample_rate) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    return (0.3 * voice + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def forge_flac(path: str | Path, seconds: int, claimed_frames: int, sample_rate: int = 96_000,
               channels: int = 6) -> Path:
    """A FLAC "bomb": `seconds` of silence whose STREAMINFO claims `claimed_frames` (0: length unknown).

    An hour of 6-channel 96 kHz silence takes a minute to encode; a few seconds with a forged header is
    the same file to a server that trusts the header, and one with no length is what a streamed upload
    looks like. STREAMINFO's total sample count is the low 36 bits of bytes 18..25.
    """
    path = Path(path)
    with sf.SoundFile(path, "w", sample_rate, channels, "PCM_16", format="FLAC") as f:
        block = np.zeros((sample_rate, channels), np.int16)  # (frames, channels): one second
        for _ in range(seconds):
            f.write(block)
    data = bytearray(path.read_bytes())
    if data[:4] != b"fLaC":
        raise ValueError(f"{path} is not a native FLAC stream")
    packed = int.from_bytes(data[18:26], "big")
    data[18:26] = ((packed & ~((1 << 36) - 1)) | claimed_frames).to_bytes(8, "big")
    path.write_bytes(data)
    return path


TRIM_LEVEL = 0.01  # |sample| (-40 dBFS) where a synthesised sentence is taken to start and end


@dataclass(frozen=True)
class SpokenAnswer:
    """A synthetic answer whose delivery is known: where each sentence and each pause lies.

    `pauses` are (start, length) in seconds; `speech` the (start, end) of each sentence.
    """

    path: Path
    speech: tuple[tuple[float, float], ...]
    pauses: tuple[tuple[float, float], ...]
    syllables: int
    duration_s: float

    @property
    def span_s(self) -> float:
        return self.speech[-1][1] - self.speech[0][0]

    @property
    def speech_rate(self) -> float:
        """Syllables per second from the first word to the last."""
        return self.syllables / self.span_s


def spoken_answer(path: str | Path, sentences: Sequence[tuple[str, int]], pauses: Sequence[float],
                  speed_wpm: int = 160, lead: float = 0.5, tail: float = 0.5, voice: str = "en-gb") -> SpokenAnswer:
    """Sentences said by espeak-ng, joined by sox with silences of known lengths.

    Args:
        sentences: (text, syllable count) per sentence; each is trimmed to its first and last sample
            above TRIM_LEVEL so that the silences between them are exactly `pauses`.
        pauses: seconds of silence after each sentence but the last (len(sentences) - 1 values).
        lead, tail: seconds of silence before the first sentence and after the last.
    Returns:
        The SpokenAnswer, with the truth to check measures against; the file is 16 kHz mono WAV.
    Raises:
        RuntimeError: espeak-ng or sox is missing.
    """
    if len(pauses) != len(sentences) - 1:
        raise ValueError(f"{len(sentences)} sentences need {len(sentences) - 1} pauses, got {len(pauses)}")
    sox = shutil.which("sox")
    if sox is None:
        raise RuntimeError("sox is not installed: install it with `apt-get install sox` (Debian/Ubuntu)")
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        pieces, speech, t = [_silence(sox, Path(tmp) / "lead.wav", lead)], [], lead
        for i, (text, _) in enumerate(sentences):
            wav, _ = sf.read(espeak_wav(Path(tmp) / f"s{i}.wav", text, speed_wpm=speed_wpm, voice=voice), dtype="float32")
            loud = np.flatnonzero(np.abs(wav) > TRIM_LEVEL)
            wav = wav[loud[0]:loud[-1] + 1]
            pieces.append(write_wav(Path(tmp) / f"t{i}.wav", wav))
            speech.append((t, t + wav.size / SAMPLE_RATE))
            t += wav.size / SAMPLE_RATE
            gap = pauses[i] if i < len(pauses) else tail
            pieces.append(_silence(sox, Path(tmp) / f"gap{i}.wav", gap))
            t += round(gap * SAMPLE_RATE) / SAMPLE_RATE
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sox, *map(str, pieces), str(path)], check=True, capture_output=True)
    gaps = tuple((round(end, 4), round(start - end, 4)) for (_, end), (start, _) in zip(speech, speech[1:]))
    return SpokenAnswer(path=path, speech=tuple(speech), pauses=gaps, syllables=sum(n for _, n in sentences),
                        duration_s=sf.info(path).frames / SAMPLE_RATE)


def _silence(sox: str, path: Path, seconds: float) -> Path:
    """`seconds` of digital silence at 16 kHz mono, made by sox."""
    subprocess.run([sox, "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(path), "trim", "0",
                    f"{round(seconds * SAMPLE_RATE) / SAMPLE_RATE:.6f}"], check=True, capture_output=True)
    return path
