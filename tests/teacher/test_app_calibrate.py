"""The Calibrate tab's handlers without a browser: a real tiny assessor, synthetic graded answers, temp folders."""

import importlib
import re
import sys
from pathlib import Path

import gradio as gr
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
app = importlib.import_module("app")

from sla_core.teacher import ui_text  # noqa: E402
from sla_core.assess import Assessor, AssessorConfig, load_assessor  # noqa: E402
from sla_core.calibration import EmbeddingCache, collect_exemplars, describe, fit_calibration  # noqa: E402
from sla_core.teacher.calibration_desk import CalibrationDesk, graded_rows, parse_mark  # noqa: E402
from sla_core.manifest import read_manifest  # noqa: E402
from sla_core.results.store import ResultStore  # noqa: E402
from sla_core.testing.uploads import as_uploads  # noqa: E402
from sla_core.testing.assessments import sample_assessment  # noqa: E402
from sla_core.testing.calibration import PauseBlindGrader, write_graded_manifest  # noqa: E402

MARKS = (2.5, 3.5, 4.5) * 4  # 12 responses whose pauses follow the mark: calibration helps (see testing.calibration)


@pytest.fixture(scope="module")
def assessor():
    a = load_assessor(AssessorConfig(tiny=True, mllm="off"))  # speech grader only: fast on a CPU
    yield a
    a.calibration = None


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("graded")
    return {"good": write_graded_manifest(root / "good", MARKS), "few": write_graded_manifest(root / "few", MARKS[:6]),
            "cache": root / "cache"}


@pytest.fixture
def handlers(assessor, graded, tmp_path):
    from sla_core.calibration import use_calibration

    use_calibration(assessor, None)  # every test starts uncalibrated
    calibration = CalibrationDesk(assessor, profiles_root=tmp_path / "profiles", cache=EmbeddingCache(graded["cache"]))
    return app.Handlers(assessor.assess_submission, assessor.status, ResultStore(tmp_path / "r.sqlite"),
                        workdir=tmp_path, calibration=calibration,
                        uploads=as_uploads(tmp_path, graded["cache"].parent))


def upload(manifest: Path) -> list[str]:
    """What the browser sends: the CSV and its audio files."""
    return [str(manifest), *map(str, sorted(manifest.parent.glob("*.wav")))]


def test_an_upload_fills_the_marks_table_with_the_manifests_marks(handlers, graded):
    rows, table, status = handlers.calibration_upload(upload(graded["good"]))
    assert list(table.columns) == ["Learner", "Part", "System score", "System level", "Your mark"]
    assert list(table["Learner"]) == [f"L{i:02d}" for i in range(12)]
    assert list(table["Your mark"]) == [f"{m:.1f}" for m in MARKS]
    assert "12 recorded part(s) of 12 learner(s)" in status and "12 have a mark" in status
    assert all(r.audio[0].is_file() for r in rows)


def test_clearing_the_upload_box_keeps_the_marks_being_edited(handlers, graded):
    # e.g. a saved session was loaded after an upload and its marks corrected; then the upload box is cleared.
    assert all(u == gr.skip() for u in handlers.calibration_upload(None))
    assert all(u == gr.skip() for u in handlers.calibration_upload([]))


@pytest.mark.parametrize("cell, message", [
    ("3.7", "L01, part 3: 3.7 is not on the scale; write one of 2.0, 2.5"),
    ("good", "L01, part 3: &#x27;good&#x27; is not a mark"),  # escaped for display
    ("6.0", "L01, part 3: 6.0 is not on the scale"),
])
def test_a_bad_mark_is_refused_naming_learner_and_part(handlers, graded, cell, message):
    rows, table, _ = handlers.calibration_upload(upload(graded["good"]))
    table.loc[1, "Your mark"] = cell
    with pytest.raises(gr.Error, match=message):
        handlers.calibration_fit(rows, table, "x", None)


def test_blank_marks_are_not_graded_and_a_comma_is_a_decimal_point(handlers, graded):
    rows, table, _ = handlers.calibration_upload(upload(graded["good"]))
    table.loc[0, "Your mark"], table.loc[1, "Your mark"] = "", "3,5"
    used = graded_rows(rows, table.values.tolist())
    assert [u[0] for u in used][:2] == ["L01", "L02"] and used[0][3] == 3.5 and len(used) == 11
    assert parse_mark(float("nan"), "A", 3) is None and parse_mark(" 4 ", "A", 3) == 4.0
    table["Your mark"] = ""
    with pytest.raises(gr.Error, match="no part has a mark"):
        handlers.calibration_fit(rows, table, "x", None)


def test_equal_marks_are_refused_before_listening_saying_what_was_given(handlers, graded):
    # What a teacher meets first: a saved session pre-fills every mark with the same rounded score.
    rows, table, _ = handlers.calibration_upload(upload(graded["good"]))
    table["Your mark"] = "3.5"
    handlers.calibration.listen = lambda *a, **k: pytest.fail("listened to marks that cannot be fitted")
    with pytest.raises(gr.Error) as e:
        handlers.calibration_fit(rows, table, "x", None)
    assert e.value.message.startswith("the marks must differ; you gave 3.5 for all 12.")
    assert "change the marks to your own" in e.value.message and e.value.title == "Fit: not done"


def test_the_evidence_chart_draws_when_pearson_is_undefined_before_and_after():
    from sla_core.calibration.profile import Evidence
    from sla_core.teacher.calibration_chart import evidence_figure

    flat = {"rmse": 0.5, "pcc": float("nan"), "within_0_5": 100.0}
    evidence = Evidence("leave-one-out", ("a", "b", "c"), (3, 3, 3), (3.5, 3.5, 3.5), (3.0, 3.0, 3.0),
                        (3.5, 3.5, 3.5), {"before": flat, "after": dict(flat, rmse=0.0)}, {})
    figure = evidence_figure(evidence)  # was a TypeError: min() of one float
    bars = [t for t in figure.data if t.type == "bar"]
    assert [list(b.text) for b in bars] == [["0.50", "n/a", "1.00"], ["0.00", "n/a", "1.00"]]
    assert figure.layout.yaxis2.range[0] == pytest.approx(-0.3)  # from 0, with room for the labels under a bar


@pytest.mark.slow
def test_fit_shows_what_the_core_says_and_the_evidence_chart(handlers, assessor, graded):
    rows, table, _ = handlers.calibration_upload(upload(graded["good"]))
    result, heard, _, text, figure, chart_text, verdict = handlers.calibration_fit(rows, table, "class-7b", None)
    expected = fit_calibration(collect_exemplars(assessor, read_manifest(graded["good"]),
                                                 cache=EmbeddingCache(graded["cache"])), "class-7b")
    assert text == describe(expected) and result.applies and verdict.startswith("**✔ lowered the error")
    # The pauses the teacher marks are already heard by the re-estimated prototypes: delivery measures add nothing.
    fit = expected.profile.delivery
    assert not fit.used and (f"delivery measures did not help (held-out error {fit.rmse_without:.2f} without them vs "
                             f"{fit.rmse_with:.2f} with them") in verdict
    scatter = {t.name: t for t in figure.data if t.type == "scatter" and t.name}
    assert tuple(scatter["after calibration"].y) == pytest.approx(expected.evidence.after)
    # The chart as text: the same held-out numbers, one table row per graded response.
    ev = expected.evidence
    assert f"{ev.n} graded responses" in chart_text and chart_text.count("<tr><td>") == ev.n
    assert f"{ev.overall['before']['rmse']:.2f} before, {ev.overall['after']['rmse']:.2f} after" in chart_text
    # Fitting again with another name reuses what was heard (no second listen).
    handlers.calibration.listen = lambda *a, **k: pytest.fail("listened again")
    assert handlers.calibration_fit(rows, table, "other", heard)[0].profile.name == "other"
    with pytest.raises(gr.Error, match="profile name &#x27;my class&#x27; is not allowed"):
        handlers.calibration_fit(rows, table, "my class", heard)


def test_the_verdict_says_when_the_profile_uses_delivery_measures(graded, tmp_path):
    # A grader that hears no pauses, a teacher who marks them: only the delivery measures follow the marks.
    blind = Assessor(mllm=PauseBlindGrader())
    desk = CalibrationDesk(blind, profiles_root=tmp_path / "profiles", cache=EmbeddingCache(graded["cache"]))
    handlers = app.Handlers(blind.assess_submission, blind.status, ResultStore(tmp_path / "r.sqlite"),
                            workdir=tmp_path, calibration=desk, uploads=as_uploads(tmp_path, graded["cache"].parent))
    rows, table, _ = handlers.calibration_upload(upload(graded["good"]))
    result, _, _, text, *_, verdict = handlers.calibration_fit(rows, table, "fluency", None)
    fit = result.profile.delivery
    said = (f"uses delivery measures (speech rate, articulation rate, phonation-time ratio, mean length of run, "
            f"long pauses per minute): held-out error {fit.rmse_without:.2f} -> {fit.rmse_with:.2f}")
    assert fit.used and result.applies and verdict.startswith("**✔ lowered the error")
    assert said.replace(">", "\\>") in verdict  # markdown-escaped
    assert said[1:] in text  # the evidence text: "Uses delivery measures (...)"
    _, profiles = handlers.calibration_save(result, "fluency", False, False)
    assert profiles["choices"][1][0].endswith(", uses delivery measures")


def test_a_profile_that_did_not_help_is_saved_only_when_asked(handlers, graded, tmp_path):
    rows, table, _ = handlers.calibration_upload(upload(graded["few"]))
    result, *_ = handlers.calibration_fit(rows, table, "tiny-group", None)
    assert not result.applies
    # The refusal is the status beside "Save anyway" (a red error toast stayed on screen after the save that
    # followed); the profile list is left as it is.
    refused, unchanged = handlers.calibration_save(result, "tiny-group", False, False)
    assert "Not saved: too few responses: 6 given, at least 10 needed" in refused and "Save anyway" in refused
    assert unchanged == gr.skip()
    assert not (tmp_path / "profiles" / "tiny-group").exists()
    status, profiles = handlers.calibration_save(result, "tiny-group", True, False)
    assert "although it did not help" in status and (tmp_path / "profiles" / "tiny-group" / "profile.json").is_file()
    label = profiles["choices"][1][0]
    assert label.startswith("tiny-group - 6 responses") and label.endswith("(did not help)")
    with pytest.raises(gr.Error, match="already exists.*Replace a saved profile"):
        handlers.calibration_save(result, "tiny-group", True, False)


@pytest.mark.slow
def test_a_saved_profile_is_offered_and_used_by_the_next_assessment(handlers, graded, tmp_path):
    rows, table, _ = handlers.calibration_upload(upload(graded["good"]))
    result, *_ = handlers.calibration_fit(rows, table, "class-7b", None)
    status, profiles = handlers.calibration_save(result, "class-7b", False, False)
    assert "Saved profile" in status and profiles["value"] == "class-7b"
    assert [c[1] for c in profiles["choices"]] == [app.NO_PROFILE, "class-7b"]

    using, panel, title = handlers.calibration_use("class-7b")
    assert "class-7b" in using and "profile &#x27;class-7b&#x27;" in panel and "calibration" in title["label"]
    assert "No trained grader is loaded" in panel  # a calibration does not make random graders trained
    answer = str(graded["good"].parent / "learner00_part3.wav")
    _, parts, notes, *_, raw, _, _, _, _ = handlers.assess_one("Zoe", *[answer if s == (3, 0) else None
                                                                         for s in app.SLOTS])
    assert raw["calibration"] == "class-7b"
    assert "calibrated with profile &#x27;class-7b&#x27;" in notes.split('data-part="3"')[1]

    handlers.calibration_use(app.NO_PROFILE)
    *_, raw, _, _, _, _ = handlers.assess_one("Zoe", *[answer if s == (3, 0) else None for s in app.SLOTS])
    assert raw["calibration"] is None and handlers.profiles_update()["value"] == app.NO_PROFILE


@pytest.mark.slow
def test_a_saved_class_keeps_its_recordings_and_is_marked_in_the_table(handlers, graded, tmp_path):
    list(handlers.assess_class(upload(graded["good"]), "7B"))
    session = handlers.store.sessions()[0].id
    # A restarted app (new store object on the same file) still finds the recordings.
    store = ResultStore(handlers.store.path)
    kept = store.audio(session)
    assert [sorted(k) for k in kept] == [[3]] * 12
    assert all(f.is_relative_to(store.audio_dir) and f.is_file() for k in kept for f in k[3])
    results = store.load(session)
    rows, table, status = handlers.calibration_session(session)
    assert "loaded from “7B”" in status
    assert list(table["System score"]) == [f"{a.part(3).score:.2f}" for a in results]
    assert all(float(m) % 0.5 == 0 for m in table["Your mark"]) and "rounded to the half band" in status
    table["Your mark"] = [f"{m:.1f}" for m in MARKS]  # the teacher's corrections
    result, *_ = handlers.calibration_fit(rows, table, "from-7b", None)
    assert result.profile.n_exemplars == 12
    store.delete_session(session)
    assert not (store.audio_dir / str(session)).exists()


def test_the_session_name_in_the_marks_status_is_shown_as_typed(handlers, graded):
    session = handlers.store.new_session("7B *oral* <i>", "class")
    handlers.store.add(session, sample_assessment("Ana"), audio={p: [sorted(graded["good"].parent.glob("*.wav"))[0]]
                                                                 for p in (1, 3, 4, 5)})
    status = handlers.calibration_session(session)[2]
    assert "loaded from “7B \\*oral\\* \\<i\\>”" in status  # not italics, not an HTML tag


def test_a_session_without_kept_recordings_says_to_upload_instead(handlers):
    session = handlers.store.new_session("old class")
    handlers.store.add(session, sample_assessment("Ana"))  # saved before recordings were kept
    with pytest.raises(gr.Error, match="has no kept recordings"):
        handlers.calibration_session(session)
    with pytest.raises(gr.Error, match="Choose a saved session"):
        handlers.calibration_session(None)
    with pytest.raises(gr.Error, match=re.escape(ui_text.NO_MARKS_LOADED)):
        handlers.calibration_fit([], None, "x", None)


@pytest.mark.slow
def test_build_demo_has_the_calibrate_tab_only_with_a_desk(handlers, assessor):
    with_tab = app.build_demo(handlers.assess_fn, assessor.status, handlers.store, calibration=handlers.calibration)
    names = {d.api_name for d in with_tab.fns.values()}
    assert {"calibration_upload", "calibration_fit", "calibration_save", "calibration_use"} <= names
    without = app.build_demo(handlers.assess_fn, assessor.status, handlers.store)
    assert not {d.api_name for d in without.fns.values()} & {"calibration_fit"}
