"""What every tab's handlers share: the injected callables, the answer slots, the teacher's workspace,
and the one boundary where an exception becomes text a teacher reads (`explained`, on every handler).

Handlers are plain functions of component values (unit-tested without a browser); `app.py` wires them.
Each takes `request=` (gradio's gr.Request, injected by app.py's wiring): with login on, its user name
picks the teacher's `Workspace` - their own sessions, recordings, profiles and active profile - and
nothing a handler does reaches another teacher's. Without login, everyone shares the workspace "".

Every file a handler is given goes through one checked intake (`accept`: intake.Uploads), every file it
hands out is a download of the teacher's own (`downloads.Downloads`), and every deletion goes through
`erase` (results.erasure: the store, then every copy).
"""

from __future__ import annotations

import functools
import inspect
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from ..assessment import Assessment, GraderInfo
from ..audio import DEFAULT_MAX_SECONDS
from ..data import Submission
from ..parts import PARTS, part_info
from ..results.erasure import ErasureReport, Places, erase
from ..results.retention import Retention
from ..results.store import DeletionTargets, ResultStore, file_sha256
from . import ui_text
from .calibration_desk import CalibrationDesk
from .classroom import UploadCaps
from .downloads import Downloads
from .intake import Uploads

log = logging.getLogger("sla.app")

ACTIVE_PROFILE = "active_profile"  # the store setting holding a teacher's profile in use (survives a restart)
NO_PROFILE = "(none)"  # the profiles dropdown's "no calibration" value; never a profile name (those start alnum)
# One audio input per answer of the real test: Part 1 six, Parts 3 and 4 one, Part 5 five.
SLOTS: tuple[tuple[int, int], ...] = tuple((p, i) for p in PARTS for i in range(part_info(p).max_answers))

Progress = Callable[[float, str], None]
AssessFn = Callable[[Submission, Progress | None], Assessment]  # e.g. Assessor.assess_submission
StatusFn = Callable[[], Sequence[GraderInfo]]  # e.g. Assessor.status


@dataclass(frozen=True)
class Fusion:
    """The fusion weight curve the charts draw (None: no multimodal grader, so no fusion)."""

    weights: tuple[float, ...] | None = None
    fitted: bool = False


@dataclass(frozen=True)
class Workspace:
    """One teacher's corner of the server."""

    owner: str  # the login name; "" without login
    store: ResultStore  # bound to the owner: other teachers' sessions do not exist here
    workdir: Path  # their uploads being read and their downloads (owner-only)
    profiles: Path | None  # their calibration profiles' folder (None: the desk's default)


class HandlerBase:
    """The state every tab's handlers read. Every result is saved to the store before it is returned."""

    def __init__(self, assess_fn: AssessFn, status_fn: StatusFn, store: ResultStore, fusion: Fusion = Fusion(),
                 workdir: str | Path | None = None, calibration: CalibrationDesk | None = None,
                 login: bool = False, retention: Retention = Retention(), caches: Sequence[Path] = (),
                 max_seconds: float = DEFAULT_MAX_SECONDS, uploads: Uploads | None = None,
                 downloads: Downloads | None = None, caps: UploadCaps = UploadCaps(),
                 erase_in: Places | None = None) -> None:
        """
        Args:
            login: the app runs with login: a call without a user name is refused (never the shared "").
            retention: how long recordings and what derives from them are kept; `caches` are the folders
                (transcripts, calibration embeddings) it covers besides the store and the work folder.
            max_seconds: the assessor's cap on one answer: uploads are checked against it on arrival.
            uploads: which files arrived as whose uploads (the server's file guard fills it); None: a ledger
                of its own, which trusts no file until one is recorded.
            downloads: where the teacher's downloads go; None: gradio's upload folder.
            caps: the limits on one class upload.
            erase_in: the caches a deletion clears (transcripts, calibration); None: their default folders.
        """
        self.assess_fn, self.status_fn, self.store, self.fusion = assess_fn, status_fn, store, fusion
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="sla-app-"))
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)  # uploads and downloads: owner-only
        self.calibration = calibration
        self.login = login
        self.retention, self.caches = retention, tuple(Path(c) for c in caches)
        self.max_seconds = max_seconds
        self.uploads = uploads if uploads is not None else Uploads()
        if downloads is None:
            from gradio.utils import get_upload_folder

            downloads = Downloads(get_upload_folder(), store.path)
        self.downloads, self.caps = downloads, caps
        self.erase_in = erase_in if erase_in is not None else _default_places(calibration)

    def sweep(self) -> None:
        """Apply the retention setting to every copy (called after each assessment and at start-up)."""
        try:
            self.retention.sweep(self.store, [*self.caches, self.workdir])
        except OSError as e:  # retention must never lose a teacher's result being shown
            log.warning("retention sweep failed: %s", e)

    def workspace(self, request: Any = None) -> Workspace:
        """The workspace of the teacher behind `request` (gr.Request; None in unit tests = no login)."""
        owner = (getattr(request, "username", None) or "") if request is not None else ""
        if self.login and not owner:
            raise gr.Error(ui_text.LOGIN_NEEDED)
        workdir = self.workdir / (f"teacher-{owner}" if owner else "shared")
        workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        profiles = self.calibration.root_for(owner) if self.calibration is not None else None
        return Workspace(owner, self.store.as_owner(owner), workdir, profiles)

    def active_calibration(self, ws: Workspace):
        """The teacher's active profile, bound to the loaded graders (None: none, or no Calibrate tab)."""
        if self.calibration is None:
            return None
        name = ws.store.setting(ACTIVE_PROFILE)
        if not name:
            return None
        try:
            return self.calibration.calibration_for(name, ws.owner)
        except (ValueError, FileNotFoundError) as e:  # deleted or no longer fits the graders: say so in the log
            log.warning("active profile %r of %r cannot be used (%s); assessing uncalibrated", name, ws.owner, e)
            return None

    def fusion_for(self, ws: Workspace) -> Fusion:
        """The fusion curve the teacher's assessments use (a profile may have refitted the weights)."""
        calibration = self.active_calibration(ws)
        if calibration is None or self.fusion.weights is None:
            return self.fusion
        return Fusion(tuple(calibration.fusion.weights), bool(calibration.fusion.fitted))

    def _assess(self, ws: Workspace, submission: Submission, progress: Progress | None) -> Assessment:
        """The injected assess function, with the teacher's own profile for this call."""
        if self.calibration is None:
            return self.assess_fn(submission, progress)
        return self.assess_fn(submission, progress, calibration=self.active_calibration(ws))

    def _run(self, ws: Workspace, submission: Submission, progress: Progress | None) -> Assessment:
        return self._assess(ws, submission, progress)  # a failure becomes display text in `explained`, below

    def accept(self, ws: Workspace, value: Any, what: str) -> list[Path]:
        """The checked intake (intake.Uploads.accept): the files of one input, each an upload of this
        teacher's, one of their kept recordings, or a public example; gr.Error saying what to send otherwise."""
        return self.uploads.accept(value, ws.owner, what, store=ws.store)

    def erase(self, ws: Workspace, session_id: int, *, learner: str | None = None,
              result_id: int | None = None) -> ErasureReport:
        """Delete a result, a learner or a session of this teacher's, and every copy of theirs: the work
        folder, their uploads in gradio's cache, the caches, the session's downloads, their profiles' evidence.
        KeyError when it is not theirs."""
        def uploads(targets: DeletionTargets) -> int:  # their uploads in gradio's cache, by content
            theirs = [p for p in self.uploads.uploaded_by(ws.owner) if file_sha256(p) in targets.sha256]
            return self.uploads.discard(theirs, ws.owner)

        profiles = (Path(ws.profiles),) if ws.profiles is not None else ()
        if not profiles and self.calibration is not None:
            from ..calibration import default_profiles_root

            profiles = (default_profiles_root(),)
        places = replace(self.erase_in, folders=(*self.erase_in.folders, ws.workdir), profiles=profiles,
                         downloads=(self.downloads.root,), extra=(uploads,))
        return erase(ws.store, session_id, learner=learner, result_id=result_id, places=places)


def _default_places(calibration: CalibrationDesk | None) -> Places:
    """The caches a deletion clears when the app is not told: the transcript and calibration caches' defaults."""
    from ..asr import default_transcript_cache_dir
    from ..calibration import default_cache_dir

    cache = getattr(getattr(calibration, "cache", None), "root", None)
    return Places(transcript_cache=default_transcript_cache_dir(), calibration_cache=Path(cache or default_cache_dir()))


@contextmanager
def no_such_session() -> Iterator[None]:
    """Looking up a saved session by what the page sent: an id that is not a number, not this teacher's (another
    teacher's session is "no session" too, never "not yours") or a learner index past its end reads as
    ui_text.NO_SUCH_SESSION."""
    try:
        yield
    except (KeyError, ValueError, TypeError, IndexError) as e:
        raise gr.Error(ui_text.NO_SUCH_SESSION) from e


def explained(action: str) -> Callable[[Callable], Callable]:
    """Decorate a handler so that no failure reaches the page as a bare "Error".

    A `gr.Error` (already written for the teacher) passes through; anything else becomes one whose title
    names what was being done (`action`, e.g. "Fit") and whose text says what happened and what to do.
    Generator handlers (a class run) are wrapped as generators, so gradio still streams them.
    """
    title = ui_text.FAILED_TITLE.format(action=action)

    def fail(e: Exception) -> gr.Error:
        if isinstance(e, gr.Error):  # written for the teacher already; only its title says what was not done
            if e.title == "Error":
                e.title = title
            return e
        log.exception("%s failed", action)
        return gr.Error(ui_text.error_text(e), title=title)

    def decorate(fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def stream(*args, **kwargs):
                try:
                    yield from fn(*args, **kwargs)
                except Exception as e:
                    error = fail(e)
                    if error is e:
                        raise
                    raise error from e
            return stream

        @functools.wraps(fn)
        def call(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as e:
                error = fail(e)
                if error is e:
                    raise
                raise error from e
        return call
    return decorate


def request_of(ws: Workspace) -> SimpleNamespace:
    """A stand-in request for a handler calling another on behalf of the same teacher."""
    return SimpleNamespace(username=ws.owner or None)


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in str(text))
