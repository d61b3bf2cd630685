"""The answer checks, run on every answer before grading: language, topic, read-aloud, repeat, same recording.

Each check records what it measured (`AnswerCheck`). An answer that fails one is not graded; a part whose
every answer fails is "not assessable" (the pipeline, `assess.py`, applies this). A check whose evidence
cannot be trusted (a random test model, a transcript made by one, an unknown question) is recorded as
"not judged" and never fails an answer: no answer is refused on noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..assessment import FAILED, NOT_JUDGED, PASSED, AnswerCheck, GraderInfo
from ..asr import audio_digest
from ..parts import part_info
from .language import DEFAULT_MIN_ENGLISH, language_name
from .overlap import DEFAULT_MAX_OVERLAP, containment
from .topic import DEFAULT_MIN_SIMILARITY

CHECK_NAMES = ("language", "topic", "read_aloud", "repeat", "same_recording")
MIN_TOPIC_WORDS = 5  # "Yes, I do." says too little for a topic to be judged


@dataclass(frozen=True)
class Answer:
    """One answer as the checks see it."""

    part: int
    number: int  # 1 = the part's first recording given
    waveform: np.ndarray  # (samples,) float32 16 kHz
    transcript: str | None = None
    question: str | None = None  # the question asked, where known (never a default in its place)
    text_trusted: bool = True  # False: the transcript comes from a random test model

    @property
    def where(self) -> str:
        return f"Part {self.part}, answer {self.number}"


@dataclass
class AnswerChecker:
    """The checks and their models; `check` runs them on one learner's answers.

    Args:
        identifier: a WhisperLanguageIdentifier (or any object with `identify`, `trusted`, `info`); None: check off.
        embedder: a SentenceEmbedder (or any object with `similarities`, `trusted`, `info`); None: check off.
        overlap: run the read-aloud and repeat checks (text overlap).
        same_recording: flag an answer whose recording is the same as an earlier answer's.
    """

    identifier: object | None = None
    embedder: object | None = None
    overlap: bool = True
    same_recording: bool = True
    min_english: float = DEFAULT_MIN_ENGLISH
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    max_overlap: float = DEFAULT_MAX_OVERLAP
    off: tuple[str, ...] = field(default=())  # names of the checks turned off (said in the model status)

    def info(self) -> tuple[GraderInfo, ...]:
        infos = [m.info() for m in (self.identifier, self.embedder) if m is not None]
        on = [name for name, running in (("language", self.identifier is not None),
                                         ("topic", self.embedder is not None),
                                         ("read-aloud and repeat", self.overlap),
                                         ("same recording", self.same_recording)) if running]
        note = f"on: {', '.join(on) or 'none'}" + (f"; off: {', '.join(self.off)}" if self.off else "")
        return (*infos, GraderInfo("checks", "answer checks", "zero-shot", note=note))

    def check(self, answers: Sequence[Answer]) -> dict[tuple[int, int], tuple[AnswerCheck, ...]]:
        """Every check on every answer: (part, answer number) -> its checks, in CHECK_NAMES order."""
        found: dict[tuple[int, int], list[AnswerCheck]] = {(a.part, a.number): [] for a in answers}
        if self.identifier is not None and answers:
            for a, check in zip(answers, self._language(answers)):
                found[(a.part, a.number)].append(check)
        if self.embedder is not None and answers:
            for a, check in zip(answers, self._topic(answers)):
                found[(a.part, a.number)].append(check)
        if self.overlap:
            for k, a in enumerate(answers):
                found[(a.part, a.number)] += [self._read_aloud(a), self._repeat(a, answers[:k])]
        if self.same_recording:
            digests = [audio_digest(a.waveform) for a in answers]
            for k, a in enumerate(answers):
                found[(a.part, a.number)].append(_same_recording(a, digests[k], answers[:k], digests[:k]))
        return {key: tuple(checks) for key, checks in found.items()}

    # -- the checks ------------------------------------------------------------------------------

    def _language(self, answers: Sequence[Answer]) -> list[AnswerCheck]:
        guesses = self.identifier.identify([a.waveform for a in answers])
        checks = []
        for a, guess in zip(answers, guesses, strict=True):
            measured = f"spoken language: {guess.words()}"
            if not self.identifier.trusted:
                outcome, measured = NOT_JUDGED, measured + " - random test model, not acted on"
            elif guess.english < self.min_english:
                outcome = FAILED
                measured = (f"not English: {guess.words()}; an answer needs English at p >= {self.min_english:.2f}")
            else:
                outcome = PASSED
            checks.append(AnswerCheck("language", a.number, outcome, measured, round(guess.english, 4),
                                      self.min_english))
        return checks

    def _topic(self, answers: Sequence[Answer]) -> list[AnswerCheck]:
        judged = [a for a in answers if a.question and a.transcript and a.text_trusted
                  and len(a.transcript.split()) >= MIN_TOPIC_WORDS]
        sims = dict(zip((id(a) for a in judged),
                        self.embedder.similarities([a.transcript for a in judged], [a.question for a in judged])))
        checks = []
        for a in answers:
            if id(a) not in sims:
                why = ("the question is not known (give it in the class CSV's question column)" if not a.question
                       else "the transcript comes from a random test model" if a.transcript and not a.text_trusted
                       else f"fewer than {MIN_TOPIC_WORDS} words to judge")
                checks.append(AnswerCheck("topic", a.number, NOT_JUDGED, f"topic not judged: {why}"))
                continue
            sim = sims[id(a)]
            if not self.embedder.trusted:
                outcome, measured = NOT_JUDGED, f"similarity to the question {sim:.2f} - random test model, not acted on"
            elif sim < self.min_similarity:
                outcome = FAILED
                measured = f"off-topic: similarity to the question {sim:.2f} (on topic from {self.min_similarity:.2f})"
            else:
                outcome, measured = PASSED, f"on topic: similarity to the question {sim:.2f}"
            checks.append(AnswerCheck("topic", a.number, outcome, measured, round(sim, 4), self.min_similarity))
        return checks

    def _read_aloud(self, a: Answer) -> AnswerCheck:
        """The answer against its question and the part's printed task and questions (what a learner can read)."""
        info = part_info(a.part)
        sources = [s for s in (a.question, *info.questions, info.task) if s]
        if not self._text_usable(a):
            return AnswerCheck("read_aloud", a.number, NOT_JUDGED, f"read-aloud not judged: {self._why_no_text(a)}")
        shares = [c for s in sources if (c := containment(a.transcript, s)) is not None]
        if not shares:
            return AnswerCheck("read_aloud", a.number, NOT_JUDGED, "read-aloud not judged: too few words")
        share = max(shares)
        if share > self.max_overlap:
            return AnswerCheck("read_aloud", a.number, FAILED, f"the question read aloud: {share:.0%} of the answer's "
                               f"three-word runs are the question's", round(share, 4), self.max_overlap)
        return AnswerCheck("read_aloud", a.number, PASSED, f"own words: {share:.0%} of its three-word runs are "
                           "in the question", round(share, 4), self.max_overlap)

    def _repeat(self, a: Answer, earlier: Sequence[Answer]) -> AnswerCheck:
        """The answer against every earlier answer of the learner: the later of two alike is the repeat."""
        if not self._text_usable(a):
            return AnswerCheck("repeat", a.number, NOT_JUDGED, f"repeat not judged: {self._why_no_text(a)}")
        others = [b for b in earlier if self._text_usable(b)]
        scored = [(c, b) for b in others if (c := containment(a.transcript, b.transcript)) is not None]
        if not scored:
            why = "too few words" if others else "no earlier answer to compare"
            return AnswerCheck("repeat", a.number, NOT_JUDGED, f"repeat not judged: {why}")
        share, source = max(scored, key=lambda x: x[0])
        if share > self.max_overlap:
            return AnswerCheck("repeat", a.number, FAILED, f"repeats {source.where}: {share:.0%} of its three-word runs "
                               "are that answer's", round(share, 4), self.max_overlap)
        return AnswerCheck("repeat", a.number, PASSED, f"not a repeat: at most {share:.0%} of its three-word runs are "
                           "in an earlier answer", round(share, 4), self.max_overlap)

    @staticmethod
    def _text_usable(a: Answer) -> bool:
        return bool(a.transcript) and a.text_trusted

    @staticmethod
    def _why_no_text(a: Answer) -> str:
        return "no transcript" if not a.transcript else "the transcript comes from a random test model"


def _same_recording(a: Answer, digest: str, earlier: Sequence[Answer], digests: Sequence[str]) -> AnswerCheck:
    same = next((b for b, d in zip(earlier, digests) if d == digest), None)
    if same is not None:
        return AnswerCheck("same_recording", a.number, FAILED, f"the same recording as {same.where}",
                           fingerprint=digest)
    return AnswerCheck("same_recording", a.number, PASSED, "a recording of its own", fingerprint=digest)


def check_reasons(checks: Sequence[AnswerCheck], part: int) -> list[str]:
    """One sentence per failed answer: "Part 1, answer 3: not English: French (p=0.93; English 0.02)"."""
    reasons: dict[int, list[str]] = {}
    for c in checks:
        if c.failed:
            reasons.setdefault(c.answer, []).append(c.measured)
    return [f"Part {part}, answer {n}: {'; '.join(said)}" for n, said in sorted(reasons.items())]


_SHORT = {"language": "language", "topic": "topic", "read_aloud": "question overlap", "repeat": "repeat overlap",
          "same_recording": "recording"}


def checks_summary(checks: Sequence[AnswerCheck]) -> str:
    """What the checks measured, answer by answer, in one line for a table cell or a terminal.

    "answer 1: English 0.97 · topic 0.54 · question overlap 12% · repeat overlap 0%; answer 2: ..."
    (a failed check in capitals first: "OFF-TOPIC 0.08"; a check not judged: "topic not judged").
    """
    by_answer: dict[int, list[str]] = {}
    for c in checks:
        by_answer.setdefault(c.answer, []).append(_short(c))
    return "; ".join(f"answer {n}: {' · '.join(x for x in said if x)}" for n, said in sorted(by_answer.items()))


def _short(c: AnswerCheck) -> str:
    if c.outcome == NOT_JUDGED and c.value is None:
        return f"{_SHORT.get(c.check, c.check)} not judged"
    if c.check == "language":
        said = c.measured.split(": ", 1)[-1].split(" - ")[0].split("; an answer")[0]
        return ("NOT ENGLISH " if c.failed else "") + said + (" (random model)" if c.outcome == NOT_JUDGED else "")
    if c.check == "same_recording":
        return "SAME RECORDING as " + c.measured.split(" as ", 1)[-1] if c.failed else ""
    value = f"{c.value:.0%}" if c.check in ("read_aloud", "repeat") else f"{c.value:.2f}"
    name = {"topic": "off-topic", "read_aloud": "read aloud", "repeat": "repeated"}[c.check] if c.failed else _SHORT[c.check]
    return (name.upper() if c.failed else name) + f" {value}" + (" (random model)" if c.outcome == NOT_JUDGED else "")


__all__ = ["Answer", "AnswerChecker", "CHECK_NAMES", "check_reasons", "checks_summary", "language_name"]
