"""The "Assess one learner" tab: the answers of one learner in, the result panel out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import gradio as gr
import pandas as pd

from ..assessment import Assessment
from ..data import PartResponses, Response, Submission
from ..results.store import submission_audio
from . import charts, ui_text
from . import result_view as report
from .base import SLOTS, HandlerBase, explained


class AssessTab(HandlerBase):
    """One learner: assess, then render the result panel (also used to show a saved learner)."""

    @explained("Assess")
    def assess_one(self, learner: str | None, *audio: str | None, progress=gr.Progress()) -> tuple:
        """Assess the answers given in the SLOTS audio inputs; returns the result panel's values."""
        if len(audio) != len(SLOTS):
            raise ValueError(f"{len(audio)} audio values; the page has {len(SLOTS)} answer slots")
        answers: dict[int, list[Response]] = {}
        for (part, _), path in zip(SLOTS, audio):
            if path:
                answers.setdefault(part, []).append(Response(audio_path=Path(path)))
        if not answers:  # said in the result card; the panels keep what they show (no error on every panel)
            gr.Warning(ui_text.NO_AUDIO, title=ui_text.NOTHING_TO_ASSESS)
            return (f'<div class="sla-empty sla-notice" role="status">{ui_text.NO_AUDIO}</div>',
                    *(gr.skip() for _ in range(8)))
        learner = (learner or "").strip()
        submission = Submission(learner, tuple(PartResponses(p, tuple(r)) for p, r in answers.items()))
        assessment = self._run(submission, lambda f, m: progress(f, desc=m))
        session = self.store.session_named(ui_text.SINGLE_SESSION_NAME.format(date=date.today().isoformat()))
        self.store.add(session, assessment, audio=submission_audio(submission))  # saved before it is shown
        return (*self.render(assessment), self.sessions_update())

    def render(self, a: Assessment) -> tuple:
        """(summary html, part table, 4 charts, JSON, JSON file): the result panel's values."""
        table = pd.DataFrame(report.part_rows(a), columns=report.PART_COLUMNS)
        name = "".join(c if c.isalnum() else "_" for c in (a.learner or "learner"))
        path = self.workdir / f"assessment_{name}.json"
        path.write_text(a.to_json(), encoding="utf-8")
        return (
            report.summary_html(a), table,
            charts.part_scores_figure(a, ui_text.CHART_PARTS),
            charts.fusion_weights_figure(self.fusion.weights, a, self.fusion.fitted, ui_text.CHART_FUSION),
            charts.prototype_figure(a, ui_text.CHART_PROTOTYPES),
            charts.mllm_distribution_figure(a, ui_text.CHART_MLLM),
            a.to_dict(), str(path),
        )
