"""One part's language use, from its answers' transcripts, and what each measure means.

Definitions (a "word" is a run of letters with inner apostrophes, lower-cased: "don't" is one word;
digits are not words):
- filled pause: "uh", "um", "er", "erm", "ah", "eh", "hmm", "mm" and their spellings (FILLED_PAUSES). They
  are counted, then left out of every other measure. A transcriber may drop them (Whisper often does),
  so from an ASR transcript the count is a lower bound.
- words: the words said, filled pauses left out; per 100 words is per 100 of these.
- repetition: a word or a phrase of up to 3 words said again at once ("I I think", "in the in the"),
  with any filled pause between them ignored; "the the the" is two.
- lexical diversity, MTLD (McCarthy & Jarvis 2010, Behavior Research Methods 42(2), 381-392): walking
  through the words, a "factor" ends where the running type-token ratio falls to 0.72; MTLD is the words
  divided by the factors (the last, unfinished one counting as the part of the way its ratio fell to
  0.72), averaged over a forward and a backward pass. Higher: the words repeat less. It is given only from
  MIN_MTLD_WORDS words on (below that it is unstable: Koizumi & In'nami 2012, Zenker & Kyle 2021).
- vocabulary profile: how many words fall at each CEFR band of the word list (sla_core.language.vocabulary),
  and which words at B2 or above were used.
A part pools its answers' words (Parts 1 and 5 have several answers), in order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .vocabulary import LEVEL_NAMES, word_level

MTLD_THRESHOLD = 0.72  # type-token ratio that ends a factor (McCarthy & Jarvis 2010)
MIN_MTLD_WORDS = 50  # fewer words: no MTLD (Zenker & Kyle 2021 found MTLD stable from 50 words)
MAX_REPEAT = 3  # longest phrase (words) counted as a repetition
ADVANCED_FROM = LEVEL_NAMES.index("B2")  # the words listed by name: B2 and above
MAX_LISTED = 12  # words listed by name per part (advanced words, repetitions)
FILLED_PAUSES = frozenset("uh uhh uhm um umm uhum er err erm ah ahh eh ehm em hm hmm hmmm mm mmm".split())

WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def words_of(text: str) -> list[str]:
    """The words of a transcript, lower-cased, curly apostrophes made straight (filled pauses included)."""
    return WORD.findall(text.lower().replace("\u2019", "'"))


def is_filled_pause(word: str) -> bool:
    return word in FILLED_PAUSES


def mtld_pass(words: Sequence[str], threshold: float = MTLD_THRESHOLD) -> float:
    """Factors of one pass (McCarthy & Jarvis 2010): full factors plus the unfinished one's share."""
    factors, types, count, ttr = 0.0, set(), 0, 1.0
    for word in words:
        count += 1
        types.add(word)
        ttr = len(types) / count
        if ttr <= threshold:
            factors, types, count = factors + 1, set(), 0
    if count:
        factors += (1 - ttr) / (1 - threshold)
    return factors


def mtld(words: Sequence[str], threshold: float = MTLD_THRESHOLD) -> float:
    """MTLD: mean of the forward and backward passes' words per factor.

    A pass that never falls to `threshold` and ends with every word different has no factor at all; it
    counts as one factor (the whole text), so MTLD is then the number of words.
    """
    if not words:
        raise ValueError("MTLD needs at least one word")
    passes = []
    for seq in (list(words), list(reversed(words))):
        factors = mtld_pass(seq, threshold)
        passes.append(len(seq) / (factors if factors > 0 else 1.0))
    return (passes[0] + passes[1]) / 2


def repetitions(words: Sequence[str]) -> list[str]:
    """Each immediate repetition, as the words repeated (longest phrase first: "in the in the" is one)."""
    found, i = [], 0
    while i < len(words):
        for n in range(MAX_REPEAT, 0, -1):
            if i + 2 * n <= len(words) and words[i:i + n] == words[i + n:i + 2 * n]:
                found.append(" ".join(words[i:i + n]))
                i += n  # the second copy may itself be repeated ("the the the")
                break
        else:
            i += 1
    return found


@dataclass(frozen=True)
class PartLanguage:
    """One part's language use (module docstring: each definition). Counts, so parts and classes pool."""

    source: str  # where the words come from: "given" (the learner's transcript) or "asr" (a real transcriber)
    answers: int  # answers whose transcript was measured
    words: int  # words said, filled pauses left out
    filled_pauses: int
    repetitions: int
    levels: tuple[int, ...]  # words at each band of vocabulary.LEVEL_NAMES, then words not in the list
    mtld: float | None  # None below MIN_MTLD_WORDS words
    advanced: tuple[str, ...] = ()  # distinct words at B2 or above, in the order said (at most MAX_LISTED)
    repeated: tuple[str, ...] = ()  # the repetitions, as said (at most MAX_LISTED)

    def per_100(self, count: int) -> float | None:
        return round(100 * count / self.words, 1) if self.words else None

    @property
    def listed(self) -> int:
        """Words found in the word list (the profile's shares are of these)."""
        return sum(self.levels[:len(LEVEL_NAMES)])

    def share(self, band: str) -> float | None:
        """Fraction of the listed words at one band ("A1" .. "C1+")."""
        listed = self.listed
        return round(self.levels[LEVEL_NAMES.index(band)] / listed, 3) if listed else None

    @property
    def b1_or_above(self) -> float | None:
        """Fraction of the listed words at B1 or above."""
        listed = self.listed
        return round(sum(self.levels[LEVEL_NAMES.index("B1"):len(LEVEL_NAMES)]) / listed, 3) if listed else None

    def summary(self) -> dict[str, Any]:
        """The main measures as one flat record (the CLI, the class table and the CSV read this)."""
        return {
            "words": self.words, "mtld": self.mtld, "b1_or_above": self.b1_or_above,
            "filled_pauses": self.filled_pauses, "filled_pauses_per_100": self.per_100(self.filled_pauses),
            "repetitions": self.repetitions, "repetitions_per_100": self.per_100(self.repetitions),
            **{f"share_{band.lower().replace('+', '_plus')}": self.share(band) for band in LEVEL_NAMES},
            "not_in_list": self.levels[len(LEVEL_NAMES)], "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PartLanguage":
        values = {k: v for k, v in data.items() if k != "summary"}  # the summary is recomputed, not read
        for key in ("levels", "advanced", "repeated"):
            values[key] = tuple(values.get(key, ()))
        return cls(**values)


def language_use(transcripts: Sequence[str | None], source: str) -> PartLanguage | None:
    """The language use of one part's answers, from the transcripts that exist (None: no transcript).

    Args:
        transcripts: one per answer; None where that answer has no trusted transcript.
        source: "given" or "asr" (kept in the result, so a reader knows how far to trust the words).
    Returns:
        None when no answer has a transcript with a word in it.
    """
    texts = [t for t in transcripts if t is not None]
    said = [w for t in texts for w in words_of(t)]
    words = [w for w in said if not is_filled_pause(w)]
    if not words:
        return None
    levels = [0] * (len(LEVEL_NAMES) + 1)
    advanced: list[str] = []
    for w in words:
        level = word_level(w)
        levels[len(LEVEL_NAMES) if level is None else level] += 1
        if level is not None and level >= ADVANCED_FROM and w not in advanced:
            advanced.append(w)
    # Repetitions within each answer (an answer's last word and the next one's first are not a repetition).
    repeated = [r for t in texts for r in repetitions([w for w in words_of(t) if not is_filled_pause(w)])]
    return PartLanguage(
        source=source, answers=len(texts), words=len(words), filled_pauses=len(said) - len(words),
        repetitions=len(repeated), levels=tuple(levels),
        mtld=round(mtld(words), 1) if len(words) >= MIN_MTLD_WORDS else None,
        advanced=tuple(advanced[:MAX_LISTED]), repeated=tuple(repeated[:MAX_LISTED]))
