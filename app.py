"""The teacher-facing web app: layout and wiring only.

`build_demo` receives the functions it calls (assess, model status), the result store and the
calibration desk, so the same UI runs on the real graders, on the tiny offline ones, or in a test;
everything that computes lives in sla_core (pipeline, tables and text in `report`, charts in `charts`,
class intake in `classroom`, persistence in `store`, the Calibrate tab's workflow in `calibration_desk`).
`main()` reads flags and SLA_* variables, loads the models once, warms them up and launches.

    python app.py --tiny            # offline: tiny random models, no hub (numbers are not grades)
    python app.py --speech-checkpoints ./w2v --fusion fusion.json --mllm-adapters ./stg
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no analytics calls

import argparse
import html
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

import gradio as gr
import pandas as pd

from sla_core import calibration_desk as desk
from sla_core import charts, report, ui_text
from sla_core.assessment import Assessment, GraderInfo
from sla_core.calibration import check_profile_name, describe
from sla_core.calibration_chart import evidence_figure
from sla_core.classroom import load_class, stage_uploads
from sla_core.data import PartResponses, Response, Submission
from sla_core.parts import PARTS, part_info
from sla_core.store import ResultStore, submission_audio

log = logging.getLogger("sla.app")

ASSETS = Path(__file__).resolve().parent / "assets"
EXAMPLE_DIR = ASSETS / "example_learner"
EXAMPLE_CLASS = ASSETS / "example_class.zip"
EXAMPLE_GRADED = ASSETS / "example_graded.zip"
NO_PROFILE = "(none)"  # the profiles dropdown's "no calibration" value; never a profile name (those start alnum)
# One audio input per answer of the real test: Part 1 six, Parts 3 and 4 one, Part 5 five.
SLOTS: tuple[tuple[int, int], ...] = tuple((p, i) for p in PARTS for i in range(part_info(p).max_answers))

# Class table (report.CLASS_COLUMNS): without widths an all-blank column (nobody recorded Part 4) shrinks to
# one letter per line and "Overall" breaks mid-word; Problems takes the room left.
CLASS_COLUMN_WIDTHS = ("10%", "8%", "12%", "8%", "6%", "6%", "6%", "6%", "7%", "31%")

Progress = Callable[[float, str], None]
AssessFn = Callable[[Submission, Progress | None], Assessment]  # e.g. Assessor.assess_submission
StatusFn = Callable[[], Sequence[GraderInfo]]  # e.g. Assessor.status


@dataclass(frozen=True)
class Fusion:
    """The fusion weight curve the charts draw (None: no multimodal grader, so no fusion)."""

    weights: tuple[float, ...] | None = None
    fitted: bool = False


# -- handlers: plain functions of component values, unit-tested without a browser --------------------

class Handlers:
    """What each button does. Every result is saved to the store before it is returned for display."""

    def __init__(self, assess_fn: AssessFn, status_fn: StatusFn, store: ResultStore, fusion: Fusion = Fusion(),
                 workdir: str | Path | None = None, calibration: desk.CalibrationDesk | None = None) -> None:
        self.assess_fn, self.status_fn, self.store, self.fusion = assess_fn, status_fn, store, fusion
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="sla-app-"))
        self.calibration = calibration

    # One learner ---------------------------------------------------------------------------------

    def assess_one(self, learner: str | None, *audio: str | None, progress=gr.Progress()) -> tuple:
        """Assess the answers given in the SLOTS audio inputs; returns the result panel's values."""
        if len(audio) != len(SLOTS):
            raise ValueError(f"{len(audio)} audio values; the page has {len(SLOTS)} answer slots")
        answers: dict[int, list[Response]] = {}
        for (part, _), path in zip(SLOTS, audio):
            if path:
                answers.setdefault(part, []).append(Response(audio_path=Path(path)))
        if not answers:
            raise gr.Error(ui_text.NO_AUDIO)
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

    def _run(self, submission: Submission, progress: Progress | None) -> Assessment:
        try:
            return self.assess_fn(submission, progress)
        except gr.Error:
            raise
        except Exception as e:  # the one boundary where an exception becomes display text
            log.exception("assessment failed")
            raise gr.Error(ui_text.error_text(e)) from e

    # Classroom -----------------------------------------------------------------------------------

    def assess_class(self, files: Sequence[str] | None, name: str | None, progress=gr.Progress()) -> Iterator[tuple]:
        """Assess every learner of an upload, saving each result as it comes; yields the class panel."""
        if not files:
            raise gr.Error(ui_text.NO_CLASS_FILES)
        try:
            staged = stage_uploads(files, tempfile.mkdtemp(prefix="class-", dir=self.workdir))
            batch = load_class(staged)
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

    def show_learner(self, session_id: int | None, index: int | None) -> tuple:
        """One learner of a saved session in the full result panel (read back from the store)."""
        if session_id is None or index is None:
            raise gr.Error("Choose a session and a learner first.")
        results = self.store.load(int(session_id))
        if not 0 <= int(index) < len(results):
            raise gr.Error(f"Learner {index} is not in this session (it has {len(results)}).")
        return self.render(results[int(index)])

    def sessions_update(self, selected: int | None = None):
        choices = [(ui_text.SESSION_CHOICE.format(name=s.name, created=s.created[:10], n=s.n_results), s.id)
                   for s in self.store.sessions()]
        return gr.update(choices=choices, value=selected) if selected is not None else gr.update(choices=choices)

    def _class_table(self, results: Sequence[Assessment]) -> pd.DataFrame:
        return pd.DataFrame(report.class_rows(results), columns=report.CLASS_COLUMNS)

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


    # Calibrate -----------------------------------------------------------------------------------

    def calibration_upload(self, files: Sequence[str] | None) -> tuple:
        """Graded answers uploaded (CSV + audio, or a zip) -> (rows state, marks table, status).

        Clearing the upload box changes nothing: the table may hold a saved session's marks the teacher
        has been correcting, and those must not vanish with a click on the box's ×.
        """
        if not files:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            rows, batch = desk.read_upload(files, tempfile.mkdtemp(prefix="graded-", dir=self.workdir))
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(ui_text.error_text(e)) from e
        status = self._marks_status(rows, ", ".join(Path(f).name for f in files))
        if batch.skipped:
            skipped = "; ".join(f"{s.path} ({s.reason})" for s in batch.skipped)
            status += "\n\n" + _md_escape(ui_text.MARKS_SKIPPED.format(skipped=skipped))
        return rows, self._marks_table(rows), status

    def calibration_session(self, session_id: int | None) -> tuple:
        """A saved session's kept recordings -> (rows state, marks table pre-filled with its scores, status)."""
        if session_id is None:
            raise gr.Error(ui_text.NO_SESSION_CHOSEN)
        try:
            info = self.store.session(int(session_id))
            rows = desk.session_rows(self.store.load(info.id), self.store.audio(info.id))
        except KeyError as e:
            raise gr.Error(ui_text.error_text(e)) from e
        if not rows:
            raise gr.Error(html.escape(ui_text.NO_SESSION_AUDIO.format(name=info.name)))
        status = self._marks_status(rows, f"“{info.name}”") + "\n\n" + ui_text.MARKS_FROM_SESSION
        return rows, self._marks_table(rows), status

    def calibration_fit(self, rows: list, cells: pd.DataFrame | None, name: str | None, heard: dict | None,
                        progress=gr.Progress()) -> tuple:
        """Listen (or reuse what was heard for the same marks) and fit.

        Returns (result, heard, name, evidence text, chart, verdict); `heard` = {"key", "data": ExemplarData}.
        """
        if not rows:
            raise gr.Error(ui_text.NO_MARKS_LOADED)
        name = (name or "").strip() or f"calibration-{date.today().isoformat()}"
        values = [] if cells is None else cells.values.tolist()
        try:
            check_profile_name(name)  # before listening: a bad name fails at once
            graded = desk.graded_rows(rows, values)
            key = [(learner, part, [str(f) for f in audio], mark) for learner, part, audio, mark in graded]
            if heard and heard.get("key") == key:
                data = heard["data"]
            else:
                submissions = self.calibration.submissions(graded)
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
        return (result, heard, name, describe(result), evidence_figure(result.evidence), f"**{verdict}**")

    def calibration_save(self, result, name: str | None, anyway: bool, overwrite: bool) -> tuple:
        """Save the fitted profile: refused with the verdict unless it helps or `anyway`. (status, profiles)."""
        if result is None:
            raise gr.Error(ui_text.NOTHING_FITTED)
        name = (name or "").strip() or result.profile.name
        if not result.applies and not anyway:
            raise gr.Error(html.escape(ui_text.SAVE_REFUSED.format(reason=result.reason)))
        try:
            folder = self.calibration.save(result, name, force=anyway, overwrite=overwrite)
        except ValueError as e:
            raise gr.Error(ui_text.error_text(e)) from e
        except FileExistsError as e:
            raise gr.Error(html.escape(f"{e} (tick “{ui_text.OVERWRITE_LABEL}”)")) from e
        text = ui_text.SAVED if result.applies else ui_text.SAVED_ANYWAY
        return _md_escape(text.format(name=name, folder=folder)), self.profiles_update(selected=name)

    def calibration_use(self, choice: str | None) -> tuple:
        """Apply the chosen profile (or none) to every following assessment: (status, model panel, its title)."""
        name = None if choice in (None, "", NO_PROFILE) else choice
        try:
            calibration = self.calibration.use(name)
        except (ValueError, FileNotFoundError) as e:
            raise gr.Error(ui_text.error_text(e)) from e
        if self.fusion.weights is not None:  # a profile may refit the fusion weight: the chart shows what is used
            weights = self.calibration.assessor.fusion
            self.fusion = Fusion(tuple(weights.weights), bool(weights.fitted))
        text = ui_text.USING_NONE if calibration is None else ui_text.USING_PROFILE.format(name=calibration.name)
        return (_md_escape(text), *self.status_update())

    def profiles_update(self, selected: str | None = None):
        choices = [(ui_text.NO_PROFILE, NO_PROFILE)] + [(p.label, p.name) for p in self.calibration.profiles()]
        if selected is None:
            selected = self.calibration.active or NO_PROFILE
        return gr.update(choices=choices, value=selected)

    def status_update(self) -> tuple:
        """The model panel and its title, as they are now (a calibration profile shows there)."""
        infos = tuple(self.status_fn())
        return report.status_html(infos, self.store.path), gr.update(label=report.status_line(infos))

    def _marks_status(self, rows: Sequence[desk.MarkRow], source: str) -> str:
        graded = sum(r.mark is not None for r in rows)
        return ui_text.MARKS_LOADED.format(n=len(rows), learners=len({r.learner for r in rows}),
                                           source=_md_escape(source), graded=graded)

    @staticmethod
    def _marks_table(rows: Sequence[desk.MarkRow]) -> pd.DataFrame:
        return pd.DataFrame(desk.table(rows), columns=list(desk.MARK_COLUMNS))


def _scroll_to(elem_id: str) -> str:
    """Browser-side: bring a result into view once it is there (the inputs above it are long)."""
    return f"() => document.getElementById('{elem_id}')?.scrollIntoView({{behavior: 'smooth', block: 'start'}})"


def _md_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in str(text))


# -- layout ------------------------------------------------------------------------------------------

def _results_panel(prefix: str, placeholder: str) -> list[gr.components.Component]:
    """Summary card, per-part table, the four charts and the raw JSON; returned in Handlers.render order."""
    summary = gr.HTML(f'<div class="sla-empty">{placeholder}</div>', elem_id=f"{prefix}-summary")
    empty = charts.message_figure("", ui_text.CHART_PLACEHOLDER)
    table = gr.Dataframe(headers=list(report.PART_COLUMNS), label=ui_text.PART_TABLE_LABEL, interactive=False,
                         wrap=True, max_height=720, elem_classes=["sla-table"], elem_id=f"{prefix}-parts", column_widths=["13%", "9%", "8%", "8%", "8%", "8%",
                                                                                  "10%", "18%", "18%"])
    with gr.Row(equal_height=True):
        parts_plot = gr.Plot(empty, label=ui_text.CHART_PARTS, show_label=False, elem_id=f"{prefix}-chart-parts")
        fusion_plot = gr.Plot(empty, label=ui_text.CHART_FUSION, show_label=False, elem_id=f"{prefix}-chart-fusion")
    with gr.Row(equal_height=True):
        proto_plot = gr.Plot(empty, label=ui_text.CHART_PROTOTYPES, show_label=False, elem_id=f"{prefix}-chart-prototypes")
        mllm_plot = gr.Plot(empty, label=ui_text.CHART_MLLM, show_label=False, elem_id=f"{prefix}-chart-mllm")
    with gr.Accordion(ui_text.RAW_JSON, open=False):
        raw = gr.JSON(elem_id=f"{prefix}-json")
        download = gr.File(label=ui_text.DOWNLOAD_JSON, interactive=False, elem_id=f"{prefix}-json-file")
    return [summary, table, parts_plot, fusion_plot, proto_plot, mllm_plot, raw, download]


def build_demo(assess_fn: AssessFn, status_fn: StatusFn, store: ResultStore, fusion: Fusion = Fusion(),
               examples: bool = True, calibration: desk.CalibrationDesk | None = None) -> gr.Blocks:
    """The whole page. Loads nothing: the callables arrive ready (models are loaded once, in main).

    `calibration` (over the same Assessor as `assess_fn`) adds the Calibrate tab; without it there is none.
    """
    h = Handlers(assess_fn, status_fn, store, fusion, calibration=calibration)
    infos = tuple(status_fn())
    with gr.Blocks(title=ui_text.TITLE) as demo:
        gr.HTML(f'<header class="sla-header"><h1>{ui_text.TITLE}</h1><p>{ui_text.SUBTITLE}</p></header>')
        with gr.Accordion(report.status_line(infos), open=not report.any_grader_trained(infos),
                          elem_id="model-status") as status_box:
            status_html = gr.HTML(report.status_html(infos, store.path), elem_id="model-status-body")

        with gr.Tabs():
            with gr.Tab(ui_text.TAB_ONE, id="one"):
                learner = gr.Textbox(label=ui_text.LEARNER_LABEL, placeholder=ui_text.LEARNER_PLACEHOLDER,
                                     max_lines=1, elem_id="learner")
                # Created first and placed below, so the examples can sit above the four parts.
                audio = [gr.Audio(sources=["upload", "microphone"], type="filepath", render=False,
                                  label=_answer_label(p, i), elem_id=f"audio-p{p}-{i + 1}") for p, i in SLOTS]
                if examples and EXAMPLE_DIR.is_dir():
                    rows = _example_rows()
                    gr.Examples(examples=[r for _, r in rows], inputs=[learner, *audio], label=ui_text.EXAMPLES_LABEL,
                                example_labels=[label for label, _ in rows])
                slot = iter(audio)
                for p in PARTS:
                    info = part_info(p)
                    with gr.Group(elem_classes=["sla-part"]):
                        gr.Markdown(f"### {info.title}\n{info.task}", elem_classes=["sla-part-head"])
                        per_row = 3 if info.max_answers > 1 else 1
                        for start in range(0, info.max_answers, per_row):
                            with gr.Row():
                                for _ in range(start, min(start + per_row, info.max_answers)):
                                    next(slot).render()
                with gr.Row():
                    clear = gr.ClearButton([learner, *audio], value=ui_text.CLEAR_BUTTON, scale=1)
                    assess = gr.Button(ui_text.ASSESS_BUTTON, variant="primary", scale=3, elem_id="assess")
                gr.Markdown(f"## {ui_text.RESULTS_HEADING}")
                one_panel = _results_panel("one", ui_text.NO_RESULT_YET)

            with gr.Tab(ui_text.TAB_CLASS, id="class"):
                gr.Markdown(ui_text.CLASS_INTRO, elem_classes=["sla-help"])
                with gr.Row():
                    class_files = gr.File(label=ui_text.CLASS_FILES_LABEL, file_count="multiple",
                                          file_types=[".zip", ".csv", ".wav", ".flac", ".ogg", ".mp3"],
                                          scale=3, elem_id="class-files")
                    with gr.Column(scale=2):
                        session_name = gr.Textbox(label=ui_text.SESSION_NAME_LABEL, max_lines=1,
                                                  placeholder=ui_text.SESSION_NAME_PLACEHOLDER, elem_id="session-name")
                        assess_class = gr.Button(ui_text.ASSESS_CLASS_BUTTON, variant="primary", elem_id="assess-class")
                if examples and EXAMPLE_CLASS.is_file():
                    gr.Examples(examples=[[[str(EXAMPLE_CLASS)], "Example class (synthetic speech)"]],
                                inputs=[class_files, session_name], label="Example class (synthetic speech)",
                                example_labels=["Three synthetic learners (zip)"])
                with gr.Row():
                    sessions = gr.Dropdown(label=ui_text.SAVED_SESSIONS_LABEL, choices=[], scale=4,
                                           elem_id="sessions", info="Every class you assess is saved here.")
                    refresh = gr.Button(ui_text.REFRESH_BUTTON, scale=0, size="sm", min_width=100)
                class_status = gr.Markdown(elem_id="class-status")
                class_table = gr.Dataframe(headers=list(report.CLASS_COLUMNS), label=ui_text.CLASS_TABLE_LABEL,
                                           interactive=False, wrap=True, elem_id="class-table", show_search="search",
                                           elem_classes=["sla-table"], column_widths=list(CLASS_COLUMN_WIDTHS))
                with gr.Row():
                    csv_file = gr.DownloadButton(ui_text.DOWNLOAD_CSV, interactive=False, elem_id="class-csv")
                class_chart = gr.Plot(show_label=False, elem_id="class-chart")
                learner_pick = gr.Dropdown(label=ui_text.LEARNER_PICK_LABEL, choices=[], interactive=False,
                                           elem_id="learner-pick")
                class_panel = _results_panel("class", ui_text.NO_LEARNER_YET)

            if calibration is not None:
                with gr.Tab(ui_text.TAB_CALIBRATE, id="calibrate") as calibrate_tab:
                    c = _calibrate_tab(examples)

            with gr.Tab(ui_text.TAB_HELP, id="help"):
                gr.Markdown(ui_text.HELP)
                gr.Markdown(ui_text.CLASS_INTRO)
        gr.Markdown(ui_text.FOOTER, elem_classes=["sla-footer"])

        # Wiring. The two model events share one concurrency slot: one model, one job at a time.
        assess.click(h.assess_one, [learner, *audio], [*one_panel, sessions], api_name="assess",
                     concurrency_id="model", concurrency_limit=1).success(None, js=_scroll_to("one-summary"))
        assess_class.click(h.assess_class, [class_files, session_name],
                           [class_status, class_table, csv_file, class_chart, sessions, learner_pick],
                           api_name="assess_class", concurrency_id="model", concurrency_limit=1)
        sessions.input(h.open_session, [sessions], [class_status, class_table, csv_file, class_chart, learner_pick],
                       api_name="open_session")
        refresh.click(h.sessions_update, None, [sessions], api_visibility="private")
        learner_pick.input(h.show_learner, [sessions, learner_pick], class_panel, api_name="show_learner").success(
            None, js=_scroll_to("class-summary"))
        demo.load(h.sessions_update, None, [sessions], api_visibility="private")
        clear.add([*one_panel])
        if calibration is not None:
            _wire_calibrate(h, c, calibrate_tab, status_html, status_box, demo)
    demo.queue(max_size=64, default_concurrency_limit=4)
    return demo


def _calibrate_tab(examples: bool) -> dict[str, gr.components.Component]:
    """The Calibrate tab's components, by name (wired in _wire_calibrate)."""
    c: dict[str, gr.components.Component] = {}
    gr.Markdown(ui_text.CALIBRATE_INTRO, elem_classes=["sla-help"])
    with gr.Row():
        c["files"] = gr.File(label=ui_text.CALIBRATE_FILES_LABEL, file_count="multiple", scale=3,
                             file_types=[".zip", ".csv", ".wav", ".flac", ".ogg", ".mp3"], elem_id="calib-files")
        with gr.Column(scale=2):
            c["sessions"] = gr.Dropdown(label=ui_text.CALIBRATE_SESSION_LABEL, choices=[], elem_id="calib-sessions")
            c["load_session"] = gr.Button(ui_text.LOAD_SESSION_BUTTON, size="sm", elem_id="calib-load-session")
    if examples and EXAMPLE_GRADED.is_file():
        gr.Examples(examples=[[[str(EXAMPLE_GRADED)]]], inputs=[c["files"]], label=ui_text.CALIBRATE_EXAMPLE_LABEL,
                    example_labels=["Six learners, Parts 3 and 4, with marks (zip)"])
    c["rows"], c["heard"], c["result"] = gr.State([]), gr.State(None), gr.State(None)
    c["status"] = gr.Markdown(elem_id="calib-status")
    c["marks"] = gr.Dataframe(headers=list(desk.MARK_COLUMNS), datatype=["str", "number", "str", "str", "str"],
                              label=ui_text.MARKS_TABLE_LABEL, interactive=True, static_columns=[0, 1, 2, 3],
                              wrap=True, max_height=420, elem_id="calib-marks", elem_classes=["sla-table"])
    with gr.Row(equal_height=True):
        c["name"] = gr.Textbox(label=ui_text.PROFILE_NAME_LABEL, placeholder=ui_text.PROFILE_NAME_PLACEHOLDER,
                               max_lines=1, scale=3, elem_id="calib-name")
        c["fit"] = gr.Button(ui_text.FIT_BUTTON, variant="primary", scale=1, elem_id="calib-fit")
    c["verdict"] = gr.Markdown(elem_id="calib-verdict")
    c["evidence"] = gr.Textbox(label=ui_text.EVIDENCE_LABEL, placeholder=ui_text.EVIDENCE_PLACEHOLDER, lines=10,
                               max_lines=30, interactive=False, elem_id="calib-evidence", elem_classes=["sla-mono"])
    c["chart"] = gr.Plot(charts.message_figure("", ui_text.EVIDENCE_PLACEHOLDER), show_label=False,
                         elem_id="calib-chart")
    with gr.Row(equal_height=True):
        c["anyway"] = gr.Checkbox(label=ui_text.SAVE_ANYWAY_LABEL, elem_id="calib-anyway")
        c["overwrite"] = gr.Checkbox(label=ui_text.OVERWRITE_LABEL, elem_id="calib-overwrite")
        c["save"] = gr.Button(ui_text.SAVE_BUTTON, elem_id="calib-save")
    c["saved"] = gr.Markdown(elem_id="calib-saved")
    with gr.Row(equal_height=True):
        c["profiles"] = gr.Dropdown(label=ui_text.PROFILES_LABEL, choices=[(ui_text.NO_PROFILE, NO_PROFILE)],
                                    value=NO_PROFILE, scale=3, elem_id="calib-profiles")
        c["use"] = gr.Button(ui_text.USE_PROFILE_BUTTON, variant="primary", scale=1, elem_id="calib-use")
    c["using"] = gr.Markdown(elem_id="calib-using")
    return c


def _wire_calibrate(h: Handlers, c: dict, tab: gr.Tab, status_html: gr.HTML, status_box: gr.Accordion,
                    demo: gr.Blocks) -> None:
    """Events of the Calibrate tab. Listening and switching profiles use the model: one job at a time."""
    loaded = [c["rows"], c["marks"], c["status"]]
    c["files"].change(h.calibration_upload, [c["files"]], loaded, api_name="calibration_upload")
    c["load_session"].click(h.calibration_session, [c["sessions"]], loaded, api_name="calibration_session")
    c["fit"].click(h.calibration_fit, [c["rows"], c["marks"], c["name"], c["heard"]],
                   [c["result"], c["heard"], c["name"], c["evidence"], c["chart"], c["verdict"]],
                   api_name="calibration_fit", concurrency_id="model", concurrency_limit=1)
    c["save"].click(h.calibration_save, [c["result"], c["name"], c["anyway"], c["overwrite"]],
                    [c["saved"], c["profiles"]], api_name="calibration_save")
    c["use"].click(h.calibration_use, [c["profiles"]], [c["using"], status_html, status_box],
                   api_name="calibration_use", concurrency_id="model", concurrency_limit=1)
    tab.select(h.sessions_update, None, [c["sessions"]], api_visibility="private")
    demo.load(h.profiles_update, None, [c["profiles"]], api_visibility="private")
    demo.load(h.status_update, None, [status_html, status_box], api_visibility="private")


def _answer_label(part: int, index: int) -> str:
    info = part_info(part)
    question = info.questions[index]
    return ui_text.ANSWER_LABEL.format(n=index + 1, question=question) if info.max_answers > 1 else question


def _example_rows() -> list[tuple[str, list[str | None]]]:
    """(label, [learner, *SLOTS]) rows from assets/example_learner/part{P}[_{N}].wav; one with a silent Part 4."""
    files: list[str | None] = []
    for p, i in SLOTS:
        f = EXAMPLE_DIR / (f"part{p}_{i + 1}.wav" if part_info(p).max_answers > 1 else f"part{p}.wav")
        files.append(str(f) if f.is_file() else None)
    rows = [(ui_text.EXAMPLE_FULL, [ui_text.EXAMPLE_LEARNER, *files])]
    silent = ASSETS / "silent.wav"
    if silent.is_file():
        bad = [str(silent) if p == 4 else f for (p, _), f in zip(SLOTS, files)]
        rows.append((ui_text.EXAMPLE_BAD, [ui_text.EXAMPLE_LEARNER_BAD, *bad]))
    return rows


# -- entry point -------------------------------------------------------------------------------------

def _on_gpu(fn: Callable, seconds: int = 120) -> Callable:
    """Run `fn` on a ZeroGPU slice on Hugging Face Spaces; unchanged elsewhere (no `spaces` package)."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=seconds)(fn)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """App flags plus one flag per AssessorConfig field (--speech-checkpoints, --mllm, ...; SLA_* env too)."""
    from sla_core.assess import AssessorConfig

    parser = argparse.ArgumentParser(description="Speaking-assessment web app.",
                                     epilog="Every model flag can also be set as SLA_<NAME>, e.g. SLA_TINY=1.")
    parser.add_argument("--host", default=None, help="address to serve on (default 127.0.0.1; 0.0.0.0 on Spaces)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860 or $GRADIO_SERVER_PORT)")
    parser.add_argument("--db", default=None, help="SQLite results file (default $SLA_DB, $SLA_DATA_DIR or "
                                                  "~/.local/share/sla-demo/results.sqlite)")
    parser.add_argument("--share", action="store_true", help="also serve on a public gradio.live link")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up assessment at start-up")
    parser.add_argument("--offline", action="store_true", help="no hub at all: tiny models, HF_HUB_OFFLINE=1")
    models = parser.add_argument_group("models (AssessorConfig)")
    for f in fields(AssessorConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            models.add_argument(flag, action="store_true", default=None, help=f"SLA_{f.name.upper()}")
        else:
            models.add_argument(flag, type=float if f.type in ("float", float) else str, default=None,
                                help=f"SLA_{f.name.upper()} (default {f.default})")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from sla_core.assess import AssessorConfig, load_assessor
    from sla_core.calibration import collect_exemplars

    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.offline:
        args.tiny = True
        os.environ["HF_HUB_OFFLINE"] = "1"
    overrides = {f.name: getattr(args, f.name) for f in fields(AssessorConfig)}
    config = AssessorConfig.from_env(**overrides)
    if config.tiny:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    log.info("loading models: %s", config)
    assessor = load_assessor(config)  # once per process, not per click
    if not args.no_warmup and (EXAMPLE_DIR / "part3.wav").is_file():
        assessor.assess({3: [EXAMPLE_DIR / "part3.wav"]})  # first real request then runs at full speed
    store = ResultStore(args.db)
    weights = assessor.fusion
    fusion = Fusion(tuple(weights.weights) if assessor.mllm is not None else None, bool(weights.fitted))
    calibration = desk.CalibrationDesk(assessor, listen=_on_gpu(collect_exemplars, 300))
    demo = build_demo(_on_gpu(assessor.assess_submission), assessor.status, store, fusion, calibration=calibration)
    log.info("results are saved in %s", store.path)
    demo.launch(
        server_name=args.host or ("0.0.0.0" if os.environ.get("SPACE_ID") else None),
        server_port=args.port, share=args.share or None, theme=_theme(), css_paths=[ASSETS / "style.css"],
        allowed_paths=[str(ASSETS)], max_file_size="500mb", footer_links=["api", "settings"],
    )


def _theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          font=["Inter", "system-ui", "sans-serif"],  # local fonts only: no request to a font CDN
                          font_mono=["ui-monospace", "monospace"])


if __name__ == "__main__":
    main()
