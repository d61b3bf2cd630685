"""Loading the speech graders: trained parts from their checkpoints, untrained parts on a pretrained (or
the tiny random) encoder, and how the encoders run at inference (torch fp32, ONNX Runtime, bf16; the choice
rule and its cache are graders.precision's, the timing of the candidates on this machine is `measure_paths`).

The tiny offline twin (audiocraft's 'debug' model) is built here too, by `load_speech_graders(tiny=True)`.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

from ...assessment import TRAINED, UNTRAINED
from ...audio import SAMPLE_RATE
from ...cefr import GRID
from ...parts import PARTS, part_info
from ..onnx_encoder import OnnxEncoder, load_onnx_encoder
from ..precision import (AUTO, FP32, INT8, ONNX, PathTiming, PrecisionCache, PrecisionChoice, auto_candidates,
                         choose_path, describe, machine_key, now_utc, resolve_precision)
from .model import DEFAULT_ENCODER, SpeechGrader, SpeechGraderConfig, build_speech_grader, default_device, resolve_folder
from .scoring import SpeechGraders

TINY_SOURCE = "tiny (random, offline)"
SMALL_WIDTH = 256  # encoders narrower than this are test models: "auto" precision keeps them fp32

log = logging.getLogger(__name__)


def load_speech_graders(root: str | Path | None = None, parts: Sequence[int] = PARTS, tiny: bool = False,
                        device: str | torch.device | None = None, encoder: str = DEFAULT_ENCODER,
                        precision: str = AUTO) -> SpeechGraders:
    """Speech graders for `parts`: trained ones from root/part{N}/, untrained ones for the rest.

    Args:
        root: local folder or hub repo id holding part1/, part3/, ... (save_pretrained folders); None: none trained.
        tiny: untrained parts use the tiny random encoder (offline) instead of the pretrained `encoder`.
        device: default cuda when available.
        encoder: hub id or path of the pretrained wav2vec2 under untrained parts' random heads.
        precision: "auto" (the fastest path within the drift bound, measured once on this CPU and cached;
            see graders.precision), or "fp32", "bf16", "onnx", "int8".
    """
    device = device or default_device()
    for part in parts:
        part_info(part)
    folder = resolve_folder(root) if root is not None else None
    if folder is not None and not any((folder / f"part{p}").is_dir() for p in parts):
        raise FileNotFoundError(f"{folder} holds no speech grader for parts {tuple(parts)}: "
                                f"expected subfolders {', '.join(f'part{p}' for p in parts)}")
    graders, states, shared = {}, {}, None
    for part in parts:
        if folder is not None and (folder / f"part{part}").is_dir():
            graders[part], states[part] = SpeechGrader.from_pretrained(folder / f"part{part}", device), TRAINED
            continue
        if tiny:
            grader = tiny_speech_grader(part=part)
        else:  # untrained heads share one pretrained encoder: 4 copies of identical weights would waste memory
            if shared is None:
                try:
                    shared = Wav2Vec2Model.from_pretrained(encoder)
                except OSError as e:
                    raise OSError(f"part {part} has no trained grader and {encoder} could not be loaded "
                                  f"for an untrained one; offline, pass tiny=True ({e})") from e
            grader = SpeechGrader(SpeechGraderConfig(part=part, encoder=encoder), shared)
        graders[part], states[part] = grader.to(device).eval(), UNTRAINED
    note = set_speech_precision(graders, precision, device)
    source = str(root) if root is not None else (TINY_SOURCE if tiny else f"{encoder} (untrained head)")
    return SpeechGraders(graders, states, source, precision_note=note)


def set_speech_precision(graders: dict[int, SpeechGrader], precision: str = AUTO,
                         device: str | torch.device = "cpu", onnx_cache: str | Path | None = None,
                         precision_cache: str | Path | None = None) -> str:
    """Choose how the graders' encoders run at inference (graders.precision) and set it up.

    "auto" on a CPU with full-size encoders reads the choice measured on this machine for these weights from
    `precision_cache` (None: its default folder), or measures it now (`measure_paths`, seconds to a minute
    once) and stores it. ONNX exports each distinct encoder once (graders sharing an encoder share one
    session; the file is cached on disk). When the export or ONNX Runtime fails, the graders run torch fp32
    instead: a slower grader is better than no grader. Returns the model-status line, e.g.
    'runs in fp32 through ONNX Runtime (measured here: fp32 1.10 s, onnx 0.52 s; ...)'.
    """
    small = all(g.encoder.config.hidden_size < SMALL_WIDTH for g in graders.values())
    run_as, why = resolve_precision(precision, device, tiny=small)
    if run_as == AUTO:
        run_as, why = _measured_choice(graders, onnx_cache, PrecisionCache(precision_cache))
    try:
        sessions = _sessions(graders, run_as, onnx_cache)
    except Exception as e:  # the exporter and ONNX Runtime raise many types: the status says which
        log.warning("ONNX Runtime path failed; the speech encoder runs in torch fp32", exc_info=True)
        run_as, why, sessions = FP32, f"ONNX Runtime failed, {type(e).__name__}: {str(e)[:160]}", {}
    _apply(graders, run_as, sessions)
    return describe(run_as, why)


def _sessions(graders: dict[int, SpeechGrader], run_as: str, onnx_cache) -> dict[tuple[int, bool], OnnxEncoder]:
    """One ONNX Runtime session per distinct (encoder, all layers) for ONNX / INT8; none otherwise."""
    sessions: dict[tuple[int, bool], OnnxEncoder] = {}
    if run_as in (ONNX, INT8):
        for g in graders.values():
            key = (id(g.encoder), g.layer_logits is not None)
            if key not in sessions:
                sessions[key] = load_onnx_encoder(g.encoder, all_layers=key[1], cache_dir=onnx_cache,
                                                  int8=run_as == INT8)
                log.info("speech encoder for ONNX Runtime (%s): %s", run_as, sessions[key].describe_load())
    return sessions


def _apply(graders: dict[int, SpeechGrader], run_as: str, sessions: dict[tuple[int, bool], OnnxEncoder]) -> None:
    for g in graders.values():
        g.precision = run_as
        g.onnx = sessions.get((id(g.encoder), g.layer_logits is not None))


def _measured_choice(graders: dict[int, SpeechGrader], onnx_cache, cache: PrecisionCache) -> tuple[str, str]:
    """"auto" on a CPU: the stored choice for this machine and these weights, else measure, choose and store."""
    key = machine_key(_weights_digests(graders))
    stored = cache.get(key)
    if stored is not None:
        return stored.path, f"{stored.reason}; measured {stored.measured_at}, cached"
    candidates, left_out = auto_candidates()
    t0 = time.perf_counter()
    timings = measure_paths(graders, candidates, onnx_cache)
    run_as, why = choose_path(timings)
    why = "; ".join([why, *left_out])
    cache.put(key, PrecisionChoice(run_as, why, tuple(timings), now_utc()))
    log.info("speech encoder path measured in %.1f s: %s", time.perf_counter() - t0, why)
    return run_as, why


def _weights_digests(graders: dict[int, SpeechGrader]) -> list[str]:
    """sha256 of each grader's weights (its encoder and head), each shared encoder hashed once."""
    encoders: dict[int, str] = {}
    found = []
    for part, g in sorted(graders.items()):
        if id(g.encoder) not in encoders:
            encoders[id(g.encoder)] = _digest(g.encoder.state_dict())
        head = {k: v for k, v in g.state_dict().items() if not k.startswith("encoder.")}
        found.append(f"part{part}:{encoders[id(g.encoder)][:16]}:{_digest(head)[:16]}")
    return found


def _digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name, t in sorted(state.items()):
        h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


PROBE_SECONDS = 4.0  # audio the candidates are timed on: long enough for the encoder's cost to dominate
PROBE_REPEATS = 3  # interleaved rounds after a warm-up; the median is kept (a shared CPU wanders)


def probe_audio(seconds: float = PROBE_SECONDS) -> np.ndarray:
    """A fixed, speech-like 16 kHz clip for the timing and the drift: voiced harmonics of a gliding pitch,
    syllable-rate loudness and a little noise, the same on every machine (no file, no hub)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    return (0.1 * voiced * syllables + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def measure_paths(graders: dict[int, SpeechGrader], candidates: list[str], onnx_cache=None,
                  probe: np.ndarray | None = None, repeats: int = PROBE_REPEATS) -> list[PathTiming]:
    """Time each candidate path on the probe (one grader's encoder, rounds interleaved, median) and measure
    its score drift against torch fp32 over every loaded part. A path that cannot be set up is left out.

    Leaves the graders in torch fp32 (set_speech_precision sets up the chosen path afterwards).
    """
    probe = probe_audio() if probe is None else probe
    ready: dict[str, dict] = {}
    for path in candidates:
        try:
            ready[path] = _sessions(graders, path, onnx_cache)
        except Exception:  # noqa: BLE001  a path that cannot be built is not a candidate; the log says why
            log.warning("speech encoder path %s could not be set up; not timed", path, exc_info=True)
    timed = next(iter(graders.values()))
    seconds: dict[str, list[float]] = {p: [] for p in ready}
    scores: dict[str, list[float]] = {}
    for r in range(repeats + 1):  # round 0 warms up (allocations, lazy initialisation) and gives the scores
        for path, sessions in ready.items():
            _apply(graders, path, sessions)
            if r == 0:
                scores[path] = [g.predict([[probe]])[0].raw_score for _, g in sorted(graders.items())]
                continue
            t0 = time.perf_counter()
            timed.predict([[probe]])
            seconds[path].append(time.perf_counter() - t0)
    _apply(graders, FP32, {})
    reference = scores[FP32]
    return [PathTiming(path, statistics.median(seconds[path]),
                       max(abs(a - b) for a, b in zip(scores[path], reference, strict=True))) for path in ready]


# -- the tiny offline twin (audiocraft's 'debug' model), built by `load_speech_graders(tiny=True)` ---------

NORMS = ("group", "layer")


def tiny_wav2vec2_config(norm: str = "group") -> Wav2Vec2Config:
    """A 2-layer, 32-wide wav2vec2 with the real CNN strides (one frame per 20 ms).

    norm="group" mirrors wav2vec2-base (no attention mask; padding changes its features);
    norm="layer" mirrors wav2vec2-large-lv60 (mask-aware, so it can batch padded audio exactly).
    """
    if norm not in NORMS:
        raise ValueError(f"norm {norm!r} is not one of {NORMS}")
    return Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        feat_extract_norm=norm, do_stable_layer_norm=norm == "layer",
        mask_time_prob=0.0,  # no SpecAugment: tests compare exact outputs, also in train mode
    )


def tiny_speech_grader(part: int = 3, seed: int = 0, norm: str = "group",
                       prototype_levels: tuple[float, ...] = GRID) -> SpeechGrader:
    """A randomly initialised speech grader, the same for the same seed; global RNG left untouched."""
    config = SpeechGraderConfig(
        part=part,
        encoder="tiny",  # a label only: encoder_config builds the encoder
        encoder_config=tiny_wav2vec2_config(norm).to_dict(),
        prototype_levels=prototype_levels,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_speech_grader(config).eval()


__all__ = ["load_speech_graders", "measure_paths", "probe_audio", "set_speech_precision", "tiny_speech_grader", "tiny_wav2vec2_config", "TINY_SOURCE"]
