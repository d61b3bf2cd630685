"""The app as a shared classroom server, over HTTP on 127.0.0.1: two teachers log in, and neither can see,
open, fetch or delete the other's classes; the CSV a spreadsheet opens is escaped; a full queue says so."""

import csv
import importlib
import io
import statistics
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from app_process import free_port  # tests/teacher/app_process.py
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
app = importlib.import_module("app")

from sla_core.assess import AssessorConfig, load_assessor  # noqa: E402
from sla_core.calibration import EmbeddingCache  # noqa: E402
from sla_core.results.store import ResultStore  # noqa: E402
from sla_core.results.users import Logins, add_user  # noqa: E402
from sla_core.teacher import ui_text  # noqa: E402
from sla_core.teacher.calibration_desk import CalibrationDesk  # noqa: E402

EXAMPLE = ROOT / "assets" / "example_learner"
PASSWORDS = {"ana": "ana-secret-1", "ben": "ben-secret-2"}
pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]  # servers on ports, eight teachers at once


@pytest.fixture(scope="module")
def assessor():
    return load_assessor(AssessorConfig(tiny=True, mllm="off"))


def serve(demo, auth=None) -> str:
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, auth=auth,
                max_file_size=app.MAX_UPLOAD, allowed_paths=[str(app.ASSETS)])
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def server(assessor, tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    auth = root / "teachers.auth"
    for user, password in PASSWORDS.items():
        add_user(auth, user, password)
    store = ResultStore(root / "data" / "results.sqlite")
    old = store.new_session("saved before login")  # belongs to the first user listed (ana) once login is on
    desk = CalibrationDesk(assessor, profiles_root=root / "profiles", cache=EmbeddingCache(root / "cache"))
    logins = app._logins(str(auth), store, desk)
    demo = app.build_demo(assessor.assess_submission, assessor.status, store, calibration=desk, examples=False,
                          server=app.ServerOptions(login=True), workdir=root / "work")
    url = serve(demo, auth=logins)
    yield {"url": url, "store": store, "root": root, "old": old}
    demo.close()


def teacher(server, user: str) -> Client:
    return Client(server["url"], auth=(user, PASSWORDS[user]), verbose=False, download_files=str(server["root"] / user),
                  httpx_kwargs={"timeout": 300})


def class_zip(folder: Path, learners: dict[str, str]) -> Path:
    """A class zip: learner folder name -> the example answer it recorded for Part 3."""
    path = folder / "class.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for learner, answer in learners.items():
            zf.write(EXAMPLE / answer, f"{learner}/part3.wav")
    return path


def test_a_visitor_without_login_gets_nothing(server):
    with pytest.raises(Exception):
        Client(server["url"], verbose=False)
    r = httpx.get(server["url"] + "config")
    assert r.status_code in (401, 403) or "saved before login" not in r.text


def test_each_teacher_sees_and_changes_only_their_own_classes(server, tmp_path):
    ana, ben = teacher(server, "ana"), teacher(server, "ben")
    zipped = class_zip(tmp_path, {"amy": "part3.wav", "=HYPERLINK(\"evil.example\",\"x\")": "part4.wav",
                                  "@SUM(1+1)": "part5_1.wav"})
    csv_file = ana.predict([handle_file(str(zipped))], "ana's 3B", api_name="/assess_class")
    mine = server["store"].as_owner("ana")
    assert [s.name for s in mine.sessions()] == ["ana's 3B", "saved before login"]  # old data went to ana
    assert server["store"].as_owner("ben").sessions() == []
    session = mine.sessions()[0].id

    # The CSV a spreadsheet opens: formulas are text, and the file says what it is.
    rows = list(csv.DictReader(open(csv_file, encoding="utf-8-sig")))
    learners = {r["learner"] for r in rows}
    assert "'=HYPERLINK(\"evil.example\",\"x\")" in learners and "'@SUM(1+1)" in learners
    assert {r["session"] for r in rows} == {"ana's 3B"} and all(r["graded"] == "False" for r in rows)
    assert all("speech=tiny" in r["model_sources"] for r in rows)

    # Ben asks for ana's session by id and by name, through every public endpoint that takes one.
    for api_name, args in (("/delete_session", (session, "delete")), ("/delete_session", ("ana's 3B", "delete")),
                           ("/delete_learner", (session, "amy", "delete"))):
        with pytest.raises(AppError) as refused:
            ben.predict(*args, api_name=api_name)
        assert "not among your saved sessions" in str(refused.value) and "amy" not in str(refused.value)
    assert len(mine.load(session)) == 3  # nothing of ana's was deleted

    # The file URLs of ana's CSV download and kept recording, fetched by ben (logged in).
    from gradio.utils import get_upload_folder

    from sla_core.results.workfolders import DOWNLOADS, session_download_dir

    server_csv = next(session_download_dir(Path(get_upload_folder()) / DOWNLOADS, server["store"].path,
                                           session).rglob("*.csv"))
    amy = [a.learner for a in mine.load(session)].index("amy")
    recording = mine.audio(session)[amy][3][0]
    web = {}
    for user in ("ana", "ben"):
        web[user] = httpx.Client(base_url=server["url"])
        assert web[user].post("login", data={"username": user, "password": PASSWORDS[user]}).status_code < 400
    assert web["ana"].get(f"gradio_api/file={server_csv}").status_code == 200  # her own download
    for path in (f"gradio_api/file={recording}", f"file={recording}", f"gradio_api/file={server_csv}"):
        r = web["ben"].get(path)
        assert r.status_code >= 400 and b"amy" not in r.content and recording.read_bytes()[:64] not in r.content
    page = web["ben"].get("config").text
    assert str(server["store"].path) not in page and str(server["root"]) not in page  # no server paths shown

    # Ana deletes a learner, then the session: the recordings are gone from the disk.
    ana.predict(session, "amy", "delete", api_name="/delete_learner")
    assert not recording.exists() and len(mine.load(session)) == 2
    others = [f for k in mine.audio(session) for f in k[3]]
    ana.predict("ana's 3B", "delete", api_name="/delete_session")
    assert not any(f.exists() for f in others) and [s.name for s in mine.sessions()] == ["saved before login"]


def test_the_open_server_warning_is_on_the_page(assessor, tmp_path):
    assert app._loopback("127.0.0.1") and app._loopback("::1") and not app._loopback("0.0.0.0")
    demo = app.build_demo(assessor.assess_submission, assessor.status, ResultStore(tmp_path / "r.sqlite"),
                          examples=False, server=app.ServerOptions(warn_open=True), workdir=tmp_path / "w")
    url = serve(demo)
    try:
        page = httpx.get(url + "config").text
        assert "open-server-warning" in page and "everyone who opens it sees" in page
    finally:
        demo.close()


def test_a_full_queue_tells_the_user_in_plain_words(assessor, tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    slow = threading.Event()

    def assess(submission, progress=None, **kwargs):
        slow.wait(5)  # hold the one model slot while others arrive
        return assessor.assess_submission(submission, progress)

    demo = app.build_demo(assess, assessor.status, store, examples=False, workdir=tmp_path / "w",
                          server=app.ServerOptions(queue_size=1))
    url = serve(demo)
    try:
        client = Client(url, verbose=False)
        jobs = [client.submit(part3=handle_file(str(EXAMPLE / "part3.wav")), learner="x", api_name="/assess_learner")
                for _ in range(4)]
        time.sleep(2)
        slow.set()
        errors = []
        for job in jobs:
            try:
                job.result(timeout=120)
            except Exception as e:  # noqa: BLE001 - the one we are looking for is the queue's
                errors.append(str(e))
        assert any("Queue is full" in e for e in errors), errors
        assert len(errors) < len(jobs)  # the ones that got in were assessed
    finally:
        demo.close()


def test_eight_teachers_assessing_at_once_all_complete_and_keep_their_own_results(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    load_test = importlib.import_module("load_test")
    out = load_test.run(teachers=8, rounds=1, workdir=tmp_path)
    assert out["errors"] == [] and len(out["latencies"]) == 8
    assert out["per_teacher"] == {f"teacher{k}": [f"teacher{k}-learner0"] for k in range(8)}
    lat = sorted(out["latencies"])
    print(f"8 teachers: latency min {lat[0]:.2f} s, median {statistics.median(lat):.2f} s, max {lat[-1]:.2f} s")
