"""Typed records of what a learner said: responses, parts, submissions.

These are the nouns every other module speaks. Corpus loaders (S&I layout, CSV manifest) build
them; `assess.py` turns them into `PartInput`s (audio loaded and checked) for the graders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .parts import PARTS, part_info


@dataclass(frozen=True)
class Response:
    """One spoken answer: where its audio is and what is known about it."""

    audio_path: Path | None  # None when a transcript-only response is graded
    item: str | None = None  # S&I item code, e.g. "P10003"
    question: str | None = None  # Q_p for this answer; None falls back to the part's default
    transcript: str | None = None  # given transcript (e.g. corpus ASR); None -> asr.py makes one
    utt_id: str | None = None  # S&I utterance id, e.g. "SI114J-00011-P10003"


@dataclass(frozen=True)
class PartResponses:
    """All answers of one part of one submission, with the human mark if known."""

    part: int
    responses: tuple[Response, ...]
    mark: float | None = None  # 2.0..5.5, step 0.5

    def __post_init__(self) -> None:
        part_info(self.part)  # validates the part number


@dataclass(frozen=True)
class Submission:
    """One learner's test: up to four parts (any subset), with the overall mark if known."""

    submission_id: str
    parts: tuple[PartResponses, ...]
    overall_mark: float | None = None

    def part(self, part: int) -> PartResponses | None:
        return next((p for p in self.parts if p.part == part), None)

    @property
    def part_numbers(self) -> tuple[int, ...]:
        return tuple(p for p in PARTS if self.part(p) is not None)


@dataclass(frozen=True)
class PartInput:
    """What a grader sees for one part: checked 16 kHz mono audio plus text context.

    `waveforms`, `questions` and `transcripts` are aligned, one entry per answer.
    A waveform may be None only for transcript-only grading (multimodal grader, TO variant).
    """

    part: int
    waveforms: tuple[np.ndarray | None, ...]  # each (samples,) float32 at SAMPLE_RATE
    questions: tuple[str | None, ...] = ()
    transcripts: tuple[str | None, ...] = ()
    submission_id: str | None = None

    def __post_init__(self) -> None:
        part_info(self.part)
        n = len(self.waveforms)
        if n == 0:
            raise ValueError(f"part {self.part}: a PartInput needs at least one answer")
        # Pad the text fields so callers may leave them out.
        for name in ("questions", "transcripts"):
            values = tuple(getattr(self, name))
            if len(values) > n:
                raise ValueError(f"part {self.part}: {len(values)} {name} for {n} answers")
            object.__setattr__(self, name, values + (None,) * (n - len(values)))

    @property
    def n_answers(self) -> int:
        return len(self.waveforms)


__all__ = ["Response", "PartResponses", "Submission", "PartInput"]
