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

An upload to the app is untrusted (`load_upload`): a manifest may name only files inside the upload
(absolute paths, `..` and links leading out are skipped with the reason, and never opened or even
checked for existence), and a zip is unpacked within MAX_UNZIPPED_BYTES and MAX_ZIP_ENTRIES, counting
the bytes actually written, not the sizes its headers claim. The CLI, run by the machine's own user,
reads local paths as given (`load_class` without `confine_to`).

A file's folder names its learner only when the folder is one the teacher made: a file loose in the
upload or at the top of a zip names no learner (the zip's own name is not a learner's) and is skipped.
Before anything is assessed, `check_upload` judges the whole upload from the files' sizes and headers
alone (milliseconds a file): more than `UploadCaps.max_learners` learners, or more than
`UploadCaps.max_short_answers` answers too short or unreadable to hold speech, refuses the upload whole
(`UploadRefused`, nothing saved); within the caps such answers are skipped and listed.
"""

from __future__ import annotations

import errno
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..audio import DEFAULT_MAX_SECONDS, precheck_audio
from ..data import PartResponses, Response, Submission
from ..parts import PARTS, part_info

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
MAX_UNZIPPED_BYTES = 1024**3  # bytes; a zip may unpack to at most 1 GiB (a class of 30 is ~100 MB of WAV)
MAX_ZIP_ENTRIES = 2000  # files per zip; 30 learners x 13 answers is under 400
OUTSIDE_UPLOAD = "the path leads outside the upload (absolute paths, '..' and links are not allowed); " \
                 "put the file in the upload and name it relative to the CSV"
NAMING_SCHEME = "<learner>/part<P>_<N>.wav or <learner>_part<P>_<N>.wav (P = 1, 3, 4, 5; N = answer number)"

# "[learner<sep>]part<P>[<sep><N>]"; the learner part is lazy so "ann_lee_part1_2" -> learner "ann_lee".
_NAME = re.compile(r"^(?:(?P<learner>.+?)[_\-. ]+)?part[_\- ]?(?P<part>\d+)(?:[_\-. ]+(?P<answer>\d+))?$",
                   re.IGNORECASE)
_IGNORED = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
DEFAULT_MAX_LEARNERS = 200  # learners per upload: a class is ~30; a year group of several classes still fits
DEFAULT_MAX_SHORT_ANSWERS = 100  # answers per upload too short or unreadable to hold speech, before it is refused


@dataclass(frozen=True)
class UploadCaps:
    """Limits on one class upload, checked before any assessment (flags --max-learners, --max-short-answers)."""

    max_learners: int = DEFAULT_MAX_LEARNERS  # more: the upload is refused whole (a flood holds the model slot)
    max_short_answers: int = DEFAULT_MAX_SHORT_ANSWERS  # more answers with too little audio: refused whole


class UploadRefused(ValueError):
    """A class upload refused whole by `check_upload`; nothing of it is assessed or saved."""


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


def load_class(source: str | Path, *, confine_to: str | Path | None = None,
               containers: Sequence[Path] = ()) -> ClassBatch:
    """Read a class from a folder, a .zip or a CSV manifest (see the module docstring for the scheme).

    A folder holding a .csv is read as a manifest; otherwise its audio files are placed by name.
    Args:
        confine_to: an upload's folder: only files inside it are read (see the module docstring).
        containers: folders whose name is not a learner's (where zips were unpacked); `source` itself never is.
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
        if manifests:
            return read_class_manifest(manifests[0], confine_to=confine_to)
        return scan_folder(source, confine_to=confine_to, containers=containers)
    suffix = source.suffix.lower()
    if suffix == ".zip":
        dropped: list[Skipped] = []
        batch = load_class(extract_zip(source, Path(tempfile.mkdtemp(prefix="sla-class-")), dropped))
        return replace(batch, skipped=tuple(dropped) + batch.skipped)
    if suffix == ".csv":
        return read_class_manifest(source, confine_to=confine_to)
    raise ValueError(f"{source.name}: a class upload is a folder, a .zip or a .csv manifest, not {suffix or 'a file without suffix'}")


def load_upload(files: Sequence[str | Path], workdir: str | Path) -> ClassBatch:
    """A web upload -> its class, read only from inside `workdir`; dropped zip entries are in `skipped`.

    The caller removes `workdir` once the class has been assessed (it holds the unpacked files).
    """
    dropped: list[Skipped] = []
    root = stage_uploads(files, workdir, dropped)
    zips = [root / Path(f).stem for f in files if Path(f).suffix.lower() == ".zip"]
    batch = load_class(root, confine_to=root, containers=zips)
    return replace(batch, skipped=tuple(dropped) + batch.skipped)


def stage_uploads(files: Sequence[str | Path], workdir: str | Path, dropped: list[Skipped] | None = None) -> Path:
    """Gather uploaded files (each in its own temp folder, as web uploads arrive) into one folder.

    Zips are unpacked in place, so a manifest next to loose audio files finds them by relative path;
    the zip entries left out are appended to `dropped`. Returns the folder to pass to `load_class`.
    """
    root = Path(workdir)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    for f in map(Path, files):
        if f.suffix.lower() == ".zip":
            extract_zip(f, root / f.stem, dropped)
        else:
            target = root / f.name
            if target.exists():
                raise ValueError(f"two uploaded files are both called {f.name!r}; rename one, or upload a .zip "
                                 f"with one folder per learner")
            shutil.copy2(f, target)
    return root


def extract_zip(path: str | Path, dest: str | Path, dropped: list[Skipped] | None = None) -> Path:
    """Unpack a zip safely into `dest`; returns `dest`. Entries left out are appended to `dropped`.

    Left out, with the reason: paths that are absolute or climb out with '..', links, entries the zip
    cannot give back intact (bad CRC, a false size, an unknown compression or a password). Refused
    whole (ValueError naming the zip, nothing left behind): an unreadable zip, more than MAX_ZIP_ENTRIES
    files, or more than MAX_UNZIPPED_BYTES actually written, whatever the headers claim.
    """
    path, dest = Path(path), Path(dest)
    dropped = [] if dropped is None else dropped
    try:
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise ValueError(f"{path.name} is not a readable .zip file ({e}); make the zip again") from e
    with archive:
        if len(members) > MAX_ZIP_ENTRIES:
            raise ValueError(f"{path.name} holds {len(members)} files; the limit is {MAX_ZIP_ENTRIES} per zip")
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        budget = MAX_UNZIPPED_BYTES
        for m in members:
            filename = member_name(m)
            where = f"{path.name}: {filename}"
            name = Path(filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", filename):
                dropped.append(Skipped(where, "the entry's path leads outside the zip's folder; it was not unpacked"))
                continue
            if stat.S_ISLNK(m.external_attr >> 16):
                dropped.append(Skipped(where, "the entry is a link, not a file; it was not unpacked"))
                continue
            target = dest / name
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                budget = _copy_bounded(archive, m, target, budget)
            except _TooBig:
                shutil.rmtree(dest, ignore_errors=True)
                raise ValueError(f"{path.name} unpacks to more than {MAX_UNZIPPED_BYTES / 1024**3:.0f} GiB, the "
                                 f"limit for one zip; upload the class in smaller zips") from None
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                dropped.append(Skipped(where, "a file and a folder in the zip have the same name, so it was not "
                                              "unpacked; rename one of them"))
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as e:
                if isinstance(e, OSError) and e.errno == errno.ENAMETOOLONG:
                    why = "its name is too long for a file name; shorten it"
                else:  # an OSError's text names the server's folder: give its reason only
                    why = ("the entry is damaged or protected and could not be unpacked "
                           f"({e.strerror if isinstance(e, OSError) else e})")
                try:
                    target.unlink(missing_ok=True)
                except OSError:
                    pass
                dropped.append(Skipped(where, why))
    return dest


def member_name(member: zipfile.ZipInfo) -> str:
    """A zip entry's name as its maker wrote it, whether or not the zip flags it as UTF-8.

    Without the UTF-8 flag (bit 11) Python reads names as CP437, the old DOS code page; but Linux `zip`,
    macOS and many tools write UTF-8 bytes without setting the flag, so "Fatima Ö" would come out as
    "Fatima ├û". Such a name is read back as UTF-8 when its bytes are valid UTF-8; a real CP437 name
    (an old Windows zip) is not valid UTF-8 once it has a non-ASCII letter, and is kept as CP437.
    """
    if member.flag_bits & 0x800:
        return member.filename
    try:
        return member.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return member.filename


class _TooBig(Exception):
    """The unpacked bytes passed the budget."""


def _copy_bounded(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy one entry, counting the bytes really written; returns the budget left, raises _TooBig past it."""
    with archive.open(member) as src, target.open("wb") as out:
        while chunk := src.read(1 << 20):
            budget -= len(chunk)
            if budget < 0:
                raise _TooBig
            out.write(chunk)
    return budget


def scan_folder(root: str | Path, *, confine_to: str | Path | None = None,
                containers: Sequence[Path] = ()) -> ClassBatch:
    """Place every audio file under `root` by the naming scheme; list the others with a reason.

    A file's folder names its learner unless it is `root` or one of `containers` (a zip's own folder).
    """
    root = Path(root)
    unnamed = {root, *map(Path, containers)}
    found: dict[str, dict[int, dict[int, Path]]] = defaultdict(lambda: defaultdict(dict))
    skipped: list[Skipped] = []
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        if confine_to is not None and not _inside(path, Path(confine_to)):
            skipped.append(Skipped(rel, OUTSIDE_UPLOAD))
            continue
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            skipped.append(Skipped(rel, f"not an audio file; expected {', '.join(AUDIO_SUFFIXES)}"))
            continue
        m = _NAME.match(path.stem)
        if m is None:
            skipped.append(Skipped(rel, f"name does not follow {NAMING_SCHEME}"))
            continue
        learner = m["learner"] or (path.parent.name if path.parent not in unnamed else "")
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


def check_upload(batch: ClassBatch, caps: UploadCaps = UploadCaps(),
                 max_seconds: float = DEFAULT_MAX_SECONDS) -> ClassBatch:
    """Judge a whole upload before anything is assessed, from sizes and headers only (no decoding).

    Returns:
        the batch without the answers that cannot hold speech (too short, unreadable, too long or too large:
        each listed in `skipped` with its reason) and without learners left with no answer.
    Raises:
        UploadRefused: more than `caps.max_learners` learners, or more than `caps.max_short_answers` such
            answers; the message says what to upload instead.
    """
    n = len(batch.submissions)
    if n > caps.max_learners:
        raise UploadRefused(f"the upload holds {n} learners; one upload may hold at most {caps.max_learners}. "
                            "Upload one class at a time (a server's administrator can raise the limit with "
                            "--max-learners)")
    skipped: list[Skipped] = []
    kept = []
    for sub in batch.submissions:
        parts = []
        for pr in sub.parts:
            answers = []
            for i, r in enumerate(pr.responses):
                issue = None if r.audio_path is None else precheck_audio(r.audio_path, part=pr.part, answer=i,
                                                                          max_seconds=max_seconds)
                if issue is None:
                    answers.append(r)
                    continue
                skipped.append(Skipped(f"{sub.submission_id}/{r.audio_path.name}", str(issue)))
                if len(skipped) > caps.max_short_answers:
                    raise UploadRefused(f"more than {caps.max_short_answers} of the uploaded answers are too short "
                                        "or not readable as audio (the first: "
                                        f"{skipped[0].path}: {skipped[0].reason}); nothing was assessed. Check "
                                        "that the files are the learners' recordings and upload them again")
            if answers:
                parts.append(replace(pr, responses=tuple(answers)))
        if parts:  # a learner left with nothing is not assessed: their files are listed above
            kept.append(replace(sub, parts=tuple(parts)))
    return replace(batch, submissions=tuple(kept), skipped=batch.skipped + tuple(skipped))


def read_class_manifest(path: str | Path, *, confine_to: str | Path | None = None) -> ClassBatch:
    """A class from a CSV manifest; rows whose audio file is absent (or, confined, outside) are skipped with the
    reason, and so are malformed rows (an empty learner, a part 2, ...: listed by line), so the others are assessed."""
    from ..manifest import CorpusError, read_manifest  # the shared manifest reader (errors name file and line)

    path = Path(path)
    problems: list[CorpusError] = []
    read = read_manifest(path, problems)
    skipped = [Skipped(path.name if e.line is None else f"{path.name} line {e.line}", e.reason) for e in problems]
    submissions = []
    for sub in read:
        parts = []
        for pr in sub.parts:
            kept = []
            for i, r in enumerate(pr.responses):
                if confine_to is not None and r.audio_path is not None and not _inside(r.audio_path, Path(confine_to)):
                    # Judged on the path alone: the file is never opened, nor checked for existence.
                    skipped.append(Skipped(_shown(r.audio_path, path.parent), f"listed in {path.name} for "
                                           f"{sub.submission_id}, part {pr.part}, answer {i + 1}: {OUTSIDE_UPLOAD}"))
                    continue
                if r.audio_path is not None and not r.audio_path.is_file() and (path.parent / r.audio_path.name).is_file():
                    r = replace(r, audio_path=path.parent / r.audio_path.name)  # uploaded flat, beside the CSV
                    if confine_to is not None and not _inside(r.audio_path, Path(confine_to)):
                        skipped.append(Skipped(r.audio_path.name, f"listed in {path.name}: {OUTSIDE_UPLOAD}"))
                        continue
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


def _inside(path: Path, root: Path) -> bool:
    """Whether `path` lies inside `root`: first by its text (no '..', no outside absolute path, no file
    system access), then with links followed inside the root."""
    root = Path(root).absolute()
    path = path if path.is_absolute() else Path.cwd() / path
    if ".." in path.parts or not path.is_relative_to(root):
        return False
    return path.resolve().is_relative_to(root.resolve())


def _shown(path: Path, base: Path) -> str:
    """How a manifest's path is listed back: as written, relative to the CSV when it was relative."""
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


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
