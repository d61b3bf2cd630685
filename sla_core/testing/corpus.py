"""A miniature S&I Corpus 2025 on disk, in the exact layout of the licensed one, for tests and demos.

The speech is real (espeak-ng) and the marks are learnable: each part's mark sets the speaking rate
(espeak `-s`, 80 wpm at 2.0 up to 220 wpm at 5.5) and the vocabulary, and every clip lasts 1-3 s,
so better speakers say more, longer words in the same time (letters per second of audio correlate
with the mark at about 0.98). An acoustic grader can learn the rate, a text grader the word count
and vocabulary.

It has every quirk of the files as released (DESIGN.md, "Facts checked for you"):
- train: the last two submissions lack a part, and their overall marks are holistic and off the grid
  (1.875 or 5.625: not the mean of their parts); there is no train CTM, only `train-gec.ctm` for
  other recordings (the GEC subset), so training transcripts must come from the project's ASR;
- dev: every submission complete, overall = mean of the parts, the baseline's CTM for every part;
- eval: no marks in `reference-materials/` (a participant predicts blind); they are written apart, in
  `eval-reference/` (`MiniCorpus.eval_reference`), as the scorer's reference released after the challenge;
  its last submission lacks Part 5 (no overall mark);
- only every other submission is annotated (has questions); the other answers have none.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..cefr import GRID, clip_score
from ..data import Submission
from ..parts import PARTS, part_info

CLIP_SECONDS = 2.0  # s; each answer is about this long whatever the rate
MAX_CLIP_SECONDS = 3.0  # s; longer clips lose their last words
ITEMS: dict[int, tuple[str, ...]] = {  # item codes per part; fewer answers than the real test, to stay small
    1: ("P10003", "P10004"),
    3: ("P30017",),
    4: ("P40018",),
    5: ("P50019", "P50020"),
}
# Words by level band (2.0-2.5, 3.0-3.5, 4.0-4.5, 5.0-5.5): simple to rich, so the text carries the level.
WORD_BANDS: tuple[tuple[str, ...], ...] = (
    ("i", "like", "my", "home", "is", "good", "big", "go", "school", "yes"),
    ("because", "usually", "friends", "weekend", "city", "travel", "often", "work", "think", "people"),
    ("although", "experience", "important", "opportunity", "however", "community", "environment",
     "improve", "probably", "decision"),
    ("nevertheless", "perspective", "consequently", "sustainable", "fundamental", "remarkable",
     "particularly", "acknowledge", "considerable", "furthermore"),
)
SPLIT_CODES = {"dev": "D", "train": "T", "eval": "E"}
HOLISTIC_MARKS = (1.875, 5.625)  # overall marks off the grid, as in the real train split
CTM_SPLITS = ("dev",)  # the baseline's CTMs exist for dev only
UNMARKED_SPLITS = ("eval",)  # released without marks


def words_per_minute(mark: float) -> int:
    """Speaking rate that encodes a part mark: 80 wpm at 2.0, +40 wpm per point, 220 at 5.5."""
    return int(round(80 + 40 * (mark - GRID[0])))


def utterance_text(mark: float, rng: np.random.Generator) -> str:
    """Words for a ~2 s answer at the mark's rate, drawn from the mark's vocabulary band."""
    n_words = max(2, int(round(words_per_minute(mark) / 60 * CLIP_SECONDS)))
    band = WORD_BANDS[min(int((mark - GRID[0]) // 1.0), len(WORD_BANDS) - 1)]
    return " ".join(rng.choice(band, size=n_words))


@dataclass
class MiniCorpus:
    """Where the miniature corpus is and the truth it was built from (to check loaders against)."""

    root: Path
    marks: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)  # split -> sub -> part -> mark
    overall: dict[str, dict[str, float]] = field(default_factory=dict)  # split -> sub -> overall (complete only)
    transcripts: dict[str, str] = field(default_factory=dict)  # uttID -> words said
    questions: dict[str, str] = field(default_factory=dict)  # uttID -> question (annotated subset only)
    holistic: dict[str, set[str]] = field(default_factory=dict)  # split -> submissions with a holistic overall

    @property
    def eval_reference(self) -> Path:
        """The eval marks, kept out of reference-materials/ (official scorer layout: eval-sla-P#.tsv)."""
        return self.root / "eval-reference"

    def submission_ids(self, split: str) -> list[str]:
        return sorted(self.marks[split])


def make_mini_corpus(
    root: Path | str,
    n_per_split: int | Mapping[str, int] = 6,
    parts: Sequence[int] = PARTS,
    seed: int = 0,
    with_annotations: bool = True,
) -> MiniCorpus:
    """Write a miniature S&I Corpus 2025 under `root` (audio, flists, marks, CTMs, annotations).

    Args:
        n_per_split: submissions per split (an int for all three, or {"train": 8, "dev": 6, ...}).
        parts: parts to include; in train the last two submissions lack one of them, in eval the last one.
        seed: makes the marks, words and voices repeatable.
        with_annotations: False leaves out `annotations/` (the loader must then fall back to None).
    Returns:
        The MiniCorpus (root and the truth behind the files).
    """
    from .audio import espeak_wav  # needs the espeak-ng binary

    root = Path(root)
    ref = root / "reference-materials"
    for sub in ("flists.flac", "sla-marks", "pre-norm", "annotations"):
        (ref / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = n_per_split if isinstance(n_per_split, Mapping) else {s: n_per_split for s in SPLIT_CODES}
    corpus = MiniCorpus(root=root)
    for s_idx, (split, n_subs) in enumerate(counts.items()):
        flists = {p: [] for p in parts}
        ctms = {p: [] for p in parts}
        part_marks = {p: [] for p in parts}
        overall_lines, overall_flist, annotations = [], [], []
        corpus.marks[split], corpus.overall[split], corpus.holistic[split] = {}, {}, set()
        levels = [GRID[(i * 3 + s_idx) % len(GRID)] for i in range(n_subs)]  # spread over the scale
        for i, level in enumerate(levels):
            sub_id = f"SI{100 + s_idx}{SPLIT_CODES[split]}-{i + 1:05d}"  # 12 chars, like SI114J-00011
            # train: the last two lack a part (holistic overall marks); eval: the last lacks its last part
            incomplete = len(parts) > 1 and ((split == "train" and i >= n_subs - 2) or (split == "eval" and i == n_subs - 1))
            dropped = i % len(parts) if split == "train" else len(parts) - 1
            sub_parts = tuple(p for k, p in enumerate(parts) if not incomplete or k != dropped)
            marks = {p: clip_score(level + float(rng.choice([-0.5, 0.0, 0.0, 0.5]))) for p in sub_parts}
            corpus.marks[split][sub_id] = marks
            for p in sub_parts:
                part_marks[p].append(f"{sub_id}\t{marks[p]:.3f}")
                for item in ITEMS[p]:
                    utt_id = f"{sub_id}-{item}"
                    rel = Path("data", "flac", split, f"{i % 2:02d}", f"P{p}", f"{utt_id}.flac")
                    text, seconds = _synthesise(espeak_wav, root / rel, utterance_text(marks[p], rng), marks[p],
                                                pitch=int(rng.integers(30, 70)))
                    flists[p].append(f"{utt_id}\t{rel.as_posix()}")
                    overall_flist.append(f"{utt_id}\t{rel.as_posix()}")
                    ctms[p].extend(_ctm_lines(utt_id, text.split(), seconds, rng))
                    corpus.transcripts[utt_id] = text
                    if with_annotations and i % 2 == 0:
                        question = f"{part_info(p).questions[ITEMS[p].index(item)]} (mini corpus)"
                        corpus.questions[utt_id] = question
                        annotations.append({
                            "File-id": utt_id,
                            "Question": json.dumps({"text": question, "speaking-time": 20, "thinking-time": 5}),
                            "Transcript": [{"word": w} for w in text.split()],
                        })
            if set(sub_parts) == set(PARTS):
                corpus.overall[split][sub_id] = float(np.mean([marks[p] for p in sub_parts]))
            elif incomplete and split == "train":  # a holistic mark, off the grid: never the mean of its parts
                corpus.overall[split][sub_id] = HOLISTIC_MARKS[i % 2]
                corpus.holistic[split].add(sub_id)
            if sub_id in corpus.overall[split]:
                overall_lines.append(f"{sub_id}\t{corpus.overall[split][sub_id]:.3f}")
        marks_dir = corpus.eval_reference if split in UNMARKED_SPLITS else ref / "sla-marks"
        marks_dir.mkdir(parents=True, exist_ok=True)
        for p in parts:
            _write_lines(ref / "flists.flac" / f"{split}-sla-P{p}.tsv", flists[p])
            _write_lines(marks_dir / f"{split}-sla-P{p}.tsv", part_marks[p])
            if split in CTM_SPLITS:
                _write_lines(ref / "pre-norm" / f"{split}-sla-P{p}.ctm", ctms[p])
        if split == "train":  # the GEC subset's CTM: other recordings, not the SLA lists
            _write_lines(ref / "pre-norm" / "train-gec.ctm", [f"SI999G-00001-P30017 1 0.00 0.50 {w} 0.90"
                                                              for w in ("hello", "world")])
        _write_lines(ref / "flists.flac" / f"{split}-sla-overall.tsv", overall_flist)
        _write_lines(marks_dir / f"{split}-sla-overall.tsv", overall_lines)
        if with_annotations:
            (ref / "annotations" / f"{split}-gec-ref.json").write_text(
                json.dumps({"ref-type": "gec", "files": annotations}, indent=1), encoding="utf-8")
    return corpus


def _synthesise(espeak_wav, path: Path, text: str, mark: float, pitch: int) -> tuple[str, float]:
    """Speak `text` at the mark's rate; drop words until the clip is at most MAX_CLIP_SECONDS long.

    Long words (the upper bands) take longer than espeak's words-per-minute suggests.
    Returns (the words said, the clip's length in seconds).
    """
    import soundfile as sf

    words = text.split()
    while True:
        espeak_wav(path, " ".join(words), speed_wpm=words_per_minute(mark), pitch=pitch)
        seconds = sf.info(path).duration
        if seconds <= MAX_CLIP_SECONDS or len(words) <= 2:
            return " ".join(words), seconds
        words = words[:-1]


def _ctm_lines(utt_id: str, words: list[str], seconds: float, rng: np.random.Generator) -> list[str]:
    """CTM lines with the words spread evenly over the clip, as Whisper timings roughly are."""
    dur = seconds / len(words)
    return [f"{utt_id} 1 {k * dur:.2f} {dur:.2f} {w} {rng.uniform(0.6, 1.0):.2f}" for k, w in enumerate(words)]


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def write_manifest(path: Path | str, submissions: Sequence[Submission], with_scores: bool = True,
                   with_text: bool = True) -> Path:
    """Write submissions as a CSV manifest (the second input format), audio paths relative to it.

    Args:
        with_scores: write each part's mark on its rows; with_text: write questions and transcripts.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["learner", "part", "audio", "question", "transcript", "score"])
        for sub in submissions:
            for part in sub.parts:
                for r in part.responses:
                    audio = Path(os.path.relpath(r.audio_path, path.parent)).as_posix() if r.audio_path else ""
                    writer.writerow([
                        sub.submission_id, part.part, audio,
                        (r.question or "") if with_text else "", (r.transcript or "") if with_text else "",
                        "" if not with_scores or part.mark is None else f"{part.mark:.1f}",
                    ])
    return path




_SHARED: dict[tuple, MiniCorpus] = {}


def shared_mini_corpus(n_per_split: tuple[tuple[str, int], ...] = (("train", 8), ("dev", 5), ("eval", 4)),
                       seed: int = 0, with_annotations: bool = True) -> MiniCorpus:
    """One mini corpus per process and arguments, in a temporary folder removed at exit.

    Test modules' fixtures call this, so the whole session builds the audio once.
    """
    import atexit
    import shutil
    import tempfile

    key = (n_per_split, seed, with_annotations)
    if key not in _SHARED:
        root = Path(tempfile.mkdtemp(prefix="sla-mini-corpus-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _SHARED[key] = make_mini_corpus(root, dict(n_per_split), seed=seed, with_annotations=with_annotations)
    return _SHARED[key]


__all__ = ["MiniCorpus", "make_mini_corpus", "shared_mini_corpus", "write_manifest", "words_per_minute",
           "utterance_text", "ITEMS"]
