"""The app's handlers without a browser: real tiny assessor, temp store, the example assets."""

import csv
import importlib
import html
import sys
from pathlib import Path

import gradio as gr
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
app = importlib.import_module("app")

from sla_core.teacher import ui_text  # noqa: E402
from sla_core.assess import AssessorConfig, load_assessor  # noqa: E402
from sla_core.data import Submission  # noqa: E402
from sla_core.parts import PARTS  # noqa: E402
from sla_core.results.store import ResultStore  # noqa: E402
from sla_core.testing.uploads import as_uploads  # noqa: E402

EXAMPLE = ROOT / "assets" / "example_learner"


@pytest.fixture(scope="module")
def assessor():
    return load_assessor(AssessorConfig(tiny=True, mllm="off"))  # speech grader only: fast on a CPU


@pytest.fixture
def handlers(assessor, tmp_path):
    return app.Handlers(assessor.assess_submission, assessor.status, ResultStore(tmp_path / "r.sqlite"),
                        workdir=tmp_path, uploads=as_uploads(tmp_path))


def example_slots(silent_part4: bool = False) -> list[str | None]:
    label, row = app._example_rows()[1 if silent_part4 else 0]
    return row[1:]


@pytest.mark.slow
def test_assess_one_shows_what_the_python_api_returns_and_saves_it_first(handlers, assessor):
    slots = example_slots()
    out = handlers.assess_one("Ana", *slots)
    summary, table, notes, parts_fig, fusion_fig, proto_fig, mllm_fig, delivery, delivery_fig, raw, json_path, \
        charts_text, reports, sessions = out
    expected = assessor.assess({p: sorted(EXAMPLE.glob(f"part{p}*.wav")) for p in PARTS}, learner="Ana")
    assert f">{expected.overall:.2f}<" in summary and raw["overall"] == expected.overall
    assert list(table["Part score"]) == [f"{expected.part(p).score:.2f}" for p in PARTS]
    assert list(table["Speech grader"]) == [f"{expected.part(p).speech.score:.2f}" for p in PARTS]
    assert ui_text.NOT_GRADES_BANNER in summary  # tiny models: never shown as grades
    assert "Multimodal grader not loaded" in mllm_fig.layout.annotations[0].text
    assert "You spoke for" in delivery and raw["parts"][1]["delivery"]["summary"]["syllables"] > 0
    assert {t.name for t in delivery_fig.data} >= {"speech", "syllable"}
    saved = handlers.store.sessions()
    assert len(saved) == 1 and saved[0].kind == "single" and saved[0].n_results == 1
    assert handlers.store.load(saved[0].id)[0].overall == expected.overall
    assert Path(json_path).read_text().startswith("{") and sessions["choices"][0][1] == saved[0].id
    assert [Path(r).suffix for r in reports] == [".html", ".pdf"] and "Not a grade" in Path(reports[0]).read_text()
    # The charts as text: every assessed part's score, and each heat-map row as a table row.
    assert all(f"part score {expected.part(p).score:.2f}" in charts_text for p in PARTS)
    assert "<tr><td>Part 1</td>" + "".join(f"<td>{v:.2f}</td>" for v in expected.part(1).speech.similarities) \
        in charts_text
    # ... and the delivery timeline, one line per answer (6 + 1 + 1 + 5), with its times.
    assert charts_text.count("<li>P1 answer ") == 6 and charts_text.count("<li>P5 answer ") == 5
    assert "P3 Opinion (0:" in charts_text and "syllables.</li>" in charts_text
    # Under the part table: each part's transcript and how its score was made, in words.
    assert notes.count("How the score was made:") == 4 and html.escape(expected.part(3).basis) in notes


@pytest.mark.slow
def test_a_silent_part_is_reported_on_that_part_and_the_rest_is_assessed(handlers):
    summary, table, *_ = handlers.assess_one("", *example_slots(silent_part4=True))
    assert "Part 4, answer 1 (silent.wav): the recording is silent" in summary
    assert "Covers Parts 1, 3, 5 only" in summary
    assert list(table["Status"]) == ["assessed (6 of 6 answers)", "assessed", "could not be assessed",
                                     "assessed (5 of 5 answers)"]


def test_assess_one_without_any_audio_asks_for_a_recording_in_the_card_and_leaves_the_panels(handlers):
    summary, *rest = handlers.assess_one("Ana", *([None] * len(app.SLOTS)))
    assert "No recording was given" in summary and "press <b>Assess</b> again" in summary
    full = handlers.render(handlers.assess_fn(Submission("Ana", ())))  # what an assessment fills in
    assert len(rest) == len(full) and all(r == gr.skip() for r in rest)  # other panel values + sessions: no error pills
    assert handlers.store.sessions() == []


def test_an_unexpected_failure_says_what_happened_and_what_to_do_never_a_bare_error(handlers):
    def broken(submission, progress=None):
        raise TypeError("'<' not supported between instances of 'float' and 'NoneType'")

    handlers.assess_fn = broken
    with pytest.raises(gr.Error) as e:
        handlers.assess_one("Ana", *example_slots())
    assert e.value.title == "Assess: not done"
    assert "TypeError" in e.value.message and "try again" in e.value.message and "&lt;" in e.value.message
    status = list(handlers.assess_class([str(ROOT / "assets" / "example_class.zip")], "3B"))[-1][0]
    assert "amira: could not be assessed (Something went wrong inside the app" in status  # the others still run

    from sla_core.teacher.base import explained

    @explained("Stream")
    def stream():
        yield 1
        raise KeyError("no session with id 7")

    with pytest.raises(gr.Error) as e:
        list(stream())  # a generator handler is wrapped as a generator: gradio still streams it
    assert e.value.message == "no session with id 7" and e.value.title == "Stream: not done"


@pytest.mark.slow
def test_the_class_table_sorts_as_the_sort_menu_says(handlers):
    *_, (status, table, csv_update, chart, chart_text, sessions, learners) = handlers.assess_class(
        [str(ROOT / "assets" / "example_class.zip")], "3B")
    results = handlers.store.load(sessions["value"])
    high = handlers.sort_class(sessions["value"], "overall_high")
    assert list(high["Overall"]) == sorted((round(a.overall, 2) for a in results), reverse=True)
    apart = handlers.sort_class(sessions["value"], "complete_first")
    assert list(apart["Learner"])[-1] == "chloe"  # no Part 4: provisional, after the complete ones
    assert str(apart["Coverage"].iloc[-1]).startswith("provisional: 3 of 4 parts")


@pytest.mark.slow
def test_assess_class_saves_each_learner_and_offers_the_csv(handlers):
    steps = list(handlers.assess_class([str(ROOT / "assets" / "example_class.zip")], "3B"))
    assert len(steps) == 4  # one update per learner, then the final state
    status, table, csv_update, chart, chart_text, sessions, learners = steps[-1]
    assert "Assessed 3 learners" in status and "README.txt" in status
    # The chart as text, from the same results: how many learners, at which levels, who is provisional
    # (the example class answers fewer questions than the test asks; chloe has no Part 4).
    assert "3 learners with an overall score" in chart_text and "3 of them provisional" in chart_text
    assert "<td>chloe</td>" in chart_text and "provisional: 3 of 4 parts" in chart_text
    assert all("learner" in step[4] for step in steps)  # each update brings the chart and its text together
    assert list(table["Learner"]) == ["amira", "ben", "chloe"]
    session = handlers.store.sessions()[0]
    assert (session.name, session.n_results) == ("3B", 3) and sessions["value"] == session.id
    rows = list(csv.DictReader(open(csv_update["value"], encoding="utf-8-sig")))
    assert [r["learner"] for r in rows] == ["amira", "ben", "chloe"]
    assert [float(r["overall"]) for r in rows] == [round(a.overall, 3) for a in handlers.store.load(session.id)]
    assert [c[0] for c in learners["choices"]] == ["amira", "ben", "chloe"]


@pytest.mark.slow
def test_the_session_name_is_shown_as_typed_not_as_markdown_or_html(handlers):
    name = "7C *speaking* <b>March</b>"
    status, *_ = list(handlers.assess_class([str(ROOT / "assets" / "example_class.zip")], name))[-1]
    assert "Session “7C \\*speaking\\* \\<b\\>March\\</b\\>” is saved" in status  # as open_session shows it
    reopened, *_ = handlers.open_session(handlers.store.sessions()[0].id)
    assert "7C \\*speaking\\* \\<b\\>March\\</b\\>" in reopened


@pytest.mark.slow
def test_one_failing_learner_does_not_lose_the_class(assessor, tmp_path):
    def flaky(submission, progress=None):
        if submission.submission_id == "ben":
            raise RuntimeError("CUDA out of memory")
        return assessor.assess_submission(submission, progress)

    h = app.Handlers(flaky, assessor.status, ResultStore(tmp_path / "r.sqlite"), workdir=tmp_path,
                     uploads=as_uploads(tmp_path))
    status, table, *_ = list(h.assess_class([str(ROOT / "assets" / "example_class.zip")], "3B"))[-1]
    assert list(table["Learner"]) == ["amira", "chloe"]
    assert "ben: could not be assessed (Something went wrong inside the app (RuntimeError: CUDA out of memory)" in status
    assert h.store.sessions()[0].n_results == 2


def test_class_upload_errors_are_shown_not_raised_as_tracebacks(handlers, tmp_path):
    with pytest.raises(gr.Error, match="No files were uploaded"):
        list(handlers.assess_class([], "x"))
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    with pytest.raises(gr.Error, match="No learner could be found.*notes.txt: not an audio file"):
        list(handlers.assess_class([str(junk)], "x"))


@pytest.mark.slow
def test_a_mistyped_manifest_row_is_listed_and_the_rest_of_the_class_assessed(handlers, tmp_path):
    import shutil

    up = tmp_path / "upload"
    up.mkdir()
    for name in ("part3.wav", "part4.wav"):
        shutil.copy(EXAMPLE / name, up / name)
    (up / "marks.csv").write_text("learner,part,audio\nana,3,part3.wav\n,4,part4.wav\n")
    status, table, *_ = list(handlers.assess_class([str(up / f) for f in ("marks.csv", "part3.wav", "part4.wav")],
                                                   "3B"))[-1]
    assert list(table["Learner"]) == ["ana"] and handlers.store.sessions()[0].n_results == 1
    assert "<code>marks.csv line 3</code>: learner is empty" in status  # the skipped list, with the line


@pytest.mark.slow
def test_a_saved_session_reopens_with_its_table_and_learner_details(handlers, tmp_path):
    list(handlers.assess_class([str(ROOT / "assets" / "example_class.zip")], "3B"))
    session = handlers.store.sessions()[0].id
    # A new Handlers on the same file: what a restarted app sees.
    again = app.Handlers(handlers.assess_fn, handlers.status_fn, ResultStore(handlers.store.path), workdir=tmp_path,
                         uploads=as_uploads(tmp_path))
    status, table, csv_update, chart, chart_text, learners = again.open_session(session)
    assert "3B" in status and list(table["Learner"]) == ["amira", "ben", "chloe"]
    results = again.store.load(session)
    assert all(f"<td>{a.learner}</td><td>{a.overall:.2f}</td>" in chart_text for a in results)
    summary, *_ = again.show_learner(session, 2)
    assert "chloe" in summary and "Part 4 could not be assessed" in summary


def test_build_demo_loads_nothing_and_exposes_the_api(assessor, tmp_path):
    calls = []
    demo = app.build_demo(lambda s, p=None: calls.append(s), assessor.status, ResultStore(tmp_path / "r.sqlite"))
    api = demo.get_api_info()["named_endpoints"]
    # The page's own handlers are private; what stays public is documented in the README (issue 23 item 6).
    assert set(api) == {"/assess_learner", "/assess_class", "/delete_learner", "/delete_session"}
    assert [p["parameter_name"] for p in api["/delete_learner"]["parameters"]] == ["session", "learner", "confirm"]
    assert [p["parameter_name"] for p in api["/assess_learner"]["parameters"]] == [
        "part1", "part3", "part4", "part5", "learner", "detail"]
    assert calls == []


@pytest.mark.slow
def test_the_class_table_gives_every_column_a_width(assessor, tmp_path):
    # Without widths a column nobody has values in (no Part 4 in the class) shrinks to one letter per line.
    from sla_core.teacher import result_view as report

    demo = app.build_demo(assessor.assess_submission, assessor.status, ResultStore(tmp_path / "r.sqlite"))
    table = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "class-table")
    widths = table.column_widths
    assert widths is not None and len(widths) == len(report.CLASS_COLUMNS)
    assert all(w.endswith("px") for w in widths) and min(int(w[:-2]) for w in widths) >= 70  # scrolls, never squeezes


def test_cli_flags_mirror_the_assessor_config():
    args = app.parse_args(["--tiny", "--mllm", "off", "--max-seconds", "60", "--port", "7999"])
    assert (args.tiny, args.mllm, args.max_seconds, args.port) == (True, "off", 60.0, 7999)
    assert args.speech_checkpoints is None  # unset flags leave SLA_* variables in charge


def test_without_spaces_the_gpu_wrapper_is_the_identity():
    def f():
        return 1
    assert app._on_gpu(f) is f or "spaces" in sys.modules


def test_a_learner_with_no_assessable_part_is_named_in_the_class_status(handlers, tmp_path):
    import shutil

    folder = tmp_path / "class"
    for learner in ("dora", "emil"):
        (folder / learner).mkdir(parents=True)
    shutil.copy(ROOT / "assets" / "silent.wav", folder / "dora" / "part3_1.wav")
    good = next((ROOT / "assets").rglob("*part3*.wav"))
    shutil.copy(good, folder / "emil" / "part3_1.wav")
    archive = shutil.make_archive(str(tmp_path / "mixed"), "zip", folder)
    status, table, *_ = list(handlers.assess_class([archive], "mixed"))[-1]
    assert "Assessed 2 learners" in status and "dora: no part could be assessed" in status
    assert "emil:" not in status and list(table["Learner"]) == ["dora", "emil"]


def test_each_answer_is_checked_when_it_arrives_and_its_problem_shown_beside_it(handlers, tmp_path):
    import numpy as np

    from sla_core.testing.audio import write_wav

    fake = tmp_path / "answer.wav"
    fake.write_text("this is a text file renamed .wav")
    bad = handlers.check_answer(str(fake), 3, 0)
    assert bad.startswith('<span class="sla-answer-bad" role="alert">✖') and "answer.wav" in bad
    assert ui_text.ANSWER_FIX in bad
    long = write_wav(tmp_path / "long.wav", np.zeros(8 * 60 * 16000, dtype=np.float32))  # an 8-minute answer
    too_long = handlers.check_answer(str(long), 3, 0)
    assert "✖" in too_long and "180" in too_long
    good = handlers.check_answer(str(EXAMPLE / "part3.wav"), 3, 0)
    assert good.startswith('<span class="sla-answer-ok" role="status">✔') and " s of speech." in good
    assert handlers.check_answer(None, 3, 0) == ""  # cleared: nothing to say


@pytest.mark.slow
def test_an_interrupted_class_shows_expected_vs_done_and_resumes_on_the_rest_only(assessor, tmp_path):
    zipped = [str(ROOT / "assets" / "example_class.zip")]
    for keep in (True, False):  # recordings kept (resume from the copies), or not (upload again)
        store = ResultStore(tmp_path / f"keep{keep}.sqlite", keep_audio=keep)
        h = app.Handlers(assessor.assess_submission, assessor.status, store, workdir=tmp_path / f"w{keep}",
                         uploads=as_uploads(tmp_path))
        run = h.assess_class(zipped, "3B")
        next(run)  # amira is assessed and saved ...
        run.close()  # ... then the run is interrupted (the browser closed, the server stopped)
        session = store.sessions()[0].id
        status = h.open_session(session)[0]
        assert "Assessed 1 of 3 learners: 2 not yet assessed (ben, chloe)" in status
        assert [p.learner for p in store.planned(session) if not p.done] == ["ben", "chloe"]
        assessed = []
        h.assess_fn = lambda sub, progress=None: assessed.append(sub.submission_id) or assessor.assess_submission(sub)
        if not keep:
            with pytest.raises(gr.Error, match="upload the class again"):
                list(h.resume_class(session))
        *_, (status, table, csv_update, *_) = h.resume_class(session, None if keep else zipped)
        assert assessed == ["ben", "chloe"]  # nobody twice
        assert list(table["Learner"]) == ["amira", "ben", "chloe"] and "not yet assessed" not in status
        assert [a.learner for a in store.load(session)] == ["amira", "ben", "chloe"]
        with pytest.raises(gr.Error, match="nothing to resume"):
            list(h.resume_class(session))


@pytest.mark.slow
def test_a_learners_kept_recordings_play_beside_their_scores_for_their_teacher_only(handlers):
    *_, (status, table, csv_update, chart, chart_text, sessions, learners) = handlers.assess_class(
        [str(ROOT / "assets" / "example_class.zip")], "3B")
    session = sessions["value"]
    picker, first = handlers.learner_recordings(session, 2)  # chloe: Parts 1, 3, 5
    labels = [label for label, _ in picker["choices"]]
    score = handlers.store.load(session)[2].part(1).score
    assert labels[0].startswith("Part 1, answer 1 of ") and f"part score {score:.2f}" in labels[0]
    assert not any(label.startswith("Part 4") for label in labels)
    # The player gets the teacher's own short-lived download of the kept recording, not the store's file.
    assert handlers.downloads.covers(first) and not Path(first).is_relative_to(handlers.store.audio_dir)
    assert Path(first).read_bytes() == handlers.store.audio(session)[2][1][0].read_bytes()
    key = picker["choices"][-1][1]
    assert Path(handlers.play_recording(session, 2, key)).read_bytes() == Path(
        handlers.store.audio(session)[2][int(key.split(":")[0])][-1]).read_bytes()
    from types import SimpleNamespace

    another = SimpleNamespace(username="another teacher")
    with pytest.raises(gr.Error, match="not among your saved sessions"):
        handlers.play_recording(session, 2, key, request=another)
    with pytest.raises(gr.Error, match="not among your saved sessions"):
        handlers.learner_recordings(session, 2, request=another)
