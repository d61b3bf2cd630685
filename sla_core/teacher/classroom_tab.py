"""The Classroom tab: a class upload assessed learner by learner, saved sessions reopened."""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import gradio as gr
import pandas as pd

from ..assessment import Assessment
from ..results.store import submission_audio
from . import charts, ui_text
from . import result_view as report
from .base import HandlerBase, _md_escape, explained, log
from .classroom import load_upload


class ClassroomTab(HandlerBase):
    """A class: every learner assessed and saved as it comes; sessions listed, reopened, exported."""

    @explained("Assess the class")
    def assess_class(self, files: Sequence[str] | None, name: str | None, progress=gr.Progress()) -> Iterator[tuple]:
        """Assess every learner of an upload, saving each result as it comes; yields the class panel."""
        if not files:
            raise gr.Error(ui_text.NO_CLASS_FILES)
        upload = Path(tempfile.mkdtemp(prefix="class-", dir=self.workdir))
        try:  # the unpacked upload is removed once the class is assessed, whatever happens
            yield from self._assess_upload(files, name, upload, progress)
        finally:
            shutil.rmtree(upload, ignore_errors=True)

    def _assess_upload(self, files: Sequence[str], name: str | None, upload: Path, progress) -> Iterator[tuple]:
        try:
            batch = load_upload(files, upload)
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(ui_text.error_text(e)) from e
        skipped = self._skipped_md(batch.skipped)
        if not batch.submissions:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in batch.skipped)
            raise gr.Error(html.escape(ui_text.NO_LEARNERS.format(skipped=reasons)))
        name = (name or "").strip() or ui_text.DEFAULT_CLASS_NAME.format(date=date.today().isoformat())
        source = ", ".join(Path(f).name for f in files)
        session = self.store.new_session(name, "class", source)
        n, done, failed = len(batch.submissions), [], []
        for k, sub in enumerate(batch.submissions):
            progress(k / n, desc=ui_text.CLASS_PROGRESS.format(k=k + 1, n=n, learner=sub.submission_id))
            try:
                a = self.assess_fn(sub, lambda f, m, k=k: progress((k + f) / n, desc=f"{sub.submission_id}: {m}"))
            except Exception as e:  # one broken learner must not lose the rest of the class
                log.exception("assessment of %s failed", sub.submission_id)
                failed.append(ui_text.CLASS_FAILED_LEARNER.format(learner=_md_escape(sub.submission_id),
                                                                   error=ui_text.error_text(e)))
                continue
            self.store.add(session, a, audio=submission_audio(sub))
            done.append(a)
            status = ui_text.CLASS_RUNNING.format(k=k + 1, n=n)
            yield (status + skipped, self._class_table(done), gr.update(), charts.class_overview_figure(done),
                   gr.update(), gr.update())
        unscored = [_md_escape(a.learner or "?") for a in done if a.overall is None]
        if unscored:
            failed.append(ui_text.CLASS_NO_SCORE.format(learners=", ".join(unscored)))
        status = ui_text.CLASS_DONE.format(n=len(done), name=_md_escape(name)) + "".join(f"\n\n⚠ {f}" for f in failed)
        yield (status + skipped, self._class_table(done), self._csv(session),
               charts.class_overview_figure(done, ui_text.CLASS_CHART),
               self.sessions_update(selected=session), self._learner_choices(done))

    @explained("Open the session")
    def open_session(self, session_id: int | None) -> tuple:
        """A saved session, as it was saved: status, table, CSV, chart, learner picker."""
        if session_id is None:
            return ("", self._class_table([]), gr.update(value=None, interactive=False),
                    charts.class_overview_figure([]), self._learner_choices([]))
        try:
            info, results = self.store.session(int(session_id)), self.store.load(int(session_id))
        except KeyError as e:
            raise gr.Error(ui_text.error_text(e)) from e
        status = f"**{_md_escape(info.name)}** · {info.created[:16].replace('T', ' ')} UTC · {len(results)} learner(s)"
        return (status, self._class_table(results), self._csv(info.id), charts.class_overview_figure(results,
                ui_text.CLASS_CHART), self._learner_choices(results))

    @explained("Show the learner")
    def show_learner(self, session_id: int | None, index: int | None) -> tuple:
        """One learner of a saved session in the full result panel (read back from the store)."""
        if session_id is None or index is None:
            raise gr.Error("Choose a session and a learner first.")
        results = self.store.load(int(session_id))
        if not 0 <= int(index) < len(results):
            raise gr.Error(f"Learner {index} is not in this session (it has {len(results)}).")
        return self.render(results[int(index)])

    @explained("Sort")
    def sort_class(self, session_id: int | None, order: str | None):
        """The open session's table in the chosen order (the store keeps the order they were assessed in)."""
        if session_id is None:
            return gr.skip()
        return self._class_table(self.store.load(int(session_id)), order)

    def sessions_update(self, selected: int | None = None):
        choices = [(ui_text.SESSION_CHOICE.format(name=s.name, created=s.created[:10], n=s.n_results), s.id)
                   for s in self.store.sessions()]
        return gr.update(choices=choices, value=selected) if selected is not None else gr.update(choices=choices)

    def _class_table(self, results: Sequence[Assessment], order: str | None = None) -> pd.DataFrame:
        return pd.DataFrame(report.class_rows(results, order), columns=report.CLASS_COLUMNS)

    def _csv(self, session_id: int):
        info = self.store.session(session_id)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in info.name)
        path = self.store.export_csv(session_id, self.workdir / f"{safe}_{session_id}.csv")
        return gr.update(value=str(path), interactive=True)

    @staticmethod
    def _learner_choices(results: Sequence[Assessment]):
        choices = [(a.learner or f"learner {i + 1}", i) for i, a in enumerate(results)]
        return gr.update(choices=choices, value=None, interactive=bool(choices))

    @staticmethod
    def _skipped_md(skipped) -> str:
        if not skipped:
            return ""
        lines = "\n".join(f"* <code>{html.escape(s.path)}</code>: {_md_escape(s.reason)}" for s in skipped)
        return f"\n\n**{ui_text.SKIPPED_HEADING} ({len(skipped)})**\n\n{lines}"
