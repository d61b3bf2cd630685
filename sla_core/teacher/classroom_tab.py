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
from .base import HandlerBase, Workspace, _md_escape, explained, log, request_of
from .classroom import load_upload


class ClassroomTab(HandlerBase):
    """A class: every learner assessed and saved as it comes; sessions listed, reopened, exported."""

    @explained("Assess the class")
    def assess_class(self, files: Sequence[str] | None, name: str | None, progress=gr.Progress(),
                     request=None) -> Iterator[tuple]:
        """Assess every learner of an upload, saving each result as it comes; yields the class panel."""
        ws = self.workspace(request)
        if not files:
            raise gr.Error(ui_text.NO_CLASS_FILES)
        upload = Path(tempfile.mkdtemp(prefix="class-", dir=ws.workdir))
        try:  # the unpacked upload is removed once the class is assessed, whatever happens
            yield from self._assess_upload(ws, files, name, upload, progress)
        finally:
            shutil.rmtree(upload, ignore_errors=True)
            self.sweep()

    def _assess_upload(self, ws: Workspace, files: Sequence[str], name: str | None, upload: Path,
                       progress) -> Iterator[tuple]:
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
        session = ws.store.new_session(name, "class", source)
        n, done, failed = len(batch.submissions), [], []
        for k, sub in enumerate(batch.submissions):
            progress(k / n, desc=ui_text.CLASS_PROGRESS.format(k=k + 1, n=n, learner=sub.submission_id))
            try:
                a = self._assess(ws, sub, lambda f, m, k=k: progress((k + f) / n, desc=f"{sub.submission_id}: {m}"))
            except Exception as e:  # one broken learner must not lose the rest of the class
                log.exception("assessment of %s failed", sub.submission_id)
                failed.append(ui_text.CLASS_FAILED_LEARNER.format(learner=_md_escape(sub.submission_id),
                                                                   error=ui_text.error_text(e)))
                continue
            ws.store.add(session, a, audio=submission_audio(sub))
            done.append(a)
            status = ui_text.CLASS_RUNNING.format(k=k + 1, n=n)
            yield (status + skipped, self._class_table(done), gr.update(), charts.class_overview_figure(done),
                   gr.update(), gr.update())
        unscored = [_md_escape(a.learner or "?") for a in done if a.overall is None]
        if unscored:
            failed.append(ui_text.CLASS_NO_SCORE.format(learners=", ".join(unscored)))
        status = ui_text.CLASS_DONE.format(n=len(done), name=_md_escape(name)) + "".join(f"\n\n⚠ {f}" for f in failed)
        yield (status + skipped, self._class_table(done), self._csv(ws, session),
               charts.class_overview_figure(done, ui_text.CLASS_CHART),
               self.sessions_update(selected=session, request=request_of(ws)), self._learner_choices(done))

    @explained("Open the session")
    def open_session(self, session_id: int | None, request=None) -> tuple:
        """A saved session, as it was saved: status, table, CSV, chart, learner picker."""
        if session_id is None:
            return ("", self._class_table([]), gr.update(value=None, interactive=False),
                    charts.class_overview_figure([]), self._learner_choices([]))
        ws = self.workspace(request)
        try:
            info, results = ws.store.session(int(session_id)), ws.store.load(int(session_id))
        except (KeyError, ValueError, TypeError) as e:  # another teacher's id is "no session" too
            raise gr.Error(ui_text.NO_SUCH_SESSION) from e
        status = f"**{_md_escape(info.name)}** · {info.created[:16].replace('T', ' ')} UTC · {len(results)} learner(s)"
        return (status, self._class_table(results), self._csv(ws, info.id), charts.class_overview_figure(results,
                ui_text.CLASS_CHART), self._learner_choices(results))

    @explained("Show the learner")
    def show_learner(self, session_id: int | None, index: int | None, request=None) -> tuple:
        """One learner of a saved session in the full result panel (read back from the store)."""
        ws = self.workspace(request)
        if session_id is None or index is None:
            raise gr.Error("Choose a session and a learner first.")
        try:
            results = ws.store.load(int(session_id))
        except (KeyError, ValueError, TypeError) as e:
            raise gr.Error(ui_text.NO_SUCH_SESSION) from e
        if not 0 <= int(index) < len(results):
            raise gr.Error(f"Learner {index} is not in this session (it has {len(results)}).")
        return self.render(results[int(index)], ws)

    @explained("Sort")
    def sort_class(self, session_id: int | None, order: str | None, request=None):
        """The open session's table in the chosen order (the store keeps the order they were assessed in)."""
        ws = self.workspace(request)
        if session_id is None:
            return gr.skip()
        try:
            results = ws.store.load(int(session_id))
        except (KeyError, ValueError, TypeError) as e:
            raise gr.Error(ui_text.NO_SUCH_SESSION) from e
        return self._class_table(results, order)

    @explained("Delete the learner")
    def delete_learner(self, session_id: int | None, index: int | None, request=None) -> tuple:
        """Delete one learner's result and recordings: (status, table, CSV, chart, learner picker, sessions)."""
        ws = self.workspace(request)
        if session_id is None or index is None:  # nothing chosen, or "Cancel" in the browser's question
            return (gr.skip(),) * 6
        try:
            results, ids = ws.store.load(int(session_id)), ws.store.result_ids(int(session_id))
            if not 0 <= int(index) < len(ids):
                raise KeyError(index)
            ws.store.delete_result(ids[int(index)])
        except (KeyError, ValueError, TypeError) as e:
            raise gr.Error(ui_text.NO_SUCH_SESSION) from e
        who = results[int(index)].learner or f"learner {int(index) + 1}"
        status, *panel = self.open_session(session_id, request=request)
        return (_md_escape(ui_text.DELETED_LEARNER.format(learner=who)) + "\n\n" + status, *panel,
                self.sessions_update(selected=int(session_id), request=request))

    @explained("Delete the session")
    def delete_session(self, session_id: int | None, request=None) -> tuple:
        """Delete a whole session with its recordings: (status, table, CSV, chart, learner picker, sessions)."""
        ws = self.workspace(request)
        if session_id is None:  # nothing chosen, or "Cancel" in the browser's question
            return (gr.skip(),) * 6
        try:
            info = ws.store.session(int(session_id))
            ws.store.delete_session(info.id)
        except (KeyError, ValueError, TypeError) as e:
            raise gr.Error(ui_text.NO_SUCH_SESSION) from e
        _, *panel = self.open_session(None, request=request)
        status = _md_escape(ui_text.DELETED_SESSION.format(name=info.name, n=info.n_results))
        return (status, *panel, self.sessions_update(request=request, cleared=True))

    def sessions_update(self, selected: int | None = None, request=None, cleared: bool = False):
        ws = self.workspace(request)
        choices = [(ui_text.SESSION_CHOICE.format(name=s.name, created=s.created[:10], n=s.n_results), s.id)
                   for s in ws.store.sessions()]
        if selected is not None or cleared:
            return gr.update(choices=choices, value=selected)
        return gr.update(choices=choices)

    def _class_table(self, results: Sequence[Assessment], order: str | None = None) -> pd.DataFrame:
        return pd.DataFrame(report.class_rows(results, order), columns=report.CLASS_COLUMNS)

    def _csv(self, ws: Workspace, session_id: int):
        info = ws.store.session(session_id)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in info.name)
        folder = Path(tempfile.mkdtemp(dir=ws.workdir))  # one folder per download: no name clashes
        path = ws.store.export_csv(session_id, folder / f"{safe}_{session_id}.csv")
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
