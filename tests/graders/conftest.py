"""Fixtures shared by the grader tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla_core.audio import load_checked
from sla_core.data import PartInput
from sla_core.parts import PARTS

EXAMPLE = Path(__file__).resolve().parents[2] / "assets" / "example_learner"  # espeak-ng speech, every part


@pytest.fixture(scope="session")
def example_parts() -> list[PartInput]:
    """The example learner's answers for every part, loaded and checked as the pipeline does."""
    parts = []
    for p in PARTS:
        files = sorted(EXAMPLE.glob(f"part{p}*.wav"))
        parts.append(PartInput(part=p, waveforms=tuple(load_checked(f)[0] for f in files)))
    return parts
