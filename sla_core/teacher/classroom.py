"""Class intake: turn an upload of a whole class into one Submission per learner, and say what was skipped.

Accepted uploads (a zip, a folder, loose files, or a CSV manifest):

1. Folder per learner:          <learner>/part<P>_<N>.wav    e.g. maria/part1_2.wav, maria/part3.wav
2. Learner in the file name:    <learner>_part<P>_<N>.wav    e.g. tom_part5_1.flac, tom_part4.wav
3. CSV manifest (header `learner,part,audio,question,transcript,score`, see sla_core.research.corpus.read_manifest)
   with its audio files beside it (or inside the same zip); paths are relative to the CSV's folder.

<P> is the part (1, 3, 4 or 5); <N> the answer number, optional for the one-answer Parts 3 and 4
(`part3.wav` = `part3_1.wav`). Separators `_`, `-`, `.` or a space; case does not matter (`Part1-2.WAV`).
Audio: .wav .flac .ogg .mp3. Any file that does not fit is listed in `ClassBatch.skipped` with the
reason, so the teacher can rename it; nothing is dropped silently.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..data import PartResponses, Response, Submission
from ..parts import PARTS, part_info

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MAX_UNZIPPED_BYTES = 2 * 1024**3  # refuse zips that would unpack to more than 2 GiB (a class is ~100 MB)
NAMING_SCHEME = "<learner>/part<P>_<N>.wav or <learner>_part<P>_<N>.wav (P = 1, 3, 4, 5; N = answer number)"

# "[learner<sep>]part<P>[<sep><N>]"; the learner part is lazy so "ann_lee_part1_2" -> learner "ann_lee".
_NAME = re.compile(r"^(?:(?P<learner>.+?)[_\-. ]+)?part[_\- ]?(?P<part>\d+)(?:[_\-. ]+(?P<answer>\d+))?$",
                   re.IGNORECASE)
_IGNORED = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Skipped:
    """A file that could not be placed, and why (in words a teacher can act on)."""

    path: str  # relative to the upload's root
    reason: str


@dataclass(frozen=True)
class ClassBatch:
    """A class ready to assess: one Submission per learner (answers in order) and the files left out."""

    submissions: tuple[Submission, ...]
    skipped: tuple[Skipped, ...]
    source: str  # "file names" or "manifest <name>": how the files were placed

    @property
    def learners(self) -> tuple[str, ...]:
        return tuple(s.submission_id for s in self.submissions)

    def responses(self) -> dict[str, dict[int, list[Path]]]:
        """learner -> {part: [audio paths in answer order]}: the shape Assessor.assess takes."""
        return {s.submission_id: {p.part: [r.audio_path for r in p.responses] for p in s.parts}
                for s in self.submissions}


def load_class(source: str | Path) -> ClassBatch:
    """Read a class from a folder, a .zip or a CSV manifest (see the module docstring for the scheme).

    A folder holding a .csv is read as a manifest; otherwise its audio files are placed by name.
    Raises:
        FileNotFoundError: `source` does not exist.
        ValueError: not a folder / .zip / .csv, a malformed manifest (file and line named), several manifests.
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"class upload {str(source)!r} does not exist")
    if source.is_dir():
        manifests = sorted(p for p in _files(source) if p.suffix.lower() == ".csv")
        if len(manifests) > 1:
            names = ", ".join(str(p.relative_to(source)) for p in manifests)
            raise ValueError(f"found {len(manifests)} CSV manifests ({names}); upload one manifest per class")
        return read_class_manifest(manifests[0]) if manifests else scan_folder(source)
    suffix = source.suffix.lower()
    if suffix == ".zip":
        return load_class(extract_zip(source, Path(tempfile.mkdtemp(prefix="sla-class-"))))
    if suffix == ".csv":
        return read_class_manifest(source)
    raise ValueError(f"{source.name}: a class upload is a folder, a .zip or a .csv manifest, not {suffix or 'a file without suffix'}")


def stage_uploads(files: Sequence[str | Path], workdir: str | Path) -> Path:
    """Gather uploaded files (each in its own temp folder, as web uploads arrive) into one folder.

    Zips are unpacked in place, so a manifest next to loose audio files finds them by relative path.
    Returns the folder to pass to `load_class`.
    """
    root = Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    for f in map(Path, files):
        if f.suffix.lower() == ".zip":
            extract_zip(f, root / f.stem)
        else:
            target = root / f.name
            if target.exists():
                raise ValueError(f"two uploaded files are both called {f.name!r}; rename one, or upload a .zip "
                                 f"with one folder per learner")
            shutil.copy2(f, target)
    return root


def extract_zip(path: str | Path, dest: str | Path) -> Path:
    """Unpack a zip safely (no absolute paths, no '..', bounded size) into `dest`; returns `dest`."""
    path, dest = Path(path), Path(dest)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{path.name} is not a readable .zip file") from e
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        total = sum(m.file_size for m in members)
        if total > MAX_UNZIPPED_BYTES:
            raise ValueError(f"{path.name} unpacks to {total / 1024**3:.1f} GiB; the limit is "
                             f"{MAX_UNZIPPED_BYTES / 1024**3:.0f} GiB")
        dest.mkdir(parents=True, exist_ok=True)
        for m in members:
            name = Path(m.filename)
            if name.is_absolute() or ".." in name.parts:
                continue  # a path outside the folder is never written (zip-slip)
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(m) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)
    return dest


def scan_folder(root: str | Path) -> ClassBatch:
    """Place every audio file under `root` by the naming scheme; list the others with a reason."""
    root = Path(root)
    found: dict[str, dict[int, dict[int, Path]]] = defaultdict(lambda: defaultdict(dict))
    skipped: list[Skipped] = []
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            skipped.append(Skipped(rel, f"not an audio file; expected {', '.join(AUDIO_SUFFIXES)}"))
            continue
        m = _NAME.match(path.stem)
        if m is None:
            skipped.append(Skipped(rel, f"name does not follow {NAMING_SCHEME}"))
            continue
        learner = m["learner"] or (path.parent.name if path.parent != root else "")
        if not learner:
            skipped.append(Skipped(rel, "no learner name: put the file in a folder named after the learner, "
                                        "or name it <learner>_part<P>_<N>.wav"))
            continue
        part, answer = int(m["part"]), int(m["answer"] or 1)
        if part not in PARTS:
            skipped.append(Skipped(rel, f"part {part} is not assessed; the parts are {', '.join(map(str, PARTS))}"))
            continue
        limit = part_info(part).max_answers
        if not 1 <= answer <= limit:
            skipped.append(Skipped(rel, f"answer {answer} of part {part}: this part takes answers 1 to {limit}"))
            continue
        answers = found[learner][part]
        if answer in answers:
            first = answers[answer].relative_to(root).as_posix()
            skipped.append(Skipped(rel, f"same learner, part and answer as {first}"))
            continue
        answers[answer] = path
    submissions = tuple(
        Submission(learner, tuple(
            PartResponses(p, tuple(Response(audio_path=found[learner][p][n]) for n in sorted(found[learner][p])))
            for p in PARTS if p in found[learner]
        ))
        for learner in sorted(found, key=_natural)
    )
    return ClassBatch(submissions, tuple(skipped), "file names")


def read_class_manifest(path: str | Path) -> ClassBatch:
    """A class from a CSV manifest; rows whose audio file is absent are skipped with the reason."""
    from ..manifest import read_manifest  # the shared manifest reader (errors name file and line)

    path = Path(path)
    skipped: list[Skipped] = []
    submissions = []
    for sub in read_manifest(path):
        parts = []
        for pr in sub.parts:
            kept = []
            for i, r in enumerate(pr.responses):
                if r.audio_path is not None and not r.audio_path.is_file() and (path.parent / r.audio_path.name).is_file():
                    r = replace(r, audio_path=path.parent / r.audio_path.name)  # uploaded flat, beside the CSV
                if r.audio_path is not None and not r.audio_path.is_file():
                    skipped.append(Skipped(str(r.audio_path.name), f"listed in {path.name} for {sub.submission_id}, "
                                                                   f"part {pr.part}, answer {i + 1}, but not uploaded"))
                    continue
                kept.append(r)
            if kept:
                parts.append(PartResponses(pr.part, tuple(kept), pr.mark))
        if parts:
            submissions.append(Submission(sub.submission_id, tuple(parts), sub.overall_mark))
        else:
            skipped.append(Skipped(sub.submission_id, f"learner in {path.name} with no uploaded audio"))
    return ClassBatch(tuple(submissions), tuple(skipped), f"manifest {path.name}")


def _files(root: Path) -> list[Path]:
    """Every plain file under root, in a stable order, without OS clutter (__MACOSX, .DS_Store, dotfiles)."""
    return sorted(
        (p for p in root.rglob("*") if p.is_file()
         and not any(part in _IGNORED or part.startswith(".") for part in p.relative_to(root).parts)),
        key=lambda p: _natural(p.relative_to(root).as_posix()),
    )


def _natural(text: str) -> list:
    """Sort key where 'learner10' comes after 'learner9'."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]
