"""Graders: models that turn a part's audio and text into a score on the 2.0..5.5 scale.

Every grader honours one contract, so the pipeline, training and evaluation code treat them alike:
`score(parts) -> list[PartScore]` (one PartScore per PartInput, same order) and `info() -> GraderInfo`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..assessment import GraderInfo, PartScore
from ..data import PartInput


@runtime_checkable
class Grader(Protocol):
    name: str

    def info(self) -> GraderInfo:
        """Where the grader's weights came from and which parts have a trained artifact."""
        ...

    def score(self, parts: Sequence[PartInput]) -> list[PartScore]:
        """Score each part; one PartScore per input, in input order."""
        ...
