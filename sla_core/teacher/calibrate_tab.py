"""The Calibrate tab: graded answers in, a teacher's calibration profile fitted, saved and put in use.

The workflow itself (rows, marks, listening, fitting) is `calibration_desk`; these are its handlers.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import gradio as gr
import pandas as pd

from ..calibration import check_profile_name, describe
from . import calibration_desk as desk
from . import result_view as report
from . import ui_text
from .base import ACTIVE_PROFILE, NO_PROFILE, HandlerBase, _md_escape, explained, no_such_session
from .calibration_chart import evidence_figure
from .chart_text import evidence_html


class CalibrateTab(HandlerBase):
    """Calibration: upload or reuse a session's recordings, mark them, fit, save, use."""

    @explained("Load graded answers")
    def calibration_upload(self, files: Sequence[str] | None, request=None) -> tuple:
        """Graded answers uploaded (CSV + audio, or a zip) -> (rows state, marks table, status).

        Clearing the upload box changes nothing: the table may hold a saved session's marks the teacher
        has been correcting, and those must not vanish with a click on the box's ×.
        """
        ws = self.workspace(request)
        if not files:
            return gr.skip(), gr.skip(), gr.skip()
        files = self.accept(ws, files, ui_text.CALIBRATE_FILES_LABEL)
        for old in ws.workdir.glob("graded-*"):  # the teacher's previous upload: its table is being replaced
            shutil.rmtree(old, ignore_errors=True)
        try:
            rows, batch = desk.read_upload(files, tempfile.mkdtemp(prefix="graded-", dir=ws.workdir))
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(ui_text.error_text(e)) from e
        finally:
            self.uploads.discard(files, ws.owner)  # unpacked into the work folder; gradio's copy is not needed again
        status = self._marks_status(rows, ", ".join(Path(f).name for f in files))
        if batch.skipped:
            skipped = "; ".join(f"{s.path} ({s.reason})" for s in batch.skipped)
            status += "\n\n" + _md_escape(ui_text.MARKS_SKIPPED.format(skipped=skipped))
        return rows, self._marks_table(rows), status

    @explained("Load the session")
    def calibration_session(self, session_id: int | None, request=None) -> tuple:
        """A saved session's kept recordings -> (rows state, marks table pre-filled with its scores, status)."""
        if session_id is None:
            raise gr.Error(ui_text.NO_SESSION_CHOSEN)
        ws = self.workspace(request)
        with no_such_session():
            info = ws.store.session(int(session_id))
            rows = desk.session_rows(ws.store.load(info.id), ws.store.audio(info.id))
        if not rows:
            raise gr.Error(html.escape(ui_text.NO_SESSION_AUDIO.format(name=info.name)))
        status = self._marks_status(rows, f"“{info.name}”") + "\n\n" + ui_text.MARKS_FROM_SESSION
        return rows, self._marks_table(rows), status

    @explained("Fit")
    def calibration_fit(self, rows: list, cells: pd.DataFrame | None, name: str | None, heard: dict | None,
                        progress=gr.Progress(), request=None) -> tuple:
        """Listen (or reuse what was heard for the same marks) and fit.

        Returns (result, heard, name, evidence text, chart, the chart as text, verdict);
        `heard` = {"key", "data": ExemplarData}.
        """
        self.workspace(request)  # with login on, only a teacher may make the graders listen
        if not rows:
            raise gr.Error(ui_text.NO_MARKS_LOADED)
        name = (name or "").strip() or f"calibration-{date.today().isoformat()}"
        values = [] if cells is None else cells.values.tolist()
        try:
            check_profile_name(name)  # before listening: a bad name fails at once
            graded = desk.graded_rows(rows, values)
            desk.check_marks_differ(graded)
            key = [(learner, part, [str(f) for f in audio], mark) for learner, part, audio, mark in graded]
            if heard and heard.get("key") == key:
                data = heard["data"]
            else:
                submissions = self.calibration.submissions(graded, rows)
                progress(0.0, desc=ui_text.FIT_LISTENING.format(n=len(graded)))
                data = self.calibration.listen(submissions, lambda f, m: progress(0.9 * f, desc=m))
                heard = {"key": key, "data": data}
            progress(0.92, desc=ui_text.FIT_CHECKING)
            result = self.calibration.fit(data, name)
        except gr.Error:
            raise
        except ValueError as e:
            raise gr.Error(ui_text.error_text(e)) from e
        verdict = ("✔ " if result.applies else "✖ ") + _md_escape(result.reason)
        if result.profile.delivery is not None:  # whether the profile uses delivery measures, with the figures
            verdict += "; " + _md_escape(result.profile.delivery.words)
        return (result, heard, name, describe(result), evidence_figure(result.evidence),
                evidence_html(result.evidence), f"**{verdict}**\n\n{ui_text.VERDICT_NOT_IN_USE}")

    @explained("Save profile")
    def calibration_save(self, result, name: str | None, anyway: bool, overwrite: bool, request=None) -> tuple:
        """Save the fitted profile: refused with the verdict unless it helps or `anyway`. (status, profiles)."""
        ws = self.workspace(request)
        if result is None:
            raise gr.Error(ui_text.NOTHING_FITTED)
        name = (name or "").strip() or result.profile.name
        if not result.applies and not anyway:
            # The evidence's verdict, beside the "Save anyway" box it asks for, not a red error that lingers
            # on screen after the teacher has ticked the box and saved (issue 23).
            return _md_escape(ui_text.SAVE_REFUSED.format(reason=result.reason)), gr.skip()
        try:
            self.calibration.save(result, name, force=anyway, overwrite=overwrite, owner=ws.owner)
        except ValueError as e:
            raise gr.Error(ui_text.error_text(e)) from e
        except FileExistsError as e:
            raise gr.Error(html.escape(ui_text.PROFILE_EXISTS.format(name=name, overwrite=ui_text.OVERWRITE_LABEL))) from e
        text = ui_text.SAVED if result.applies else ui_text.SAVED_ANYWAY
        return _md_escape(text.format(name=name, folder="your profiles")), self.profiles_update(selected=name,
                                                                                                   request=request)

    @explained("Use this profile")
    def calibration_use(self, choice: str | None, request=None) -> tuple:
        """Use the chosen profile (or none) for this teacher's following assessments: (status, model panel, title).

        The choice is the teacher's own (other teachers keep theirs) and is saved, so it survives a restart.
        """
        ws = self.workspace(request)
        name = None if choice in (None, "", NO_PROFILE) else choice
        try:
            calibration = None if name is None else self.calibration.calibration_for(name, ws.owner)
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(ui_text.error_text(e)) from e
        ws.store.set_setting(ACTIVE_PROFILE, name)
        text = ui_text.USING_NONE if calibration is None else ui_text.USING_PROFILE.format(name=calibration.name)
        return (_md_escape(text), *self.status_update(request=request))

    def profiles_update(self, selected: str | None = None, request=None):
        ws = self.workspace(request)
        choices = [(ui_text.NO_PROFILE, NO_PROFILE)] + [(p.label, p.name) for p in self.calibration.profiles(ws.owner)]
        if selected is None:
            active = self.active_calibration(ws)
            selected = active.name if active is not None else NO_PROFILE
        return gr.update(choices=choices, value=selected)

    def status_update(self, request=None) -> tuple:
        """The model panel and its title, as this teacher's assessments see them (with their profile)."""
        ws = self.workspace(request)
        infos = tuple(self.status_fn())
        calibration = self.active_calibration(ws)
        if calibration is not None:
            infos = (*[i for i in infos if i.name != "calibration"], calibration.info())
        return report.status_html(infos), gr.update(label=report.status_line(infos))

    def _marks_status(self, rows: Sequence[desk.MarkRow], source: str) -> str:
        graded = sum(r.mark is not None for r in rows)
        return ui_text.MARKS_LOADED.format(n=len(rows), learners=len({r.learner for r in rows}),
                                           source=_md_escape(source), graded=graded)

    @staticmethod
    def _marks_table(rows: Sequence[desk.MarkRow]) -> pd.DataFrame:
        return pd.DataFrame(desk.table(rows), columns=list(desk.MARK_COLUMNS))
