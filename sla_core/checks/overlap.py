"""Reading the question aloud, or saying another answer again: word-trigram containment.

containment(A | S) = share of the answer A's word trigrams that also occur in the source S (Broder 1997,
"On the resemblance and containment of documents"; the measure of copied short answers in Clough & Stevenson
2011). 1.0: every three-word run of the answer is in the source; an answer that opens by echoing the
question ("I think it is better to live in a city because ...") and then goes on in its own words stays
well under one half. Trigrams, not single words: an on-topic answer shares many single words with its
question ("city", "live") but few runs of three.
"""

from __future__ import annotations

import re

# An answer is the question read aloud, or a repeat, when more than this share of its word trigrams is in the source.
DEFAULT_MAX_OVERLAP = 0.5
MIN_WORDS = 6  # shorter answers are not judged: four trigrams say little
N = 3

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation ("Don't!" -> ["don't"])."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def ngrams(tokens: list[str], n: int = N) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def containment(answer: str, source: str, n: int = N) -> float | None:
    """Share of `answer`'s word n-grams found in `source`; None when the answer has fewer than MIN_WORDS words."""
    said = words(answer)
    if len(said) < max(MIN_WORDS, n):
        return None
    mine = ngrams(said, n)
    return len(mine & ngrams(words(source), n)) / len(mine)


__all__ = ["DEFAULT_MAX_OVERLAP", "MIN_WORDS", "containment", "ngrams", "words"]
