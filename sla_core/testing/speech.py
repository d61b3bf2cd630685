"""Tiny random wav2vec 2.0 speech graders for tests, CI and the offline demo (nothing is downloaded)."""

from __future__ import annotations

import torch
from transformers import Wav2Vec2Config

from ..cefr import GRID
from ..graders.speech import SpeechGrader, SpeechGraderConfig, build_speech_grader

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
