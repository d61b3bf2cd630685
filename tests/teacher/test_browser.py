"""The app as a teacher uses it, in headless Chromium: upload, assess, read results, class mode, restart, calibrate;
and the same page on a phone (390x844) and a laptop (1440x900), checked the way a teacher would look at it.

Runs `python app.py` (tiny offline models, a temp SQLite file) in a subprocess and drives it with
Playwright. Expected numbers come from the same tiny assessor through the Python API (tiny models are
seeded, so a second load gives the same weights). Screenshots go to $SLA_SHOTS (default /tmp/shots), named
`<phone|desktop>_<step>.png`, to be read by whoever changes the page.
"""

from __future__ import annotations

import csv
import os
import re
import time
from pathlib import Path

import pytest

from app_process import AppProcess  # tests/teacher/app_process.py

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
EXAMPLE = ASSETS / "example_learner"
SHOTS = Path(os.environ.get("SLA_SHOTS", "/tmp/shots"))
APP_FLAGS = ["--tiny", "--asr", "none", "--no-warmup"]  # tiny speech + multimodal graders; no ASR decoding

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # Chromium and `python app.py` in a process
    pytest.mark.timeout(300),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """What the same tiny assessor returns through the Python API: the example learner, the class, and the
    calibration fitted to the example graded set (its words, and the example's Part 3 assessed with it)."""
    from sla_core.assess import AssessorConfig, load_assessor
    from sla_core.calibration import EmbeddingCache, collect_exemplars, fit_calibration, use_calibration
    from sla_core.teacher.classroom import load_class

    assessor = load_assessor(AssessorConfig(tiny=True, asr="none"))
    one = assessor.assess({p: sorted(EXAMPLE.glob(f"part{p}*.wav")) for p in (1, 3, 4, 5)}, learner="Ana")
    batch = load_class(ASSETS / "example_class.zip")
    klass = {s.submission_id: assessor.assess_submission(s) for s in batch.submissions}
    graded = load_class(ASSETS / "example_graded.zip").submissions
    cache = EmbeddingCache(tmp_path_factory.mktemp("cache"))
    calibration = fit_calibration(collect_exemplars(assessor, graded, cache=cache), name="class-7c")
    use_calibration(assessor, calibration.profile)
    calibrated = assessor.assess({3: [EXAMPLE / "part3.wav"]}, learner="Zoe")
    use_calibration(assessor, None)
    return one, klass, calibration, calibrated


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM,
                              args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"])
        yield b
        b.close()


CLASS_COLUMNS = 20  # sla_core.teacher.result_view.CLASS_COLUMNS: scores, coverage, review, delivery, language, problems


def _plot_data(page, elem_id: str) -> list[dict]:
    """The traces plotly drew in the browser for a gr.Plot."""
    return page.evaluate(f"() => document.querySelector('#{elem_id} .js-plotly-plot').data"
                         ".map(t => ({name: t.name, y: t.y, x: t.x, type: t.type}))")


def _open_model_panel(page) -> None:
    """Open the model panel (closed by default) unless it is open."""
    if not page.locator("#model-status-body").is_visible():
        page.locator("#model-status button").first.click()
        page.wait_for_selector("#model-status-body", state="visible")


def _table(page, elem_id: str, rows: int = 1) -> list[list[str]]:
    """Cell texts of a gr.Dataframe (a virtual table: its rows render once it is in view)."""
    page.locator(f"#{elem_id}").scroll_into_view_if_needed()
    page.wait_for_function(f"document.querySelectorAll('#{elem_id} [role=gridcell]').length >= {rows}", timeout=30000)
    return page.evaluate(f"""() => Array.from(document.querySelectorAll('#{elem_id} [role=row]'))
        .map(tr => Array.from(tr.querySelectorAll('[role=gridcell]')).map(td => td.innerText.trim()))
        .filter(r => r.length > 1)""")


def test_teacher_flow_one_learner_class_csv_restart_and_calibrate(browser, expected, tmp_path):
    one, klass, *_ = expected
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = AppProcess(tmp_path / "results.sqlite", tmp_path / "app.log", APP_FLAGS)
    page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    try:
        page.goto(app.start())
        page.wait_for_selector("#assess")
        # The model panel is closed (its title says what is loaded); opened, it says plainly that nothing is trained.
        assert "speech untrained" in page.inner_text("#model-status")
        _open_model_panel(page)
        assert "No trained grader is loaded" in page.inner_text("#model-status")

        # 1. One learner: upload every answer file into its slot, assess, read the result.
        files = {1: 6, 3: 1, 4: 1, 5: 5}
        page.fill("#learner textarea, #learner input", "Ana")
        for part, n in files.items():
            for i in range(1, n + 1):
                name = f"part{part}_{i}.wav" if n > 1 else f"part{part}.wav"
                page.locator(f"#audio-p{part}-{i} input[type=file]").set_input_files(str(EXAMPLE / name))
        page.wait_for_function("document.querySelectorAll('[id^=audio-p] audio, [id^=audio-p] .waveform-container')"
                               ".length >= 13", timeout=30000)
        page.click("#assess")
        page.wait_for_selector("[data-testid=overall-score]", timeout=120000)
        page.wait_for_function("document.querySelectorAll('#one-chart-mllm .js-plotly-plot').length == 1")
        time.sleep(1)
        page.screenshot(path=str(SHOTS / "browser_1_result.png"))
        assert page.inner_text("[data-testid=overall-score]") == f"{one.overall:.2f}"
        assert "not a grade" in page.inner_text("#one-summary")
        assert "Untrained models" in page.inner_text("#one-summary")
        rows = _table(page, "one-parts", 4 * 8)
        assert [r[5] for r in rows] == [f"{one.part(p).score:.2f}" for p in (1, 3, 4, 5)]
        assert [r[3] for r in rows] == [f"{one.part(p).mllm.score:.2f}" for p in (1, 3, 4, 5)]
        # untrained graders: no fitted interval, only the multimodal grader's own spread, labelled as such
        assert all(r[7].startswith("model's own uncertainty (not calibrated)") for r in rows)
        # What each part rests on, under the table: how its score was made, and why the transcripts read as they do.
        notes = page.inner_text("#one-part-notes")
        assert notes.count("How the score was made:") == 4 and "offline test transcriber" in notes
        bars = {t["name"]: t["y"] for t in _plot_data(page, "one-chart-parts")}
        assert bars["Part score (not a grade)"] == pytest.approx([one.part(p).score for p in (1, 3, 4, 5)])
        assert bars["Speech grader (untrained)"] == pytest.approx([one.part(p).speech.score for p in (1, 3, 4, 5)])
        fusion = _plot_data(page, "one-chart-fusion")[1]
        assert fusion["y"] == pytest.approx([one.part(p).fusion_weight for p in (1, 3, 4, 5)])
        heat = page.evaluate("() => document.querySelector('#one-chart-prototypes .js-plotly-plot').data[0].text")
        assert heat[0] == [f"{v:.2f}" for v in one.part(1).speech.similarities]  # tiny prototypes: all 8 levels
        marks = _plot_data(page, "one-chart-prototypes")[1]  # the speech grader's score, marked in each row
        assert marks["x"] == pytest.approx([one.part(p).speech.score for p in (1, 3, 4, 5)])
        dist = _plot_data(page, "one-chart-mllm")
        assert [t["name"] for t in dist] == ["P1", "P3", "P4", "P5"]
        assert dist[0]["y"] == pytest.approx(list(one.part(1).mllm.distribution))
        page.locator("#one-chart-parts").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "browser_2_charts.png"))
        # Delivery: every part's feedback in words, and a timeline with a row per answer (6 + 1 + 1 + 5).
        delivery = page.inner_text("#one-delivery")
        assert delivery.count("You spoke for") == 4 and "syllables/s" in delivery
        timeline = _plot_data(page, "one-chart-delivery")
        assert {"speech", "syllable", "before/after speaking"} <= {t["name"] for t in timeline}
        assert len({y for t in timeline if t["name"] == "speech" for y in t["y"]}) == 13
        page.locator("#one-delivery").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "browser_2b_delivery.png"))
        # The charts as text, right under the timeline: every answer's speech and pauses with their times.
        page.click("#one-charts-text-box button")
        page.wait_for_selector("#one-charts-text li")
        words = page.inner_text("#one-charts-text")
        assert words.count("P1 answer ") == 6 and "P3 Opinion (0:" in words and "syllables." in words
        # The learner's report: one click on its link downloads the page, which prints on one or two A4 pages.
        with page.expect_download() as download:
            page.locator("#one-report a[download='report_Ana.html']").click()
        report = Path(download.value.path()).read_text(encoding="utf-8")
        assert "Speaking test report: Ana" in report and "Not a grade" in report
        printed = browser.new_page()
        printed.set_content(report)
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", printed.pdf(format="A4", print_background=True)))
        printed.close()
        assert 1 <= pages <= 2, f"the report prints on {pages} A4 pages"

        # 2. Classroom: upload the class zip, assess everybody, check the table and the CSV download.
        page.get_by_role("tab", name="Classroom").click()
        page.locator("#class-files input[type=file]").set_input_files(str(ASSETS / "example_class.zip"))
        page.fill("#session-name textarea, #session-name input", "3B browser test")
        page.wait_for_function("document.querySelector('#class-files').innerText.includes('example_class')")
        page.click("#assess-class")
        page.wait_for_function("document.querySelector('#class-status')?.innerText.includes('is saved')",
                               timeout=120000)
        time.sleep(1)
        page.screenshot(path=str(SHOTS / "browser_3_class.png"), full_page=True)
        table = _table(page, "class-table", 3 * CLASS_COLUMNS)
        assert [r[0] for r in table] == ["amira", "ben", "chloe"]
        assert [r[1] for r in table] == [f"{klass[n].overall:.2f}" for n in ("amira", "ben", "chloe")]
        assert table[2][3] == "provisional: 3 of 4 parts (1, 3, 5)"  # chloe has no Part 4: a partial overall, said so
        widths = page.evaluate("() => Array.from(document.querySelectorAll('#class-table [role=columnheader]'))"
                               ".map(th => th.getBoundingClientRect().width)")
        assert len(widths) == CLASS_COLUMNS and min(widths) > 60  # no header squeezed to a letter per line
        assert table[2][9] == str(len(klass["chloe"].review)) != "0"  # Review: chloe's partial overall is flagged
        # The class chart as text, beside it: the same learners and levels in words and tables.
        page.click("#class-chart-text-box button")
        page.wait_for_selector("#class-chart-text table")
        words = page.inner_text("#class-chart-text")
        assert "3 learners with an overall score" in words and "provisional: 3 of 4 parts" in words
        assert all(f"{klass[n].overall:.2f}" in words for n in ("amira", "ben", "chloe"))
        with page.expect_download() as download:
            page.click("#class-csv")
        rows = list(csv.DictReader(open(download.value.path(), encoding="utf-8-sig")))
        assert [r["learner"] for r in rows] == ["amira", "ben", "chloe"]
        assert [float(r["overall"]) for r in rows] == [round(klass[n].overall, 3) for n in ("amira", "ben", "chloe")]

        # 3. Restart on the same database: the session is there, with the same numbers.
        app.stop()
        page.goto(app.start())
        page.get_by_role("tab", name="Classroom").click()
        page.locator("#sessions input").click()
        page.get_by_role("option", name="3B browser test").first.click()
        page.wait_for_function("document.querySelectorAll('#class-table [role=gridcell]').length > 8", timeout=30000)
        reopened = _table(page, "class-table", 3 * CLASS_COLUMNS)
        assert [r[:2] for r in reopened] == [r[:2] for r in table]
        page.locator("#learner-pick input").click()
        page.get_by_role("option", name="chloe").click()
        page.wait_for_function("document.querySelector('#class-summary').innerText.includes('chloe')", timeout=30000)
        assert "Part 4 could not be assessed" in page.inner_text("#class-summary")
        time.sleep(1)
        page.screenshot(path=str(SHOTS / "browser_4_reopened.png"))

        # 4. Calibrate to the teacher's marks, then assess with the profile.
        _calibrate(page, expected, tmp_path / "profiles")
    finally:
        page.close()
        app.stop()


def _calibrate(page, expected, profiles: Path) -> None:
    """Calibrate tab: upload the graded set, fit, save, use; assess with the profile; a saved session's marks."""
    from sla_core.calibration import describe

    one, _, calibration, calibrated = expected
    page.get_by_role("tab", name="Calibrate").click()

    # Upload the graded set: the table shows every part with the teacher's mark from the manifest.
    page.locator("#calib-files input[type=file]").set_input_files(str(ASSETS / "example_graded.zip"))
    page.wait_for_function("document.querySelector('#calib-status')?.innerText.includes('12 have a mark')",
                           timeout=30000)
    marks = _table(page, "calib-marks", 12 * 5)
    assert [r[0] for r in marks[:2]] == ["dana", "dana"] and [r[4] for r in marks[:2]] == ["2.5", "3.0"]

    # Fit: the evidence in words is describe() of the same fit through the Python API; the chart its numbers.
    page.fill("#calib-name input, #calib-name textarea", "class-7c")
    page.click("#calib-fit")
    page.wait_for_function("document.querySelector('#calib-evidence textarea')?.value.includes('Verdict')",
                           timeout=120000)
    assert page.input_value("#calib-evidence textarea") == describe(calibration)
    page.wait_for_function("document.querySelector('#calib-chart .js-plotly-plot')?.data?.length > 2")
    traces = {t["name"]: t for t in _plot_data(page, "calib-chart")}
    assert traces["after calibration"]["y"] == pytest.approx(list(calibration.evidence.after))
    assert traces["before calibration"]["y"] == pytest.approx(list(calibration.evidence.before))
    page.click("#calib-chart-text-box button")  # the chart as text: n, errors before and after, every mark
    page.wait_for_selector("#calib-chart-text table")
    words = page.inner_text("#calib-chart-text")
    assert f"{calibration.evidence.n} graded responses" in words
    assert f"{calibration.evidence.overall['after']['rmse']:.2f} after calibration" in words
    verdict = page.inner_text("#calib-verdict")
    assert verdict.startswith("✔" if calibration.applies else "✖")
    page.locator("#calib-evidence").scroll_into_view_if_needed()
    time.sleep(1)
    page.screenshot(path=str(SHOTS / "browser_5_calibrate.png"), full_page=True)

    # Save (ticking "save anyway" only if the evidence says it does not help), choose it, use it.
    if not calibration.applies:
        page.check("#calib-anyway input")
    page.click("#calib-save")
    page.wait_for_function("document.querySelector('#calib-saved')?.innerText.includes('Saved profile')",
                           timeout=30000)
    assert (profiles / "class-7c" / "profile.json").is_file()
    page.locator("#calib-profiles input").click()
    page.get_by_role("option", name="class-7c - 12 responses").click()
    page.click("#calib-use")
    page.wait_for_function("document.querySelector('#calib-using')?.innerText.includes('class-7c')",
                           timeout=30000)
    assert "calibration in use" in page.inner_text("#model-status")  # the panel's title
    _open_model_panel(page)
    assert "profile 'class-7c'" in page.inner_text("#model-status")

    # The next assessment carries the profile and gives what the calibrated Python API gives.
    page.get_by_role("tab", name="Assess one learner").click()
    page.fill("#learner textarea, #learner input", "Zoe")
    page.locator("#audio-p3-1 input[type=file]").set_input_files(str(EXAMPLE / "part3.wav"))
    page.wait_for_function("document.querySelectorAll('#audio-p3-1 audio, #audio-p3-1 .waveform-container')"
                           ".length >= 1", timeout=30000)
    page.click("#assess")
    page.wait_for_selector("[data-testid=overall-score]", timeout=120000)
    assert page.inner_text("[data-testid=overall-score]") == f"{calibrated.overall:.2f}"
    page.wait_for_function("document.querySelector('#one-part-notes')?.innerText.includes('class-7c')")
    part3 = page.inner_text("#one-part-notes [data-part='3']")
    assert "calibrated with profile 'class-7c'" in part3
    time.sleep(1)
    page.screenshot(path=str(SHOTS / "browser_6_calibrated_result.png"))

    # A saved session's recordings were kept (across the restart): a marks table pre-filled with its scores.
    page.get_by_role("tab", name="Calibrate").click()
    page.locator("#calib-sessions input").click()
    page.get_by_role("option", name="Individual assessments").first.click()
    page.click("#calib-load-session")
    page.wait_for_function("document.querySelector('#calib-status')?.innerText.includes('rounded')",
                           timeout=30000)
    rows = _table(page, "calib-marks", 5 * 5)
    assert rows[0][:3] == ["Ana", "1", f"{one.part(1).score:.2f}"]
    assert rows[-1][:3] == ["Zoe", "3", f"{calibrated.part(3).score:.2f}"]


TABS = ("Assess one learner", "Classroom", "Calibrate", "Help")
VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}

# WCAG relative luminance contrast of an element's text against the first opaque background behind it.
CONTRAST_JS = """el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const c = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 :
      Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  let bg = null, node = el;
  while (node && node.nodeType === 1) { const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length >= 3 && (c.length < 4 || c[3] > 0.9)) { bg = c; break; } node = node.parentElement; }
  bg = bg || [255, 255, 255];
  const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""

# Every pair of drawn text boxes that overlap in the plotly charts under a selector: titles, notes, legend
# entries, tick labels, annotations, bar and cell labels ("0.380.38", a title over the legend). Hover labels
# are not drawn until hovered; a box must overlap by more than a pixel across and two down to count.
TEXT_OVERLAP_JS = """root => {
  const out = [];
  document.querySelectorAll(`${root} .js-plotly-plot`).forEach(plot => {
    const id = plot.closest('[id]')?.id;
    const boxes = Array.from(plot.querySelectorAll('svg.main-svg text')).filter(t => {
      if (t.closest('.hoverlayer')) return false;
      const s = getComputedStyle(t);
      return s.display !== 'none' && s.visibility !== 'hidden' && +s.opacity !== 0 && t.textContent.trim() !== '';
    }).map(t => ({t: t.textContent.trim(), r: t.getBoundingClientRect()})).filter(b => b.r.width > 0 && b.r.height > 0);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 2) out.push(`${id}: "${boxes[i].t}" over "${boxes[j].t}" (${w.toFixed(0)}x${h.toFixed(0)} px)`);
    }
  });
  return out;
}"""

# Column headers whose words run past their cell ("Multimoda grader"), and columns of numbers whose header
# explains nothing (a hover title and a screen reader's description, beyond the header's own words).
CLIPPED_HEADERS_JS = """id => Array.from(document.querySelectorAll(`#${id} [role=columnheader]`)).filter(th => {
  const span = th.querySelector('.header-content span') || th, r = th.getBoundingClientRect(), s = span.getBoundingClientRect();
  return span.scrollWidth > span.clientWidth + 1 || s.right > r.right + 1; }).map(th => th.innerText.trim())"""
BARE_NUMBERS_JS = """id => {
  const heads = Array.from(document.querySelectorAll(`#${id} [role=columnheader]`));
  const rows = Array.from(document.querySelectorAll(`#${id} [role=row]`)).map(r =>
    Array.from(r.querySelectorAll('[role=gridcell]')).map(c => c.innerText.trim())).filter(r => r.length);
  return heads.map((h, k) => ({name: h.innerText.trim().split('\\n')[0], explained: !!h.getAttribute('aria-description'),
                               numbers: rows.some(r => /^-?\\d+(\\.\\d+)?$/.test(r[k] || ''))}))
    .filter(c => c.numbers && !c.explained).map(c => c.name);
}"""
# Two elements' boxes overlap (a label under an icon, a dropdown's text under its arrow).
OVERLAP_JS = """([a, b]) => { const r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
  return Math.min(r.right, s.right) - Math.max(r.left, s.left) > 1 && Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top) > 1; }"""


TABLE_SCROLLER = ".virtual-table-viewport"  # the element of a gr.Dataframe that scrolls sideways


def _rect(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate("e => { const r = e.getBoundingClientRect(); "
                                                 "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }")


def _shot(page, size: str, name: str, selector: str | None = None) -> None:
    """A screenshot to read: of one element, or of what the screen shows now."""
    path = str(SHOTS / f"{size}_{name}.png")
    if selector:
        page.locator(selector).first.scroll_into_view_if_needed()
        time.sleep(0.3)
        page.locator(selector).first.screenshot(path=path)
    else:
        page.screenshot(path=path)


def _charts_read_cleanly(page, root: str, size: str) -> None:
    """No text over text in the charts under `root`, and every chart's title inside its chart."""
    overlaps = page.evaluate(TEXT_OVERLAP_JS, root)
    assert not overlaps, f"{size}: {overlaps}"
    cut = page.evaluate(f"""() => Array.from(document.querySelectorAll('{root} .js-plotly-plot')).filter(p => {{
        const t = p.querySelector('.gtitle')?.getBoundingClientRect(), r = p.getBoundingClientRect();
        return t && (t.right > r.right + 1 || t.top < r.top - 1 || t.left < r.left - 1); }}).map(p => p.closest('[id]').id)""")
    assert not cut, f"{size}: title cut off: {cut}"
    # Every axis label is drawn whole inside its chart ("5.5 C1+" was lost off the end on a phone).
    outside = page.evaluate(f"""() => Array.from(document.querySelectorAll('{root} .js-plotly-plot')).flatMap(p => {{
        const r = p.getBoundingClientRect();
        return Array.from(p.querySelectorAll('.xtick text, .ytick text')).filter(t => {{ const b = t.getBoundingClientRect();
            return b.width && (b.left < r.left - 1 || b.right > r.right + 1); }}).map(t => t.textContent); }})""")
    assert not outside, f"{size}: axis labels cut off: {outside}"


def _ticks(page, chart: str) -> list[str]:
    return page.evaluate(f"() => Array.from(document.querySelectorAll('#{chart} .xtick text')).map(t => t.textContent)")


def _table_explained_and_inside(page, elem_id: str, size: str) -> None:
    """Every header's words inside its cell; every column of numbers with a header that says what they are."""
    assert not page.evaluate(CLIPPED_HEADERS_JS, elem_id), f"{size}: {elem_id} header cut"
    assert not page.evaluate(BARE_NUMBERS_JS, elem_id), f"{size}: {elem_id} has bare numbers"


def _no_error_toast(page) -> None:
    """No red error box (gradio's toast of type "error") on screen."""
    shown = [t.inner_text() for t in page.locator(".toast-body.error").all() if t.is_visible()]
    assert not shown, shown


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    """One app for both screen sizes, with a saved class (so the class table has rows) and a graded set that
    is too small to help (6 marks: the calibration's own check says so)."""
    from sla_core.results.store import ResultStore
    from sla_core.testing.assessments import sample_assessment
    from sla_core.testing.calibration import write_graded_manifest

    tmp = tmp_path_factory.mktemp("layout")
    store = ResultStore(tmp / "results.sqlite")
    session = store.new_session("4C phone check", "class")
    for a in (sample_assessment("Ana", answers={1: 6, 3: 1, 4: 1, 5: 5}), sample_assessment("Ben", missing=(4,)),
              sample_assessment("Chloé", answers={1: 2, 3: 1, 4: 1, 5: 5})):
        store.add(session, a)
    few = write_graded_manifest(tmp / "few", (2.5, 3.5, 4.5) * 2)
    app = AppProcess(tmp / "results.sqlite", tmp / "app.log", APP_FLAGS)
    url = app.start()
    try:
        yield url, [str(few), *map(str, sorted(few.parent.glob("*.wav")))]
    finally:
        app.stop()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_a_teacher_on_a_phone_and_on_a_laptop(browser, shared_app, size):
    """Issue 23, at 390x844 and 1440x900: the first screen reaches a tab and an input; Assess stays in reach;
    labels, dropdown text and table headers stay in their boxes; no chart draws text over text; every column of
    numbers is explained; a focused field shows it; a calibration that did not help says so on the result and
    is never called trained, and its refusal does not linger after "Save anyway". Screenshots in SHOTS."""
    url, few_marks = shared_app
    width, height = VIEWPORTS[size]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        page.goto(url)
        page.wait_for_selector("#assess")
        time.sleep(1)
        # The first screen: the tabs and the learner's name field, without scrolling.
        _shot(page, size, "01_first_view")
        for name in TABS:  # every tab a visible button, none behind the "⋯" overflow menu
            assert page.get_by_role("tab", name=name).is_visible(), f"{size}: tab {name} hidden"
        assert not page.locator(".overflow-menu button").is_visible()
        assert _rect(page, "#learner input, #learner textarea")["bottom"] <= height, f"{size}: no input on screen"
        assert page.locator("footer .show-api").is_visible(), f"{size}: no 'Use via API' in the footer"
        if size == "phone":  # the page uses the phone's width: an 8 px side margin, not gradio's 32 px
            assert page.evaluate("document.querySelector('#tabs').getBoundingClientRect().left") <= 12
        # Keyboard: the skip link is the first stop and leads to Assess; a focused field shows a ring.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.innerText") == "Skip to the Assess button"
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.id") == "assess"
        page.locator("#learner input, #learner textarea").first.focus()
        ring = page.evaluate("(() => { const s = getComputedStyle(document.activeElement); "
                             "return s.outlineStyle === 'none' ? 0 : parseFloat(s.outlineWidth); })()")
        assert ring >= 2, f"{size}: focus ring {ring} px"
        for selector in (".sla-header p", "#one-summary .sla-empty", ".sla-footer"):  # muted text at least 4.5:1
            ratio = page.locator(selector).first.evaluate(CONTRAST_JS)
            assert ratio >= 4.5, f"{size}: {selector}: contrast {ratio:.2f}"
        # Empty Assess: one notice in the result card, no red error on every panel.
        page.click("#assess")
        page.wait_for_function("document.querySelector('#one-summary').innerText.includes('No recording')")
        assert page.locator("#one-chart-parts .error, #one-parts .error").count() == 0
        names = page.evaluate("() => Array.from(document.querySelectorAll('[id^=audio-p] button'))"
                              ".map(b => b.getAttribute('aria-label')).filter(Boolean)")
        assert len({n for n in names if "Part " in n and "answer" in n}) >= 13, names  # 13 named upload buttons

        _assess_the_example(page, size, height)
        _classroom(page, size)
        _calibrate_with_a_profile_that_does_not_help(page, size, few_marks)
        page.get_by_role("tab", name="Help").click()
        time.sleep(0.5)
        _shot(page, size, "40_help")
    finally:
        page.close()


def _assess_the_example(page, size: str, height: int) -> None:
    """The example learner in every slot, assessed: answers' labels clear of their icons, Assess in reach while
    scrolling, the progress in place of the placeholder, the result's table, notes and charts readable."""
    page.reload()
    page.wait_for_selector("#assess")
    page.get_by_text("Example learner: all four parts").click()
    page.wait_for_function("document.querySelectorAll('[id^=audio-p] .waveform-container').length >= 13",
                           timeout=60000)
    time.sleep(1)
    for slot in page.locator("[id^=audio-p]:has(.icon-button-wrapper.top-panel)").all()[:13]:
        label, icons = slot.locator("label[data-testid=block-label]"), slot.locator(".icon-button-wrapper.top-panel")
        assert not page.evaluate(OVERLAP_JS, [label.element_handle(), icons.element_handle()]), \
            f"{size}: the question runs under the icons of {slot.get_attribute('id')}"
    page.locator("#audio-p1-1").scroll_into_view_if_needed()
    _shot(page, size, "02_answers")
    page.locator("#audio-p4-1").scroll_into_view_if_needed()
    time.sleep(0.3)
    bar = _rect(page, "#assess")
    assert 0 <= bar["top"] and bar["bottom"] <= height, f"{size}: Assess out of reach mid-page: {bar}"
    _shot(page, size, "03_assess_in_reach")
    page.click("#assess")
    page.wait_for_function("document.querySelector('#one-summary [data-testid=status-tracker]:not(.hide)')",
                           timeout=30000)
    placeholder = page.evaluate("(() => { const e = document.querySelector('#one-summary .sla-empty'); "
                                "return e ? getComputedStyle(e).visibility : 'gone'; })()")
    assert placeholder == "hidden", f"{size}: the progress lies over the placeholder ({placeholder})"
    assert page.locator("#one-parts [data-testid=status-tracker]:not(.hide)").count() == 0  # progress shown once
    page.wait_for_selector("[data-testid=overall-score]", timeout=120000)
    page.wait_for_function("document.querySelectorAll('#one-chart-delivery .js-plotly-plot .gtitle').length == 1")
    time.sleep(1)
    _shot(page, size, "04_result", "#one-summary")
    # The part table: numbers only, inside its box on a laptop (it scrolls on a phone), every header whole and
    # every number explained; each part's words under it.
    _table(page, "one-parts", 4 * 8)
    _table_explained_and_inside(page, "one-parts", size)
    if size == "desktop":
        wide = page.evaluate(f"(() => {{ const w = document.querySelector('#one-parts {TABLE_SCROLLER}');"
                             " return [w.scrollWidth, w.clientWidth]; })()")
        assert wide[0] <= wide[1] + 1, f"the part table runs out of its box: {wide}"
    assert "offline test transcriber" in page.inner_text("#one-part-notes")
    page.locator("#one-parts").scroll_into_view_if_needed()
    _shot(page, size, "05_part_table")
    _charts_read_cleanly(page, "[id^=one-chart]", size)
    assert len(_ticks(page, "one-chart-fusion")) == 8 and "5.5C1+" in _ticks(page, "one-chart-fusion")  # every level
    # The part table's rows are short (at most three lines), never tall and blank beside a long note or transcript:
    # those are words under the table.
    tallest = page.evaluate("Math.max(...Array.from(document.querySelectorAll('#one-parts [role=row]'))"
                            ".slice(1).map(r => r.getBoundingClientRect().height))")
    longest = max(len(c) for row in _table(page, "one-parts", 4 * 8) for c in row)
    assert tallest <= 90 and longest <= 60, f"{size}: part-table rows {tallest:.0f} px tall, a cell of {longest} chars"
    # The heat map marks the speech grader's score in each row and says how it relates to the cells.
    assert len(_plot_data(page, "one-chart-prototypes")[1]["x"]) == 4
    drawn = page.evaluate("document.querySelector('#one-chart-prototypes .js-plotly-plot').textContent")
    assert "need not sit on themost similar level" in drawn or "need not sit on the most similar level" in drawn
    # The timeline's row names leave the width to the answers ("P5 Communication Activity" took half a phone).
    names = page.evaluate("Math.max(...Array.from(document.querySelectorAll('#one-chart-delivery .ytick text'))"
                          ".map(t => t.getBoundingClientRect().width))")
    assert names < 0.3 * _rect(page, "#one-chart-delivery")["right"], f"{size}: timeline labels {names:.0f} px wide"
    for chart in ("parts", "fusion", "prototypes", "mllm", "delivery"):
        _shot(page, size, f"06_chart_{chart}", f"#one-chart-{chart}")


def _classroom(page, size: str) -> None:
    """A saved class: the table explained, its hint to scroll, the name pinned, dropdown text clear of its arrow,
    the class chart and one learner's charts readable."""
    page.get_by_role("tab", name="Classroom").click()
    time.sleep(1)
    page.locator("#sessions input").click()
    page.get_by_role("option", name="4C phone check").first.click()
    page.wait_for_function("document.querySelectorAll('#class-table [role=gridcell]').length > 8", timeout=30000)
    time.sleep(1)
    widths = page.evaluate("() => Array.from(document.querySelectorAll('#class-table [role=columnheader]'))"
                           ".map(th => th.getBoundingClientRect().width)")
    assert len(widths) == CLASS_COLUMNS and min(widths) > 50, f"{size}: a class-table column squeezed: {widths}"
    assert "provisional: 3 of 4 parts" in page.inner_text("#class-table")
    _table_explained_and_inside(page, "class-table", size)
    assert "scroll the table sideways" in page.inner_text("#class-table") and "Review" in page.inner_text("#class-key")
    # Scrolled to its last column, the table still shows whose row it is.
    scroller = f"#class-table {TABLE_SCROLLER}"
    assert page.evaluate(f"(() => {{ const w = document.querySelector('{scroller}'); w.scrollLeft = w.scrollWidth;"
                         " return w.scrollLeft; })()") > 0, f"{size}: the class table does not scroll sideways"
    time.sleep(0.3)
    box, name = _rect(page, scroller), _rect(page, "#class-table [data-col='0'][role=gridcell]")
    assert box["left"] - 1 <= name["left"] and name["right"] <= box["right"] + 1, f"{size}: the name scrolled away"
    _shot(page, size, "10_class_table", "#class-table")
    page.evaluate(f"document.querySelector('{scroller}').scrollLeft = 0")
    for dropdown in ("#sessions", "#class-sort"):  # the chosen text ends before the arrow
        text, arrow = page.locator(f"{dropdown} input").element_handle(), page.locator(f"{dropdown} .icon-wrap").element_handle()
        clear = page.evaluate("([i, a]) => { const r = i.getBoundingClientRect(), s = getComputedStyle(i);"
                              " return r.right - parseFloat(s.paddingRight) <= a.getBoundingClientRect().left + 1; }",
                              [text, arrow])
        assert clear, f"{size}: {dropdown}'s text runs under its arrow"
    _charts_read_cleanly(page, "#class-chart", size)
    assert "5.5C1+" in _ticks(page, "class-chart")
    _shot(page, size, "11_class_chart", "#class-chart")
    page.click("#class-chart-text-box button")
    page.wait_for_selector("#class-chart-text table")
    words = page.inner_text("#class-chart-text")
    assert "3 learners with an overall score" in words and "2 of them provisional" in words
    page.locator("#learner-pick input").click()
    page.get_by_role("option", name="Chloé").click()
    page.wait_for_function("document.querySelector('#class-summary').innerText.includes('Chloé')", timeout=30000)
    page.wait_for_function("document.querySelectorAll('#class-chart-prototypes .gtitle').length == 1")
    time.sleep(1)
    assert "provisional: Part 1 on 2 of 6 answers" in page.inner_text("#class-summary")
    overlap = page.evaluate("""() => Array.from(document.querySelectorAll('[id^=class-chart] .js-plotly-plot')).map(p => {
        const t = p.querySelector('.gtitle')?.getBoundingClientRect(), m = p.querySelector('.modebar')?.getBoundingClientRect();
        return !!(t && m && m.width && t.right > m.left && m.right > t.left && t.bottom > m.top && m.bottom > t.top); })""")
    assert not any(overlap), overlap  # the plotly toolbar never covers a chart's title
    _charts_read_cleanly(page, "[id^=class-chart]", size)
    page.wait_for_function("document.querySelector('#class-chart-prototypes .js-plotly-plot')"
                           ".getAttribute('aria-label')?.includes('Speech grader: similarity')")
    assert "“The charts as text”, below it" in page.get_attribute("#class-chart-prototypes .js-plotly-plot", "aria-label")
    label = page.get_attribute("#class-chart .js-plotly-plot", "aria-label")
    assert label.startswith("Chart: Overall score per learner") and label.endswith(
        "In words and tables: “The chart as text”, below it."), label
    _shot(page, size, "12_learner_charts", "#class-chart-prototypes")


def _calibrate_with_a_profile_that_does_not_help(page, size: str, few_marks: list[str]) -> None:
    """Six marks: fitted, the evidence says it does not help; refused, then saved anyway (the refusal gone), used:
    the model panel says "in use (did not help)", never "trained", and the next result says so in words."""
    profile = f"weak-{size}"
    page.get_by_role("tab", name="Calibrate").click()
    page.locator("#calib-files input[type=file]").set_input_files(few_marks)
    page.wait_for_function("document.querySelector('#calib-status')?.innerText.includes('6 have a mark')",
                           timeout=30000)
    page.fill("#calib-name input, #calib-name textarea", profile)
    page.click("#calib-fit")
    page.wait_for_function("document.querySelector('#calib-evidence textarea')?.value.includes('Verdict')",
                           timeout=120000)
    page.wait_for_function("document.querySelector('#calib-chart .js-plotly-plot')?.data?.length > 2")
    time.sleep(1)
    assert page.inner_text("#calib-verdict").startswith("✖") and "at least 10" in page.inner_text("#calib-verdict")
    evidence = page.evaluate("(() => { const t = document.querySelector('#calib-evidence textarea');"
                             " return [t.scrollHeight, t.clientHeight]; })()")
    assert evidence[0] <= evidence[1] + 2, f"{size}: the evidence box cuts its text: {evidence}"
    _charts_read_cleanly(page, "#calib-chart", size)
    _shot(page, size, "20_calibration_chart", "#calib-chart")
    page.click("#calib-save")
    page.wait_for_function("document.querySelector('#calib-saved')?.innerText.includes('Not saved')", timeout=30000)
    _no_error_toast(page)  # the refusal sits beside "Save anyway", not in a red box that stays on screen
    page.check("#calib-anyway input")
    page.click("#calib-save")
    page.wait_for_function("document.querySelector('#calib-saved')?.innerText.includes('although it did not help')",
                           timeout=30000)
    assert "Not saved" not in page.inner_text("body")
    _no_error_toast(page)
    page.locator("#calib-saved").scroll_into_view_if_needed()
    _shot(page, size, "21_saved_anyway")
    page.locator("#calib-profiles input").click()
    page.get_by_role("option", name=re.compile(f"^{profile} ")).click()
    page.click("#calib-use")
    page.wait_for_function(f"document.querySelector('#calib-using')?.innerText.includes('{profile}')", timeout=30000)
    page.wait_for_function("document.querySelector('#model-status').innerText.includes('calibration in use (did not help)')")
    _open_model_panel(page)
    panel = page.inner_text("#model-status")
    assert not re.search(r"calibration (trained|\W*trained)", panel, re.I) and "in use (did not help)" in panel
    page.get_by_role("tab", name="Assess one learner").click()
    page.get_by_role("button", name="Clear", exact=True).click()
    page.locator("#audio-p3-1 input[type=file]").set_input_files(str(EXAMPLE / "part3.wav"))
    page.wait_for_selector("#audio-p3-1 .waveform-container", timeout=30000)
    page.click("#assess")
    page.wait_for_function("document.querySelector('#one-summary [data-testid=calibration]')", timeout=120000)
    card = page.inner_text("#one-summary [data-testid=calibration]")
    assert profile in card and "not shown to be closer to the teacher's marks" in card and "at least 10 needed" in card
    _shot(page, size, "22_result_with_a_profile_that_did_not_help", "#one-summary")
    # Back to no calibration, for whoever uses this app next.
    page.get_by_role("tab", name="Calibrate").click()
    page.locator("#calib-profiles input").click()
    page.get_by_role("option", name="None (no calibration)").click()
    page.click("#calib-use")
    page.wait_for_function("document.querySelector('#calib-using')?.innerText.includes('no calibration')")
