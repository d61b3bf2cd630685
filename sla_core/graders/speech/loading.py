"""Loading the speech graders: trained parts from their checkpoints, untrained parts on a pretrained (or
the tiny random) encoder, and how the encoders run at inference (bf16, ONNX Runtime or torch fp32; the
choice itself is graders.precision's).

The tiny offline twin (audiocraft's 'debug' model) is built here too, by `load_speech_graders(tiny=True)`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

from ...assessment import TRAINED, UNTRAINED
from ...cefr import GRID
from ...parts import PARTS, part_info
from ..onnx_encoder import OnnxEncoder, load_onnx_encoder
from ..precision import AUTO, FP32, ONNX, describe, resolve_precision
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
        precision: "auto" (bf16 on a CPU with native bf16, else fp32 through ONNX Runtime where installed,
            else torch fp32; see graders.precision), or "fp32", "bf16", "onnx".
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
                         device: str | torch.device = "cpu", onnx_cache: str | Path | None = None) -> str:
    """Choose how the graders' encoders run at inference (graders.precision) and set it up.

    ONNX exports each distinct encoder once (graders sharing an encoder share one session; the file is
    cached on disk). When the export or ONNX Runtime fails, the graders run torch fp32 instead: a slower
    grader is better than no grader. Returns the model-status line, e.g. 'runs in fp32 through ONNX Runtime (...)'.
    """
    small = all(g.encoder.config.hidden_size < SMALL_WIDTH for g in graders.values())
    run_as, why = resolve_precision(precision, device, tiny=small)
    sessions: dict[tuple[int, bool], OnnxEncoder] = {}
    if run_as == ONNX:
        try:
            for g in graders.values():
                key = (id(g.encoder), g.layer_logits is not None)
                if key not in sessions:
                    sessions[key] = load_onnx_encoder(g.encoder, all_layers=key[1], cache_dir=onnx_cache)
                    log.info("speech encoder for ONNX Runtime: %s", sessions[key].describe_load())
        except Exception as e:  # the exporter and ONNX Runtime raise many types: the status says which
            log.warning("ONNX Runtime path failed; the speech encoder runs in torch fp32", exc_info=True)
            run_as, why, sessions = FP32, f"ONNX Runtime failed, {type(e).__name__}: {str(e)[:160]}", {}
    for g in graders.values():
        g.precision = run_as
        g.onnx = sessions.get((id(g.encoder), g.layer_logits is not None))
    return describe(run_as, why)


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


__all__ = ["load_speech_graders", "set_speech_precision", "tiny_speech_grader", "tiny_wav2vec2_config", "TINY_SOURCE"]
