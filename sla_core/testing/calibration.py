"""Graded recordings where the right calibration is known, for the teacher-calibration tests.

The level of a synthetic learner is tied to one property a speech encoder can hear: how much of the
answer is pause (fluency). Even a tiny random wav2vec2 maps the share of near-silent frames into its
pooled vector, so prototypes re-estimated from a few exemplars per level tell the levels apart.
The voice is real synthetic speech (espeak-ng), because the pipeline rejects what a voice-activity
detector does not take for speech.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import tempfile
from functools import lru_cache

import numpy as np

from ..assessment import TRAINED, GraderInfo, PartScore
from ..audio import SAMPLE_RATE, load_audio
from ..calibration.delivery_fit import MEASURES
from ..calibration.features import Exemplar, ExemplarData
from ..cefr import clip_score, round_to_grid
from ..fusion import DEFAULT_WEIGHTS
from .audio import espeak_wav, write_wav

PAUSE_FRACTION = {2.5: 0.5, 3.0: 0.375, 3.5: 0.25, 4.0: 0.125, 4.5: 0.0}  # level -> share of the answer in pauses
SLOT_SECONDS = 0.25  # pauses fill whole slots of this length, chosen at random
PAUSE_GAIN = 0.003  # a pause keeps 0.3% of the voice (-50 dB): room tone, not digital silence
_TEXT = " ".join(["la"] * 40)  # one syllable over and over: the voice is the same everywhere, only pauses differ


@lru_cache(maxsize=1)
def _voice() -> np.ndarray:
    """Continuous espeak-ng speech, (samples,) at SAMPLE_RATE, made once: every learner says the same
    syllable in the same voice, so the pauses are what tells the levels apart."""
    with tempfile.TemporaryDirectory() as tmp:
        return load_audio(espeak_wav(f"{tmp}/voice.wav", _TEXT, speed_wpm=170))


def paused_waveform(seconds: float = 4.0, pause_fraction: float = 0.0, seed: int = 0) -> np.ndarray:
    """Continuous espeak-ng speech with `pause_fraction` of its slots turned to pauses.

    Returns:
        (round(seconds * SAMPLE_RATE),) float32.
    """
    if not 0.0 <= pause_fraction < 1.0:
        raise ValueError(f"pause_fraction must be in [0, 1), got {pause_fraction}")
    rng = np.random.default_rng(seed)
    voice, n = _voice(), round(seconds * SAMPLE_RATE)
    start = int(rng.integers(0, SAMPLE_RATE // 5))  # a different first 0-0.2 s: no two learners are identical
    wav = voice[start:start + n].copy()
    slot = round(SLOT_SECONDS * SAMPLE_RATE)
    n_slots = len(wav) // slot
    gate = np.ones(len(wav), dtype=np.float32)
    for j in rng.choice(n_slots, round(pause_fraction * n_slots), replace=False):
        gate[j * slot:(j + 1) * slot] = PAUSE_GAIN
    return wav * gate


def write_graded_manifest(folder: str | Path, marks: Sequence[float], part: int = 3, seconds: float = 4.0,
                          seed: int = 0, name: str = "graded.csv") -> Path:
    """One learner per mark, each with one answer for `part` whose pauses match the mark; a CSV manifest.

    Args:
        marks: one teacher's mark per learner, each a key of PAUSE_FRACTION.
    Returns:
        The manifest path (learner,part,audio,question,transcript,score; audio relative to it).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, mark in enumerate(marks):
        if mark not in PAUSE_FRACTION:
            raise ValueError(f"mark {mark} has no pause pattern; use one of {sorted(PAUSE_FRACTION)}")
        audio = write_wav(folder / f"learner{i:02d}_part{part}.wav",
                          paused_waveform(seconds, PAUSE_FRACTION[mark], seed=seed + 7919 * i))
        rows.append({"learner": f"L{i:02d}", "part": part, "audio": audio.name, "question": "", "transcript": "",
                     "score": f"{mark:.1f}"})
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["learner", "part", "audio", "question", "transcript", "score"])
        writer.writeheader()
        writer.writerows(rows)
    return path


class PauseBlindGrader:
    """A trained grader that hears no pauses: every part gets `score`, whatever the learner's level.

    With `write_graded_manifest`'s learners, whose level is their pauses, a calibration can then only
    follow the teacher through the delivery measures (calibration.delivery_fit).
    """

    name = "mllm"

    def __init__(self, score: float = 3.2) -> None:
        self.value = score

    def info(self) -> GraderInfo:
        return GraderInfo(name=self.name, source="pause-blind test double", state=TRAINED, parts=(1, 3, 4, 5))

    def score(self, parts) -> list[PartScore]:
        return [PartScore(grader=self.name, part=p.part, score=self.value, state=TRAINED) for p in parts]


# -- hand-made classes (no audio): where the right answer is known, for the gain rule's tests and simulation --

CLASS_LEVELS = (2.5, 3.0, 3.5, 4.0, 4.5)


def hand_made(scores: Sequence[float], marks: Sequence[float], delivery: Sequence[dict] | None = None,
              part: int = 3) -> ExemplarData:
    """Exemplars of one trained non-speech grader ("mllm") on one part, with optional delivery measures."""
    exemplars = [Exemplar(learner=f"L{i}", part=part, mark=float(m), scores={"mllm": float(x)},
                          states={"mllm": TRAINED}, delivery=None if delivery is None else delivery[i])
                 for i, (x, m) in enumerate(zip(scores, marks))]
    return ExemplarData(exemplars=exemplars, speech_parts={}, graders={"mllm": {"source": "hand-made"}},
                        fusion=DEFAULT_WEIGHTS)


def delivery_class(seed: int, n: int = 20, effect: float = 0.0) -> ExemplarData:
    """n exemplars: a grader 0.6 too high with some noise, and five delivery measures.

    effect: score points per standard deviation of speech rate that the teacher's marks add to the truth
    the grader sees (0: the measures are unrelated to the marks).
    """
    rng = np.random.default_rng(seed)
    truth = rng.choice(CLASS_LEVELS, n)
    z = rng.normal(size=(n, len(MEASURES)))  # (n, 5) standardised measures, unrelated to the truth
    marks = [round_to_grid(clip_score(t + effect * z[i, 0])) for i, t in enumerate(truth)]
    scores = truth + 0.6 + rng.normal(0.0, 0.25, n)
    values = z * 0.5 + np.array([4.5, 6.0, 0.75, 6.0, 2.0])  # plausible units: syl/s, syl/s, ratio, syl, per minute
    return hand_made(scores, marks, [dict(zip(MEASURES, map(float, v))) for v in values])


def graded_class(rng: np.random.Generator, n: int, offset: float = 0.0, noise: float = 0.3,
                 slope: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(scores, marks) of n learners whose marks are on the grid: score = 3.5 + slope * (mark - 3.5)
    + offset + normal(0, noise). slope 1, offset 0: the grader is already right on average."""
    marks = rng.choice(CLASS_LEVELS, n)
    return 3.5 + slope * (marks - 3.5) + offset + rng.normal(0.0, noise, n), marks
