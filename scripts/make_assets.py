"""Regenerate assets/: synthetic example answers made with espeak-ng (not real learners).

    python scripts/make_assets.py          # needs espeak-ng (apt-get install espeak-ng)

Writes
  assets/example_learner/part{P}[_{N}].wav   one learner, all four parts (Parts 1 and 5: several answers)
  assets/silent.wav                          a silent answer, to show how a bad part is reported
  assets/example_class.zip                   three learners, both naming schemes (sla_core.teacher.classroom)
  assets/example_manifest.csv                the CSV-manifest form of two learners, audio from example_learner/
  assets/example_graded.zip                  a teacher's graded set for the Calibrate tab: graded.csv (with a
                                             score per part) + six learners' Part 3 and 4 answers
Everything is 16 kHz mono 16-bit (the zips hold Ogg Vorbis, which is smaller); about 1.7 MB in all.
"""

from __future__ import annotations

import csv
import io
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.audio import SAMPLE_RATE  # noqa: E402
from sla_core.parts import part_info  # noqa: E402
from sla_core.testing.audio import espeak_wav, write_wav  # noqa: E402

ASSETS = Path(__file__).resolve().parents[1] / "assets"

# What the synthetic learner says: short, plausible B1-level answers.
LEARNER = {
    1: [
        "I live in a small town near the coast, it is quiet.",
        "I like the beach and the people are very friendly.",
        "I am a student, I study computer science.",
        "In my free time I play football and I read books.",
        "I admire my grandmother because she is very brave.",
        "Next year I would like to travel to Canada.",
    ],
    3: ["I think the city is better, because there are more jobs and more things to do, "
        "but the countryside is more relaxing."],
    4: ["Last summer I learned to cook. My father showed me how to make bread. "
        "At first it was difficult, but in the end I felt very proud."],
    5: [
        "Yes, I think people use their phones too much.",
        "Because it is quick and it is free.",
        "Yes, computers are important for every job.",
        "Now many people buy everything online.",
        "I think some people will still read books.",
    ],
}

# The class: (learner, voice, speed, {part: number of answers}, layout) with layout "folder" or "flat".
CLASS = [
    ("amira", "en-gb", 150, {1: 2, 3: 1, 4: 1, 5: 2}, "folder"),
    ("ben", "en-us", 120, {1: 2, 3: 1, 4: 1, 5: 2}, "folder"),
    ("chloe", "en-gb-scotland", 170, {1: 2, 3: 1, 5: 2}, "flat"),  # no Part 4: shows a partial overall
]
SHORT = {3: "I prefer the city because it is exciting.", 4: "I learned to swim when I was ten years old."}

# The graded set: (learner, voice, {part: the teacher's mark}). A lower mark is spoken more slowly and with
# longer pauses between phrases (fluency), so a calibration has something audible to learn from.
GRADED = [
    ("dana", "en-gb", {3: 2.5, 4: 3.0}),
    ("eli", "en-us", {3: 3.0, 4: 2.5}),
    ("farah", "en-gb-scotland", {3: 3.5, 4: 3.5}),
    ("gus", "en-us", {3: 4.0, 4: 4.5}),
    ("hana", "en-gb", {3: 4.5, 4: 4.0}),
    ("ivo", "en-gb-scotland", {3: 3.0, 4: 3.5}),
]
FLUENCY = {2.5: (100, 0.9), 3.0: (115, 0.7), 3.5: (130, 0.5), 4.0: (150, 0.3), 4.5: (170, 0.12)}  # wpm, pause s
GRADED_TEXT = {3: "I think the city is better, because there are more jobs, and more things to do.",
               4: "Last summer I learned to cook, my father showed me, and I felt very proud."}


def _name(part: int, n: int) -> str:
    return f"part{part}_{n}.wav" if part_info(part).max_answers > 1 else f"part{part}.wav"


def make_learner(folder: Path) -> None:
    for part, texts in LEARNER.items():
        for n, text in enumerate(texts, 1):
            espeak_wav(folder / _name(part, n), text, speed_wpm=165, voice="en-gb", pitch=45)


def make_class(zip_path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for learner, voice, speed, parts, layout in CLASS:
            for part, count in parts.items():
                for n in range(1, count + 1):
                    text = LEARNER[part][n - 1] if part in (1, 5) else SHORT[part]
                    stem = Path(_name(part, n)).stem
                    rel = f"{learner}/{stem}.ogg" if layout == "folder" else f"{learner}_{stem}.ogg"
                    espeak_wav(Path(tmp) / rel, text, speed_wpm=speed, voice=voice)
                    zf.write(Path(tmp) / rel, f"class_3b/{rel}")
        zf.writestr("class_3b/README.txt", "Synthetic speech made with espeak-ng; not real learners.\n")


def fluent_speech(path: Path, text: str, mark: float, voice: str, seed: int) -> Path:
    """espeak-ng phrase by phrase (split at commas), joined by room-tone pauses whose length follows the mark."""
    speed, pause = FLUENCY[mark]
    rng = np.random.default_rng(seed)
    pieces = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, phrase in enumerate(p.strip() for p in text.split(",")):
            wav, _ = sf.read(espeak_wav(Path(tmp) / f"{k}.wav", phrase, speed_wpm=speed, voice=voice), dtype="float32")
            gap = rng.normal(0.0, 0.002, round(pause * rng.uniform(0.8, 1.2) * SAMPLE_RATE)).astype(np.float32)
            pieces += [wav, gap]
    return write_wav(path, np.concatenate(pieces[:-1]))


def make_graded(zip_path: Path) -> None:
    """A teacher's graded set as one zip: graded_7c/graded.csv + graded_7c/audio/<learner>_part<P>.ogg."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (learner, voice, marks) in enumerate(GRADED):
            for part, mark in marks.items():
                rel = f"audio/{learner}_part{part}.ogg"
                fluent_speech(Path(tmp) / rel, GRADED_TEXT[part], mark, voice, seed=10 * i + part)
                zf.write(Path(tmp) / rel, f"graded_7c/{rel}")
                rows.append({"learner": learner, "part": part, "audio": rel, "question": part_info(part).questions[0],
                             "transcript": "", "score": f"{mark:.1f}"})
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=["learner", "part", "audio", "question", "transcript", "score"])
        writer.writeheader()
        writer.writerows(rows)
        zf.writestr("graded_7c/graded.csv", text.getvalue())
        zf.writestr("graded_7c/README.txt", "Synthetic speech made with espeak-ng; the marks are invented.\n")


def make_manifest(path: Path) -> None:
    rows = []
    for learner, parts in (("alex", (1, 3, 4, 5)), ("sam", (3, 4))):
        for part in parts:
            for n, text in enumerate(LEARNER[part], 1):
                audio = "silent.wav" if (learner, part) == ("sam", 4) else f"example_learner/{_name(part, n)}"
                rows.append({"learner": learner, "part": part, "audio": audio,
                             "question": part_info(part).questions[n - 1], "transcript": "", "score": ""})
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["learner", "part", "audio", "question", "transcript", "score"])
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    ASSETS.mkdir(exist_ok=True)
    make_learner(ASSETS / "example_learner")
    write_wav(ASSETS / "silent.wav", np.zeros(2 * SAMPLE_RATE, dtype=np.float32))
    make_class(ASSETS / "example_class.zip")
    make_manifest(ASSETS / "example_manifest.csv")
    make_graded(ASSETS / "example_graded.zip")
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    print(f"wrote {ASSETS} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
