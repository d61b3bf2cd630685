"""Delivery measures of one answer and of one part, and what each one means.

Every measure is computed from two things found in the recording itself: the speech segments of a
voice-activity detector (Silero VAD, sla_core/delivery/vad.py) and the syllable nuclei of de Jong & Wempe
(2009, Behavior Research Methods 41(2), 385-390; sla_core/delivery/nuclei.py). Nothing depends on other
answers, other learners or a trained grader, so one answer's measures are the same whatever else was
submitted with it.

Definitions (s = seconds, syl = syllables):
- time to start speaking: from the start of the recording to the first speech segment. Not a pause.
- trailing silence: from the end of the last speech segment to the end of the recording. Not a pause.
- speaking span: from the first speech to the last (the recording minus the two silences above).
- silent pause: a gap between two speech segments of at least PAUSE_SECONDS = 0.25 s, the threshold
  de Jong & Bosker (2013, Proc. DiSS, "Choosing a threshold for silent pauses to measure second language
  fluency") found best for L2 fluency; long pause: at least LONG_PAUSE_SECONDS = 1 s. Shorter gaps
  (stop closures, breaths) count as speaking.
- speaking time (phonation time): the speaking span minus its silent pauses.
- phonation-time ratio: speaking time / speaking span (de Jong & Wempe 2009, "phonation time / total
  time", with total time taken from the first word to the last so a late start is not counted twice).
- mean pause and longest pause (with its start time in the recording): over the silent pauses.
- speech rate: syllables / speaking span (syl/s); articulation rate: syllables / speaking time (syl/s)
  (de Jong & Wempe 2009).
- mean length of run: syllables per run of speech between silent pauses (syllables / (pauses + 1)),
  as in Towell, Hawkins & Bazergui (1996) with runs cut at the pause threshold above.
- words per minute: words of the transcript / speaking span, only when a transcript exists.

A part (Parts 1 and 5 have several answers) pools its answers: times, syllables, pauses and runs are
summed over the answers and the rates are recomputed from the sums, so a 5 s answer weighs less than a
40 s one. Silence between two answers is not a pause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PAUSE_SECONDS = 0.25  # s; shortest silent pause (de Jong & Bosker 2013)
LONG_PAUSE_SECONDS = 1.0  # s; a pause a listener notices as a hesitation


@dataclass(frozen=True)
class AnswerDelivery:
    """The delivery measures of one recorded answer (see the module docstring for each definition)."""

    duration_s: float  # the whole recording
    segments: tuple[tuple[float, float], ...]  # (start, end) s of each speech segment
    nuclei: tuple[float, ...]  # time (s) of each syllable nucleus
    pauses: tuple[tuple[float, float], ...]  # (start, length) s of each silent pause
    start_s: float  # time to start speaking
    trailing_s: float  # silence after the last word
    span_s: float  # first word to last word
    speaking_s: float  # phonation time
    syllables: int
    words: int | None = None  # words in the transcript, None without one

    @property
    def n_pauses(self) -> int:
        return len(self.pauses)

    @property
    def long_pauses(self) -> tuple[tuple[float, float], ...]:
        return tuple(p for p in self.pauses if p[1] >= LONG_PAUSE_SECONDS)

    @property
    def longest_pause(self) -> tuple[float, float] | None:
        """(start, length) of the longest silent pause, or None without pauses."""
        return max(self.pauses, key=lambda p: p[1]) if self.pauses else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AnswerDelivery":
        values = {k: v for k, v in data.items() if k != "summary"}  # the summary is recomputed, not read
        for key in ("segments", "pauses"):
            values[key] = tuple(tuple(v) for v in values.get(key, ()))
        values["nuclei"] = tuple(values.get("nuclei", ()))
        return cls(**values)


def measure_answer(duration_s: float, segments: Sequence[tuple[float, float]], nuclei: Sequence[float],
                   transcript: str | None = None) -> AnswerDelivery:
    """Measures of one answer from its speech segments and syllable nuclei.

    Args:
        duration_s: length of the recording in seconds.
        segments: (start, end) s of each speech segment, in time order.
        nuclei: syllable nucleus times in seconds.
        transcript: what was said, when known (gives words per minute).
    """
    segments = tuple((float(a), float(b)) for a, b in segments)
    words = len(transcript.split()) if transcript and transcript.strip() else None
    if not segments:
        return AnswerDelivery(round(duration_s, 3), (), (), (), round(duration_s, 3), 0.0, 0.0, 0.0, 0, words)
    gaps = [(end, start - end) for (_, end), (start, _) in zip(segments, segments[1:])]
    pauses = tuple((round(t, 3), round(g, 3)) for t, g in gaps if g >= PAUSE_SECONDS)
    span = segments[-1][1] - segments[0][0]
    speaking = span - sum(g for _, g in pauses)
    nuclei = tuple(float(t) for t in nuclei if segments[0][0] <= t <= segments[-1][1])
    return AnswerDelivery(
        duration_s=round(duration_s, 3), segments=segments, nuclei=nuclei, pauses=pauses,
        start_s=round(segments[0][0], 3), trailing_s=round(max(duration_s - segments[-1][1], 0.0), 3),
        span_s=round(span, 3), speaking_s=round(speaking, 3), syllables=len(nuclei), words=words)


@dataclass(frozen=True)
class PartDelivery:
    """One part's delivery: its answers' measures and the pooled figures a teacher reads first."""

    answers: tuple[AnswerDelivery, ...]

    def _sum(self, name: str) -> float:
        return sum(getattr(a, name) for a in self.answers)

    @property
    def duration_s(self) -> float:
        return round(self._sum("duration_s"), 3)

    @property
    def span_s(self) -> float:
        return round(self._sum("span_s"), 3)

    @property
    def speaking_s(self) -> float:
        return round(self._sum("speaking_s"), 3)

    @property
    def syllables(self) -> int:
        return int(self._sum("syllables"))

    @property
    def n_pauses(self) -> int:
        return sum(a.n_pauses for a in self.answers)

    @property
    def n_long_pauses(self) -> int:
        return sum(len(a.long_pauses) for a in self.answers)

    @property
    def phonation_ratio(self) -> float | None:
        return _ratio(self.speaking_s, self.span_s)

    @property
    def speech_rate(self) -> float | None:
        """Syllables per second of speaking span."""
        return _ratio(self.syllables, self.span_s)

    @property
    def articulation_rate(self) -> float | None:
        """Syllables per second of speaking time."""
        return _ratio(self.syllables, self.speaking_s)

    @property
    def mean_length_of_run(self) -> float | None:
        """Syllables per run between silent pauses."""
        runs = sum(a.n_pauses + 1 for a in self.answers if a.segments)
        return _ratio(self.syllables, runs)

    @property
    def mean_pause_s(self) -> float | None:
        lengths = [g for a in self.answers for _, g in a.pauses]
        return round(sum(lengths) / len(lengths), 3) if lengths else None

    @property
    def longest_pause(self) -> tuple[int, float, float] | None:
        """(answer index, start s, length s) of the part's longest silent pause, or None."""
        found = [(i, *a.longest_pause) for i, a in enumerate(self.answers) if a.longest_pause]
        return max(found, key=lambda f: f[2]) if found else None

    @property
    def start_s(self) -> float | None:
        """Mean time to start speaking over the answers."""
        return _ratio(self._sum("start_s"), len(self.answers))

    @property
    def words_per_minute(self) -> float | None:
        """Transcript words per minute of speaking span, when every answer has a transcript."""
        if not self.answers or any(a.words is None for a in self.answers):
            return None
        return _ratio(60 * self._sum("words"), self.span_s)

    def summary(self) -> dict[str, float | int | None]:
        """The main measures as one flat record (the CLI, the class table and the CSV read this)."""
        longest = self.longest_pause
        return {
            "speaking_s": self.speaking_s, "duration_s": self.duration_s,
            "phonation_ratio": self.phonation_ratio, "speech_rate": self.speech_rate,
            "articulation_rate": self.articulation_rate, "pauses": self.n_pauses,
            "long_pauses": self.n_long_pauses, "mean_pause_s": self.mean_pause_s,
            "longest_pause_s": longest[2] if longest else None,
            "longest_pause_at_s": longest[1] if longest else None,
            "longest_pause_answer": longest[0] + 1 if longest else None,
            "mean_length_of_run": self.mean_length_of_run, "start_s": self.start_s,
            "words_per_minute": self.words_per_minute, "syllables": self.syllables,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PartDelivery":
        return cls(tuple(AnswerDelivery.from_dict(a) for a in data.get("answers", ())))


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b > 0 else None
