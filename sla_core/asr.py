"""Transcripts for the graders: R_T of the paper, and part of the assessment result.

Default: the multimodal grader's own Phi-4 model with its speech adapter (no second model to
download). Alternative: a Whisper checkpoint through transformers (the S&I baseline used
Whisper-small), for users who prefer it; without a GPU, Whisper-base through CTranslate2 int8
(graders/ct2_whisper.py), which also hears the spoken language in the same pass.

`TranscriptCache` + `CachedTranscriber` keep every transcript on disk, keyed by the audio's content and
the ASR model, so each recording is transcribed once by each model, whichever command or app asks.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from .assessment import UNTRAINED, ZERO_SHOT, GraderInfo
from .audio import SAMPLE_RATE  # both models take 16 kHz mono
from .graders import phi4
from .paths import CACHE, default_folder, model_revision

TRANSCRIBERS = ("phi4", "whisper")
DEFAULT_WHISPER = "openai/whisper-small"  # what the S&I baseline used: with a GPU, quality first
# Without a GPU (chosen by speed in bench/bench_cpu.py; README "On a laptop without a GPU" has the figures and
# the published WERs): the multilingual base through CTranslate2 int8. Its 30 s window and token cost a fraction
# of small's (and of the distilled checkpoints', whose encoders are small's and medium's); the Whisper paper's
# LibriSpeech test-clean WER is 5.0 for base against 4.2 for base.en, but only the multilingual checkpoint
# hears which language an answer is in, from the same pass (the spoken-language check needs it).
DEFAULT_CPU_WHISPER = "openai/whisper-base"
ASR_RUNTIMES = ("auto", "ctranslate2", "transformers")  # auto: CTranslate2 int8 on a CPU where installed
# Phi-4-multimodal's documented ASR instruction.
PHI4_ASR_PROMPT = "<|user|><|audio|>Transcribe the audio clip into text.<|end|><|assistant|>"
TOKENS_PER_SECOND = 6.0  # a generous cap on new tokens: fast speech is ~3 words (~4 tokens) per second
WHISPER_WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper reads 30 s windows; longer clips are decoded long-form
WINDOW_TOKENS = int(30 * TOKENS_PER_SECOND) + 16  # Whisper's cap per window, the same for every clip


@runtime_checkable
class Transcriber(Protocol):
    name: str

    def info(self) -> GraderInfo: ...

    def transcribe(self, waveforms: Sequence[np.ndarray]) -> list[str]:
        """One transcript per (samples,) float32 16 kHz waveform, in input order."""
        ...


def _token_cap(samples: int) -> int:
    """New tokens allowed for a clip of `samples` at 16 kHz: by its own duration (never its batch's)."""
    return int(samples / SAMPLE_RATE * TOKENS_PER_SECOND) + 16


def _batches(waveforms: Sequence[np.ndarray], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar duration: less padding, less wasted compute."""
    for i, wav in enumerate(waveforms):
        if wav is None or np.ndim(wav) != 1 or np.size(wav) == 0:
            raise ValueError(f"recording {i}: expected a non-empty 1-D waveform, got {None if wav is None else np.shape(wav)}")
    order = sorted(range(len(waveforms)), key=lambda i: len(waveforms[i]))
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


class Phi4Transcriber:
    """ASR by an already-loaded multimodal grader's Phi-4 with its speech adapter (batched greedy decoding).

    A clip's transcript does not depend on its batchmates: the audio encoder sees no padding
    (`phi4.UnpaddedAudioEncoder`), text rows are left padded behind the attention mask, and each row is
    cut at its own token cap.

    It reuses the grader's resident model (no second model in memory). The loader (`load_assessor`)
    builds it and hands it to the grader: the grader never builds its own transcriber.
    """

    name = "phi4"

    def __init__(self, grader, batch_size: int = 8, max_new_tokens: int | None = None):
        """
        Args:
            grader: a loaded graders.mllm.MllmGrader (its model must hold `phi4.SPEECH_ADAPTER`).
            max_new_tokens: cap per clip; None -> TOKENS_PER_SECOND x the clip's duration + 16.
        """
        self.grader = grader
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens

    @property
    def revision(self) -> str | None:
        """The version of the multimodal model's files, for the transcript cache (model_revision)."""
        return model_revision(self.grader.source)

    def info(self) -> GraderInfo:
        state = UNTRAINED if self.grader.random_base else ZERO_SHOT
        return GraderInfo("asr", f"{self.grader.source} (speech adapter)", state, note="Phi-4-multimodal speech adapter")

    @torch.inference_mode()
    def transcribe(self, waveforms: Sequence[np.ndarray]) -> list[str]:
        g = self.grader
        tok = g.tokenizer
        stop = [i for i in (tok.convert_tokens_to_ids("<|end|>"), tok.eos_token_id) if i is not None]
        texts = [""] * len(waveforms)
        for idx in _batches(waveforms, self.batch_size):
            batch = phi4.encode(tok, g.feature_extractor, [PHI4_ASR_PROMPT] * len(idx), [[waveforms[i]] for i in idx])
            batch.pop("position_ids")  # generate() derives them from the mask at every step
            # Each clip's own cap, never its batchmates': greedy decoding is causal, so cutting a row at its
            # cap gives exactly the text it would get alone.
            limits = [self.max_new_tokens or _token_cap(len(waveforms[i])) for i in idx]
            out = g.model.generate(
                **batch.to(g.device), adapter_names=[phi4.SPEECH_ADAPTER] * len(idx), max_new_tokens=max(limits),
                do_sample=False, eos_token_id=stop, pad_token_id=tok.pad_token_id,
            )  # fmt: skip
            new = out[:, batch["input_ids"].shape[1] :]  # (b, new tokens)
            rows = [row[:limit] for row, limit in zip(new, limits)]
            for i, text in zip(idx, tok.batch_decode(rows, skip_special_tokens=True)):
                texts[i] = " ".join(text.split())
        return texts


class WhisperTranscriber:
    """ASR by a Whisper checkpoint (transformers); long answers (> 30 s) use Whisper's long-form decoding.

    A clip's transcript never depends on its batchmates: clips of up to 30 s are padded to Whisper's
    30 s window whatever the batch (the model's own input shape), longer clips are decoded long-form
    in groups of exactly equal length (no padding), and every clip has the same token cap per window.
    """

    name = "whisper"

    def __init__(
        self, model, processor, *, source: str, language: str | None = "en", batch_size: int = 8,
        max_new_tokens: int | None = None, random: bool = False, revision: str | None = None,
    ):  # fmt: skip
        """`language` None lets Whisper detect it; `max_new_tokens` caps each 30 s window (None: WINDOW_TOKENS);
        `revision` names the version of the model's files (model_revision), for the transcript cache."""
        self.model = model.eval()
        # The cap per 30 s window is ours (max_new_tokens below). A max_length in the generation config (a hub
        # checkpoint's 448, or the 20 Whisper's generate fills in when there is none) would be a second cap
        # that max_new_tokens overrides, and transformers warned about the pair on every batch. max_length is
        # not the way to cap: Whisper's long form adds the start tokens to it in every window (11, 14, 17...).
        self.model.generation_config.max_length = None
        self.processor = processor
        self.source = source
        self.revision = revision
        self.language = language
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.random = random  # a random test model: its text is not a transcript

    @classmethod
    def load(cls, model_id: str = DEFAULT_WHISPER, device: str | torch.device | None = None, **kwargs) -> WhisperTranscriber:
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        device = phi4.pick_device(device)
        processor = WhisperProcessor.from_pretrained(model_id)
        model = WhisperForConditionalGeneration.from_pretrained(model_id, dtype=phi4.pick_dtype(device)).to(device)
        return cls(model, processor, source=str(model_id), revision=model_revision(model_id), **kwargs)

    def info(self) -> GraderInfo:
        return GraderInfo("asr", self.source, UNTRAINED if self.random else ZERO_SHOT, note="Whisper")

    @torch.inference_mode()
    def transcribe(self, waveforms: Sequence[np.ndarray]) -> list[str]:
        texts = [""] * len(waveforms)
        for idx in _batches(waveforms, self.batch_size):
            short = [i for i in idx if len(waveforms[i]) <= WHISPER_WINDOW_SAMPLES]
            long_by_length: dict[int, list[int]] = {}
            for i in idx:
                if len(waveforms[i]) > WHISPER_WINDOW_SAMPLES:
                    long_by_length.setdefault(len(waveforms[i]), []).append(i)
            for group, long_form in ((short, False), *((g, True) for g in long_by_length.values())):
                if group:
                    texts_of = self._decode([np.asarray(waveforms[i], dtype=np.float32) for i in group], long_form)
                    for i, text in zip(group, texts_of):
                        texts[i] = text
        return texts

    def _decode(self, clips: list[np.ndarray], long_form: bool) -> list[str]:
        """One generate() call: short form (each clip padded to 30 s) or long form (equally long clips)."""
        kwargs = {"sampling_rate": SAMPLE_RATE, "return_tensors": "pt", "return_attention_mask": True}
        if long_form:
            inputs = self.processor(clips, truncation=False, padding="longest", **kwargs)
        else:
            inputs = self.processor(clips, **kwargs)  # short form wants exactly 30 s, padded
        # English-only checkpoints (*.en) take no language or task: generate() refuses them there.
        multilingual = getattr(self.model.generation_config, "is_multilingual", True)
        out = self.model.generate(
            inputs.input_features.to(self.model.device, self.model.dtype),
            attention_mask=inputs.attention_mask.to(self.model.device),
            language=self.language if multilingual else None, task="transcribe" if multilingual else None,
            return_timestamps=long_form,
            max_new_tokens=self.max_new_tokens or WINDOW_TOKENS, max_length=None,  # None: see __init__
        )  # fmt: skip
        return [" ".join(text.split()) for text in self.processor.batch_decode(out, skip_special_tokens=True)]


# -- the tiny offline twin of Whisper --------------------------------------------------------------

# The special tokens Whisper's generate() looks up (start, language, task, timestamps).
WHISPER_SPECIALS = ("<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>", "<|startoflm|>",
                    "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>")  # fmt: skip
N_TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|>, 20 ms apart: long-form decoding needs them


def tiny_whisper_processor():
    """Byte-level Whisper tokenizer (no merges) + the real feature extractor (no weights)."""
    from tokenizers import pre_tokenizers
    from transformers import WhisperFeatureExtractor, WhisperProcessor, WhisperTokenizer

    vocab = {t: i for i, t in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    tok = WhisperTokenizer(vocab=vocab, merges=[])
    tok.add_tokens(["<|endoftext|>", *WHISPER_SPECIALS], special_tokens=True)
    tok.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(N_TIMESTAMPS)], special_tokens=True)
    return WhisperProcessor(feature_extractor=WhisperFeatureExtractor(), tokenizer=tok)


def tiny_whisper_model(tok, seed: int = 0):
    """A 1-layer, 32-wide random multilingual Whisper over tokenizer `tok`, seeded by `seed`: the one config
    behind every tiny offline Whisper (the transcriber here, the language identifier, the CTranslate2 test model)."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    eot, sot = (tok.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|startoftranscript|>"))
    config = WhisperConfig(
        vocab_size=len(tok), d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=80,
        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    gen = model.generation_config  # what a hub checkpoint's generation_config.json carries
    gen.decoder_start_token_id, gen.is_multilingual = sot, True
    return model


def tiny_whisper_transcriber(seed: int = 0, max_new_tokens: int = 8) -> WhisperTranscriber:
    """WhisperTranscriber over a 1-layer random Whisper; its transcripts are noise, their plumbing is real."""
    processor = tiny_whisper_processor()
    tok = processor.tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in WHISPER_SPECIALS}
    model = tiny_whisper_model(tok, seed)
    gen = model.generation_config
    gen.lang_to_id = {"<|en|>": ids["<|en|>"]}
    gen.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    gen.no_timestamps_token_id, gen.prev_sot_token_id = ids["<|notimestamps|>"], ids["<|startofprev|>"]
    gen.max_initial_timestamp_index, gen.suppress_tokens, gen.begin_suppress_tokens = 50, [], []
    return WhisperTranscriber(model, processor, source=f"tiny whisper (random seed {seed}, offline)",
                              max_new_tokens=max_new_tokens, random=True)


def load_transcriber(kind: str = "phi4", *, grader=None, model_id: str | None = None, device=None, batch_size: int = 8,
                     runtime: str = "transformers") -> Transcriber:
    """A transcriber by name.

    Args:
        kind: "phi4" (needs `grader`, the loaded MllmGrader, whose model it reuses) or "whisper".
        model_id: Whisper checkpoint (hub id or folder); default DEFAULT_WHISPER.
        runtime: Whisper through "transformers", "ctranslate2" (int8, CPU; converted once and cached), or
            "auto" (CTranslate2 on a CPU where installed, else transformers).
    """
    if kind == "phi4":
        if grader is None:
            raise ValueError("the phi4 transcriber reuses the multimodal grader's model: pass grader=")
        return Phi4Transcriber(grader, batch_size=batch_size)
    if kind == "whisper":
        if runtime not in ASR_RUNTIMES:
            raise ValueError(f"ASR runtime {runtime!r} is not one of {ASR_RUNTIMES}")
        if whisper_runtime(runtime, device) == "ctranslate2":
            from .graders.ct2_whisper import Ct2WhisperTranscriber

            return Ct2WhisperTranscriber.load(model_id or DEFAULT_WHISPER, max_new_tokens=WINDOW_TOKENS)
        return WhisperTranscriber.load(model_id or DEFAULT_WHISPER, device=device, batch_size=batch_size)
    raise ValueError(f"unknown transcriber {kind!r}; expected one of {TRANSCRIBERS}")


def whisper_runtime(runtime: str, device=None) -> str:
    """"ctranslate2" or "transformers" for `runtime` ("auto": CTranslate2 on a CPU where it is installed)."""
    if runtime != "auto":
        return runtime
    import importlib.util

    on_cpu = str(phi4.pick_device(device)).startswith("cpu")
    return "ctranslate2" if on_cpu and importlib.util.find_spec("ctranslate2") else "transformers"


# -- the transcript cache: one for every command ---------------------------------------------------

TRANSCRIPT_CACHE_FORMAT = "sla-transcripts-v1"  # bump when the stored JSON changes shape
# Bump when this module's decoding changes the text a model gives (prompt, token caps, batching, long form):
# it is part of every cache key, so transcripts made by older code are transcribed again, not reused.
TRANSCRIBE_VERSION = 2  # 2: issue 27 (1: the keys before, which named no version)


def default_transcript_cache_dir(env: dict[str, str] | None = None) -> Path:
    """$SLA_DATA_DIR/cache/transcripts, else $XDG_CACHE_HOME/sla-demo/transcripts (~/.cache/...)."""
    return default_folder(CACHE, "transcripts", env)


def audio_digest(wav: np.ndarray) -> str:
    """sha256 of a waveform's 16 kHz float32 samples: the same recording hits the cache under any file
    name, container or original sample rate (what the ASR model hears is what the key names)."""
    samples = np.ascontiguousarray(np.asarray(wav, dtype=np.float32))
    return hashlib.sha256(samples.tobytes()).hexdigest()


@dataclass(frozen=True)
class CachedTranscript:
    """One stored transcript: the words, and their times where the transcriber gave them."""

    text: str
    words: tuple[tuple[float, float, str], ...] | None = None  # (start s, duration s, word); None: no times
    languages: dict[str, float] | None = None  # language probabilities heard in the same pass; None: not given


class TranscriptCache:
    """Transcripts on disk, keyed by audio content and ASR model, shared by every command and the app.

    One JSON file per (model, recording) under `root/<model digest>/<2 hex>/<audio digest>.json`, written
    atomically, so two processes may fill the same cache at once. A transcript is made once per recording
    and model: a second `predict`, `train` or `transcribe` on the same split transcribes nothing.

        cache = TranscriptCache()                    # $SLA_DATA_DIR/cache/transcripts by default
        asr = CachedTranscriber(load_transcriber("whisper"), cache)
        texts = asr.transcribe(waveforms)            # misses go to Whisper in one batched call, hits are read
        cache.export("train.tsv", {"SI114J-00011-P10003": audio_digest(wav), ...}, asr.model_id)

    Args:
        root: the cache folder; None -> `default_transcript_cache_dir()`.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_transcript_cache_dir()

    def _path(self, audio_key: str, model_id: str) -> Path:
        key = f"{TRANSCRIPT_CACHE_FORMAT}\x1f{TRANSCRIBE_VERSION}\x1f{model_id}"
        model = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self.root / model / audio_key[:2] / f"{audio_key}.json"

    def get(self, audio_key: str, model_id: str) -> CachedTranscript | None:
        """The stored transcript of the recording `audio_key` (see `audio_digest`) by `model_id`, or None."""
        path = self._path(audio_key, model_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError):
            return None  # a damaged entry is a miss: it is transcribed again and rewritten
        if (data.get("model") != model_id or data.get("version") != TRANSCRIBE_VERSION
                or not isinstance(data.get("text"), str)):
            return None
        words, languages = data.get("words"), data.get("languages")
        return CachedTranscript(data["text"], None if words is None else tuple((float(s), float(d), str(w)) for s, d, w in words),
                                None if not isinstance(languages, dict) else {str(k): float(v) for k, v in languages.items()})

    def put(self, audio_key: str, model_id: str, text: str,
            words: Sequence[tuple[float, float, str]] | None = None,
            languages: Mapping[str, float] | None = None) -> None:
        """Store one transcript (atomically: a reader never sees half a file)."""
        path = self._path(audio_key, model_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"model": model_id, "version": TRANSCRIBE_VERSION, "text": text,
                "words": None if words is None else [list(w) for w in words],
                "languages": None if languages is None else dict(languages)}
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    def forget(self, audio_keys) -> int:
        """Delete the transcripts of these recordings (`audio_digest` keys) by every model; returns how many.
        A deleted learner's words must not outlive their recordings."""
        removed = 0
        for key in set(audio_keys):
            for path in self.root.glob(f"*/{key[:2]}/{key}.json") if self.root.is_dir() else ():
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def export(self, path: str | Path, utterances: Mapping[str, str], model_id: str, ctm: bool = False) -> Path:
        """Write cached transcripts of `utterances` (uttID -> audio digest) as `uttID<TAB>words` lines,
        or with `ctm=True` as CTM lines `uttID 1 start dur word` (needs a transcriber that gave times).

        Raises:
            KeyError: an utterance has no cached transcript by `model_id` (transcribe it first).
            ValueError: `ctm=True` but a transcript has no word times.
        """
        lines = []
        for utt_id, key in utterances.items():
            got = self.get(key, model_id)
            if got is None:
                raise KeyError(f"{utt_id}: no transcript by {model_id!r} in {self.root}; transcribe it first")
            if not ctm:
                lines.append(f"{utt_id}\t{got.text}")
            elif got.words is None:
                raise ValueError(f"{utt_id}: the transcriber {model_id!r} gave no word times; export words "
                                 "(uttID<TAB>words) instead of a CTM")
            else:
                lines += [f"{utt_id} 1 {s:.2f} {d:.2f} {w}" for s, d, w in got.words]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path


class CachedTranscriber:
    """Any Transcriber behind a TranscriptCache: only recordings the cache lacks reach the model.

    `model_id` names the model in the cache key; by default the transcriber's `info().source` (the hub id
    or folder; for a tiny random model, its seed is part of the source) with its files' revision where the
    transcriber knows it (`model_revision`), e.g. "openai/whisper-base.en@e7ebd4f2ba4b". With
    TRANSCRIBE_VERSION in every key, a transcript is reused only when the same code decoded the same
    model files. `hits` / `misses` count lookups.
    """

    def __init__(self, transcriber: Transcriber, cache: TranscriptCache | None = None, model_id: str | None = None):
        self.transcriber = transcriber
        self.cache = cache if cache is not None else TranscriptCache()
        revision = getattr(transcriber, "revision", None)
        source = transcriber.info().source
        self.model_id = model_id or (f"{source}@{revision}" if revision else source)
        self.name = transcriber.name
        self.hits = self.misses = 0

    def info(self) -> GraderInfo:
        return self.transcriber.info()

    def transcribe(self, waveforms: Sequence[np.ndarray]) -> list[str]:
        """One transcript per waveform, in input order; the misses go to the model in one call.

        A transcriber that hears the language in the same pass (`heard_languages`) has it stored beside the text.
        """
        keys = [audio_digest(w) for w in waveforms]
        found = [self.cache.get(k, self.model_id) for k in keys]
        todo = [i for i, got in enumerate(found) if got is None]
        made = self.transcriber.transcribe([waveforms[i] for i in todo]) if todo else []
        languages = self._heard([waveforms[i] for i in todo]) if todo else []
        texts = [got.text if got is not None else "" for got in found]
        for k, (i, text) in enumerate(zip(todo, made)):
            self.cache.put(keys[i], self.model_id, text, languages=languages[k] if languages else None)
            texts[i] = text
        self.hits += len(keys) - len(todo)
        self.misses += len(todo)
        return texts

    def heard_languages(self, waveforms: Sequence[np.ndarray]) -> list[dict[str, float] | None]:
        """The language probabilities of each answer (see Ct2WhisperTranscriber.heard_languages): from the
        cache when stored with the transcript, else from the transcriber (its memory of this process's
        transcriptions, or its language pass), then stored. None for each answer where it cannot tell."""
        if not hasattr(self.transcriber, "heard_languages"):
            return [None] * len(waveforms)
        keys = [audio_digest(w) for w in waveforms]
        found = [self.cache.get(k, self.model_id) for k in keys]
        heard = [got.languages if got is not None else None for got in found]
        todo = [i for i, h in enumerate(heard) if h is None]
        for i, languages in zip(todo, self._heard([waveforms[i] for i in todo]) if todo else []):
            heard[i] = languages
            if languages is not None and found[i] is not None:  # stored with the transcript for the next time
                got = found[i]
                self.cache.put(keys[i], self.model_id, got.text, got.words, languages)
        return heard

    def _heard(self, waveforms: Sequence[np.ndarray]) -> list[dict[str, float] | None]:
        ask = getattr(self.transcriber, "heard_languages", None)
        return ask(waveforms) if ask is not None else [None] * len(waveforms)


__all__ = ["ASR_RUNTIMES", "DEFAULT_CPU_WHISPER", "DEFAULT_WHISPER", "TRANSCRIBERS", "whisper_runtime", "Phi4Transcriber", "Transcriber", "WhisperTranscriber", "load_transcriber",
           "tiny_whisper_model", "tiny_whisper_processor", "tiny_whisper_transcriber", "TranscriptCache", "CachedTranscriber",
           "CachedTranscript", "audio_digest", "default_transcript_cache_dir", "model_revision", "TRANSCRIBE_VERSION"]
