"""The app's endpoints for a program (`gradio_client`): named inputs, the Assessment JSON, the CSV as a file.

The page's own events take one input per widget (thirteen audio slots, in page order) and return what the
page draws; a program wants names and data instead. `assess_learner` takes `part1` (a list of files),
`part3`, `part4`, `part5` (a file or a list) and `learner`, all optional, and returns the Assessment: by default
its compact form (`Assessment.to_dict("compact")`: scores, levels, intervals, review, delivery summary), with
`detail="full"` the whole `Assessment.to_dict()`, the object `python -m sla_core assess --json` prints.
`assess_class_csv` assesses a class upload exactly as the Classroom tab does and returns its CSV file.
Both save their results to the store, as the page does.

No `from __future__ import annotations` here: `gr.api` reads these signatures' type hints to document the
endpoints, and needs them as types, not strings.
"""

import html
from datetime import date
from pathlib import Path
from typing import Any, Literal, Union

import gradio as gr
from gradio.data_classes import FileData

from ..assessment import DETAILS
from ..data import PartResponses, Response, Submission
from ..results.store import submission_audio
from . import ui_text
from .base import HandlerBase, explained

Files = Union[FileData, list[FileData], None]


def _paths(value: Any, part: int) -> list[Path]:
    """A part's files as gradio hands them over (a path, a FileData dict, or a list of either)."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    paths = []
    for item in items:
        path = item.get("path") if isinstance(item, dict) else getattr(item, "path", item)
        if not isinstance(path, (str, Path)) or not str(path):
            raise ValueError(f"part{part}: {item!r} is not a file; send files with gradio_client.handle_file(path)")
        paths.append(Path(path))
    return paths


class ApiEndpoints(HandlerBase):
    """Endpoints with named inputs for programs; the page does not use them."""

    @explained("assess_learner")
    def assess_learner(self, part1: Files = None, part3: Files = None, part4: Files = None, part5: Files = None,
                       learner: str = "", detail: Literal["compact", "full"] = "compact",
                       request: gr.Request = None) -> dict:
        """Assess one learner. Give each part's recording(s): part1 takes up to 6 answers and part5 up to 5
        (a list, in answer order); part3 and part4 one file each. Parts may be left out; at least one is needed.
        Returns the Assessment as JSON: detail="compact" (default) gives scores, levels, intervals, review and
        delivery summary; detail="full" the whole object `python -m sla_core assess --json` prints."""
        if detail not in DETAILS:
            raise gr.Error(html.escape(ui_text.API_BAD_DETAIL.format(detail=detail, allowed=", ".join(DETAILS))))
        given = {p: _paths(v, p) for p, v in ((1, part1), (3, part3), (4, part4), (5, part5))}
        given = {p: files for p, files in given.items() if files}
        if not given:
            raise gr.Error(ui_text.API_NO_AUDIO)
        submission = Submission((learner or "").strip(), tuple(
            PartResponses(p, tuple(Response(audio_path=f) for f in files)) for p, files in given.items()))
        ws = self.workspace(request)  # with login, the caller's own workspace and calibration profile
        assessment = self._run(ws, submission, None)
        session = ws.store.session_named(ui_text.SINGLE_SESSION_NAME.format(date=date.today().isoformat()))
        ws.store.add(session, assessment, audio=submission_audio(submission))  # saved before it is returned
        self.sweep()
        return assessment.to_dict(detail)

    @explained("assess_class")
    def assess_class_csv(self, files: list[FileData], session_name: str = "", request: gr.Request = None) -> FileData:
        """Assess a class upload (a .zip, audio files named <learner>_part<P>_<N>.wav, or a CSV manifest with
        its audio) as the Classroom tab does, save it as a session, and return its results as a CSV file."""
        paths = [str(p) for p in _paths(files, 0)]
        final = None
        for final in self.assess_class(paths, session_name, request=request):
            pass
        csv = final[2] if final else None
        if not isinstance(csv, dict) or not csv.get("value"):
            raise gr.Error(ui_text.API_NO_CLASS)
        return FileData(path=str(csv["value"]))


__all__ = ["ApiEndpoints"]
