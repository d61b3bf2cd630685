"""A tiny, randomly initialised Phi-4-multimodal with a tokenizer built in code (nothing downloaded).

The tokenizer is byte level (every byte is a token, no merges) plus Phi-4's chat and audio special
tokens, so any text encodes, the score labels are single tokens as in the real o200k tokenizer, and
the same input always gives the same ids. Sizes follow transformers' own Phi4Multimodal tests.
"""

from __future__ import annotations

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    Phi4MultimodalAudioConfig,
    Phi4MultimodalConfig,
    Phi4MultimodalFeatureExtractor,
    Phi4MultimodalProcessor,
    Phi4MultimodalVisionConfig,
    PreTrainedTokenizerFast,
)
from transformers.image_processing_utils import BaseImageProcessor

SPECIAL_TOKENS = ("<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|image|>", "<|audio|>")
TINY_SOURCE = "tiny (random, offline)"
TINY_LORA_RANK = 8  # the real speech adapter has r=320, alpha=640; same ratio here


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level tokenizer with Phi-4's special tokens; left padding (scores are read at the end)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())  # the 256 byte symbols
    vocab = {tok: i for i, tok in enumerate((*SPECIAL_TOKENS, *alphabet))}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens(list(SPECIAL_TOKENS))  # else "<|user|>" would be split into bytes
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>", "audio_token": "<|audio|>"},
    )
    tok.padding_side = "left"
    return tok


def tiny_config(tokenizer: PreTrainedTokenizerFast | None = None) -> Phi4MultimodalConfig:
    """A 2-layer Phi-4-multimodal config (~0.2 M parameters) matching `tokenizer`'s special ids."""
    tok = tokenizer or tiny_tokenizer()
    return Phi4MultimodalConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        # byte-level prompts of Part 1 (six answers) run to ~2k tokens plus audio tokens
        max_position_embeddings=8192,
        original_max_position_embeddings=8192,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        audio_config=Phi4MultimodalAudioConfig(
            num_blocks=2,
            hidden_size=32,
            num_attention_heads=8,
            intermediate_size=48,
            depthwise_separable_out_channel=32,
            ext_pw_out_channel=32,
            nemo_conv_channels=32,
            audio_token_id=tok.audio_token_id,
        ),
        vision_config=Phi4MultimodalVisionConfig(
            num_hidden_layers=1,
            hidden_size=16,
            intermediate_size=32,
            num_attention_heads=2,
            image_size=16,
            crop_size=16,
            image_token_id=tok.convert_tokens_to_ids("<|image|>"),
        ),
    )


def tiny_feature_extractor() -> Phi4MultimodalFeatureExtractor:
    """The real feature extractor (80 mel, 10 ms hop, 8x compression): it has no weights."""
    return Phi4MultimodalFeatureExtractor()


class _NoImages(BaseImageProcessor):
    """Stand-in image processor: the real one needs torchvision, and we never send images."""


def tiny_processor(tokenizer: PreTrainedTokenizerFast | None = None) -> Phi4MultimodalProcessor:
    """transformers' own processor, built without torchvision (used to cross-check `mllm.encode`)."""
    return Phi4MultimodalProcessor(
        image_processor=_NoImages(), audio_processor=tiny_feature_extractor(), tokenizer=tokenizer or tiny_tokenizer()
    )


def tiny_waveform(seconds: float = 1.5, seed: int = 0, sample_rate: int = 16000) -> np.ndarray:
    """A speech-like test signal: a gliding tone with noise bursts, float32 in [-1, 1], shape (samples,)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 120 + 40 * rng.random() + 30 * np.sin(2 * np.pi * 1.5 * t)
    voice = np.sin(2 * np.pi * np.cumsum(f0) / sample_rate) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2)
    return (0.3 * voice + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def tiny_mllm_grader(seed: int = 0, **kwargs):
    """The multimodal grader on the tiny model (`load_mllm_grader(tiny=True)`); kwargs pass through."""
    from ..graders.mllm import load_mllm_grader

    torch.manual_seed(seed)
    return load_mllm_grader(tiny=True, seed=seed, **kwargs)


__all__ = [
    "TINY_SOURCE",
    "tiny_config",
    "tiny_feature_extractor",
    "tiny_mllm_grader",
    "tiny_processor",
    "tiny_tokenizer",
    "tiny_waveform",
]
