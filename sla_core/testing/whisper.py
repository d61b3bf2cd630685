"""A tiny random Whisper converted to CTranslate2, for tests of the CPU transcriber (no hub, a second or two)."""

from __future__ import annotations

from pathlib import Path

import torch

TINY_LANGUAGES = ("en", "fr", "de", "es")  # named languages of the tiny model; fillers make up Whisper's 99
TEXT_TOKENS = 50257  # ids below <|endoftext|> in the real tokenizer
N_LANGUAGES = 99  # language tokens of the multilingual Whisper (CTranslate2 reads the layout from the vocabulary)
TASKS = ("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>")


def language_codes(languages: tuple[str, ...] = TINY_LANGUAGES) -> list[str]:
    """`languages` then fillers ("x04", ...) up to Whisper's 99 language tokens."""
    return list(languages) + [f"x{i:02d}" for i in range(len(languages), N_LANGUAGES)]


def whisper_processor(languages: tuple[str, ...] = TINY_LANGUAGES):
    """A tokenizer with the real multilingual Whisper's layout, id for id: 50257 text tokens, <|endoftext|>,
    <|startoftranscript|>, 99 languages, the task tokens, <|notimestamps|>, then 1501 timestamps (51865 in all).

    CTranslate2 reads the layout from the vocabulary (multilingual at 51865 tokens; timestamps right after
    <|notimestamps|>), so a model built on it runs as the real one. Text tokens past the byte alphabet are
    placeholders."""
    from tokenizers import pre_tokenizers
    from transformers import WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizer

    from ..asr import N_TIMESTAMPS

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {t: i for i, t in enumerate(alphabet)} | {f"tok{i}": i for i in range(len(alphabet), TEXT_TOKENS - 1)}
    vocab[""] = TEXT_TOKENS - 1  # as in the real multilingual vocabulary; CTranslate2 4.8 reads it as multilingual
    tok = WhisperTokenizer(vocab=vocab, merges=[])
    specials = ["<|endoftext|>", "<|startoftranscript|>", *(f"<|{c}|>" for c in language_codes(languages)), *TASKS]
    tok.add_tokens(specials, special_tokens=True)
    tok.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(N_TIMESTAMPS)], special_tokens=True)
    return WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tok)


def tiny_whisper_folder(folder: str | Path, seed: int = 0, languages: tuple[str, ...] = TINY_LANGUAGES) -> Path:
    """Save a 1-layer random multilingual Whisper (transformers format, with its processor) to `folder`."""
    from ..asr import tiny_whisper_model

    processor = whisper_processor(languages)
    tok = processor.tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in TASKS}
    with torch.random.fork_rng(devices=[]):
        model = tiny_whisper_model(tok, seed)
    gen = model.generation_config
    gen.lang_to_id = {f"<|{c}|>": tok.convert_tokens_to_ids(f"<|{c}|>") for c in language_codes(languages)}
    gen.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    gen.no_timestamps_token_id, gen.prev_sot_token_id = ids["<|notimestamps|>"], ids["<|startofprev|>"]
    gen.suppress_tokens, gen.begin_suppress_tokens = [], []
    gen._from_model_config = False  # else from_pretrained (the converter's) rebuilds it from the model config
    folder = Path(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def tiny_ct2_transcriber(folder: str | Path, seed: int = 0, compute_type: str = "int8", max_new_tokens: int = 8):
    """A Ct2WhisperTranscriber over the tiny random Whisper, saved under folder/hf and converted under folder/ct2."""
    from ..graders.ct2_whisper import Ct2WhisperTranscriber

    folder = Path(folder)
    source = tiny_whisper_folder(folder / "hf", seed=seed)
    return Ct2WhisperTranscriber.load(str(source), compute_type=compute_type, cache_dir=folder / "ct2",
                                      max_new_tokens=max_new_tokens, random=True)


__all__ = ["TINY_LANGUAGES", "language_codes", "tiny_ct2_transcriber", "tiny_whisper_folder", "whisper_processor"]
