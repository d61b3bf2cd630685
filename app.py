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
import logging
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path

import gradio as gr

from sla_core.parts import PARTS, part_info
from sla_core.results.store import ResultStore
from sla_core.teacher import calibration_desk as desk
from sla_core.teacher import charts, ui_text
from sla_core.teacher import result_view as report
from sla_core.teacher.handlers import NO_PROFILE, SLOTS, AssessFn, Fusion, Handlers, StatusFn

log = logging.getLogger("sla.app")

ASSETS = Path(__file__).resolve().parent / "assets"
EXAMPLE_DIR = ASSETS / "example_learner"
EXAMPLE_CLASS = ASSETS / "example_class.zip"
EXAMPLE_GRADED = ASSETS / "example_graded.zip"
# Class table (report.CLASS_COLUMNS): without widths an all-blank column (nobody recorded Part 4) shrinks to
# one letter per line and "Overall" breaks mid-word; Problems takes the room left.
CLASS_COLUMN_WIDTHS = ("10%", "8%", "12%", "8%", "6%", "6%", "6%", "6%", "7%", "31%")


def _scroll_to(elem_id: str) -> str:
    """Browser-side: bring a result into view once it is there (the inputs above it are long)."""
    return f"() => document.getElementById('{elem_id}')?.scrollIntoView({{behavior: 'smooth', block: 'start'}})"


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
                one = _assess_tab(examples)
            with gr.Tab(ui_text.TAB_CLASS, id="class"):
                cls = _class_tab(examples)
            if calibration is not None:
                with gr.Tab(ui_text.TAB_CALIBRATE, id="calibrate") as calibrate_tab:
                    c = _calibrate_tab(examples)
            with gr.Tab(ui_text.TAB_HELP, id="help"):
                gr.Markdown(ui_text.HELP)
                gr.Markdown(ui_text.CLASS_INTRO)
        gr.Markdown(ui_text.FOOTER, elem_classes=["sla-footer"])

        _wire_assess(h, one, cls["sessions"])
        _wire_class(h, cls, demo)
        if calibration is not None:
            _wire_calibrate(h, c, calibrate_tab, status_html, status_box, demo)
    demo.queue(max_size=64, default_concurrency_limit=4)
    return demo


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
    return {"learner": learner, "audio": audio, "clear": clear, "assess": assess,
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
    if examples and EXAMPLE_CLASS.is_file():
        gr.Examples(examples=[[[str(EXAMPLE_CLASS)], "Example class (synthetic speech)"]],
                    inputs=[c["files"], c["name"]], label="Example class (synthetic speech)",
                    example_labels=["Three synthetic learners (zip)"])
    with gr.Row():
        c["sessions"] = gr.Dropdown(label=ui_text.SAVED_SESSIONS_LABEL, choices=[], scale=4,
                                    elem_id="sessions", info="Every class you assess is saved here.")
        c["refresh"] = gr.Button(ui_text.REFRESH_BUTTON, scale=0, size="sm", min_width=100)
    c["status"] = gr.Markdown(elem_id="class-status")
    c["table"] = gr.Dataframe(headers=list(report.CLASS_COLUMNS), label=ui_text.CLASS_TABLE_LABEL,
                              interactive=False, wrap=True, elem_id="class-table", show_search="search",
                              elem_classes=["sla-table"], column_widths=list(CLASS_COLUMN_WIDTHS))
    with gr.Row(equal_height=True):
        c["sort"] = gr.Dropdown(label=ui_text.SORT_LABEL, choices=[(v, k) for k, v in ui_text.SORT_ORDERS.items()],
                                value="assessed", scale=3, elem_id="class-sort")
        c["csv"] = gr.DownloadButton(ui_text.DOWNLOAD_CSV, interactive=False, scale=1, elem_id="class-csv")
    c["chart"] = gr.Plot(show_label=False, elem_id="class-chart")
    c["learner_pick"] = gr.Dropdown(label=ui_text.LEARNER_PICK_LABEL, choices=[], interactive=False,
                                    elem_id="learner-pick")
    c["panel"] = _results_panel("class", ui_text.NO_LEARNER_YET)
    return c


def _wire_assess(h: Handlers, one: dict, sessions: gr.Dropdown) -> None:
    """Events of the one-learner tab. The model events share one concurrency slot: one model, one job at a time."""
    one["assess"].click(h.assess_one, [one["learner"], *one["audio"]], [*one["panel"], sessions], api_name="assess",
                        concurrency_id="model", concurrency_limit=1).success(None, js=_scroll_to("one-summary"))
    one["clear"].add([*one["panel"]])


def _wire_class(h: Handlers, c: dict, demo: gr.Blocks) -> None:
    """Events of the Classroom tab."""
    c["assess"].click(h.assess_class, [c["files"], c["name"]],
                      [c["status"], c["table"], c["csv"], c["chart"], c["sessions"], c["learner_pick"]],
                      api_name="assess_class", concurrency_id="model", concurrency_limit=1)
    c["sessions"].input(h.open_session, [c["sessions"]],
                        [c["status"], c["table"], c["csv"], c["chart"], c["learner_pick"]], api_name="open_session")
    c["sort"].input(h.sort_class, [c["sessions"], c["sort"]], [c["table"]], api_visibility="private")
    c["refresh"].click(h.sessions_update, None, [c["sessions"]], api_visibility="private")
    c["learner_pick"].input(h.show_learner, [c["sessions"], c["learner_pick"]], c["panel"],
                            api_name="show_learner").success(None, js=_scroll_to("class-summary"))
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
