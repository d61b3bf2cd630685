"""Whisper through CTranslate2: the transcriber on a CPU, and the spoken language from the same pass.

Why: on 2 CPU threads CTranslate2 int8 decodes a Whisper token in about half the time transformers fp32
takes, and encodes a 30 s window a little faster (bench/bench_cpu.py, README "On a laptop without a GPU").
It lives beside the graders' other model wrappers (phi4.py); `asr.py` holds the Transcriber protocol and
the transcript cache around it.

One pass per answer, shared: each 30 s window is encoded once; the first window's encoder output also gives
the language probabilities (`detect_language` reads the encoded features), so a multilingual checkpoint
answers the spoken-language check without a second encoder pass. Long answers are decoded window after
window as Whisper does (openai/whisper `transcribe`: with timestamps, the next window starts at the last
complete segment). Answers run in lock step: each round encodes and decodes the current window of every
unfinished answer as one batch.

A hub id (openai/whisper-base) or a transformers folder is converted to CTranslate2's format once and kept
in the cache folder (`default_ct2_cache_dir`); a folder that already holds a converted model (model.bin) is
used as it is. Weights stay float32 on disk; int8 is applied when loading.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..assessment import UNTRAINED, ZERO_SHOT, GraderInfo
from ..audio import SAMPLE_RATE
from ..paths import CACHE, default_folder, model_revision

WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper's window
HOP = 160  # samples per mel frame
WINDOW_FRAMES = WINDOW_SAMPLES // HOP  # 3000
FRAMES_PER_TIMESTAMP = 2  # a timestamp step (20 ms) is two mel frames
COMPUTE_TYPES = ("int8", "float32")  # CTranslate2's CPU formats here (AVX2: no bf16/fp16 kernels)
CONVERT_FORMAT = "sla-ct2-whisper-v1"  # bump when the converted folder's contents change
KEPT_LANGUAGES = 5  # languages kept per answer (and English): enough to name the most likely ones
MEMO_SIZE = 4096  # answers whose language is remembered in memory after their transcription


def ctranslate2_missing() -> str | None:
    """None when CTranslate2 can run here, else the reason in words."""
    return None if importlib.util.find_spec("ctranslate2") else "ctranslate2 not installed"


def default_ct2_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """$SLA_DATA_DIR/cache/ct2, else $XDG_CACHE_HOME/sla-demo/ct2 (~/.cache/...): converted Whisper models."""
    return default_folder(CACHE, "ct2", env)


def is_converted(folder: str | Path) -> bool:
    return (Path(folder) / "model.bin").is_file()


def converted_folder(model_id: str, cache_dir: str | Path | None = None) -> Path:
    """The CTranslate2 folder of `model_id`: itself when converted already, else converted once into the cache.

    Raises:
        OSError: the model cannot be found (offline, unknown id, bad path): what from_pretrained raises.
    """
    if is_converted(model_id):
        return Path(model_id)
    from ctranslate2.converters import TransformersConverter
    from transformers import WhisperProcessor

    root = Path(cache_dir) if cache_dir is not None else default_ct2_cache_dir()
    out = root / _conversion_key(model_id)
    if is_converted(out):
        return out
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".converting-"))
    try:
        TransformersConverter(str(model_id)).convert(str(tmp), force=True)
        WhisperProcessor.from_pretrained(model_id).save_pretrained(tmp)  # tokenizer.json + the feature extractor
        try:
            os.replace(tmp, out)
        except OSError:  # another process converted it first
            if not is_converted(out):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _conversion_key(model_id: str) -> str:
    """A folder name for the conversion: the id (a local folder: its path and files' sizes and times) and versions."""
    h = hashlib.sha256(f"{CONVERT_FORMAT}\x1f{importlib.metadata.version('ctranslate2')}\x1f{model_id}".encode())
    folder = Path(model_id)
    if folder.is_dir():
        h.update(str(folder.resolve()).encode())
        for f in sorted(folder.iterdir()):
            if f.is_file():
                h.update(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}".encode())
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class Heard:
    """What the model heard in one answer: the words, and the language probabilities of its first 30 s."""

    text: str
    languages: dict[str, float] | None  # ISO code -> probability (the top KEPT_LANGUAGES and "en"); None: English-only model


class Ct2Whisper:
    """A converted Whisper loaded in CTranslate2, run answer by answer in lock-step batches (greedy)."""

    def __init__(self, folder: str | Path, compute_type: str = "int8", threads: int | None = None,
                 batch_size: int = 8) -> None:
        import ctranslate2
        from tokenizers import Tokenizer
        from transformers import WhisperFeatureExtractor

        if compute_type not in COMPUTE_TYPES:
            raise ValueError(f"compute type {compute_type!r} is not one of {COMPUTE_TYPES}")
        folder = Path(folder)
        self.folder, self.compute_type, self.batch_size = folder, compute_type, batch_size
        self.model = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type=compute_type,
                                                intra_threads=threads or torch.get_num_threads())
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # Whisper's front end has one setting that varies (80 mel bins, 128 for large-v3): the model says which
        self.features = WhisperFeatureExtractor(feature_size=self.model.n_mels)
        self.multilingual = bool(self.model.is_multilingual)
        token = self.tokenizer.token_to_id
        self.eot = token("<|endoftext|>")
        self.timestamp_begin = token("<|0.00|>")
        start = [token("<|startoftranscript|>")]
        if self.multilingual:
            start += [token("<|en|>"), token("<|transcribe|>")]
        self.prompt_long = start  # with timestamps: long-form decoding seeks by them
        self.prompt_short = start + [token("<|notimestamps|>")]

    def mel(self, wav: np.ndarray) -> np.ndarray:
        """(n_mels, frames) of the answer followed by 30 s of silence (as Whisper pads), float32."""
        padded = np.concatenate([np.asarray(wav, dtype=np.float32), np.zeros(WINDOW_SAMPLES, np.float32)])
        out = self.features(padded, sampling_rate=SAMPLE_RATE, return_tensors="np", truncation=False,
                            padding="longest")
        return np.ascontiguousarray(out.input_features[0], dtype=np.float32)

    def hear(self, waveforms: Sequence[np.ndarray], max_new_tokens: int, languages_only: bool = False) -> list[Heard]:
        """Transcribe each (samples,) 16 kHz waveform (English), with its language probabilities.

        languages_only: encode each answer's first window and read its language, no decoding (the spoken-
        language check for answers this process did not transcribe).
        """
        import ctranslate2

        mels = [self.mel(w) for w in waveforms]
        content = [len(w) // HOP for w in waveforms]  # frames that hold the answer
        seek = [0] * len(waveforms)
        tokens: list[list[int]] = [[] for _ in waveforms]
        languages: list[dict[str, float] | None] = [None] * len(waveforms)
        first = True
        while todo := [i for i in range(len(waveforms)) if seek[i] < content[i]]:
            for lo in range(0, len(todo), self.batch_size):
                batch = todo[lo : lo + self.batch_size]
                windows = np.stack([mels[i][:, seek[i] : seek[i] + WINDOW_FRAMES] for i in batch])
                encoded = self.model.encode(ctranslate2.StorageView.from_array(windows))
                if first and self.multilingual:
                    for i, found in zip(batch, self.model.detect_language(encoded)):
                        languages[i] = _kept(found)
                if languages_only:
                    continue
                for single in (True, False):  # one window: no timestamps needed; CTranslate2 wants one prompt shape
                    rows = [r for r, i in enumerate(batch) if (content[i] <= WINDOW_FRAMES) == single]
                    if not rows:
                        continue
                    prompt = self.prompt_short if single else self.prompt_long
                    part = encoded if len(rows) == len(batch) else _rows(encoded, rows)
                    # CTranslate2 decodes min(max_length / 2, max_length - prompt + 1) new tokens (whisper.cc)
                    results = self.model.generate(part, [prompt] * len(rows), beam_size=1,
                                                  max_length=max(2 * max_new_tokens, max_new_tokens + len(prompt) - 1))
                    for r, result in zip(rows, results):
                        i = batch[r]
                        ids = result.sequences_ids[0]
                        left = content[i] - seek[i]
                        advance, kept = (left, ids) if single else self._segment(ids, min(left, WINDOW_FRAMES))
                        tokens[i] += [t for t in kept if t < self.eot]
                        seek[i] += advance
            first = False
            if languages_only:
                break
        return [Heard(" ".join(self.tokenizer.decode(t, skip_special_tokens=True).split()), lang)
                for t, lang in zip(tokens, languages)]

    def _segment(self, ids: list[int], window: int) -> tuple[int, list[int]]:
        """(frames to advance, tokens to keep) of one long-form window, as openai/whisper's transcribe: up to
        the last pair of consecutive timestamps (a complete segment); the whole window when it ends on one."""
        stamp = [t >= self.timestamp_begin for t in ids]
        ends_single = len(stamp) >= 2 and not stamp[-2] and stamp[-1]
        pairs = [k + 1 for k in range(len(ids) - 1) if stamp[k] and stamp[k + 1]]
        if not pairs or ends_single:
            return window, ids
        cut = pairs[-1]
        advance = (ids[cut - 1] - self.timestamp_begin) * FRAMES_PER_TIMESTAMP
        return (advance if 0 < advance <= window else window), ids[:cut]


def _rows(encoded, rows: list[int]):
    """Rows of an encoder output (a CTranslate2 StorageView on the CPU)."""
    import ctranslate2

    return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(encoded)[rows]))


def _kept(found: Sequence[tuple[str, float]]) -> dict[str, float]:
    """CTranslate2's [("<|en|>", p), ...] (best first) -> {"en": p, ...}: the top KEPT_LANGUAGES and English."""
    probs = {token.strip("<|>"): float(p) for token, p in found}
    kept = dict(list(probs.items())[:KEPT_LANGUAGES])
    kept.setdefault("en", probs.get("en", 0.0))
    return kept


class Ct2WhisperTranscriber:
    """The Transcriber (asr.Transcriber) over Ct2Whisper: transcripts, and the language heard in each answer.

    `heard_languages` answers from the transcription pass when the answer was transcribed in this process
    (remembered by audio content), else runs the language pass alone (one encoder window per answer).
    """

    name = "whisper"

    def __init__(self, model: Ct2Whisper, *, source: str, max_new_tokens: int, random: bool = False,
                 revision: str | None = None) -> None:
        self.model = model
        self.source = source  # e.g. "openai/whisper-base (CTranslate2 int8)": names the model in the transcript cache
        self.revision = revision  # the converted files' version (paths.model_revision): part of the cache key too
        self.max_new_tokens = max_new_tokens
        self.random = random  # a random test model: its text is not a transcript
        self._languages: OrderedDict[str, dict[str, float] | None] = OrderedDict()

    @classmethod
    def load(cls, model_id: str, compute_type: str = "int8", cache_dir: str | Path | None = None,
             max_new_tokens: int = 196, **kwargs) -> "Ct2WhisperTranscriber":
        folder = converted_folder(model_id, cache_dir)
        model = Ct2Whisper(folder, compute_type)
        return cls(model, source=f"{model_id} (CTranslate2 {compute_type})", max_new_tokens=max_new_tokens,
                   revision=model_revision(folder), **kwargs)

    @property
    def multilingual(self) -> bool:
        return self.model.multilingual

    def info(self) -> GraderInfo:
        lid = "; the spoken language from the same pass" if self.multilingual else ""
        return GraderInfo("asr", self.source, UNTRAINED if self.random else ZERO_SHOT, note=f"Whisper{lid}")

    def transcribe(self, waveforms: Sequence[np.ndarray]) -> list[str]:
        heard = self.model.hear([_checked(w, i) for i, w in enumerate(waveforms)], self.max_new_tokens)
        for w, h in zip(waveforms, heard):
            self._remember(w, h.languages)
        return [h.text for h in heard]

    def heard_languages(self, waveforms: Sequence[np.ndarray]) -> list[dict[str, float] | None]:
        """Language probabilities of each answer's first 30 s (None for every answer of an English-only model)."""
        if not self.multilingual:
            return [None] * len(waveforms)
        keys = [_digest(w) for w in waveforms]
        todo = [i for i, k in enumerate(keys) if k not in self._languages]
        if todo:
            heard = self.model.hear([_checked(waveforms[i], i) for i in todo], self.max_new_tokens, languages_only=True)
            for i, h in zip(todo, heard):
                self._remember(waveforms[i], h.languages)
        return [self._languages[k] for k in keys]

    def _remember(self, wav: np.ndarray, languages: dict[str, float] | None) -> None:
        self._languages[_digest(wav)] = languages
        while len(self._languages) > MEMO_SIZE:
            self._languages.popitem(last=False)


def _checked(wav: np.ndarray, i: int) -> np.ndarray:
    if wav is None or np.ndim(wav) != 1 or np.size(wav) == 0:
        raise ValueError(f"recording {i}: expected a non-empty 1-D waveform, got {None if wav is None else np.shape(wav)}")
    return np.asarray(wav, dtype=np.float32)


def _digest(wav: np.ndarray) -> str:
    """sha256 of the 16 kHz float32 samples (asr.audio_digest's key, so the cache and the memo agree)."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(wav, dtype=np.float32)).tobytes()).hexdigest()


__all__ = ["COMPUTE_TYPES", "Ct2Whisper", "Ct2WhisperTranscriber", "Heard", "converted_folder", "ctranslate2_missing",
           "default_ct2_cache_dir", "is_converted"]
