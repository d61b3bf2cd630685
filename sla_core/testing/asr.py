"""A tiny random Whisper (config, tokenizer and generation settings built in code) for ASR tests."""

from __future__ import annotations

import torch
from tokenizers import pre_tokenizers
from transformers import (
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)

from ..asr import WhisperTranscriber

# The special tokens Whisper's generate() looks up (start, language, task, timestamps).
WHISPER_SPECIALS = ("<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>", "<|startoflm|>",
                    "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>")  # fmt: skip
N_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|>, 20 ms apart: long-form decoding needs them


def tiny_whisper_processor() -> WhisperProcessor:
    """Byte-level Whisper tokenizer (no merges) + the real feature extractor (no weights)."""
    vocab = {t: i for i, t in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    tok = WhisperTokenizer(vocab=vocab, merges=[])
    tok.add_tokens(["<|endoftext|>", *WHISPER_SPECIALS], special_tokens=True)
    tok.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(N_TIMESTAMPS)], special_tokens=True)
    return WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tok)


def tiny_whisper_transcriber(seed: int = 0, max_new_tokens: int = 8) -> WhisperTranscriber:
    """WhisperTranscriber over a 1-layer random Whisper; its transcripts are noise, their plumbing is real."""
    processor = tiny_whisper_processor()
    tok = processor.tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", *WHISPER_SPECIALS)}
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = WhisperConfig(
        vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=80,
        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    gen = model.generation_config  # what a hub checkpoint's generation_config.json carries
    gen.decoder_start_token_id, gen.is_multilingual = sot, True
    gen.lang_to_id = {"<|en|>": ids["<|en|>"]}
    gen.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    gen.no_timestamps_token_id, gen.prev_sot_token_id = ids["<|notimestamps|>"], ids["<|startofprev|>"]
    gen.max_initial_timestamp_index, gen.suppress_tokens, gen.begin_suppress_tokens = 50, [], []
    return WhisperTranscriber(model, processor, source="tiny whisper (random, offline)", max_new_tokens=max_new_tokens, random=True)


__all__ = ["tiny_whisper_processor", "tiny_whisper_transcriber"]
