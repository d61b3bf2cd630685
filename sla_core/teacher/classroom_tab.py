"""The Classroom tab: a class upload assessed learner by learner, saved sessions reopened."""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import gradio as gr
import pandas as pd

from ..assessment import Assessment
from ..data import PartResponses, Response, Submission
from ..results.store import file_sha256, submission_audio
from ..results.workfolders import safe_file_name
from . import chart_text, charts, ui_text
from . import result_view as report
from .base import HandlerBase, Workspace, _md_escape, explained, log, no_such_session, request_of
from .classroom import UploadRefused, check_upload, load_upload
from .report_files import save_class_reports


class ClassroomTab(HandlerBase):
    """A class: every learner assessed and saved as it comes; sessions listed, reopened, exported."""

    @explained("Assess the class")
    def assess_class(self, files: Sequence[str] | None, name: str | None, progress=gr.Progress(),
                     request=None) -> Iterator[tuple]:
        """Assess every learner of an upload, saving each result as it comes; yields the class panel."""
        ws = self.workspace(request)
        if not files:
            raise gr.Error(ui_text.NO_CLASS_FILES)
        paths = self.accept(ws, files, ui_text.CLASS_FILES_WHAT)
        upload = Path(tempfile.mkdtemp(prefix="class-", dir=ws.workdir))
        try:  # the unpacked upload is removed once the class is assessed, whatever happens
            yield from self._assess_upload(ws, paths, name, upload, progress)
        finally:  # and so is gradio's copy of it: the store keeps the recordings (by the retention rule)
            shutil.rmtree(upload, ignore_errors=True)
            self.uploads.discard(paths, ws.owner)
            self.sweep()

    def _assess_upload(self, ws: Workspace, files: Sequence[Path], name: str | None, upload: Path,
                       progress) -> Iterator[tuple]:
        batch = self._read_upload(files, upload)  # the whole upload judged before anything is saved
        skipped = self._skipped_md(batch.skipped)
        if not batch.submissions:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in batch.skipped[:20])
            raise gr.Error(html.escape(ui_text.NO_LEARNERS.format(skipped=reasons)))
        name = (name or "").strip() or ui_text.DEFAULT_CLASS_NAME.format(date=date.today().isoformat())
        session = ws.store.new_session(name, "class", _source(files))
        # The plan first: an interrupted run then shows expected vs done and resumes on the rest.
        ws.store.plan(session, [(sub.submission_id, submission_audio(sub)) for sub in batch.submissions])
        yield from self._run_class(ws, session, name, list(batch.submissions), [], skipped, progress)

    def _read_upload(self, files: Sequence[Path], upload: Path):
        try:
            return check_upload(load_upload(files, upload), self.caps, self.max_seconds)
        except UploadRefused as e:
            raise gr.Error(ui_text.error_text(e), title=ui_text.UPLOAD_REFUSED_TITLE) from e
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(ui_text.error_text(e)) from e

    def _run_class(self, ws: Workspace, session: int, name: str, todo: list[Submission], done: list[Assessment],
                   notes: str, progress) -> Iterator[tuple]:
        """Assess `todo` into `session` learner by learner (each saved as it comes), after the `done` ones."""
        n, failed, first = len(done) + len(todo), [], len(done)
        for k, sub in enumerate(todo, start=first):
            progress((k - first) / max(len(todo), 1),
                     desc=ui_text.CLASS_PROGRESS.format(k=k + 1, n=n, learner=_short(sub.submission_id)))
            try:
                a = self._assess(ws, sub, lambda f, m, k=k: progress((k - first + f) / len(todo),
                                                                     desc=f"{_short(sub.submission_id)}: {m}"))
            except Exception as e:  # one broken learner must not lose the rest of the class
                log.exception("assessment of %s failed", sub.submission_id)
                failed.append(ui_text.CLASS_FAILED_LEARNER.format(learner=_md_escape(_short(sub.submission_id)),
                                                                   error=ui_text.error_text(e)))
                continue
            a = replace(a, learner=sub.submission_id)  # the plan's name: a resume knows who is done
            ws.store.add(session, a, audio=submission_audio(sub))
            ws.store.release_plan(session, sub.submission_id)  # its result keeps the recordings now
            done.append(a)
            status = ui_text.CLASS_RUNNING.format(k=len(done), learners=ui_text.learners(n))
            yield (status + notes, self._class_table(done), gr.update(), *self._class_chart(done), gr.update(),
                   gr.update())
        unscored = [_md_escape(_short(a.learner) or "?") for a in done if a.overall is None]
        if unscored:
            failed.append(ui_text.CLASS_NO_SCORE.format(learners=", ".join(unscored)))
        status = (ui_text.CLASS_DONE.format(learners=ui_text.learners(len(done)), name=_md_escape(_short(name)))
                  + "".join(f"\n\n⚠ {f}" for f in failed))
        status += self._progress_md(ws, session)
        yield (status + notes, self._class_table(done), self._csv(ws, session), *self._class_chart(done),
               self.sessions_update(selected=session, request=request_of(ws)), self._learner_choices(done))

    @explained("Resume the class")
    def resume_class(self, session_id: int | None, files: Sequence[str] | None = None,
                     progress=gr.Progress(), request=None) -> Iterator[tuple]:
        """Assess exactly the planned learners with no saved result: from the kept copies of their recordings,
        or, where none were kept, from the files uploaded again (matched by content, whatever their names)."""
        ws = self.workspace(request)
        paths = self.accept(ws, files, ui_text.CLASS_FILES_WHAT) if files else []  # checked before anything else
        if session_id is None:
            raise gr.Error(ui_text.RESUME_NO_SESSION)
        with no_such_session():
            info, planned = ws.store.session(int(session_id)), ws.store.planned(int(session_id))
        if not planned:
            raise gr.Error(html.escape(ui_text.RESUME_NO_PLAN.format(name=info.name)))
        todo = [p for p in planned if not p.done]
        if not todo:
            raise gr.Error(html.escape(ui_text.RESUME_NOTHING.format(name=info.name, n=len(planned))))
        upload = Path(tempfile.mkdtemp(prefix="resume-", dir=ws.workdir))
        try:
            by_hash: dict[str, Path] = {}
            if paths:
                for sub in self._read_upload(paths, upload).submissions:
                    for paths in submission_audio(sub).values():
                        by_hash.update({file_sha256(f): Path(f) for f in paths})
            ready, missing = [], []
            for p in todo:
                paths = [f.kept or by_hash.get(f.sha256) for f in p.files]
                if any(path is None for path in paths):
                    names = ", ".join(f.name for f, path in zip(p.files, paths) if path is None)
                    missing.append(f"{_md_escape(_short(p.learner))} ({_md_escape(names)})")
                    continue
                parts: dict[int, list] = {}
                for f, path in zip(p.files, paths):
                    parts.setdefault(f.part, []).append(path)
                ready.append(Submission(p.learner, tuple(
                    PartResponses(part, tuple(Response(audio_path=x) for x in xs)) for part, xs in sorted(parts.items()))))
            if not ready:
                raise gr.Error(html.escape(ui_text.RESUME_UPLOAD_AGAIN.format(learners="; ".join(missing))))
            notes = "" if not missing else "\n\n⚠ " + ui_text.RESUME_STILL_MISSING.format(learners="; ".join(missing))
            yield from self._run_class(ws, info.id, info.name, ready, ws.store.load(info.id), notes, progress)
        finally:
            shutil.rmtree(upload, ignore_errors=True)
            self.uploads.discard(paths, ws.owner)
            self.sweep()

    @staticmethod
    def _progress_md(ws: Workspace, session_id: int) -> str:
        """Expected vs done for a planned class ("" when all are done, or the session has no plan)."""
        planned = ws.store.planned(session_id)
        left = [p.learner for p in planned if not p.done]
        if not left:
            return ""
        kept = all(f.kept for p in planned if not p.done for f in p.files)
        return "\n\n⚠ " + ui_text.CLASS_NOT_DONE.format(
            done=len(planned) - len(left), n=ui_text.learners(len(planned)), left=len(left),
            learners=", ".join(_md_escape(_short(x)) for x in left),
            how=ui_text.RESUME_FROM_COPIES if kept else ui_text.RESUME_NEEDS_UPLOAD)

    @explained("Open the session")
    def open_session(self, session_id: int | None, request=None) -> tuple:
        """A saved session, as it was saved: status, table, CSV, chart, the chart as text, learner picker."""
        if session_id is None:
            return ("", self._class_table([]), gr.update(value=None, interactive=False),
                    *self._class_chart([]), self._learner_choices([]))
        ws = self.workspace(request)
        with no_such_session():
            info, results = ws.store.session(int(session_id)), ws.store.load(int(session_id))
        status = (f"**{_md_escape(_short(info.name))}** · {info.created[:16].replace('T', ' ')} UTC · "
                  f"{ui_text.learners(len(results))}")
        status += self._progress_md(ws, info.id)
        return (status, self._class_table(results), self._csv(ws, info.id), *self._class_chart(results),
                self._learner_choices(results))

    @explained("Show the learner")
    def show_learner(self, session_id: int | None, index: int | None, request=None) -> tuple:
        """One learner of a saved session in the full result panel (read back from the store)."""
        ws = self.workspace(request)
        if session_id is None or index is None:
            raise gr.Error("Choose a session and a learner first.")
        with no_such_session():
            results = ws.store.load(int(session_id))
        if not 0 <= int(index) < len(results):
            raise gr.Error(f"Learner {index} is not in this session (it has {len(results)}).")
        return self.render(results[int(index)], ws, int(session_id))

    @explained("Class reports")
    def class_reports(self, session_id: int | None, request=None) -> str:
        """Every learner's printable report of a saved session, as one zip in the teacher's own folder."""
        ws = self.workspace(request)
        if session_id is None:
            raise gr.Error(ui_text.REPORTS_NO_SESSION)
        with no_such_session():
            info, results = ws.store.session(int(session_id)), ws.store.load(int(session_id))
        if not results:
            raise gr.Error(ui_text.REPORTS_NO_LEARNERS)
        target = self.downloads.new(ws.owner, int(session_id), f"reports_{safe_file_name(info.name, 'class')}", ".zip")
        with tempfile.TemporaryDirectory(dir=ws.workdir) as loose:  # each report is made here, then zipped
            return str(save_class_reports(results, loose, info.name, target=target))

    @explained("Recordings")
    def learner_recordings(self, session_id: int | None, index: int | None, request=None) -> tuple:
        """The kept recordings of one learner, listed beside their part scores: (recording picker, player).

        Read through the teacher's own workspace: another teacher's session is "no session".
        """
        ws = self.workspace(request)
        if session_id is None or index is None:
            return gr.update(choices=[], value=None, interactive=False), None
        with no_such_session():
            results, audio = ws.store.load(int(session_id)), ws.store.audio(int(session_id))
        if not 0 <= int(index) < len(results):
            raise gr.Error(f"Learner {index} is not in this session (it has {len(results)}).")
        a, files = results[int(index)], audio[int(index)]
        choices = []
        for part, paths in sorted(files.items()):
            pa = a.part(part)
            score = f" · part score {pa.score:.2f} {pa.cefr}" if pa is not None and pa.ok else ""
            choices += [(ui_text.RECORDING_CHOICE.format(part=part, n=k + 1, of=len(paths), score=score),
                         f"{part}:{k}") for k in range(len(paths))]
        if not choices:
            return gr.update(choices=[], value=None, interactive=False, info=ui_text.NO_RECORDINGS_KEPT), None
        first = int(choices[0][1].split(":")[0])
        return (gr.update(choices=choices, value=choices[0][1], interactive=True, info=None),
                self.downloads.copy(ws.owner, int(session_id), files[first][0], f"part{first}_1"))

    @explained("Play")
    def play_recording(self, session_id: int | None, index: int | None, key: str | None,
                       request=None) -> str | None:
        """The file of one kept recording ("part:answer" of the picker), found again through the store."""
        ws = self.workspace(request)
        if session_id is None or index is None or not key:
            return None
        with no_such_session():
            part, answer = (int(x) for x in str(key).split(":"))
            files = ws.store.audio(int(session_id))[int(index)].get(part, ())
        if not 0 <= answer < len(files):
            raise gr.Error(ui_text.NO_RECORDINGS_KEPT)
        return self.downloads.copy(ws.owner, int(session_id), files[answer], f"part{part}_{answer + 1}")

    @explained("Sort")
    def sort_class(self, session_id: int | None, order: str | None, request=None):
        """The open session's table in the chosen order (the store keeps the order they were assessed in)."""
        ws = self.workspace(request)
        if session_id is None:
            return gr.skip()
        with no_such_session():
            results = ws.store.load(int(session_id))
        return self._class_table(results, order)

    @explained("Delete the learner")
    def delete_learner(self, session_id: int | None, index: int | None, request=None) -> tuple:
        """Delete one learner's result and recordings: (status, table, CSV, chart, chart text, learner picker,
        sessions)."""
        ws = self.workspace(request)
        if session_id is None or index is None:  # nothing chosen, or "Cancel" in the browser's question
            return (gr.skip(),) * 7
        with no_such_session():
            results, ids = ws.store.load(int(session_id)), ws.store.result_ids(int(session_id))
            if not 0 <= int(index) < len(ids):
                raise KeyError(index)
            self.erase(ws, int(session_id), result_id=ids[int(index)])
        who = results[int(index)].learner or f"learner {int(index) + 1}"
        status, *panel = self.open_session(session_id, request=request)
        return (_md_escape(ui_text.DELETED_LEARNER.format(learner=_short(who))) + "\n\n" + status, *panel,
                self.sessions_update(selected=int(session_id), request=request))

    @explained("Delete the session")
    def delete_session(self, session_id: int | None, request=None) -> tuple:
        """Delete a whole session with its recordings: (status, table, CSV, chart, chart text, learner picker,
        sessions)."""
        ws = self.workspace(request)
        if session_id is None:  # nothing chosen, or "Cancel" in the browser's question
            return (gr.skip(),) * 7
        with no_such_session():
            info = ws.store.session(int(session_id))
            self.erase(ws, info.id)
        _, *panel = self.open_session(None, request=request)
        status = _md_escape(ui_text.DELETED_SESSION.format(name=_short(info.name),
                                                           learners=ui_text.learners(info.n_results)))
        return (status, *panel, self.sessions_update(request=request, cleared=True))

    def sessions_update(self, selected: int | None = None, request=None, cleared: bool = False):
        ws = self.workspace(request)
        choices = [(ui_text.SESSION_CHOICE.format(name=_short(s.name), created=s.created[:10],
                                                  learners=ui_text.learners(s.n_results)), s.id)
                   for s in ws.store.sessions()]
        if selected is not None or cleared:
            return gr.update(choices=choices, value=selected)
        return gr.update(choices=choices)

    @staticmethod
    def _class_chart(results: Sequence[Assessment]) -> tuple:
        """The class chart and its text alternative, from the same results: (figure, html)."""
        return charts.class_overview_figure(results, ui_text.CLASS_CHART), chart_text.class_overview_html(results)

    def _class_table(self, results: Sequence[Assessment], order: str | None = None) -> pd.DataFrame:
        return pd.DataFrame(report.class_rows(results, order), columns=report.CLASS_COLUMNS)

    def _csv(self, ws: Workspace, session_id: int):
        """The session's CSV as the teacher's own download (a fresh link each time the session is shown)."""
        info = ws.store.session(session_id)
        path = self.downloads.write(ws.owner, session_id, f"{safe_file_name(info.name, 'session')}_{session_id}",
                                    ".csv", lambda p: ws.store.export_csv(session_id, p))
        return gr.update(value=path, interactive=True)

    @staticmethod
    def _learner_choices(results: Sequence[Assessment]):
        choices = [(_short(a.learner) or f"learner {i + 1}", i) for i, a in enumerate(results)]
        return gr.update(choices=choices, value=None, interactive=bool(choices))

    @staticmethod
    def _skipped_md(skipped) -> str:
        if not skipped:
            return ""
        shown = skipped[:SKIPPED_SHOWN]
        lines = "\n".join(f"* <code>{html.escape(_short(s.path))}</code>: {_md_escape(s.reason)}" for s in shown)
        more = ui_text.SKIPPED_MORE.format(n=len(skipped) - len(shown)) if len(skipped) > len(shown) else ""
        return f"\n\n**{ui_text.SKIPPED_HEADING} ({len(skipped)})**\n\n{lines}{more}"


SKIPPED_SHOWN = 50  # files listed by name in the status; the rest are counted
SHOWN_CHARS = 120  # characters of a name shown in a list or a message; the store keeps it whole


def _short(name: str | None) -> str:
    """A name as a list or a message shows it: whole up to SHOWN_CHARS, then cut with an ellipsis."""
    name = "" if name is None else str(name)
    return name if len(name) <= SHOWN_CHARS else name[:SHOWN_CHARS - 1] + "…"


def _source(files: Sequence[Path]) -> str:
    """What was uploaded, as a session remembers it: zip and CSV names, and how many loose recordings (their
    names carry learners' names, which a deletion must not leave behind)."""
    named = [_short(f.name) for f in files if f.suffix.lower() in (".zip", ".csv")]
    loose = len(files) - len(named)
    return ", ".join(named + ([f"{loose} audio file{'s' if loose != 1 else ''}"] if loose else []))
