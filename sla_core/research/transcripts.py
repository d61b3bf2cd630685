"""Transcripts for a whole split: the corpus CTM where the split has one, the project's ASR elsewhere.

The S&I corpus ships the baseline's Whisper-small CTMs for dev only, so the train and eval answers get
their words from our own ASR. Every transcript goes through the one transcript cache
(`asr.TranscriptCache`, in the data folder), keyed by the recording's content and the ASR model: a
split is transcribed once, and `predict`, `train` and `transcribe` then read the same words.

ASR by name (`ASR_CHOICES`): "whisper" (default `openai/whisper-small`, the baseline's model, so train
transcripts match the dev CTMs), "phi4" (the multimodal grader's own speech adapter; needs that grader),
"tiny" (the tiny random Whisper: offline plumbing, its words are noise), "none" (an answer without a
transcript is then an error for the graders that read text).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

from ..data import Submission

ASR_CHOICES: tuple[str, ...] = ("whisper", "phi4", "tiny", "none")
ASR_BATCH = 16  # recordings per ASR call: the cache is filled batch by batch, so an interrupted run keeps them


def load_asr(kind: str = "whisper", *, model_id: str | None = None, grader=None, device=None,
             cache_dir: str | Path | None = None):
    """A CachedTranscriber by name (see the module docstring), or None for "none".

    Args:
        model_id: Whisper checkpoint (hub id or folder) for "whisper".
        grader: the loaded multimodal grader, for "phi4" (its model is reused).
        cache_dir: the transcript cache folder; None -> the data folder's (`asr.default_transcript_cache_dir`).
    """
    from ..asr import CachedTranscriber, TranscriptCache, load_transcriber, tiny_whisper_transcriber

    if kind not in ASR_CHOICES:
        raise ValueError(f"unknown ASR {kind!r}; expected one of {', '.join(ASR_CHOICES)}")
    if kind == "none":
        return None
    if kind == "tiny":
        model = tiny_whisper_transcriber()
    else:
        model = load_transcriber(kind, grader=grader, model_id=model_id, device=device)
    return CachedTranscriber(model, TranscriptCache(cache_dir))


def missing(submissions: Sequence[Submission]) -> list[tuple[int, int, int]]:
    """(submission, part, answer) indices of answers with audio but no transcript."""
    return [(s, p, a) for s, sub in enumerate(submissions) for p, part in enumerate(sub.parts)
            for a, r in enumerate(part.responses) if r.transcript is None and r.audio_path is not None]


def fill_transcripts(submissions: Sequence[Submission], transcriber, desc: str = "ASR",
                     problems: list[str] | None = None, digests: dict[str, str] | None = None) -> list[Submission]:
    """The submissions with every unknown transcript made by `transcriber` (a CachedTranscriber).

    An answer whose audio cannot be read keeps transcript None; its problem is appended to `problems`
    (the grader then reports that part as it would any unreadable answer). `digests`, when given,
    receives uttID -> audio digest of each transcribed answer (what `TranscriptCache.export` takes).
    """
    from ..asr import audio_digest
    from ..audio import AudioIssue, load_audio
    from .train.common import progress

    todo = missing(submissions)
    if not todo or transcriber is None:
        return list(submissions)
    made: dict[tuple[int, int, int], str] = {}
    for start in progress(range(0, len(todo), ASR_BATCH), desc, total=math.ceil(len(todo) / ASR_BATCH)):
        clips, keys = [], []
        for s, p, a in todo[start:start + ASR_BATCH]:
            part = submissions[s].parts[p]
            try:
                clips.append(load_audio(part.responses[a].audio_path, part=part.part, answer=a))
                keys.append((s, p, a))
                if digests is not None and part.responses[a].utt_id:
                    digests[part.responses[a].utt_id] = audio_digest(clips[-1])
            except AudioIssue as issue:
                if problems is not None:
                    problems.append(f"{submissions[s].submission_id}: {issue}")
        made.update(zip(keys, transcriber.transcribe(clips) if clips else []))
    out = []
    for s, sub in enumerate(submissions):
        parts = []
        for p, part in enumerate(sub.parts):
            responses = tuple(dataclasses.replace(r, transcript=made[(s, p, a)]) if (s, p, a) in made else r
                              for a, r in enumerate(part.responses))
            parts.append(dataclasses.replace(part, responses=responses))
        out.append(dataclasses.replace(sub, parts=tuple(parts)))
    return out


def export_words(submissions: Sequence[Submission], path: str | Path) -> Path:
    """`uttID<TAB>words` for every answer with a transcript (the baseline's text files' shape)."""
    lines = [f"{r.utt_id or f'{sub.submission_id}-P{part.part}-{a + 1}'}\t{r.transcript}"
             for sub in submissions for part in sub.parts for a, r in enumerate(part.responses)
             if r.transcript is not None]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


__all__ = ["ASR_CHOICES", "load_asr", "missing", "fill_transcripts", "export_words"]
