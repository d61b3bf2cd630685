"""The per-part speech graders behind the Grader protocol: a learner's parts in, PartScores out.

The models themselves are `model.SpeechGrader`; this module routes each part to its grader, checks every
answer's audio first (a bad answer fails with its part and answer number, before any encoder runs), and
carries each part's trained/untrained state into the PartScore so no screen shows a random head's score
as a grade.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ...assessment import TRAINED, UNTRAINED, GraderInfo, PartScore
from ...data import PartInput
from .model import SpeechGrader, check_waveform


class SpeechGraders:
    """The per-part speech graders behind the Grader protocol (sla_core.graders.Grader)."""

    name = "speech"

    def __init__(self, graders: dict[int, SpeechGrader], states: dict[int, str], source: str,
                 precision_note: str = "") -> None:
        if set(graders) != set(states):
            raise ValueError(f"graders for parts {sorted(graders)} but states for parts {sorted(states)}")
        self.graders, self.states, self.source = dict(graders), dict(states), source
        self.precision_note = precision_note  # e.g. "runs in bf16 (this CPU has amx_bf16)": the status says which path runs

    def info(self) -> GraderInfo:
        trained = tuple(p for p in sorted(self.graders) if self.states[p] == TRAINED)
        untrained = [str(p) for p in sorted(self.graders) if self.states[p] != TRAINED]
        notes = [f"untrained (random head) for part(s) {', '.join(untrained)}" if untrained else "", self.precision_note]
        return GraderInfo(name=self.name, source=self.source, state=TRAINED if trained else UNTRAINED,
                          parts=trained, note="; ".join(n for n in notes if n))

    def set_prototypes(self, part: int, levels: Sequence[float], vectors: np.ndarray | torch.Tensor) -> None:
        """Teacher calibration: move part `part`'s prototypes of `levels` to `vectors` (L, H)."""
        if part not in self.graders:
            raise ValueError(f"no speech grader for part {part}; loaded parts: {sorted(self.graders)}")
        self.graders[part].set_prototypes(levels, vectors)

    def reset_prototypes(self) -> None:
        """Every part back to the prototypes it was loaded with."""
        for grader in self.graders.values():
            grader.reset_prototypes()

    def score(self, parts: Sequence[PartInput]) -> list[PartScore]:
        """One PartScore per PartInput, in order; each part's inputs go through its grader in batches.

        PartScore.score is clipped to 2.0..5.5 so fusion and the UI always see the scale; the raw head
        output is SpeechGrader.predict()'s SpeechOutput.raw_score.
        """
        results: list[PartScore | None] = [None] * len(parts)
        for number in sorted({p.part for p in parts}):
            if number not in self.graders:
                raise ValueError(f"no speech grader for part {number}; loaded parts: {sorted(self.graders)}")
            indices = [i for i, p in enumerate(parts) if p.part == number]
            for i in indices:
                for j, w in enumerate(parts[i].waveforms):
                    check_waveform(w, f"part {number}, answer {j + 1}")
            outputs = self.graders[number].predict([parts[i].waveforms for i in indices])
            for i, out in zip(indices, outputs):
                results[i] = PartScore(
                    grader=self.name, part=number, score=out.score, state=self.states[number],
                    prototype_levels=out.prototype_levels,
                    similarities=tuple(float(v) for v in out.similarities),
                    pooling_weights=tuple(tuple(float(v) for v in w) for w in out.pooling_weights),
                )
        return results  # type: ignore[return-value]


__all__ = ["SpeechGraders"]
