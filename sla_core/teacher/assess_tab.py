"""The "Assess one learner" tab: the answers of one learner in, the result panel out."""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path

import gradio as gr
import pandas as pd

from ..assessment import Assessment
from ..audio import AudioIssue, load_checked
from ..parts import part_info
from ..data import PartResponses, Response, Submission
from ..results.store import submission_audio
from ..results.workfolders import safe_file_name
from . import chart_text, charts, ui_text
from . import result_view as report
from .base import SLOTS, HandlerBase, Workspace, explained, log
from .report_files import write_report


# How many values `render` returns: the result panel's components (app._results_panel builds them and checks
# this count, so a panel that grows cannot leave a handler returning one value too few).
PANEL_SIZE = 13


class AssessTab(HandlerBase):
    """One learner: assess, then render the result panel (also used to show a saved learner)."""

    @explained("Assess")
    def assess_one(self, learner: str | None, *audio: str | None, progress=gr.Progress(), request=None) -> tuple:
        """Assess the answers given in the SLOTS audio inputs; returns the result panel's values."""
        ws = self.workspace(request)
        if len(audio) != len(SLOTS):
            raise ValueError(f"{len(audio)} audio values; the page has {len(SLOTS)} answer slots")
        answers: dict[int, list[Response]] = {}
        for (part, index), value in zip(SLOTS, audio):
            for path in self.accept(ws, value, ui_text.SLOT_NAME.format(part=part, n=index + 1)):
                # No question in the prompt: the slot labels show the demo test's questions, but the same recording
                # uploaded through the CLI, the Classroom, the API or the batch job carries none, and one recording
                # must get one score whichever way it arrives (issue 18). "Question: not known" is the honest prompt.
                answers.setdefault(part, []).append(Response(audio_path=Path(path)))
        if not answers:  # said in the result card; the panels keep what they show (no error on every panel)
            gr.Warning(ui_text.NO_AUDIO, title=ui_text.NOTHING_TO_ASSESS)
            return (f'<div class="sla-empty sla-notice" role="status">{ui_text.NO_AUDIO}</div>',
                    *(gr.skip() for _ in range(PANEL_SIZE)))  # the other panel values and the sessions
        learner = (learner or "").strip()
        submission = Submission(learner, tuple(PartResponses(p, tuple(r)) for p, r in answers.items()))
        assessment = self._run(ws, submission, lambda f, m: progress(f, desc=m))
        session = ws.store.session_named(ui_text.SINGLE_SESSION_NAME.format(date=date.today().isoformat()))
        ws.store.add(session, assessment, audio=submission_audio(submission))  # saved before it is shown
        self.sweep()
        return (*self.render(assessment, ws, session), self.sessions_update(request=request))

    def check_answer(self, path: str | None, part: int, answer: int, request=None) -> str:
        """One answer, checked the moment it is uploaded or recorded: its problem (or its length) beside it.

        The same checks the assessment makes (sla_core.audio.load_checked), so a text file renamed .wav
        or an 8-minute answer is named at once, not after Assess; the answer is not scored here.
        """
        if not path:
            return ""
        try:
            (path,) = self.accept(self.workspace(request), path, ui_text.SLOT_NAME.format(part=part, n=answer + 1))
        except gr.Error as e:
            return f'<span class="sla-answer-bad" role="alert">✖ {e.message}</span>'
        try:
            _, stats = load_checked(path, part=part, answer=answer, max_seconds=self.max_seconds)
        except AudioIssue as issue:
            return f'<span class="sla-answer-bad" role="alert">✖ {html.escape(str(issue))} {ui_text.ANSWER_FIX}</span>'
        except Exception as e:  # noqa: BLE001  a check must never break the page: say it, Assess still runs
            log.exception("checking %s failed", path)
            return f'<span class="sla-answer-bad" role="alert">✖ {ui_text.error_text(e)}</span>'
        notes = [ui_text.ANSWER_OK.format(seconds=stats.duration_s, speech=stats.speech_s)]
        expected = part_info(part).answer_seconds
        if stats.duration_s > 3 * expected:
            notes.append(ui_text.ANSWER_LONG.format(expected=expected))
        if stats.heavily_clipped:
            notes.append(ui_text.ANSWER_CLIPPED)
        warn = len(notes) > 1
        return (f'<span class="{"sla-answer-warn" if warn else "sla-answer-ok"}" role="status">'
                f'{"⚠" if warn else "✔"} {html.escape(" ".join(notes))}</span>')

    def render(self, a: Assessment, ws: Workspace | None = None, session_id: int | None = None) -> tuple:
        """(summary html, part table, what each part rests on (transcripts, how it was scored), 4 charts, delivery
        words and timeline, JSON, JSON file, the charts as text: the four charts' words and the timeline's, the
        learner's printable report files [HTML, PDF]). The JSON and report files are the teacher's own downloads of
        `session_id`'s result (none without a session: nothing saved, nothing to download)."""
        ws = ws or self.workspace()
        table = pd.DataFrame(report.part_rows(a), columns=report.PART_COLUMNS)
        shown = a.to_dict()
        for grader in shown.get("graders", []):  # a model folder on the server is shown by its name only
            grader["source"] = report.public_source(grader["source"])
        path = None if session_id is None else self.downloads.write(
            ws.owner, session_id, f"assessment_{safe_file_name(a.learner, 'learner')}", ".json",
            lambda p: p.write_text(json.dumps(shown, indent=2), encoding="utf-8"))
        reports = [] if session_id is None else self._report_files(a, ws, session_id)
        fusion = self.fusion_for(ws)
        return (  # PANEL_SIZE values
            report.summary_html(a), table, report.part_notes_html(a),
            charts.part_scores_figure(a, ui_text.CHART_PARTS),
            charts.fusion_weights_figure(fusion.weights, a, fusion.fitted, ui_text.CHART_FUSION),
            charts.prototype_figure(a, ui_text.CHART_PROTOTYPES),
            charts.mllm_distribution_figure(a, ui_text.CHART_MLLM),
            report.delivery_html(a), charts.delivery_figure(a, ui_text.CHART_DELIVERY),
            shown, path, report.charts_text_html(a) + chart_text.timeline_html(a),
            reports,
        )

    def _report_files(self, a: Assessment, ws: Workspace, session_id: int) -> list[str]:
        """The learner's printable report, HTML and PDF, as the teacher's own downloads."""
        stem = f"report_{safe_file_name(a.learner, 'learner')}"
        page = self.downloads.new(ws.owner, session_id, stem, ".html")
        pdf = self.downloads.new(ws.owner, session_id, stem, ".pdf")
        return [str(p) for p in write_report(a, page, pdf, ws.store.session(session_id).name)]
