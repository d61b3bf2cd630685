"""Which language an answer is spoken in: one Whisper language-identification pass on its first 30 s.

Whisper predicts the language as the first token after <|startoftranscript|>: a softmax over the
language tokens at that position gives each language's probability (what openai/whisper's
`detect_language` returns; transformers' `detect_language` returns only the arg-max). One encoder pass
per answer and one decoder step. Where the transcriber is itself a multilingual Whisper, the language comes
from the transcriber's own pass instead (`HeardLanguages`: the CPU default, Whisper-base through CTranslate2,
reads it from each answer's first window while transcribing, so the check costs no second encoder pass), or
(on a GPU) from its loaded model (`WhisperLanguageIdentifier.from_transcriber`). An English-only or Phi-4
transcriber does not remove the check: it gets its own identifier.

Default model of that own pass: openai/whisper-tiny (multilingual), chosen by measured cost: 13 answers cost 13
encoder passes of a 30 s window, and base costs about twice tiny (bench/bench_cpu.py, README). The decision is
English vs not, at `DEFAULT_MIN_ENGLISH`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..assessment import UNTRAINED, ZERO_SHOT, GraderInfo
from ..audio import SAMPLE_RATE

DEFAULT_LANGUAGE_MODEL = "openai/whisper-tiny"  # multilingual: the *.en checkpoints have no language tokens
LID_SECONDS = 30.0  # Whisper's window: the language is read from each answer's first 30 s
# An answer is "not English" when English gets less than this probability (among Whisper's ~99 languages).
# Measured with the real Whisper-base on espeak-ng speech (bench/measure_checks.py --speech, README "Answer
# checks"): English voices never went below 0.45 (0/107 alarms); English text said by other languages' voices,
# a heavy accent, alarmed 3/36 at 0.05, 8/36 at 0.10, 12/36 at 0.20; French, German and Spanish answers were
# caught 17/24 at 0.05, 22/24 at 0.10. Low on purpose: a wrong "not English" costs a learner a part, while a
# missed one still shows its measured language in the part's checks for the teacher to see.
DEFAULT_MIN_ENGLISH = 0.05
ENGLISH = "en"

# ISO 639-1 code -> name, for the languages a teacher is most likely to meet; others are shown by code.
LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "pl": "Polish", "ru": "Russian", "uk": "Ukrainian", "tr": "Turkish", "ar": "Arabic",
    "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "vi": "Vietnamese", "th": "Thai", "hi": "Hindi",
    "ur": "Urdu", "bn": "Bengali", "fa": "Persian", "el": "Greek", "ro": "Romanian", "hu": "Hungarian",
    "cs": "Czech", "sv": "Swedish", "no": "Norwegian", "da": "Danish", "fi": "Finnish", "id": "Indonesian",
    "ms": "Malay", "he": "Hebrew", "ca": "Catalan",
}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class LanguageGuess:
    """What the identifier heard in one answer: the most likely language and English's probability."""

    language: str  # ISO 639-1 code of the most likely language, e.g. "fr"
    probability: float  # its probability
    english: float  # probability of English (the decision reads this)

    def words(self) -> str:
        """"French (p=0.93; English 0.02)" or "English (p=0.97)"."""
        said = f"{language_name(self.language)} (p={self.probability:.2f}"
        return said + (")" if self.language == ENGLISH else f"; English {self.english:.2f})")


def language_probabilities(logits: torch.Tensor, lang_to_id: Mapping[str, int]) -> list[dict[str, float]]:
    """Each row's probability per language, from the decoder's logits after <|startoftranscript|>.

    Args:
        logits: (batch, vocab) logits of the first decoding step.
        lang_to_id: "<|en|>" -> token id, as in a Whisper generation config.
    Returns:
        One {code: probability} per row, summing to 1 over the languages (softmax over their tokens only).
    """
    codes = [token.strip("<|>") for token in lang_to_id]
    ids = torch.tensor(list(lang_to_id.values()), dtype=torch.long)
    probs = logits.float().index_select(-1, ids).softmax(-1)  # (batch, languages)
    return [dict(zip(codes, row.tolist())) for row in probs]


def guess_from(probabilities: Mapping[str, float]) -> LanguageGuess:
    """The LanguageGuess of one answer's language probabilities."""
    language = max(probabilities, key=probabilities.get)
    return LanguageGuess(language, float(probabilities[language]), float(probabilities.get(ENGLISH, 0.0)))


class WhisperLanguageIdentifier:
    """Spoken-language identification by a multilingual Whisper checkpoint (one pass per answer)."""

    name = "language_id"

    def __init__(self, model, processor, *, source: str, batch_size: int = 4, random: bool = False):
        lang_to_id = getattr(model.generation_config, "lang_to_id", None) or {}
        if ENGLISH not in {t.strip("<|>") for t in lang_to_id}:
            raise ValueError(f"{source}: not a multilingual Whisper (its generation config has no <|en|> language "
                             "token); *.en checkpoints cannot identify a language: use e.g. openai/whisper-tiny")
        self.model = model.eval()
        self.processor = processor
        self.source = source
        self.batch_size = batch_size
        self.random = random  # a random test model: its guesses are noise, and the pipeline does not act on them

    @classmethod
    def load(cls, model_id: str = DEFAULT_LANGUAGE_MODEL, device: str | torch.device | None = None,
             **kwargs) -> "WhisperLanguageIdentifier":
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        from ..graders.phi4 import pick_device

        device = pick_device(device)
        processor = WhisperProcessor.from_pretrained(model_id)
        # fp32 on a CPU; fp16 on a GPU (one encoder pass: precision hardly matters to a language decision)
        dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
        model = WhisperForConditionalGeneration.from_pretrained(model_id, dtype=dtype).to(device)
        return cls(model, processor, source=str(model_id), **kwargs)

    @classmethod
    def from_transcriber(cls, transcriber) -> "WhisperLanguageIdentifier | None":
        """The identifier over a multilingual WhisperTranscriber's loaded model (None for any other transcriber)."""
        inner = getattr(transcriber, "transcriber", transcriber)  # a CachedTranscriber wraps the model's
        model = getattr(inner, "model", None)
        if getattr(inner, "name", None) != "whisper" or not getattr(model.generation_config, "is_multilingual", False):
            return None
        if len(getattr(model.generation_config, "lang_to_id", None) or {}) < 2:
            return None  # a checkpoint that knows English only (the tiny test transcriber) cannot tell languages apart
        return cls(model, inner.processor, source=inner.source, random=getattr(inner, "random", False))

    @property
    def trusted(self) -> bool:
        return not self.random

    def info(self) -> GraderInfo:
        return GraderInfo(self.name, self.source, UNTRAINED if self.random else ZERO_SHOT,
                          note="spoken-language check: Whisper language identification on each answer's first 30 s")

    @torch.inference_mode()
    def identify(self, waveforms: Sequence[np.ndarray]) -> list[LanguageGuess]:
        """One LanguageGuess per (samples,) float32 16 kHz waveform, in input order."""
        gen = self.model.generation_config
        window = int(LID_SECONDS * SAMPLE_RATE)
        guesses: list[LanguageGuess] = []
        for start in range(0, len(waveforms), self.batch_size):
            clips = [np.asarray(w[:window], dtype=np.float32) for w in waveforms[start:start + self.batch_size]]
            features = self.processor.feature_extractor(clips, sampling_rate=SAMPLE_RATE, return_tensors="pt")
            features = features.input_features.to(self.model.device, self.model.dtype)  # (b, 80, 3000)
            prompt = torch.full((len(clips), 1), gen.decoder_start_token_id, device=self.model.device)
            logits = self.model(input_features=features, decoder_input_ids=prompt, use_cache=False).logits[:, -1]
            guesses += [guess_from(p) for p in language_probabilities(logits, gen.lang_to_id)]
        return guesses


# -- the tiny offline twin ----------------------------------------------------------------------------

TINY_LANGUAGES = ("en", "fr", "de", "es")


class HeardLanguages:
    """The spoken language a multilingual Whisper transcriber heard in its own transcription pass.

    `transcriber.heard_languages(waveforms)` gives each answer's language probabilities from the first window it
    encoded while transcribing (kept beside the transcript in the cache); an answer it did not transcribe (its
    transcript was given) gets its language pass alone, one encoder window. The same `identify`, `trusted`,
    `info` as WhisperLanguageIdentifier, so the checks cannot tell them apart.
    """

    name = "language_id"

    def __init__(self, transcriber) -> None:
        self.transcriber = transcriber

    @classmethod
    def from_transcriber(cls, transcriber) -> "HeardLanguages | None":
        """The transcriber's own language when it hears one (a multilingual Whisper with `heard_languages`), else None."""
        inner = getattr(transcriber, "transcriber", transcriber)  # a CachedTranscriber wraps the model's
        if not getattr(inner, "multilingual", False) or not hasattr(transcriber, "heard_languages"):
            return None
        return cls(transcriber)

    @property
    def trusted(self) -> bool:
        return self.transcriber.info().state != UNTRAINED

    def info(self) -> GraderInfo:
        asr = self.transcriber.info()
        return GraderInfo(self.name, asr.source, asr.state,
                          note="spoken-language check: from the transcriber's own pass over each answer's first 30 s")

    def identify(self, waveforms: Sequence[np.ndarray]) -> list[LanguageGuess]:
        heard = self.transcriber.heard_languages(list(waveforms))
        missing = [i for i, h in enumerate(heard) if not h]
        if missing:  # a multilingual model always hears a language: a gap is a fault, not an English answer
            raise RuntimeError(f"the transcriber heard no language in answer(s) {[i + 1 for i in missing]}")
        return [guess_from(h) for h in heard]


def tiny_language_identifier(seed: int = 0) -> WhisperLanguageIdentifier:
    """A 1-layer random multilingual Whisper with a few language tokens: real plumbing, random guesses."""
    from ..asr import tiny_whisper_model, tiny_whisper_processor

    processor = tiny_whisper_processor()
    tok = processor.tokenizer
    tok.add_tokens([f"<|{c}|>" for c in TINY_LANGUAGES if c != ENGLISH], special_tokens=True)
    model = tiny_whisper_model(tok, seed)
    gen = model.generation_config
    gen.lang_to_id = {f"<|{c}|>": tok.convert_tokens_to_ids(f"<|{c}|>") for c in TINY_LANGUAGES}
    return WhisperLanguageIdentifier(model, processor, source=f"tiny whisper language id (random seed {seed}, offline)",
                                     random=True)


__all__ = ["DEFAULT_LANGUAGE_MODEL", "DEFAULT_MIN_ENGLISH", "HeardLanguages", "LanguageGuess", "WhisperLanguageIdentifier",
           "guess_from", "language_name", "language_probabilities", "tiny_language_identifier"]
