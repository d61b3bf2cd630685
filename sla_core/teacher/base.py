"""What every tab's handlers share: the injected callables, the answer slots, and the one boundary where
an exception becomes text a teacher reads (`HandlerBase._run`).

Handlers are plain functions of component values (unit-tested without a browser); `app.py` wires them.
"""

from __future__ import annotations

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
        try:
            return self.assess_fn(submission, progress)
        except gr.Error:
            raise
        except Exception as e:  # the one boundary where an exception becomes display text
            log.exception("assessment failed")
            raise gr.Error(ui_text.error_text(e)) from e


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in str(text))
