"""Corpus loaders: the S&I Corpus 2025 layout and the plain CSV manifest, both into `Submission`s.

The S&I corpus is licensed and never in our repos; a researcher points `load_si_split` at a local
copy. Layout (DESIGN.md, "Facts checked for you"), relative to the corpus root:

    reference-materials/flists.flac/{split}-sla-P{p}.tsv   uttID<TAB>relative/path.flac
    reference-materials/sla-marks/{split}-sla-P{p}.tsv     submissionID<TAB>score
    reference-materials/sla-marks/{split}-sla-overall.tsv  submissionID<TAB>score
    reference-materials/pre-norm/{split}-sla-P{p}.ctm      uttID 1 start dur word [conf]   (dev only)
    reference-materials/annotations/{split}-gec-ref.json   {"files": [{"File-id", "Question", ...}]}

The files as released, and what the loader does with them:
- Part marks lie on the 0.5 grid; a part mark off it is a broken file. Overall marks are kept as they
  are: in train, a submission that lacks part marks has a holistic overall mark (not the mean of its
  parts), and a few lie off the grid (1.875, 5.625, 5.75). Both stay evaluation references;
  `OVERALL_MARK_RANGE` bounds what is plausible. Overall marks are never a training target; where a
  target must sit on the grid (a class, a label) `training_target` is the one rule.
- The eval split comes without marks: a split with no marks files at all loads with marks None.
  A split with some marks files but not others is a broken copy (the missing file is named).
- The Whisper-small CTMs exist for dev only (`train-gec.ctm` covers the GEC subset, not the SLA lists):
  a part without its CTM loads with transcripts None, and the graders that read text get them from
  the project's ASR through the transcript cache (`research.transcripts`).
- Questions exist only for the annotated answers; every other answer has question None, and the
  prompt says the question is not known (never an invented one).

A teacher's own recordings come as a CSV manifest (one row per response; see `read_manifest`).
Every problem with a file is a `CorpusError` naming the file and, where it applies, the line.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..cefr import GRID, grid_index, on_grid
from ..data import PartResponses, Response, Submission
from ..manifest import CorpusError, read_manifest
from ..parts import PARTS, part_info

SPLITS: tuple[str, ...] = ("dev", "train", "eval")
CTM_KINDS: tuple[str, ...] = ("pre-norm",)  # the baseline's Whisper-small ASR; the folder is its name
_REF = "reference-materials"
# Plausible overall marks: the grid, widened for the holistic marks seen off it (1.875 .. 5.75). A value
# outside is a broken file, not a mark.
OVERALL_MARK_RANGE: tuple[float, float] = (GRID[0] - 1.0, GRID[-1] + 0.5)


def training_target(mark: float) -> float:
    """The one rule for a training target that must sit on the grid: the nearest grid point, halves
    up, clipped to 2.0..5.5 (`cefr.grid_index`). Part marks already sit on it; the speech grader's
    prototype levels, the dev macro-F1 classes and the multimodal grader's label all go through it."""
    return GRID[grid_index(mark)]


# ----------------------------------------------------------------------------------------------
# S&I Corpus 2025


def si_paths(root: Path | str, split: str, part: int | str) -> dict[str, Path]:
    """Where the S&I files of one split and part (`1`..`5` or "overall") live."""
    root, tag = Path(root), f"P{part}" if part != "overall" else "overall"
    return {
        "flist": root / _REF / "flists.flac" / f"{split}-sla-{tag}.tsv",
        "marks": root / _REF / "sla-marks" / f"{split}-sla-{tag}.tsv",
        "ctm": root / _REF / "pre-norm" / f"{split}-sla-{tag}.ctm",
        "annotations": root / _REF / "annotations" / f"{split}-gec-ref.json",
    }


def is_si_root(path: Path | str) -> bool:
    return (Path(path) / _REF / "flists.flac").is_dir()


def split_utt_id(utt_id: str) -> tuple[str, int, str]:
    """`SI114J-00011-P10003` -> ("SI114J-00011", 1, "P10003"); ValueError when it is not that shape."""
    if len(utt_id) != 19 or utt_id[12:14] != "-P" or not utt_id[14:].isdigit():
        raise ValueError(f"utterance id {utt_id!r} is not <12-char submission>-P<part><4-digit item>")
    return utt_id[:12], int(utt_id[14]), utt_id[13:]


def load_si_split(
    root: Path | str,
    split: str,
    parts: Sequence[int] = PARTS,
    ctm: str | None = "pre-norm",
    require_marks: bool = False,
) -> list[Submission]:
    """Read one official split of an S&I Corpus 2025 copy into submissions (sorted by id).

    Args:
        root: the corpus root (the folder holding `reference-materials/` and `data/`).
        split: "dev", "train" or "eval".
        parts: which parts to read; a submission keeps the parts it has among them.
        ctm: "pre-norm" joins the baseline ASR words (in time order) into each response's transcript
            where the split has that part's CTM; None (or no CTM file) leaves transcripts unknown.
        require_marks: True makes a split without marks files an error (a trainer's train/dev split);
            False reads it with marks None (the eval split as released).
    Returns:
        Submissions -> parts -> responses (audio path, item code, question or None, transcript);
        part marks; the overall mark where the overall marks file lists the submission.
    """
    root = Path(root)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; the S&I corpus has {', '.join(SPLITS)}")
    if ctm is not None and ctm not in CTM_KINDS:
        raise ValueError(f"unknown CTM kind {ctm!r}; expected one of {CTM_KINDS} or None")
    if not is_si_root(root):
        raise CorpusError(root, f"not an S&I corpus root: {_REF}/flists.flac/ is missing")
    questions = _read_questions(si_paths(root, split, "overall")["annotations"])
    marked = _has_marks(root, split, parts, require_marks)

    by_sub: dict[str, list[PartResponses]] = defaultdict(list)
    for part in parts:
        part_info(part)
        paths = si_paths(root, split, part)
        marks = _read_marks(paths["marks"], part) if marked else {}
        words = _read_ctm(paths["ctm"]) if ctm is not None and paths["ctm"].exists() else None
        responses: dict[str, list[Response]] = defaultdict(list)
        for utt_id, audio in _read_flist(paths["flist"], root, part):
            transcript = None if words is None else " ".join(w for _, w in sorted(words.get(utt_id, [])))
            responses[utt_id[:12]].append(
                Response(audio_path=audio, item=utt_id[13:], question=questions.get(utt_id),
                         transcript=transcript, utt_id=utt_id)
            )
        for sub_id, answers in responses.items():
            answers.sort(key=lambda r: r.item)
            by_sub[sub_id].append(PartResponses(part=part, responses=tuple(answers), mark=marks.get(sub_id)))

    overall = _read_marks(si_paths(root, split, "overall")["marks"], None) if marked else {}
    return [
        Submission(submission_id=s, parts=tuple(sorted(by_sub[s], key=lambda p: p.part)), overall_mark=overall.get(s))
        for s in sorted(by_sub)
    ]


def _has_marks(root: Path, split: str, parts: Sequence[int], required: bool) -> bool:
    """True when the split's marks are released (all its files then must exist), False when none is."""
    files = [si_paths(root, split, p)["marks"] for p in (*parts, "overall")]
    if not any(f.exists() for f in files) and not required:
        return False
    missing = [f for f in files if not f.exists()]
    if missing:
        why = "the split has other marks files, so this one is missing" if len(missing) < len(files) else \
            "this split's marks are needed here (the eval split comes without them)"
        raise CorpusError(missing[0], f"file not found ({why})")
    return True


def reference_order(root: Path | str, split: str, part: int | str) -> list[str]:
    """Submission ids in the order the official scorer's reference lists them for `part` (1..5 or
    "overall"): the marks file's order, or for a split without marks, the audio list's first appearances."""
    paths = si_paths(root, split, part)
    if paths["marks"].exists():
        return [fields[0] for _, fields in _lines(paths["marks"])]
    return list(dict.fromkeys(fields[0][:12] for _, fields in _lines(paths["flist"])))


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a whitespace/tab separated file, skipping blank lines."""
    if not path.is_file():
        raise CorpusError(path, "file not found")
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                yield n, line.split()


def _read_flist(path: Path, root: Path, part: int) -> Iterator[tuple[str, Path]]:
    """Audio list lines `uttID<TAB>relative/path.flac`; paths resolve against the corpus root."""
    seen: set[str] = set()
    for n, fields in _lines(path):
        if len(fields) != 2:
            raise CorpusError(path, f"expected 'uttID<TAB>path.flac', got {len(fields)} fields", n)
        utt_id, rel = fields
        try:
            _, utt_part, _ = split_utt_id(utt_id)
        except ValueError as e:
            raise CorpusError(path, str(e), n) from e
        if utt_part != part:
            raise CorpusError(path, f"utterance {utt_id} is part {utt_part}, but this list is part {part}", n)
        if utt_id in seen:
            raise CorpusError(path, f"utterance {utt_id} is listed twice", n)
        seen.add(utt_id)
        yield utt_id, _resolve_audio(root, rel)


def _resolve_audio(root: Path, rel: str) -> Path:
    """Lists name audio relative to the root or to `data/flac`; take the one that exists."""
    path = Path(rel)
    if path.is_absolute():
        return path
    for base in (root, root / "data" / "flac", root / "data"):
        if (base / path).exists():
            return base / path
    return root / path  # missing audio is reported by whoever loads it, with the part and answer


def _read_marks(path: Path, part: int | None) -> dict[str, float]:
    """Marks lines `submissionID<TAB>score`: part marks on the 0.5 grid, overall marks in 2.0..5.5."""
    marks: dict[str, float] = {}
    for n, fields in _lines(path):
        if len(fields) != 2:
            raise CorpusError(path, f"expected 'submissionID<TAB>score', got {len(fields)} fields", n)
        sub_id, text = fields
        try:
            score = float(text)
        except ValueError as e:
            raise CorpusError(path, f"score {text!r} is not a number", n) from e
        if part is not None and not on_grid(score):
            raise CorpusError(path, f"part mark {score} is not one of {GRID}", n)
        low, high = OVERALL_MARK_RANGE
        if part is None and not low <= score <= high:  # off-grid and holistic marks pass: they are references
            raise CorpusError(path, f"overall mark {score} is outside the plausible {low}..{high}", n)
        if sub_id in marks:
            raise CorpusError(path, f"submission {sub_id} has two marks", n)
        marks[sub_id] = score
    return marks


def _read_ctm(path: Path) -> dict[str, list[tuple[float, str]]]:
    """CTM lines `uttID channel start dur word [conf]` -> {uttID: [(start, word), ...]}."""
    words: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for n, fields in _lines(path):
        if fields[0].startswith(";;"):
            continue  # CTM comment
        if len(fields) not in (5, 6):
            raise CorpusError(path, f"expected 'uttID 1 start dur word [conf]', got {len(fields)} fields", n)
        try:
            start = float(fields[2])
        except ValueError as e:
            raise CorpusError(path, f"start time {fields[2]!r} is not a number", n) from e
        words[fields[0]].append((start, fields[4]))
    return words


def _read_questions(path: Path) -> dict[str, str]:
    """Question text per utterance from the annotated subset; {} when the file is absent."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorpusError(path, f"not valid JSON ({e.msg})", e.lineno) from e
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise CorpusError(path, 'expected an object with a "files" list')
    questions: dict[str, str] = {}
    for i, entry in enumerate(files):
        raw = entry.get("Question") if isinstance(entry, dict) else None
        if raw is None:
            continue
        try:  # the corpus stores the question as a JSON string inside the JSON
            question = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError as e:
            raise CorpusError(path, f'files[{i}]["Question"] is not a JSON string ({e.msg})') from e
        text = question.get("text") if isinstance(question, dict) else None
        if isinstance(text, str) and text.strip() and "File-id" in entry:
            questions[entry["File-id"]] = text.strip()
    return questions


# ----------------------------------------------------------------------------------------------


def load_submissions(source: Path | str, split: str | None = None, parts: Sequence[int] = PARTS,
                     ctm: str | None = "pre-norm", require_marks: bool = False) -> list[Submission]:
    """Submissions from an S&I corpus root (needs `split`) or a CSV manifest (`split` ignored).

    require_marks: an S&I split without marks files is an error (trainers), not an unmarked split.
    """
    source = Path(source)
    if source.suffix.lower() == ".csv":
        wanted = set(parts)
        subs = read_manifest(source)
        return [s for s in (_keep_parts(s, wanted) for s in subs) if s.parts]
    if source.is_dir():
        if split is None:
            raise ValueError(f"{source} is an S&I corpus root: name a split ({', '.join(SPLITS)})")
        return load_si_split(source, split, parts=parts, ctm=ctm, require_marks=require_marks)
    raise CorpusError(source, "expected an S&I corpus root folder or a .csv manifest")


def _keep_parts(sub: Submission, wanted: set[int]) -> Submission:
    kept = tuple(p for p in sub.parts if p.part in wanted)
    return sub if len(kept) == len(sub.parts) else Submission(sub.submission_id, kept, sub.overall_mark)


__all__ = ["SPLITS", "OVERALL_MARK_RANGE", "si_paths", "is_si_root", "split_utt_id", "training_target",
           "reference_order", "load_si_split", "load_submissions"]
