"""The app's endpoints for a program (`gradio_client`): named inputs, the Assessment JSON, the CSV as a file.

The page's own events take one input per widget (thirteen audio slots, in page order) and return what the
page draws; a program wants names and data instead. `assess_learner` takes `part1` (a list of files),
`part3`, `part4`, `part5` (a file or a list) and `learner`, all optional, and returns the Assessment: by default
its compact form (`Assessment.to_dict("compact")`: scores, levels, intervals, review, delivery summary), with
`detail="full"` the whole `Assessment.to_dict()`, the object `python -m sla_core assess --json` prints.
`assess_class_csv` assesses a class upload exactly as the Classroom tab does and returns its CSV file.
Both save their results to the store, as the page does. Every file goes through the checked intake
(`HandlerBase.accept`): it must be uploaded with the call (gradio_client.handle_file), never named by path.

`delete_learner_api` and `delete_session_api` delete the caller's own data (another teacher's session is
"no session") as the page's buttons do, and only with `confirm="delete"`: a program cannot delete by
accident, e.g. by calling an endpoint with a default.

No `from __future__ import annotations` here: `gr.api` reads these signatures' type hints to document the
endpoints, and needs them as types, not strings.
"""

import html
from datetime import date
from typing import Literal, Union

import gradio as gr
from gradio.data_classes import FileData

from ..assessment import DETAILS
from ..data import PartResponses, Response, Submission
from ..results.store import submission_audio
from . import ui_text
from .base import HandlerBase, explained

Files = Union[FileData, list[FileData], None]


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
        ws = self.workspace(request)  # with login, the caller's own workspace and calibration profile
        given = {p: self.accept(ws, v, f"part{p}") for p, v in ((1, part1), (3, part3), (4, part4), (5, part5))}
        given = {p: files for p, files in given.items() if files}
        if not given:
            raise gr.Error(ui_text.API_NO_AUDIO)
        submission = Submission(str(learner or "").strip(), tuple(
            PartResponses(p, tuple(Response(audio_path=f) for f in files)) for p, files in given.items()))
        assessment = self._run(ws, submission, None)
        session = ws.store.session_named(ui_text.SINGLE_SESSION_NAME.format(date=date.today().isoformat()))
        ws.store.add(session, assessment, audio=submission_audio(submission))  # saved before it is returned
        self.sweep()
        return assessment.to_dict(detail)

    @explained("assess_class")
    def assess_class_csv(self, files: list[FileData], session_name: str = "", request: gr.Request = None) -> FileData:
        """Assess a class upload (a .zip, audio files named <learner>_part<P>_<N>.wav, or a CSV manifest with
        its audio) as the Classroom tab does, save it as a session, and return its results as a CSV file."""
        final = None
        for final in self.assess_class(files, session_name, request=request):  # checks the files (the intake)
            pass
        csv = final[2] if final else None
        if not isinstance(csv, dict) or not csv.get("value"):
            raise gr.Error(ui_text.API_NO_CLASS)
        return FileData(path=str(csv["value"]))

    @explained("delete_learner")
    def delete_learner_api(self, session: str, learner: str, confirm: str = "", request: gr.Request = None) -> str:
        """Delete one learner of one of your sessions: every result of that name in it, their recordings and
        every copy made from them. `session` is the session's name or id; `confirm` must be "delete"."""
        ws = self.workspace(request)
        if confirm != ui_text.CONFIRM_WORD:
            raise gr.Error(ui_text.API_CONFIRM_NEEDED)
        session_id = self._session_id(ws, session)
        try:
            report = self.erase(ws, session_id, learner=str(learner))
        except KeyError as e:
            raise gr.Error(html.escape(ui_text.API_NO_SUCH_LEARNER.format(session=str(session)[:120],
                                                                          learner=str(learner)[:120]))) from e
        return ui_text.API_DELETED.format(what=str(learner)[:120], results=report.results)

    @explained("delete_session")
    def delete_session_api(self, session: str, confirm: str = "", request: gr.Request = None) -> str:
        """Delete one of your sessions (by name or id) with every result, recording and copy; `confirm` must be
        "delete"."""
        ws = self.workspace(request)
        if confirm != ui_text.CONFIRM_WORD:
            raise gr.Error(ui_text.API_CONFIRM_NEEDED)
        session_id = self._session_id(ws, session)
        report = self.erase(ws, session_id)
        return ui_text.API_DELETED.format(what=f"session {session_id}", results=report.results)

    @staticmethod
    def _session_id(ws, session) -> int:
        """One of the caller's sessions, by id or by name; "no session" for anything else (another teacher's)."""
        text = str(session if session is not None else "").strip()
        mine = ws.store.sessions()
        found = [s for s in mine if str(s.id) == text] or [s for s in mine if s.name == text]
        if len(found) > 1:
            raise gr.Error(html.escape(ui_text.API_SESSION_AMBIGUOUS.format(
                n=len(found), session=text[:120], ids=", ".join(str(s.id) for s in found))))
        if not found:
            raise gr.Error(ui_text.NO_SUCH_SESSION)
        return found[0].id


__all__ = ["ApiEndpoints"]
