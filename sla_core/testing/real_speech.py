"""Real human voices with the timings their packages give (tests/data/real_speech/README.md says where from).

Each `RealRecording` carries the truth the delivery measures are checked against: the words with their
times, their canonical syllables (CMU Pronouncing Dictionary: the vowel phones of a word's first
pronunciation), the speaking span from the first word to the last, and the silent pauses of at least
`measures.PAUSE_SECONDS` between the given times. The LibriVox sentences are joined into one track, as
the pocketsphinx package's own `make_single_track.py` does, so the pauses between sentences are real
pauses of one reader.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, load_audio
from ..delivery.measures import PAUSE_SECONDS

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "real_speech"
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())  # ARPAbet vowels: one per syllable
LIBRIVOX = ("0870", "0880", "0890", "0920", "0930")


@dataclass(frozen=True)
class RealRecording:
    """One recording and the truth its package gives."""

    name: str
    source: str  # where it comes from, in words
    wav: np.ndarray  # (samples,) float32 at SAMPLE_RATE
    words: tuple[tuple[float, float, str], ...]  # (start, end, word) s; utterances when only those are given
    syllables: int  # canonical syllables of the words said
    pauses: tuple[tuple[float, float], ...]  # (start, length) s of the given silences >= PAUSE_SECONDS
    word_times: bool  # False: `words` are utterances (their times hold short pauses too)

    @property
    def duration_s(self) -> float:
        return self.wav.size / SAMPLE_RATE

    @property
    def span_s(self) -> float:
        return self.words[-1][1] - self.words[0][0]

    @property
    def speaking_s(self) -> float:
        return self.span_s - sum(length for _, length in self.pauses)

    @property
    def speech_rate(self) -> float:
        return self.syllables / self.span_s

    @property
    def articulation_rate(self) -> float:
        return self.syllables / self.speaking_s


@lru_cache(maxsize=1)
def cmu_syllables(folder: Path = DATA) -> dict[str, int]:
    """word -> syllables of its first pronunciation in the committed CMU dictionary subset."""
    out: dict[str, int] = {}
    for line in (folder / "cmudict_subset.dict").read_text().splitlines():
        word, *phones = line.split()
        if "(" not in word:  # "word(2)" is an alternative pronunciation
            out[word] = sum(p.rstrip("012") in VOWELS for p in phones)
    return out


def syllables_of(text: str, folder: Path = DATA) -> int:
    """Canonical syllables of a text's words; a word missing from the subset is an error, not a guess."""
    table = cmu_syllables(folder)
    words = re.findall(r"[a-z']+", text.lower())
    missing = sorted({w for w in words if w not in table})
    if missing:
        raise KeyError(f"words not in {folder / 'cmudict_subset.dict'}: {missing}")
    return sum(table[w] for w in words)


def _pauses(words: list[tuple[float, float, str]]) -> tuple[tuple[float, float], ...]:
    gaps = ((a_end, b_start - a_end) for (_, a_end, _), (b_start, _, _) in zip(words, words[1:]))
    return tuple((round(t, 3), round(g, 3)) for t, g in gaps if g >= PAUSE_SECONDS)


def librivox(folder: Path = DATA) -> RealRecording:
    """The five LibriVox sentences as one 24.7 s track, with pocketsphinx's word alignment."""
    waves, words, offset = [], [], 0.0
    for utt in LIBRIVOX:
        wav = load_audio(folder / f"librivox-{utt}.flac")
        # The .json holds one object per line; the first is the sentence with its words.
        aligned = json.loads((folder / f"librivox-{utt}.json").read_text().splitlines()[0])
        for w in aligned["w"]:
            if not w["t"].startswith(("<", "[")):  # <sil>, <s>, [NOISE]: not words
                words.append((round(offset + w["b"], 3), round(offset + w["b"] + w["d"], 3),
                              re.sub(r"\(\d+\)$", "", w["t"])))
        waves.append(wav)
        offset += wav.size / SAMPLE_RATE
    text = " ".join(w for _, _, w in words)
    return RealRecording("LibriVox read speech (5 sentences)", "pocketsphinx 5.1.1 test data",
                         np.concatenate(waves), tuple(words), syllables_of(text, folder), _pauses(words), True)


def pyannote_sample(folder: Path = DATA) -> RealRecording:
    """30 s of a two-speaker telephone conversation with its utterance times (no word times are shipped)."""
    utterances = []
    for line in (folder / "pyannote_sample.stm").read_text().splitlines():
        _, _, _, start, end, *said = line.split()
        utterances.append((float(start), float(end), " ".join(said)))
    text = " ".join(u for _, _, u in utterances)
    return RealRecording("Telephone conversation (2 speakers)", "pyannote.audio 4.0.7 sample",
                         load_audio(folder / "pyannote_sample.flac"), tuple(utterances), syllables_of(text, folder),
                         _pauses(utterances), False)


def praatio_sentence(name: str, folder: Path = DATA) -> RealRecording:
    """praatio's "bobby" or "mary": one read sentence with its word tier."""
    grid = {"bobby": "bobby_words.TextGrid", "mary": "mary.TextGrid"}[name]
    words = [w for w in _textgrid_tier(folder / grid, "word") if w[2].strip()]
    text = " ".join(w for _, _, w in words)
    return RealRecording(f"praatio '{text.lower()}'", "praatio 6.2.2 example", load_audio(folder / f"{name}.flac"),
                         tuple(words), syllables_of(text, folder), _pauses(words), True)


def all_recordings(folder: Path = DATA) -> tuple[RealRecording, ...]:
    return (librivox(folder), pyannote_sample(folder), praatio_sentence("bobby", folder),
            praatio_sentence("mary", folder))


def _textgrid_tier(path: Path, tier: str) -> list[tuple[float, float, str]]:
    """The intervals of one interval tier of a Praat TextGrid, long or short text format.

    Both formats list the same values in the same order; only the long one names them. So the file is
    read as its sequence of quoted strings and bare numbers (skipping "[1]"-style indices), then walked.
    """
    tokens = re.findall(r'"((?:[^"]|"")*)"|(?<![\[\w.])(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)(?![\]\w])', path.read_text())
    values = [text if number == "" else float(number) for text, number in tokens]
    values = values[2:]  # "ooTextFile", "TextGrid"
    _, _, n_tiers, *rest = values
    k = 0
    for _ in range(int(n_tiers)):
        kind, name, _, _, n = rest[k:k + 5]
        k += 5
        width = 3 if kind == "IntervalTier" else 2
        items = rest[k:k + width * int(n)]
        k += width * int(n)
        if name == tier and kind == "IntervalTier":
            return [(round(items[i], 3), round(items[i + 1], 3), items[i + 2]) for i in range(0, len(items), 3)]
    raise KeyError(f"{path} has no interval tier {tier!r}")
