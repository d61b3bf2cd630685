"""Measure answers from their audio: voice activity, then syllable nuclei, then the measures.

The pipeline calls `measure_part` with the waveforms it has already loaded and the speech segments
`audio.check_audio` already found, so nothing is read or detected twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..audio import SAMPLE_RATE
from .measures import AnswerDelivery, PartDelivery, measure_answer
from .nuclei import syllable_nuclei
from .vad import speech_segments


def measure_waveform(wav: np.ndarray, segments: Sequence[tuple[float, float]] | None = None,
                     transcript: str | None = None) -> AnswerDelivery:
    """Delivery measures of one 16 kHz mono answer.

    Args:
        wav: (samples,) float at SAMPLE_RATE.
        segments: its (start, end) speech segments when already known (AudioStats.segments).
        transcript: what was said, when known.
    """
    if segments is None:
        segments = tuple((s.start, s.end) for s in speech_segments(wav))
    return measure_answer(len(wav) / SAMPLE_RATE, segments, syllable_nuclei(wav, segments), transcript)


def measure_part(waveforms: Sequence[np.ndarray], segments: Sequence[Sequence[tuple[float, float]] | None],
                 transcripts: Sequence[str | None] = ()) -> PartDelivery:
    """Delivery measures of one part's answers, each measured on its own (see measures.PartDelivery)."""
    transcripts = tuple(transcripts) + (None,) * (len(waveforms) - len(transcripts))
    return PartDelivery(tuple(measure_waveform(w, s, t) for w, s, t in zip(waveforms, segments, transcripts)))
