"""What every tab's handlers share: the injected callables, the answer slots, and the one boundary where
an exception becomes text a teacher reads (`explained`, on every handler).

Handlers are plain functions of component values (unit-tested without a browser); `app.py` wires them.
"""

from __future__ import annotations

import functools
import inspect
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from ..assessment import Assessment, GraderInfo
from ..data import Submission
from ..parts import PARTS, part_info
from ..results.store import ResultStore
from . import ui_text
from .calibration_desk import CalibrationDesk

log = logging.getLogger("sla.app")

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


class HandlerBase:
    """The state every tab's handlers read. Every result is saved to the store before it is returned."""

    def __init__(self, assess_fn: AssessFn, status_fn: StatusFn, store: ResultStore, fusion: Fusion = Fusion(),
                 workdir: str | Path | None = None, calibration: CalibrationDesk | None = None) -> None:
        self.assess_fn, self.status_fn, self.store, self.fusion = assess_fn, status_fn, store, fusion
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="sla-app-"))
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)  # uploads and downloads: owner-only
        self.calibration = calibration

    def _run(self, submission: Submission, progress: Progress | None) -> Assessment:
        return self.assess_fn(submission, progress)  # a failure becomes display text in `explained`, below


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


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in str(text))
