"""The teacher-facing web app: layout and wiring only.

`build_demo` receives the functions it calls (assess, model status), the result store and the
calibration desk, so the same UI runs on the real graders, on the tiny offline ones, or in a test;
everything that computes lives in sla_core: the pipeline in the core, what each button does in
`sla_core.teacher` (one handler module per tab, the words, cards and charts, the class intake and the
Calibrate tab's workflow), the result store in `sla_core.results`.
`main()` reads flags and SLA_* variables, loads the models once, warms them up and launches.

    python app.py --tiny            # offline: tiny random models, no hub (numbers are not grades)
    python app.py --speech-checkpoints ./w2v --fusion fusion.json --mllm-adapters ./stg
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no analytics calls

import argparse
import atexit
import functools
import inspect
import ipaddress
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import gradio as gr

from sla_core.audio import DEFAULT_MAX_SECONDS
from sla_core.parts import PARTS, part_info
from sla_core.results.erasure import Places
from sla_core.results.retention import Retention
from sla_core.results.store import ResultStore
from sla_core.results.workfolders import RunFolder
from sla_core.teacher import calibration_desk as desk
from sla_core.teacher import charts, ui_text
from sla_core.teacher import result_view as report
from sla_core.teacher.assess_tab import PANEL_SIZE
from sla_core.teacher.classroom import DEFAULT_MAX_LEARNERS, DEFAULT_MAX_SHORT_ANSWERS, UploadCaps
from sla_core.teacher.downloads import Downloads
from sla_core.teacher.file_guard import GuardedBlocks
from sla_core.teacher.handlers import NO_PROFILE, SLOTS, AssessFn, Fusion, Handlers, StatusFn
from sla_core.teacher.intake import Uploads

log = logging.getLogger("sla.app")

ASSETS = Path(__file__).resolve().parent / "assets"
EXAMPLE_DIR = ASSETS / "example_learner"
EXAMPLE_CLASS = ASSETS / "example_class.zip"
EXAMPLE_GRADED = ASSETS / "example_graded.zip"
# Table column widths by header (report.CLASS_COLUMNS, report.PART_COLUMNS; a column added later gets
# COLUMN_WIDTH): without widths an all-blank column (nobody recorded Part 4) shrinks to one letter per line and
# "Overall" breaks mid-word. Pixels, not percentages: on a phone a percentage of the screen squeezes a word to a
# letter per line; fixed widths keep every column readable and the table scrolls sideways instead. Each is wide
# enough for its header's longest word ("Multimodal", "Syllables/s") with the cell's padding.
COLUMN_WIDTH = "100px"
CLASS_COLUMN_WIDTHS = {"Learner": "120px", "Overall": "80px", "CEFR": "96px", "Coverage": "170px", "Part 1": "70px",
                       "Part 3": "70px", "Part 4": "70px", "Part 5": "70px", "Graded": "76px", "Review": "76px",
                       "Spoke (s)": "76px", "Syllables/s": "104px", "Long pauses": "80px",
                       "Speech rate in class": "120px", "Problems": "300px"}
# The part table fits a laptop's results column (about 1,200 px) whole; on a phone it scrolls, Part pinned.
PART_COLUMN_WIDTHS = {"Part": "170px", "Status": "150px", "Speech grader": "100px", "Multimodal grader": "120px",
                      "Fusion weight": "90px", "Part score": "86px", "CEFR": "110px", "How sure": "320px"}
CHART_MIN_WIDTH = 320  # px; narrower, a chart's axes and labels leave no room for the plot itself
FIELD_MIN_WIDTH = 240  # px; a field with a button beside it: on a phone they stack, so the field's text is not cut


def _widths(columns: Sequence[str], widths: dict[str, str]) -> list[str]:
    return [widths.get(c, COLUMN_WIDTH) for c in columns]


@dataclass(frozen=True)
class ServerOptions:
    """How the page serves several teachers (flags --auth, --keep-recordings, --queue-size, --model-concurrency)."""

    login: bool = False  # handlers refuse calls without a user name; each teacher has their own workspace
    warn_open: bool = False  # no login but reachable from other machines: the page says everyone sees everything
    retention: Retention = Retention()  # how long recordings and their caches are kept (default: keep)
    caches: tuple[Path, ...] = ()  # cache folders the retention covers (transcripts, calibration embeddings)
    queue_size: int = 64  # events waiting at most; beyond it gradio answers "currently busy, try again"
    model_concurrency: int = 1  # assessments running at once (one loaded model: they take turns)
    caps: UploadCaps = UploadCaps()  # limits on one class upload, checked before any assessment
    erase_in: Places | None = None  # the caches a deletion clears (transcripts, calibration); None: defaults


def _confirm(question: str, n_inputs: int) -> str:
    """Browser-side: ask before a deletion; without a choice, or on "Cancel", the handler gets nothing to delete."""
    nothing = "[" + ", ".join(["null"] * n_inputs) + "]"
    choose = ui_text.CHOOSE_LEARNER_TO_DELETE if n_inputs > 1 else ui_text.CHOOSE_SESSION_TO_DELETE
    return (f"(...args) => args.some(a => a === null || a === undefined) ? (window.alert({choose!r}), {nothing}) "
            f": (window.confirm({question!r}) ? args : {nothing})")


# Gradio's upload and record buttons all read "Upload file" / "Record": give each the name of its slot
# ("Part 1, answer 2: ...", the component's label) so a screen reader can tell thirteen of them apart;
# and name each chart, pointing to its text alternative.
NAME_CONTROLS = """<script>
(() => {
  const name = () => document.querySelectorAll('[id^=audio-p], #class-files, #calib-files').forEach(box => {
    const label = box.querySelector('[data-testid=block-label], label')?.innerText?.trim();
    if (!label) return;
    box.querySelectorAll('button, input[type=file]').forEach(b => {
      const what = (b.getAttribute('aria-label') || b.innerText || b.title || 'upload').trim().split('\\n')[0];
      if (!b.dataset.slaNamed) { b.setAttribute('aria-label', `${what}: ${label}`); b.dataset.slaNamed = '1'; }
    });
  });
  // A chart is one image to a screen reader, named by its title and pointing to its words just below it
  // (the accordion "The chart as text"; the one-learner panel's charts share "The charts as text").
  const charts = () => document.querySelectorAll('[id*=chart] .js-plotly-plot').forEach(plot => {
    const t = plot.querySelector('.gtitle');
    const lines = t ? Array.from(t.querySelectorAll('tspan.line')).map(x => x.textContent) : [];
    const title = (lines.length ? lines.join(' ') : t?.textContent || '').trim();
    if (!title || plot.dataset.slaTitle === title) return;
    const words = /-chart-/.test(plot.closest('[id*=chart]').id) ? CHARTS_AS_TEXT : CHART_AS_TEXT;
    plot.setAttribute('role', 'img');
    plot.setAttribute('aria-label', `Chart: ${title}. In words and tables: “${words}”, below it.`);
    plot.dataset.slaTitle = title;
  });
  // A table's column headers carry what the column holds (hover, and a screen reader's description): no bare
  // number is left unexplained. The same words are in the key under the class table, for a phone.
  const help = () => document.querySelectorAll('.sla-table [role=columnheader]').forEach(th => {
    const text = (th.innerText || '').trim().split('\\n')[0];
    const words = COLUMN_HELP[text];
    if (words && th.title !== words) { th.title = words; th.setAttribute('aria-description', words); }
  });
  new MutationObserver(() => { name(); charts(); help(); }).observe(document.documentElement, {childList: true, subtree: true});
})();
</script>""".replace("CHARTS_AS_TEXT", repr(ui_text.CHARTS_AS_TEXT)).replace("CHART_AS_TEXT", repr(ui_text.CHART_AS_TEXT)) \
    .replace("COLUMN_HELP", json.dumps(ui_text.COLUMN_HELP, ensure_ascii=False))


def _scroll_to(elem_id: str) -> str:
    """Browser-side: bring a result into view once it is there (the inputs above it are long)."""
    return f"() => document.getElementById('{elem_id}')?.scrollIntoView({{behavior: 'smooth', block: 'start'}})"


# -- layout ------------------------------------------------------------------------------------------

def _results_panel(prefix: str, placeholder: str) -> list[gr.components.Component]:
    """Summary card, the learner's report, per-part table and what each part rests on, the four charts, the delivery
    words and timeline, and the raw JSON; returned in Handlers.render order."""
    summary = gr.HTML(f'<div class="sla-empty">{placeholder}</div>', elem_id=f"{prefix}-summary")
    # The learner's printable report (HTML that prints to A4, and a PDF): one click on a link downloads it.
    reports = gr.File(label=ui_text.LEARNER_REPORT_LABEL, file_count="multiple", interactive=False,
                      elem_id=f"{prefix}-report")
    empty = charts.message_figure("", ui_text.CHART_PLACEHOLDER)
    table = gr.Dataframe(headers=list(report.PART_COLUMNS), label=ui_text.PART_TABLE_LABEL, interactive=False,
                         wrap=True, max_height=720, elem_classes=["sla-table"], elem_id=f"{prefix}-parts",
                         column_widths=_widths(report.PART_COLUMNS, PART_COLUMN_WIDTHS), pinned_columns=1)
    notes = gr.HTML(elem_id=f"{prefix}-part-notes")
    # Two charts side by side only where each gets CHART_MIN_WIDTH: on a phone they stack (a heat map squeezed to
    # half a phone has no room left for its cells, and plotly cannot draw it at all).
    with gr.Row(equal_height=True):
        parts_plot = gr.Plot(empty, label=ui_text.CHART_PARTS, show_label=False, elem_id=f"{prefix}-chart-parts",
                             min_width=CHART_MIN_WIDTH)
        fusion_plot = gr.Plot(empty, label=ui_text.CHART_FUSION, show_label=False, elem_id=f"{prefix}-chart-fusion",
                              min_width=CHART_MIN_WIDTH)
    with gr.Row(equal_height=True):
        proto_plot = gr.Plot(empty, label=ui_text.CHART_PROTOTYPES, show_label=False,
                             elem_id=f"{prefix}-chart-prototypes", min_width=CHART_MIN_WIDTH)
        mllm_plot = gr.Plot(empty, label=ui_text.CHART_MLLM, show_label=False, elem_id=f"{prefix}-chart-mllm",
                            min_width=CHART_MIN_WIDTH)
    delivery = gr.HTML(elem_id=f"{prefix}-delivery")
    delivery_plot = gr.Plot(empty, label=ui_text.CHART_DELIVERY, show_label=False, elem_id=f"{prefix}-chart-delivery")
    with gr.Accordion(ui_text.CHARTS_AS_TEXT, open=False, elem_id=f"{prefix}-charts-text-box"):
        charts_text = gr.HTML(elem_id=f"{prefix}-charts-text", elem_classes=["sla-chart-text"])
    with gr.Accordion(ui_text.RAW_JSON, open=False):
        raw = gr.JSON(elem_id=f"{prefix}-json")
        download = gr.File(label=ui_text.DOWNLOAD_JSON, interactive=False, elem_id=f"{prefix}-json-file")
    panel = [summary, table, notes, parts_plot, fusion_plot, proto_plot, mllm_plot, delivery, delivery_plot, raw,
             download, charts_text, reports]
    assert len(panel) == PANEL_SIZE, f"the handlers return {PANEL_SIZE} panel values, the page has {len(panel)}"
    return panel


def build_demo(assess_fn: AssessFn, status_fn: StatusFn, store: ResultStore, fusion: Fusion = Fusion(),
               examples: bool = True, calibration: desk.CalibrationDesk | None = None,
               server: ServerOptions = ServerOptions(), workdir: str | Path | None = None,
               max_seconds: float = DEFAULT_MAX_SECONDS) -> gr.Blocks:
    """The whole page. Loads nothing: the callables arrive ready (models are loaded once, in main).

    `calibration` (over the same Assessor as `assess_fn`) adds the Calibrate tab; without it there is none.
    `server` says how several teachers share it (login, retention, queue).
    """
    from gradio.utils import get_upload_folder

    # Who uploaded what and who may download what: filled and enforced by the file guard in front of the routes.
    uploads, downloads = Uploads(), Downloads(get_upload_folder(), store.path)
    h = _Wired(Handlers(assess_fn, status_fn, store, fusion, calibration=calibration, login=server.login,
                        retention=server.retention, caches=server.caches, workdir=workdir, max_seconds=max_seconds,
                        uploads=uploads, downloads=downloads, caps=server.caps, erase_in=server.erase_in))
    h.handlers.sweep()  # retention applies from start-up, not only after the next assessment
    infos = tuple(status_fn())
    # Gradio's own copies of uploads are swept by the retention (main passes its folder in `caches`), not by
    # gr.Blocks(delete_cache=...): that deletes a session's files when it ends, even a file another teacher
    # uploaded with the same content (one cache path per content) and is being assessed.
    with GuardedBlocks(title=ui_text.TITLE) as demo:
        gr.HTML(f'<a class="sla-skip" href="#assess">{ui_text.SKIP_TO_ASSESS}</a>'
                f'<header class="sla-header"><h1>{ui_text.TITLE}</h1><p>{ui_text.SUBTITLE}</p></header>')
        if server.warn_open:
            gr.HTML(f'<div class="sla-banner" role="alert" id="open-server-warning">{ui_text.OPEN_SERVER_WARNING}</div>')
        # Closed: its title says what is loaded ("speech untrained ..."), and open it filled a phone's first screen,
        # pushing the tabs and every input out of sight. Each result card says "not a grade" where it applies.
        with gr.Accordion(report.status_line(infos), open=False, elem_id="model-status") as status_box:
            status_html = gr.HTML(report.status_html(infos), elem_id="model-status-body")

        with gr.Tabs(overflow_behavior="wrap", elem_id="tabs"):  # every tab visible on a phone, none behind "⋯"
            with gr.Tab(ui_text.TAB_ONE, id="one"):
                one = _assess_tab(examples)
            with gr.Tab(ui_text.TAB_CLASS, id="class"):
                cls = _class_tab(examples)
            if calibration is not None:
                with gr.Tab(ui_text.TAB_CALIBRATE, id="calibrate") as calibrate_tab:
                    c = _calibrate_tab(examples)
            with gr.Tab(ui_text.TAB_HELP, id="help"):
                gr.Markdown(ui_text.help_text(server.retention.describe(), server.login), elem_id="help-text")
                gr.Markdown(ui_text.CLASS_INTRO)
        gr.Markdown(ui_text.FOOTER, elem_classes=["sla-footer"])

        _wire_assess(h, one, cls["sessions"], server.model_concurrency)
        _wire_class(h, cls, demo, server.model_concurrency)
        if calibration is not None:
            _wire_calibrate(h, c, calibrate_tab, status_html, status_box, demo, server.model_concurrency)
    demo.guard(uploads, downloads)
    demo.queue(max_size=server.queue_size, default_concurrency_limit=4)
    return demo


class _Wired:
    """The handlers as gradio should call them: each gets the visitor's gr.Request as `request=`.

    Gradio injects a gr.Request into a parameter annotated with it; the wrapper adds that parameter in
    front of the handler's own (so gr.Progress is still found by position) and passes it on by keyword.
    """

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers

    def __getattr__(self, name: str) -> Callable:
        return _with_request(getattr(self.handlers, name))


def _with_request(fn: Callable) -> Callable:
    params = list(inspect.signature(fn).parameters.values())
    own = [p for p in params if p.name != "request"]
    first = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request)
    # Gradio fills every parameter by position (defaults included): those after the handler's own `request`
    # (e.g. sessions_update's `cleared`) must go by name, or one would land on `request`.
    at = next((k for k, p in enumerate(params) if p.name == "request"), len(params))
    head, tail = params[:at], [p.name for p in params[at + 1:]]
    if any(p.kind == p.VAR_POSITIONAL for p in head):
        head, tail = [None] * 10**6, []  # `request` is keyword-only after *args: positions stay positions

    def call(request, args, kwargs):
        named = dict(zip(tail, args[len(head):]))
        return fn(*args[:len(head)], request=request, **named, **kwargs)

    if inspect.isgeneratorfunction(fn):
        def wrapper(request, *args, **kwargs):
            yield from call(request, args, kwargs)
    else:
        def wrapper(request, *args, **kwargs):
            return call(request, args, kwargs)
    functools.update_wrapper(wrapper, fn)
    del wrapper.__wrapped__  # gradio must see the new signature, not the handler's
    wrapper.__signature__ = inspect.Signature([first, *own])
    wrapper.__annotations__ = {"request": gr.Request}
    return wrapper


def _assess_tab(examples: bool) -> dict:
    """The "Assess one learner" tab's components: learner, audio (one per SLOT), buttons, result panel."""
    learner = gr.Textbox(label=ui_text.LEARNER_LABEL, placeholder=ui_text.LEARNER_PLACEHOLDER,
                         max_lines=1, elem_id="learner")
    # Created first and placed below, so the examples can sit above the four parts.
    audio = [gr.Audio(sources=["upload", "microphone"], type="filepath", render=False,
                      label=_answer_label(p, i), elem_id=f"audio-p{p}-{i + 1}") for p, i in SLOTS]
    if examples and EXAMPLE_DIR.is_dir():
        rows = _example_rows()
        gr.Examples(examples=[r for _, r in rows], inputs=[learner, *audio], label=ui_text.EXAMPLES_LABEL,
                    example_labels=[label for label, _ in rows])
    # Each answer's check, shown beside it as soon as it is uploaded or recorded (Handlers.check_answer).
    notes = [gr.HTML(render=False, elem_id=f"audio-p{p}-{i + 1}-check", elem_classes=["sla-answer-note"])
             for p, i in SLOTS]
    slot = iter(zip(audio, notes))
    for p in PARTS:
        info = part_info(p)
        with gr.Group(elem_classes=["sla-part"]):
            gr.Markdown(f"### {info.title}\n{info.task}", elem_classes=["sla-part-head"])
            per_row = 3 if info.max_answers > 1 else 1
            for start in range(0, info.max_answers, per_row):
                with gr.Row():
                    for _ in range(start, min(start + per_row, info.max_answers)):
                        with gr.Column(min_width=220):
                            for component in next(slot):
                                component.render()
    # Stays at the bottom of the screen while the teacher scrolls through the thirteen answers (on a phone the
    # button was some 5,700 px below the first one); in its place once the page is scrolled past it.
    with gr.Row(elem_classes=["sla-actions"], elem_id="assess-bar"):
        clear = gr.ClearButton([learner, *audio, *notes], value=ui_text.CLEAR_BUTTON, scale=1)
        assess = gr.Button(ui_text.ASSESS_BUTTON, variant="primary", scale=3, elem_id="assess")
    gr.Markdown(f"## {ui_text.RESULTS_HEADING}")
    return {"learner": learner, "audio": audio, "notes": notes, "clear": clear, "assess": assess,
            "panel": _results_panel("one", ui_text.NO_RESULT_YET)}


def _class_tab(examples: bool) -> dict:
    """The Classroom tab's components, by name (wired in _wire_class)."""
    c: dict = {}
    gr.Markdown(ui_text.CLASS_INTRO, elem_classes=["sla-help"])
    with gr.Row():
        c["files"] = gr.File(label=ui_text.CLASS_FILES_LABEL, file_count="multiple",
                             file_types=[".zip", ".csv", ".wav", ".flac", ".ogg", ".mp3"], scale=3, elem_id="class-files")
        with gr.Column(scale=2):
            c["name"] = gr.Textbox(label=ui_text.SESSION_NAME_LABEL, max_lines=1,
                                   placeholder=ui_text.SESSION_NAME_PLACEHOLDER, elem_id="session-name")
            c["assess"] = gr.Button(ui_text.ASSESS_CLASS_BUTTON, variant="primary", elem_id="assess-class")
            c["resume"] = gr.Button(ui_text.RESUME_BUTTON, size="sm", elem_id="resume-class")
    if examples and EXAMPLE_CLASS.is_file():
        gr.Examples(examples=[[[str(EXAMPLE_CLASS)], "Example class (synthetic speech)"]],
                    inputs=[c["files"], c["name"]], label="Example class (synthetic speech)",
                    example_labels=["Three synthetic learners (zip)"])
    with gr.Row():
        c["sessions"] = gr.Dropdown(label=ui_text.SAVED_SESSIONS_LABEL, choices=[], scale=4,
                                    elem_id="sessions", info="Every class you assess is saved here.")
        c["refresh"] = gr.Button(ui_text.REFRESH_BUTTON, scale=0, size="sm", min_width=100)
    c["status"] = gr.Markdown(elem_id="class-status")
    # The learner's name stays in view while the table scrolls sideways to the delivery columns and Problems
    # (style.css pins the first column: gradio 6.31 takes `pinned_columns` but does not pin).
    c["table"] = gr.Dataframe(headers=list(report.CLASS_COLUMNS), label=ui_text.CLASS_TABLE_LABEL,
                              interactive=False, wrap=True, elem_id="class-table", show_search="search",
                              elem_classes=["sla-table"], pinned_columns=1,
                              column_widths=_widths(report.CLASS_COLUMNS, CLASS_COLUMN_WIDTHS))
    gr.Markdown(ui_text.CLASS_KEY, elem_classes=["sla-key"], elem_id="class-key")
    with gr.Row(equal_height=True):
        c["sort"] = gr.Dropdown(label=ui_text.SORT_LABEL, choices=[(v, k) for k, v in ui_text.SORT_ORDERS.items()],
                                value="assessed", scale=3, elem_id="class-sort")
        c["csv"] = gr.DownloadButton(ui_text.DOWNLOAD_CSV, interactive=False, scale=1, elem_id="class-csv")
    with gr.Row(equal_height=True):
        c["reports"] = gr.Button(ui_text.CLASS_REPORTS_BUTTON, size="sm", scale=1, elem_id="class-reports")
        c["reports_zip"] = gr.File(label=ui_text.CLASS_REPORTS_LABEL, interactive=False, scale=2,
                                   elem_id="class-reports-zip")
    with gr.Row():
        c["delete_learner"] = gr.Button(ui_text.DELETE_LEARNER_BUTTON, variant="stop", size="sm",
                                        elem_id="delete-learner")
        c["delete_session"] = gr.Button(ui_text.DELETE_SESSION_BUTTON, variant="stop", size="sm",
                                        elem_id="delete-session")
    c["chart"] = gr.Plot(show_label=False, elem_id="class-chart")
    with gr.Accordion(ui_text.CHART_AS_TEXT, open=False, elem_id="class-chart-text-box"):
        c["chart_text"] = gr.HTML(elem_id="class-chart-text", elem_classes=["sla-chart-text"])
    c["learner_pick"] = gr.Dropdown(label=ui_text.LEARNER_PICK_LABEL, choices=[], interactive=False,
                                    elem_id="learner-pick")
    with gr.Row(equal_height=True):
        c["recording"] = gr.Dropdown(label=ui_text.RECORDINGS_LABEL, choices=[], interactive=False, scale=2,
                                     elem_id="class-recording")
        c["player"] = gr.Audio(label=ui_text.PLAYER_LABEL, type="filepath", interactive=False, scale=3,
                               min_width=FIELD_MIN_WIDTH, elem_id="class-player")
    c["panel"] = _results_panel("class", ui_text.NO_LEARNER_YET)
    return c


def _wire_assess(h: Handlers, one: dict, sessions: gr.Dropdown, model_concurrency: int = 1) -> None:
    """Events of the one-learner tab. The model events share one concurrency slot: one model, one job at a time."""
    # The page's events take thirteen unnamed slots and return what the page draws: private (programs use the
    # named endpoints: assess_learner, assess_class, delete_learner, delete_session). Private only hides them
    # from the API page and the client libraries: every handler checks its inputs and the caller all the same.
    one["assess"].click(h.assess_one, [one["learner"], *one["audio"]], [*one["panel"], sessions],
                        api_name="page_assess", api_visibility="private", concurrency_id="model",
                        concurrency_limit=model_concurrency, show_progress_on=[one["panel"][0]]  # once, on the card
                        ).success(None, js=_scroll_to("one-summary"))
    gr.api(h.handlers.assess_learner, api_name="assess_learner", concurrency_id="model",
           concurrency_limit=model_concurrency)
    one["clear"].add([*one["panel"]])
    for (part, index), audio, note in zip(SLOTS, one["audio"], one["notes"]):
        def check(path, request: gr.Request, part=part, index=index):  # gradio injects the visitor's request
            return h.handlers.check_answer(path, part, index, request=request)

        audio.change(check, [audio], [note], api_visibility="private", show_progress="minimal")


def _wire_class(h: Handlers, c: dict, demo: gr.Blocks, model_concurrency: int = 1) -> None:
    """Events of the Classroom tab."""
    c["assess"].click(h.assess_class, [c["files"], c["name"]],
                      [c["status"], c["table"], c["csv"], c["chart"], c["chart_text"], c["sessions"], c["learner_pick"]],
                      api_name="page_assess_class", api_visibility="private", concurrency_id="model",
                      concurrency_limit=model_concurrency)
    gr.api(h.handlers.assess_class_csv, api_name="assess_class", concurrency_id="model",
           concurrency_limit=model_concurrency)
    c["resume"].click(h.resume_class, [c["sessions"], c["files"]],
                      [c["status"], c["table"], c["csv"], c["chart"], c["chart_text"], c["sessions"], c["learner_pick"]],
                      api_name="page_resume_class", api_visibility="private", concurrency_id="model",
                      concurrency_limit=model_concurrency)
    panel = [c["status"], c["table"], c["csv"], c["chart"], c["chart_text"], c["learner_pick"], c["sessions"]]
    c["delete_learner"].click(h.delete_learner, [c["sessions"], c["learner_pick"]], panel,
                              api_name="page_delete_learner", api_visibility="private",
                              js=_confirm(ui_text.CONFIRM_DELETE_LEARNER, 2))
    c["delete_session"].click(h.delete_session, [c["sessions"]], panel, api_name="page_delete_session",
                              api_visibility="private", js=_confirm(ui_text.CONFIRM_DELETE_SESSION, 1))
    # For a program: the caller's own data only, and only with confirm="delete" (api_tab).
    gr.api(h.handlers.delete_learner_api, api_name="delete_learner")
    gr.api(h.handlers.delete_session_api, api_name="delete_session")
    c["sessions"].input(h.open_session, [c["sessions"]],
                        [c["status"], c["table"], c["csv"], c["chart"], c["chart_text"], c["learner_pick"]],
                        api_name="page_open_session", api_visibility="private")
    c["reports"].click(h.class_reports, [c["sessions"]], [c["reports_zip"]], api_visibility="private")
    c["sort"].input(h.sort_class, [c["sessions"], c["sort"]], [c["table"]], api_visibility="private")
    c["refresh"].click(h.sessions_update, None, [c["sessions"]], api_visibility="private")
    c["learner_pick"].input(h.show_learner, [c["sessions"], c["learner_pick"]], c["panel"],
                            api_name="page_show_learner", api_visibility="private"
                            ).success(None, js=_scroll_to("class-summary"))
    c["learner_pick"].input(h.learner_recordings, [c["sessions"], c["learner_pick"]], [c["recording"], c["player"]],
                            api_visibility="private")
    c["recording"].input(h.play_recording, [c["sessions"], c["learner_pick"], c["recording"]], [c["player"]],
                         api_visibility="private")
    demo.load(h.sessions_update, None, [c["sessions"]], api_visibility="private")


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
                               max_lines=1, scale=3, min_width=FIELD_MIN_WIDTH, elem_id="calib-name")
        c["fit"] = gr.Button(ui_text.FIT_BUTTON, variant="primary", scale=1, elem_id="calib-fit")
    c["verdict"] = gr.Markdown(elem_id="calib-verdict")
    # Grows to the whole text: a box that scrolls cut the evidence mid-line on a phone (lines wrap there).
    c["evidence"] = gr.Textbox(label=ui_text.EVIDENCE_LABEL, placeholder=ui_text.EVIDENCE_PLACEHOLDER, lines=10,
                               max_lines=400, interactive=False, elem_id="calib-evidence", elem_classes=["sla-mono"])
    c["chart"] = gr.Plot(charts.message_figure("", ui_text.EVIDENCE_PLACEHOLDER), show_label=False,
                         elem_id="calib-chart")
    with gr.Accordion(ui_text.CHART_AS_TEXT, open=False, elem_id="calib-chart-text-box"):
        c["chart_text"] = gr.HTML(elem_id="calib-chart-text", elem_classes=["sla-chart-text"])
    with gr.Row(equal_height=True):
        c["anyway"] = gr.Checkbox(label=ui_text.SAVE_ANYWAY_LABEL, elem_id="calib-anyway")
        c["overwrite"] = gr.Checkbox(label=ui_text.OVERWRITE_LABEL, elem_id="calib-overwrite")
        c["save"] = gr.Button(ui_text.SAVE_BUTTON, elem_id="calib-save")
    c["saved"] = gr.Markdown(elem_id="calib-saved")
    with gr.Row(equal_height=True):
        c["profiles"] = gr.Dropdown(label=ui_text.PROFILES_LABEL, choices=[(ui_text.NO_PROFILE, NO_PROFILE)],
                                    value=NO_PROFILE, scale=3, min_width=FIELD_MIN_WIDTH, elem_id="calib-profiles")
        c["use"] = gr.Button(ui_text.USE_PROFILE_BUTTON, variant="primary", scale=1, elem_id="calib-use")
    c["using"] = gr.Markdown(elem_id="calib-using")
    return c


def _wire_calibrate(h: Handlers, c: dict, tab: gr.Tab, status_html: gr.HTML, status_box: gr.Accordion,
                    demo: gr.Blocks, model_concurrency: int = 1) -> None:
    """Events of the Calibrate tab. Listening and switching profiles use the model: one job at a time."""
    loaded = [c["rows"], c["marks"], c["status"]]
    c["files"].change(h.calibration_upload, [c["files"]], loaded, api_visibility="private")
    c["load_session"].click(h.calibration_session, [c["sessions"]], loaded, api_visibility="private")
    c["fit"].click(h.calibration_fit, [c["rows"], c["marks"], c["name"], c["heard"]],
                   [c["result"], c["heard"], c["name"], c["evidence"], c["chart"], c["chart_text"], c["verdict"]],
                   api_visibility="private", concurrency_id="model", concurrency_limit=model_concurrency)
    c["save"].click(h.calibration_save, [c["result"], c["name"], c["anyway"], c["overwrite"]],
                    [c["saved"], c["profiles"]], api_visibility="private")
    c["use"].click(h.calibration_use, [c["profiles"]], [c["using"], status_html, status_box],
                   api_visibility="private")
    tab.select(h.sessions_update, None, [c["sessions"]], api_visibility="private")
    demo.load(h.profiles_update, None, [c["profiles"]], api_visibility="private")
    demo.load(h.status_update, None, [status_html, status_box], api_visibility="private")


def _answer_label(part: int, index: int) -> str:
    info = part_info(part)
    question = info.questions[index]
    return ui_text.ANSWER_LABEL.format(part=part, n=index + 1, of=info.max_answers, question=question)


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
    parser.add_argument("--auth", default=os.environ.get("SLA_AUTH"),
                        help="login file, one user:hash per line (make it with `python -m sla_core users add FILE NAME`); "
                             "default $SLA_AUTH. Each teacher then sees only their own results. Without it everyone "
                             "who can reach the page sees everything")
    parser.add_argument("--keep-recordings", default=os.environ.get("SLA_KEEP_RECORDINGS", "keep"),
                        help="how long recordings and their caches are kept: 'keep' (default, until deleted), "
                             "a number of days, or 0 (not kept after the assessment); $SLA_KEEP_RECORDINGS")
    parser.add_argument("--queue-size", type=int, default=int(os.environ.get("SLA_QUEUE_SIZE", 64)),
                        help="requests that may wait; past it a visitor is told the server is busy (default 64)")
    parser.add_argument("--model-concurrency", type=int, default=int(os.environ.get("SLA_MODEL_CONCURRENCY", 1)),
                        help="assessments run at once (default 1: one loaded model, teachers take turns)")
    parser.add_argument("--max-learners", type=int,
                        default=int(os.environ.get("SLA_MAX_LEARNERS", DEFAULT_MAX_LEARNERS)),
                        help="learners one class upload may hold; a bigger upload is refused before anything is "
                             f"assessed (default {DEFAULT_MAX_LEARNERS}; $SLA_MAX_LEARNERS)")
    parser.add_argument("--max-short-answers", type=int,
                        default=int(os.environ.get("SLA_MAX_SHORT_ANSWERS", DEFAULT_MAX_SHORT_ANSWERS)),
                        help="answers of one upload that may be too short or unreadable (they are skipped and "
                             f"listed); more and the upload is refused (default {DEFAULT_MAX_SHORT_ANSWERS}; "
                             "$SLA_MAX_SHORT_ANSWERS)")
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
    os.umask(0o077)  # every file this process makes (results, recordings, caches, uploads) is owner-only
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # This run's work folder (gradio's uploads, unpacked classes, downloads); earlier runs' folders whose
    # process is gone (a crash, kill -9) are deleted now, other running instances' are left alone.
    run = RunFolder()
    atexit.register(run.close)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a plain `kill` also runs atexit: the folder goes
    os.environ["GRADIO_TEMP_DIR"] = str(run.path / "gradio")  # read by every gr component built from here on
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
    retention = Retention.parse(args.keep_recordings)
    store = ResultStore(args.db, keep_audio=retention.keeps_audio)
    weights = assessor.fusion
    fusion = Fusion(tuple(weights.weights) if assessor.mllm is not None else None, bool(weights.fitted))
    calibration = desk.CalibrationDesk(assessor, listen=_on_gpu(collect_exemplars, 300))
    logins = _logins(args.auth, store, calibration)
    host = args.host or ("0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1")
    warn_open = logins is None and (args.share or not _loopback(host))
    if warn_open:
        log.warning("NO LOGIN on %s%s: %s", host, " with --share" if args.share else "", ui_text.OPEN_SERVER_WARNING)
    server = ServerOptions(login=logins is not None, warn_open=warn_open, retention=retention,
                           caches=_cache_folders(), queue_size=args.queue_size,
                           model_concurrency=args.model_concurrency, caps=UploadCaps(args.max_learners, args.max_short_answers),
                           erase_in=_erase_places(config, calibration))
    demo = build_demo(_on_gpu(assessor.assess_submission), assessor.status, store, fusion, calibration=calibration,
                      server=server, max_seconds=assessor.max_seconds, workdir=run.path / "work")
    log.info("work folder of this run: %s (%d earlier one(s) removed)", run.path, len(run.purged))
    log.info("results are saved in %s; recordings %s", store.path, retention.describe())
    demo.launch(
        server_name=host, server_port=args.port, share=args.share or None, theme=_theme(),
        css_paths=[ASSETS / "style.css"], allowed_paths=[str(ASSETS)], max_file_size=MAX_UPLOAD,
        footer_links=["api", "settings"], auth=logins, auth_message=ui_text.LOGIN_MESSAGE if logins else None,
        head=NAME_CONTROLS,
    )


MAX_UPLOAD = "300mb"  # one uploaded file (a class zip); unpacked, a zip may hold at most classroom.MAX_UNZIPPED_BYTES


def _logins(auth: str | None, store: ResultStore, calibration: desk.CalibrationDesk):
    """The login check for --auth/$SLA_AUTH (None: no login). Data saved before login goes to the first user."""
    if not auth:
        return None
    from sla_core.results.users import Logins

    logins = Logins(auth)
    claimed = store.claim_unowned(logins.first)
    profiles = calibration.claim_unowned(logins.first)
    if claimed or profiles:
        log.info("login turned on: %d session(s) and %d profile(s) saved before now belong to %s (the first user "
                 "in %s)", claimed, len(profiles), logins.first, auth)
    return logins


def _erase_places(config, calibration: desk.CalibrationDesk) -> Places:
    """The caches this app writes, which a deletion must clear: transcripts (unless off) and calibration's."""
    from sla_core.asr import default_transcript_cache_dir
    from sla_core.calibration import default_cache_dir

    transcripts = None if config.transcript_cache == "off" else Path(config.transcript_cache or
                                                                      default_transcript_cache_dir())
    cache = getattr(calibration.cache, "root", None) or default_cache_dir()
    return Places(transcript_cache=transcripts, calibration_cache=Path(cache))


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cache_folders() -> tuple[Path, ...]:
    """The copies a retention sweep covers besides the store: calibration embeddings, transcripts, gradio's uploads."""
    from sla_core.calibration import default_cache_dir

    folders = [default_cache_dir(), Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")]
    try:
        from sla_core.asr import default_transcript_cache_dir
        folders.append(default_transcript_cache_dir())
    except ImportError:  # an older core without the transcript cache
        pass
    return tuple(folders)


def _theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", neutral_hue="slate",
                          font=["Inter", "system-ui", "sans-serif"],  # local fonts only: no request to a font CDN
                          font_mono=["ui-monospace", "monospace"])


if __name__ == "__main__":
    main()
