"""Sentences about a part's language use, built only from the measured facts of the learner's own words.

As with the delivery feedback, no measure is called "good" or "too low": we know of no published norm per
CEFR level for these measures on this task. The sentences say what was counted and where it came from
(the word list, the transcriber), so a teacher can check them against the transcript.
"""

from __future__ import annotations

from .measures import MIN_MTLD_WORDS, PartLanguage
from .vocabulary import LEVEL_NAMES

ASR_NOTE = "counted from the automatic transcript, which may leave out 'um' and 'uh'"


def _s(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _quoted(words, most: int = 5) -> str:
    return ", ".join(f"'{w}'" for w in list(words)[:most])


def language_feedback(lang: PartLanguage | None) -> tuple[str, ...]:
    """Up to four sentences: vocabulary, diversity, filled pauses, repetitions (empty without measures)."""
    if lang is None or not lang.words:
        return ()
    said = []
    b1 = lang.b1_or_above
    if b1 is not None:
        upper = f" Words at B2 or above: {_quoted(lang.advanced)}." if lang.advanced else ""
        said.append(f"{b1:.0%} of your {_s(lang.listed, 'listed word')} are at B1 or above on the CEFR word list "
                    f"(A1 {lang.share('A1'):.0%}, A2 {lang.share('A2'):.0%}).{upper}")
    if lang.mtld is not None:
        said.append(f"Lexical diversity (MTLD) {lang.mtld:.0f}: on average {lang.mtld:.0f} words went by before "
                    f"your words began to repeat (higher means more varied).")
    else:
        said.append(f"{_s(lang.words, 'word')}: too few for a lexical diversity figure (it needs {MIN_MTLD_WORDS}).")
    if lang.filled_pauses:
        note = f" ({ASR_NOTE})" if lang.source == "asr" else ""
        said.append(f"You said 'um', 'uh' or similar {_s(lang.filled_pauses, 'time')}, "
                    f"{lang.per_100(lang.filled_pauses):.1f} per 100 words{note}.")
    else:
        said.append("No 'um' or 'uh' in the transcript" + (f" ({ASR_NOTE})." if lang.source == "asr" else "."))
    if lang.repetitions:
        said.append(f"You repeated a word or phrase straight away {_s(lang.repetitions, 'time')} "
                    f"({lang.per_100(lang.repetitions):.1f} per 100 words), e.g. {_quoted(lang.repeated, 2)}.")
    return tuple(said)


def language_numbers(lang: PartLanguage) -> str:
    """Every measure of a part in one line of plain words."""
    profile = " · ".join(f"{band} {lang.share(band):.0%}" for band in LEVEL_NAMES if lang.share(band) is not None)
    mtld = f"MTLD {lang.mtld:.0f}" if lang.mtld is not None else f"MTLD — (under {MIN_MTLD_WORDS} words)"
    source = "the learner's transcript" if lang.source == "given" else "the automatic transcript"
    return (f"{_s(lang.words, 'word')} from {source} · {mtld} · vocabulary {profile}"
            f" ({lang.levels[len(LEVEL_NAMES)]} not in the list) · filled pauses "
            f"{lang.per_100(lang.filled_pauses):.1f} and repetitions {lang.per_100(lang.repetitions):.1f} per 100 words")
