"""Which corpus answers a grader hears: one rule for too little speech, in training and in prediction.

The rule is `audio.check_audio`'s (the same the app applies to a teacher's recordings): an answer that is
empty, unreadable, silent or has too little speech is left out of its part. Training skips a part left
with no answer (nothing to learn from). Prediction still scores it, because the official scorer wants
one score per submission and part: such a part gets `NO_SPEECH_SCORE`, the bottom of the scale, as an
examiner gives a learner who says nothing gradable; its predictions row says so in `note`.
Length is not part of this rule: a long answer is scored (each grader cuts what it cannot take).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import AudioIssue, check_audio, load_audio
from ..cefr import GRID
from ..data import PartInput, PartResponses

NO_SPEECH_SCORE = GRID[0]  # 2.0 (A2): a part with no gradable answer
NO_SPEECH_NOTE = f"no gradable speech in any answer: scored {NO_SPEECH_SCORE} (the bottom of the scale)"


def speech_issue(wav: np.ndarray, *, part: int | None = None, answer: int | None = None,
                 path: str | Path | None = None) -> AudioIssue | None:
    """The AudioIssue that keeps an answer from being graded (audio.py's rule, without a length cap), or None."""
    try:
        check_audio(wav, part=part, answer=answer, path=path, max_seconds=math.inf)
    except AudioIssue as issue:
        return issue
    return None


@dataclass(frozen=True)
class GatedPart:
    """A part's gradable answers (indices into its responses) and why the others were left out."""

    part: int
    kept: tuple[int, ...]
    waveforms: tuple[np.ndarray, ...]  # (samples,) float32 at 16 kHz, one per kept answer
    problems: tuple[str, ...]


def gate_part(pr: PartResponses, keep_audio: bool = True) -> GatedPart:
    """Load and check every answer of a part; keep the gradable ones (see the module docstring)."""
    kept, waves, problems = [], [], []
    for i, r in enumerate(pr.responses):
        if r.audio_path is None:
            problems.append(f"Part {pr.part}, answer {i + 1}: no audio file")
            continue
        try:
            wav = load_audio(r.audio_path, part=pr.part, answer=i)
        except AudioIssue as issue:
            problems.append(str(issue))
            continue
        issue = speech_issue(wav, part=pr.part, answer=i, path=r.audio_path)
        if issue is not None:
            problems.append(str(issue))
            continue
        kept.append(i)
        waves.append(wav if keep_audio else None)
    return GatedPart(pr.part, tuple(kept), tuple(waves), tuple(problems))


def gate_submissions(submissions, parts=None) -> tuple[list, list[str]]:
    """Training's side of the rule: submissions keeping only their gradable answers; a part left with
    none is dropped (nothing to learn from). Returns (submissions, what was left out)."""
    import dataclasses

    out, problems = [], []
    for sub in submissions:
        kept_parts = []
        for pr in sub.parts:
            if parts is not None and pr.part not in parts:
                continue
            gated = gate_part(pr, keep_audio=False)
            problems += [f"{sub.submission_id}: {p}" for p in gated.problems]
            if gated.kept:
                kept_parts.append(dataclasses.replace(pr, responses=tuple(pr.responses[i] for i in gated.kept)))
        out.append(dataclasses.replace(sub, parts=tuple(kept_parts)))
    return out, problems


def part_input(pr: PartResponses, gated: GatedPart, submission_id: str, with_audio: bool) -> PartInput:
    """The grader's input from a part's kept answers (audio left out for a text-only grader)."""
    rs = [pr.responses[i] for i in gated.kept]
    waves = gated.waveforms if with_audio else tuple(None for _ in rs)
    return PartInput(part=pr.part, waveforms=waves, submission_id=submission_id,
                     questions=tuple(r.question for r in rs), transcripts=tuple(r.transcript for r in rs))


__all__ = ["NO_SPEECH_SCORE", "NO_SPEECH_NOTE", "speech_issue", "GatedPart", "gate_part", "gate_submissions",
           "part_input"]
