"""The CEFR level of an English word, from the `cefrpy` word list (MIT, 2.6 MB installed, pure Python).

cefrpy's levels come from the CEFR-J Vocabulary Profile (A1-B2, extended to inflected forms with
LemmInflect); words beyond it get a level estimated from their Google Books frequency, so its C1 and C2
are estimates, which is why the profile joins them as "C1+". A word that has several parts of speech
gets its *lowest* level: without a tagger we cannot tell "book" the noun (A1) from "to book" (B1), and
the lowest never credits a learner with a word harder than the one they may have meant.
Contractions are looked up as their parts ("don't" -> do, not); names and non-words are not in the list.
"""

from __future__ import annotations

import threading
from functools import lru_cache

LEVEL_NAMES = ("A1", "A2", "B1", "B2", "C1+")  # the profile's bands; C1 and C2 are frequency estimates
NOT_LISTED = "not in the list"
CONTRACTIONS = {"n't": "not", "'re": "are", "'m": "am", "'ve": "have", "'ll": "will", "'d": "would", "'s": "is"}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _analyzer():
    from cefrpy import CEFRAnalyzer  # lazy: reading the 2.5 MB list takes ~0.8 s, once per process

    return CEFRAnalyzer()


@lru_cache(maxsize=65536)
def word_level(word: str) -> int | None:
    """0 (A1) .. 4 (C1+) for a lower-case word, or None when it is not in the list.

    A contraction takes the highest level of its parts ("won't" -> will, not: A1).
    """
    parts = _split_contraction(word)
    levels = [_lookup(p) for p in parts]
    if any(level is None for level in levels):
        return None
    return max(levels)


def _split_contraction(word: str) -> list[str]:
    if word in ("won't", "can't", "shan't"):
        return [{"won't": "will", "can't": "can", "shan't": "shall"}[word], "not"]
    for ending, full in CONTRACTIONS.items():
        if word.endswith(ending) and len(word) > len(ending):
            return [word[: -len(ending)], full]
    return [word]


def _lookup(word: str) -> int | None:
    with _lock:  # cefrpy's reader is not documented as thread-safe; Gradio calls from several threads
        levels = _analyzer().get_pos_level_dict_for_word(word)
    if not levels:
        return None
    level = min(float(getattr(v, "value", v)) for v in levels.values())  # CEFRLevel 1 (A1) .. 6 (C2); "lowest": above
    return min(max(int(round(level)) - 1, 0), len(LEVEL_NAMES) - 1)
