"""Answer checks: is each answer assessable at all? (issue 26: "not assessable, with the reason")

- `language`: the spoken language, by Whisper language identification on each answer's first 30 s;
- `topic`: the answer's transcript against its question (sentence-embedding similarity), where known;
- `overlap`: the question read aloud, or another answer of the learner said again (word-trigram containment);
- `recordings`: the same recording given twice (a content hash), within a learner and across a class;
- `answers`: runs them all on one learner's answers (`AnswerChecker`); `load_answer_checker` builds it.

Every check can be turned off (AssessorConfig.check_*, SLA_CHECK_*, --no-check-*).
"""

from __future__ import annotations

from ..assessment import UNTRAINED, GraderInfo
from .answers import CHECK_NAMES, Answer, AnswerChecker, check_reasons, checks_summary
from .recordings import shared_recordings


def load_answer_checker(config, transcriber=None, extra: list[GraderInfo] | None = None) -> AnswerChecker | None:
    """The checks `config` (an AssessorConfig) turns on, with their models; None when every check is off.

    A model that cannot be loaded (offline, unknown id) leaves its check off, said in `extra` (the model
    status), and the assessment runs on. A multilingual Whisper transcriber gives the language check the language
    it heard in its own pass (the CPU default, CTranslate2) or lends its model (transformers on a GPU); an
    English-only or Phi-4 transcriber does not remove the check: it gets whisper-tiny.
    """
    extra = [] if extra is None else extra
    off = [name for name, on in (("language", config.check_language), ("topic", config.check_topic),
                                 ("read-aloud and repeat", config.check_overlap),
                                 ("same recording", config.check_same_recording)) if not on]
    if len(off) == 4:
        return None
    identifier = embedder = None
    if config.check_language:
        from .language import (DEFAULT_LANGUAGE_MODEL, HeardLanguages, WhisperLanguageIdentifier,
                               tiny_language_identifier)

        model_id = config.language_model or DEFAULT_LANGUAGE_MODEL
        # The transcriber's own pass when it hears the language while transcribing (no extra encoder pass); a
        # transformers Whisper on a GPU lends its model (no second one in memory). On a CPU a transformers base or
        # small encoder would cost 2-6x the tiny one per answer, so the check loads whisper-tiny there.
        own = not config.tiny and config.language_model is None
        identifier = HeardLanguages.from_transcriber(transcriber) if own else None
        if identifier is None and own and _on_gpu(transcriber):
            identifier = WhisperLanguageIdentifier.from_transcriber(transcriber)
        if identifier is None:
            identifier = _load(lambda: tiny_language_identifier() if config.tiny and config.language_model is None
                               else WhisperLanguageIdentifier.load(model_id, device=config.device),
                               "language_id", model_id, extra)
    if config.check_topic:
        from .topic import DEFAULT_TOPIC_MODEL, SentenceEmbedder, tiny_sentence_embedder

        model_id = config.topic_model or DEFAULT_TOPIC_MODEL
        embedder = _load(lambda: tiny_sentence_embedder() if config.tiny and config.topic_model is None
                         else SentenceEmbedder.load(model_id, device=config.device), "topic", model_id, extra)
    return AnswerChecker(identifier, embedder, overlap=config.check_overlap,
                         same_recording=config.check_same_recording, off=tuple(off))


def _on_gpu(transcriber) -> bool:
    model = getattr(getattr(transcriber, "transcriber", transcriber), "model", None)
    return model is not None and getattr(model, "device", None) is not None and model.device.type == "cuda"


def _load(build, name: str, source: str, extra: list[GraderInfo]):
    try:
        return build()
    except (OSError, ValueError) as e:  # offline, unknown id, bad path: what from_pretrained raises
        extra.append(GraderInfo(name=name, source=source, state=UNTRAINED, note=f"not loaded, check off: {e}"[:300]))
        return None


__all__ = ["Answer", "AnswerChecker", "CHECK_NAMES", "check_reasons", "checks_summary", "load_answer_checker",
           "shared_recordings"]
