"""The app's Calibrate tab without gradio: graded recordings in, marks table, listen, fit, save, apply.

Both ways in end in one marks table (MARK_COLUMNS), so the teacher always sees and can correct what
the fit will use:

* an upload (CSV manifest with a score per part, plus its audio or one zip): read with
  `classroom.load_upload` (confined to the upload), marks taken from the manifest (blank when it has none);
* a saved classroom session: the `ResultStore` keeps each learner's recordings, and the table is
  pre-filled with the system's score rounded to the half band, so the teacher only corrects.

`CalibrationDesk` binds the calibration core (`sla_core.calibration`) to one loaded Assessor and the
profiles folder; it is what the app's handlers call.
"""

from __future__ import annotations

import math
import shutil
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from ..assessment import Assessment
from ..calibration import (
    Calibration,
    CalibrationResult,
    EmbeddingCache,
    ExemplarData,
    ProfileInfo,
    check_profile_name,
    calibrated,
    collect_exemplars,
    default_profiles_root,
    fit_calibration,
    graded_submissions,
    list_profiles,
    load_calibration,
    save_profile,
    use_calibration,
)
from ..cefr import GRID, cefr_label, round_to_grid
from .classroom import ClassBatch, load_upload
from ..data import Submission

Progress = Callable[[float, str], None]

# The marks table: one row per learner and part; only "Your mark" is edited (MARK_INDEX).
MARK_COLUMNS = ("Learner", "Part", "System score", "System level", "Your mark")
MARK_INDEX = 4
NO_SCORE = "—"  # an uploaded recording the system has not scored
GRID_TEXT = ", ".join(f"{g:.1f}" for g in GRID)


@dataclass(frozen=True)
class MarkRow:
    """One row of the marks table and the recordings behind it."""

    learner: str  # unique within the table (a repeated name gets " (2)")
    part: int
    audio: tuple[Path, ...]  # the part's answers, in order
    system: float | None = None  # the system's score when it was assessed (a saved session)
    mark: float | None = None  # the mark the table starts with (the manifest's, or the system's rounded)
    questions: tuple[str | None, ...] = ()  # the manifest's question per answer: the multimodal prompt names it

    def cells(self) -> list:
        """The row as the table shows it (MARK_COLUMNS)."""
        score = NO_SCORE if self.system is None else f"{self.system:.2f}"
        level = NO_SCORE if self.system is None else cefr_label(self.system)
        return [self.learner, self.part, score, level, "" if self.mark is None else f"{self.mark:.1f}"]


def table(rows: Sequence[MarkRow]) -> list[list]:
    return [r.cells() for r in rows]


def upload_rows(batch: ClassBatch) -> list[MarkRow]:
    """Rows of an uploaded class, with the manifest's marks (None when the upload has no marks)."""
    return [MarkRow(s.submission_id, pr.part, tuple(r.audio_path for r in pr.responses), None, pr.mark,
                    tuple(r.question for r in pr.responses))
            for s in batch.submissions for pr in s.parts]


def read_upload(files: Sequence[str | Path], workdir: str | Path) -> tuple[list[MarkRow], ClassBatch]:
    """Uploaded files (a zip, or a CSV with its audio) -> (rows, the batch with what was skipped).

    Raises:
        ValueError: nothing usable was uploaded (the message lists what was skipped and why).
    """
    batch = load_upload(files, workdir)
    if not batch.submissions:
        why = "; ".join(f"{s.path}: {s.reason}" for s in batch.skipped) or "no audio files"
        raise ValueError(f"no learner's recordings were found in the upload ({why})")
    return upload_rows(batch), batch


def session_rows(results: Sequence[Assessment], audio: Sequence[dict[int, tuple[Path, ...]]]) -> list[MarkRow]:
    """Rows of a saved session: every assessed part whose recordings were kept, mark = system score on the grid.

    Args:
        results, audio: `ResultStore.load(id)` and `ResultStore.audio(id)`, aligned.
    """
    rows, seen = [], {}
    for i, (a, files) in enumerate(zip(results, audio)):
        name = (a.learner or "").strip() or f"learner {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} ({seen[name]})"  # two results of one name are two learners here
        for pa in a.parts:
            if pa.ok and files.get(pa.part):
                rows.append(MarkRow(name, pa.part, tuple(files[pa.part]), pa.score, round_to_grid(pa.score)))
    return rows


def parse_mark(value, learner: str, part: int) -> float | None:
    """A table cell -> a mark on the grid, or None when blank (not graded); ValueError naming the row."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().replace(",", ".")  # "3,5" as many teachers write it
    if not text:
        return None
    try:
        mark = float(text)
    except ValueError:
        raise ValueError(f"{learner}, part {part}: {str(value).strip()!r} is not a mark; write one of "
                         f"{GRID_TEXT}, or leave it blank") from None
    on_grid = [g for g in GRID if abs(mark - g) < 1e-6]
    if not on_grid:
        raise ValueError(f"{learner}, part {part}: {text} is not on the scale; write one of {GRID_TEXT} "
                         "(half bands), or leave it blank")
    return on_grid[0]


def graded_rows(rows: Sequence[MarkRow], cells: Sequence[Sequence]) -> list[tuple[str, int, tuple[Path, ...], float]]:
    """The edited table -> (learner, part, audio files, mark) for each row with a mark.

    Args:
        rows: the MarkRows the table was made from (their audio); cells: the table as edited.
    Raises:
        ValueError: a bad mark (learner and part named), or a table that no longer matches `rows`.
    """
    if len(cells) != len(rows):
        raise ValueError(f"the marks table has {len(cells)} rows but {len(rows)} recordings were loaded; "
                         "load the recordings again")
    graded = []
    for row, values in zip(rows, cells):
        if str(values[0]) != row.learner or int(values[1]) != row.part:
            raise ValueError(f"row {values[0]!r}, part {values[1]!r} does not match the loaded recordings "
                             f"({row.learner}, part {row.part}); load the recordings again")
        mark = parse_mark(values[MARK_INDEX], row.learner, row.part)
        if mark is not None:
            graded.append((row.learner, row.part, row.audio, mark))
    return graded


def check_marks_differ(graded: Sequence[tuple[str, int, Sequence[Path], float]]) -> None:
    """Refuse a fit whose marks are all the same: it cannot learn, nor be checked (Pearson is undefined).

    This is what a teacher meets first when a saved session pre-fills every mark with the same rounded score.
    """
    marks = {mark for *_, mark in graded}
    if len(graded) > 1 and len(marks) == 1:
        raise ValueError(f"the marks must differ; you gave {marks.pop():.1f} for all {len(graded)}. A calibration "
                         "learns from how your marks differ between answers: change the marks to your own, "
                         "then press Fit again")


class CalibrationDesk:
    """The calibration workflow over one loaded Assessor (the app holds one; its graders are shared)."""

    def __init__(self, assessor, profiles_root: str | Path | None = None, cache: EmbeddingCache | None = None,
                 listen: Callable[..., ExemplarData] = collect_exemplars) -> None:
        """
        Args:
            assessor: the app's `assess.Assessor`; `use` changes it for every following assessment.
            profiles_root: where profiles are saved; None = calibration.default_profiles_root().
            cache: embedding cache; None = calibration.default_cache_dir().
            listen: collect_exemplars, or a wrapper of it (e.g. to run on a ZeroGPU slice).
        """
        self.assessor, self.root, self.cache, self._listen = assessor, profiles_root, cache, listen
        self._loaded: dict[tuple[str, str], tuple[float, Calibration]] = {}  # (owner, name) -> (mtime, bound)
        self._loaded_lock = threading.Lock()

    def root_for(self, owner: str = "") -> Path | None:
        """A teacher's profiles folder: <root>/.teachers/<owner> (hidden from the shared list); "" = the root."""
        if not owner:
            return self.root
        base = Path(self.root) if self.root is not None else default_profiles_root()
        folder = base / ".teachers" / owner
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def claim_unowned(self, owner: str) -> list[str]:
        """Move the profiles saved before login (in the root itself) to `owner`'s folder; returns their names."""
        base = Path(self.root) if self.root is not None else default_profiles_root()
        moved = []
        for info in list_profiles(base):
            target = self.root_for(owner) / info.name
            if not target.exists():
                shutil.move(str(base / info.name), str(target))
                moved.append(info.name)
        return moved

    def calibration_for(self, name: str, owner: str = "") -> Calibration:
        """The teacher's profile `name`, checked against the graders once and reused while its file is unchanged."""
        root = self.root_for(owner)
        stamp_file = Path(root if root is not None else default_profiles_root()) / name / "profile.json"
        stamp = stamp_file.stat().st_mtime if stamp_file.is_file() else -1.0
        with self._loaded_lock:
            cached = self._loaded.get((owner, name))
            if cached is not None and cached[0] == stamp:
                return cached[1]
        calibration = load_calibration(self.assessor, name, root=root)
        with self._loaded_lock:
            self._loaded[(owner, name)] = (stamp, calibration)
        return calibration

    def submissions(self, graded: Sequence[tuple[str, int, Sequence[Path], float]],
                    rows: Sequence[MarkRow] = ()) -> list[Submission]:
        """The graded parts as Submissions, each answer with the question its row brought (a manifest's), if any."""
        if not graded:
            raise ValueError("no part has a mark: enter your mark (2.0 to 5.5) for the parts you graded")
        questions = {str(a): q for r in rows for a, q in zip(r.audio, r.questions) if q}
        subs = graded_submissions(graded)
        if not questions:
            return subs
        return [replace(s, parts=tuple(replace(pr, responses=tuple(
            replace(r, question=questions.get(str(r.audio_path), r.question)) for r in pr.responses))
            for pr in s.parts)) for s in subs]

    def listen(self, submissions: Sequence[Submission], progress: Progress | None = None) -> ExemplarData:
        """Run the graders once over the graded parts (cached on disk by audio content), uncalibrated."""
        with getattr(self.assessor, "_lock", nullcontext()), calibrated(self.assessor, None):
            return self._listen(self.assessor, submissions, cache=self.cache, progress=progress)

    @staticmethod
    def fit(data: ExemplarData, name: str) -> CalibrationResult:
        return fit_calibration(data, name=check_profile_name(name))

    def save(self, result: CalibrationResult, name: str, force: bool = False, overwrite: bool = False,
             owner: str = "") -> Path:
        """Save under `name` (the fit may have had another); refuses a profile that did not help unless `force`.

        Raises:
            ValueError: it did not help and force is False (the verdict is the message), or a bad name.
            FileExistsError: the name is taken and overwrite is False.
        """
        if not result.applies and not force:
            raise ValueError(f"not saved: {result.reason}")
        profile = result.profile
        if name != profile.name:
            profile = replace(profile, name=check_profile_name(name))
        return save_profile(profile, self.root_for(owner), overwrite=overwrite)

    def profiles(self, owner: str = "") -> list[ProfileInfo]:
        return list_profiles(self.root_for(owner))

    def use(self, name: str | None) -> Calibration | None:
        """Apply the profile `name` to every following assessment; None or "" goes back to uncalibrated."""
        return use_calibration(self.assessor, name or None, root=self.root)

    @property
    def active(self) -> str | None:
        calibration = getattr(self.assessor, "calibration", None)
        return None if calibration is None else calibration.name


__all__ = ["MARK_COLUMNS", "MARK_INDEX", "MarkRow", "CalibrationDesk", "table", "upload_rows", "read_upload",
           "session_rows", "parse_mark", "graded_rows", "check_marks_differ"]
