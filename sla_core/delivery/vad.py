"""Voice activity: where in an answer the learner is speaking, by the Silero VAD network.

`silero-vad`'s wheel ships the trained network (TorchScript, `load_silero_vad()`), so this runs offline on
CPU with nothing downloaded. The package's own runner feeds the network one 32 ms window at a time
from Python, about 1,900 calls per minute of audio. The network's convolutional front end does not
depend on the previous window, only its LSTM cell does, so `speech_probabilities` runs the front end
on all windows as one batch and the same LSTM weights (copied from the package's model) as one
`nn.LSTM` pass: the same probabilities within 1e-4 (tests/delivery/test_vad.py) at a fraction of the
cost (bench/bench_delivery.py times both).

`speech_segments` turns the probabilities into segments with Silero's published rule
(`get_speech_timestamps`: speech starts at p >= 0.5, ends after 100 ms below 0.35, segments shorter
than 250 ms are dropped) but without its 30 ms of padding around each segment, because the pauses
between segments are measured (sla_core/delivery/measures.py) and padding would shorten each by 60 ms.
Silero decides *whether* there is speech; *where* it stops is then read at 10 ms from the loudness:
the network's 32 ms windows and its hangover put ends 50-150 ms late (measured on espeak-ng answers),
which would shorten every pause. Each boundary moves to the nearest 10 ms frame louder than
`REFINE_RANGE_DB` below the answer's speech level (and `NOISE_MARGIN_DB` above its noise floor), and a
quiet stretch of at least `SPLIT_SECONDS` inside a segment splits it. Loudness never adds speech
where Silero found none, so a tone or noise still has no segments.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

VAD_SAMPLE_RATE = 16_000  # Hz; the rate of Silero's 16 kHz network (audio.SAMPLE_RATE, checked there)
WINDOW = 512  # samples (32 ms at 16 kHz); Silero's window at this rate
CONTEXT = 64  # samples of the previous window the network sees before each window
WINDOW_SECONDS = WINDOW / VAD_SAMPLE_RATE
SPEECH_THRESHOLD = 0.5  # probability at which speech starts (Silero default)
END_THRESHOLD = 0.35  # probability below which speech may end (Silero: threshold - 0.15)
MIN_SILENCE_SECONDS = 0.1  # s below END_THRESHOLD before a segment ends (Silero default 100 ms)
MIN_SEGMENT_SECONDS = 0.25  # s; shorter segments are clicks or breaths (Silero default 250 ms)
REFINE_FRAME_SECONDS = 0.01  # s; resolution of the boundary refinement
REFINE_RANGE_DB = 35.0  # dB below the speech level (95th percentile frame inside speech) that is still speech
NOISE_MARGIN_DB = 10.0  # dB above the noise floor (10th percentile frame) that speech must be
REFINE_SEARCH_SECONDS = 0.2  # s; how far outside Silero's boundary a refined boundary may lie
SPLIT_SECONDS = 0.2  # s of quiet inside a segment that splits it
MIN_PIECE_SECONDS = 0.05  # s; louder bits shorter than this (a click) are not speech


@dataclass(frozen=True)
class Segment:
    """One stretch of speech, in seconds from the start of the recording."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class _SileroNet(torch.nn.Module):
    """Silero VAD v6 (16 kHz branch) rebuilt from its TorchScript weights so all windows run as one batch."""

    def __init__(self, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.register_buffer("stft_basis", weights["stft.forward_basis_buffer"])  # (258, 1, 256): cos and sin rows
        self.convs = torch.nn.ModuleList()
        for i, stride in zip(range(1, 5), (1, 2, 2, 1)):
            w = weights[f"encoder.{i - 1}.reparam_conv.weight"]  # (out, in, 3)
            conv = torch.nn.Conv1d(w.shape[1], w.shape[0], 3, stride=stride, padding=1)
            conv.weight.data, conv.bias.data = w, weights[f"encoder.{i - 1}.reparam_conv.bias"]
            self.convs.append(conv)
        self.lstm = torch.nn.LSTM(128, 128, batch_first=True)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(self.lstm, f"{name}_l0").data = weights[f"decoder.rnn.{name}"]
        self.head = torch.nn.Conv1d(128, 1, 1)
        self.head.weight.data, self.head.bias.data = weights["decoder.decoder.2.weight"], weights["decoder.decoder.2.bias"]

    @torch.inference_mode()
    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """windows: (n, CONTEXT + WINDOW) -> speech probability per window, (n,)."""
        x = torch.nn.functional.pad(windows, (0, 64), mode="reflect")  # (n, 640)
        # Silero's STFT is a conv with Hann-windowed cos/sin rows; an FFT of the same frames is exact and cheaper.
        frames = x.unfold(-1, 256, 128) * self.stft_basis[0, 0]  # row 0 = the window: (n, 4, 256)
        x = torch.fft.rfft(frames).abs().transpose(1, 2)  # magnitude, (n, 129, 4)
        for conv in self.convs:
            x = torch.relu(conv(x))  # -> (n, 128, 1)
        h, _ = self.lstm(x.squeeze(-1).unsqueeze(0))  # the windows are one sequence: (1, n, 128)
        return torch.sigmoid(self.head(torch.relu(h[0]).unsqueeze(-1))).reshape(-1)  # (n,)


_lock = threading.Lock()


def silero_package_model():
    """silero-vad's own model (TorchScript, window by window), loaded without changing torch's thread count.

    Importing silero_vad calls torch.set_num_threads(1) for the whole process (silero_vad/model.py). Left
    alone, every score after the first answer would depend on which thread first loaded the VAD, and when:
    the graders' sums run in another order on 1 thread than on 2 (calibrated scores moved by 5e-6 between
    the app and the Python API). Import it only through here.
    """
    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad  # lazy: only the first answer pays for loading it

        return load_silero_vad(onnx=False)
    finally:
        torch.set_num_threads(threads)


@lru_cache(maxsize=1)
def _net() -> _SileroNet:
    weights = {k: v.detach().clone() for k, v in silero_package_model()._model.state_dict().items()}
    return _SileroNet(weights).eval()


def speech_probabilities(wav: np.ndarray) -> np.ndarray:
    """Speech probability of each 32 ms window of a 16 kHz mono waveform.

    Args:
        wav: (samples,) float at VAD_SAMPLE_RATE (16 kHz).
    Returns:
        (ceil(samples / WINDOW),) float32 in [0, 1]; window i covers samples [i*WINDOW, (i+1)*WINDOW).
    """
    wav = np.asarray(wav, dtype=np.float32)
    n = -(-wav.size // WINDOW)
    if n == 0:
        return np.zeros(0, np.float32)
    padded = np.zeros(CONTEXT + n * WINDOW, np.float32)  # zeros before the first window, after the last
    padded[CONTEXT:CONTEXT + wav.size] = wav
    idx = np.arange(n)[:, None] * WINDOW + np.arange(CONTEXT + WINDOW)[None, :]  # (n, 576)
    with _lock:  # one LSTM, many Gradio threads
        return _net()(torch.from_numpy(padded[idx])).numpy()


def speech_segments(wav: np.ndarray, probs: np.ndarray | None = None) -> tuple[Segment, ...]:
    """The speech segments of a 16 kHz mono waveform (Silero's rule, no padding; see the module docstring).

    Args:
        wav: (samples,) float at VAD_SAMPLE_RATE (16 kHz).
        probs: its `speech_probabilities`, when already computed.
    Returns:
        Segments in time order (Silero's are at least MIN_SEGMENT_SECONDS long before refinement),
        ends clipped to the recording.
    """
    probs = speech_probabilities(wav) if probs is None else probs
    duration = np.asarray(wav).size / VAD_SAMPLE_RATE
    min_silence = round(MIN_SILENCE_SECONDS / WINDOW_SECONDS)  # windows
    segments, start, quiet = [], None, 0
    for i, p in enumerate(probs):
        if start is None:
            if p >= SPEECH_THRESHOLD:
                start, quiet = i, 0
        elif p < END_THRESHOLD:
            quiet += 1
            if quiet >= min_silence:
                segments.append((start, i - quiet + 1))
                start = None
        else:
            quiet = 0
    if start is not None:
        segments.append((start, len(probs)))
    segments = [(a * WINDOW_SECONDS, b * WINDOW_SECONDS) for a, b in segments
                if (b - a) * WINDOW_SECONDS >= MIN_SEGMENT_SECONDS]
    last = np.floor(duration * 1000) / 1000  # ms, rounded down so no segment ends after the recording
    return tuple(Segment(round(a, 3), min(round(b, 3), last)) for a, b in _refine(np.asarray(wav), segments))


def _refine(wav: np.ndarray, segments: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Move Silero's boundaries to where the loudness says speech starts and stops (module docstring)."""
    if not segments:
        return []
    frame = round(REFINE_FRAME_SECONDS * VAD_SAMPLE_RATE)  # samples
    n = wav.size // frame
    if n == 0:
        return segments
    rms = np.sqrt(np.mean(wav[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))  # (n,)
    db = 20 * np.log10(np.maximum(rms, 1e-6))  # (n,) dBFS per 10 ms frame
    inside = np.zeros(n, bool)
    for a, b in segments:
        inside[int(a / REFINE_FRAME_SECONDS):int(np.ceil(b / REFINE_FRAME_SECONDS))] = True
    threshold = max(float(np.percentile(db, 10)) + NOISE_MARGIN_DB,
                    float(np.percentile(db[inside], 95)) - REFINE_RANGE_DB)
    loud = db > threshold
    search = round(REFINE_SEARCH_SECONDS / REFINE_FRAME_SECONDS)
    split = round(SPLIT_SECONDS / REFINE_FRAME_SECONDS)
    out = []
    for a, b in segments:
        lo = max(int(a / REFINE_FRAME_SECONDS) - search, 0)
        hi = min(int(np.ceil(b / REFINE_FRAME_SECONDS)) + search, n)
        frames = np.flatnonzero(loud[lo:hi]) + lo  # loud frame indices near and inside the segment
        if frames.size == 0:
            out.append((a, b))  # Silero heard speech the loudness cannot place: keep its boundaries
            continue
        cuts = np.flatnonzero(np.diff(frames) > split)  # quiet stretches long enough to split at
        starts = np.concatenate([[frames[0]], frames[cuts + 1]])
        ends = np.concatenate([frames[cuts], [frames[-1]]]) + 1
        out.extend((i * REFINE_FRAME_SECONDS, j * REFINE_FRAME_SECONDS) for i, j in zip(starts, ends)
                   if (j - i) * REFINE_FRAME_SECONDS >= MIN_PIECE_SECONDS)
    merged: list[tuple[float, float]] = []  # refined neighbours may now touch
    for a, b in sorted(out):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
