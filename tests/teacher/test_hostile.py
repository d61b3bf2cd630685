"""The shared classroom server, attacked as a stranger on a school network would (issue 22's list, 1-7).

Every case runs with login (two teachers, ana and ben) and without, through the page's handlers (in this
process: the handler a page event calls, with the request gradio would pass) and through a running
`python app.py` (gradio_client, and raw HTTP where gradio_client would upload a local file on its own).
Each "try" is counted; the module ends with the table tries / passed / failed that the closing note
quotes (`python -m pytest tests/teacher/test_hostile.py -s`, or see the terminal summary).

Cases:
 1. A path that was not uploaded (/etc/passwd, the results database, the login file, another teacher's
    recording) as a plain string or a FileData dict, to every input that takes files: refused with a
    message that says what to send; the server keeps no copy and shows no link.
 2. Deleting a learner or a session (page, API, CLI) leaves neither the name nor the audio bytes anywhere:
    the data folder, the work folders, the SQLite file after VACUUM, the caches; the session does not ask
    for the deleted learner again. Work folders of dead runs are purged at start, live ones kept.
 3. Session and learner names of 20,000 characters and hostile ones are saved and reopened.
 4. A flood of 1,999 tiny entries is refused in seconds, nothing saved; within the caps bad files are
    skipped and listed.
 5. Samples x 1e30 are normalised for that answer; a grader's NaN is that part's problem only.
 6. A zip with a file `bob` and `bob/part3.wav`, a loose `part3.wav` in a badly named zip, a FileData
    with a server path: no internal error, no bare "Error", the skipped files listed.
 7. Downloads (CSV, JSON, recordings) are served to their owner only, and expire.
"""

from __future__ import annotations

import concurrent.futures
import csv
import importlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import httpx
import numpy as np
import pytest
import soundfile as sf

from app_process import AppProcess  # tests/teacher/app_process.py

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
app = importlib.import_module("app")

from sla_core.assess import Assessor, AssessorConfig, load_assessor  # noqa: E402
from sla_core.audio import load_audio  # noqa: E402
from sla_core.calibration import EmbeddingCache  # noqa: E402
from sla_core.calibration.profile import FORMAT, FORMAT_VERSION, PROFILE_FILE  # noqa: E402
from sla_core.results.store import ResultStore, file_sha256  # noqa: E402
from sla_core.results.users import add_user  # noqa: E402
from sla_core.results.workfolders import RunFolder, owner_alive, purge_stale_runs, run_folders  # noqa: E402
from sla_core.teacher.calibration_desk import CalibrationDesk  # noqa: E402
from sla_core.teacher.downloads import Downloads  # noqa: E402
from sla_core.teacher.file_guard import FileGuard  # noqa: E402
from sla_core.teacher.intake import Uploads  # noqa: E402
from sla_core.testing.calibration import PauseBlindGrader  # noqa: E402

EXAMPLE = ROOT / "assets" / "example_learner"
PASSWORDS = {"ana": "ana-secret-1", "ben": "ben-secret-2"}
MODES = ("login", "open")  # with --auth (two teachers), and without (one shared workspace)
LONG = "Ö" * 20_000  # 40,000 bytes in UTF-8: far past any file name limit
HOSTILE = ("../../etc/passwd", "a\x00b", "<script>alert(1)</script>", "CON", "line\nbreak", "\u202eevil.exe",
           "=HYPERLINK(\"x\")", "ü" * 300)
pytestmark = pytest.mark.timeout(900)

TALLY: list[tuple[str, str, str, bool]] = []  # (case, mode, route, passed)


@contextmanager
def attempt(case: str, mode: str, route: str):
    """One hostile try: counted as passed when its block raises nothing."""
    try:
        yield
    except BaseException:
        TALLY.append((case, mode, route, False))
        raise
    TALLY.append((case, mode, route, True))


def json_file(panel: tuple) -> str:
    """The result panel's JSON download, found by what it is (the panel's values change place as it grows)."""
    return next(v for v in panel if isinstance(v, str) and v.endswith(".json"))


def raw_json(panel: tuple) -> dict:
    """The result panel's raw Assessment JSON, found by what it is."""
    return next(v for v in panel if isinstance(v, dict) and "parts" in v and "covered_parts" in v)



@pytest.fixture(scope="module", autouse=True)
def table(request):
    """The closing table: tries, passed, failed per case, and in all."""
    yield
    rows: dict[str, list[int]] = {}
    for case, _, _, ok in TALLY:
        rows.setdefault(case.split(":")[0], [0, 0])[0 if ok else 1] += 1
    lines = ["", "hostile cases (issue 22)        tries  passed  failed"]
    for case, (ok, bad) in sorted(rows.items()):
        lines.append(f"{case:<30} {ok + bad:>6} {ok:>7} {bad:>7}")
    ok = sum(1 for *_, p in TALLY if p)
    lines.append(f"{'all':<30} {len(TALLY):>6} {ok:>7} {len(TALLY) - ok:>7}")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # on the terminal even without -s
        print("\n".join(lines))


def says_what_to_do(message: str, *words: str) -> None:
    """A refusal a teacher or a programmer can act on: never a bare "Error" or an internal failure."""
    text = str(message)
    assert text.strip() and text.strip() not in ("Error", "None") and "inside the app" not in text, text
    assert "Traceback" not in text and "/tmp/" not in text, text
    for w in words:
        assert w.lower() in text.lower(), (w, text)


# -- material ------------------------------------------------------------------------------------------


def unique_recording(path: Path, seed: int) -> Path:
    """The example Part 3 answer with a little noise of its own: bytes found nowhere else on the machine."""
    wav, sr = sf.read(EXAMPLE / "part3.wav", dtype="float32")
    wav = wav + np.random.default_rng(seed).normal(0, 1e-3, wav.shape).astype("float32")
    sf.write(path, wav, sr, subtype="PCM_16")
    return path


def chunk_of(path: Path) -> bytes:
    data = path.read_bytes()
    return data[len(data) // 2: len(data) // 2 + 4096]


def zip_of(path: Path, entries: dict[str, Path | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in entries.items():
            zf.writestr(name, content.read_bytes() if isinstance(content, Path) else content)
    return path


def files_holding(needles: list[bytes], *roots: Path) -> list[str]:
    """Every file under `roots` that contains any of `needles`."""
    found = []
    for root in roots:
        for p in Path(root).rglob("*") if Path(root).is_dir() else ():
            if p.is_file() and not p.is_symlink():
                data = p.read_bytes()
                if any(n in data for n in needles):
                    found.append(str(p))
    return found


# -- the page's handlers, in this process -------------------------------------------------------------


@pytest.fixture(scope="module")
def assessor():
    return load_assessor(AssessorConfig(tiny=True, mllm="off"))  # tiny Whisper: the transcript cache is filled


class Page:
    """The page's handlers as a server runs them: a real upload ledger (filled here as the file guard fills it)."""

    def __init__(self, assessor, root: Path, mode: str, gradio: Path | None = None) -> None:
        self.root, self.mode, self.gradio = root, mode, gradio or root / "gradio"
        self.store = ResultStore(root / "data" / "results.sqlite")
        self.downloads = Downloads(self.gradio, self.store.path)
        desk = CalibrationDesk(assessor, profiles_root=root / "profiles", cache=EmbeddingCache(root / "cache"))
        self.h = app.Handlers(assessor.assess_submission, assessor.status, self.store, workdir=root / "work",
                              login=mode == "login", uploads=Uploads(), downloads=self.downloads, calibration=desk)
        self.ana = SimpleNamespace(username="ana" if mode == "login" else None)
        self.ben = SimpleNamespace(username="ben" if mode == "login" else None)

    def upload(self, path: Path, who=None) -> str:
        """A copy in the 'gradio upload folder', recorded for the teacher as the file guard would."""
        folder = self.gradio / uuid.uuid4().hex
        folder.mkdir(parents=True)
        copy = folder / path.name
        shutil.copyfile(path, copy)
        self.h.uploads.record([copy], (who or self.ana).username or "")
        return str(copy)

    def slots(self, **parts) -> list:
        return [parts.get(f"p{p}") if i == 0 else None for p, i in app.SLOTS]


@pytest.fixture(params=MODES)
def page(request, assessor, tmp_path):
    return Page(assessor, tmp_path, request.param)


def last(gen):
    out = None
    for out in gen:
        pass
    return out


# -- a running app, one per mode ----------------------------------------------------------------------


class Server:
    def __init__(self, root: Path, mode: str) -> None:
        self.root, self.mode = root, mode
        self.db, self.work = root / "data" / "results.sqlite", root / "work"
        self.db.parent.mkdir(parents=True)
        flags = ["--tiny", "--asr", "none", "--no-warmup", "--host", "127.0.0.1"]
        if mode == "login":
            self.auth = root / "teachers.auth"
            for user, password in PASSWORDS.items():
                add_user(self.auth, user, password)
            flags += ["--auth", str(self.auth)]
        self.proc = AppProcess(self.db, root / "app.log", flags, start_timeout=600,
                               env={"SLA_WORK_DIR": str(self.work)})

    def start(self) -> "Server":
        self.url = self.proc.start()
        return self

    def client(self, user: str = "ana"):
        from gradio_client import Client

        auth = (user, PASSWORDS[user]) if self.mode == "login" else None
        return Client(self.url, auth=auth, verbose=False, download_files=str(self.root / "client" / user),
                      httpx_kwargs={"timeout": 300})

    def web(self, user: str | None = "ana") -> httpx.Client:
        web = httpx.Client(base_url=self.url, timeout=300)
        if self.mode == "login" and user is not None:
            assert web.post("login", data={"username": user, "password": PASSWORDS[user]}).status_code < 400
        return web

    @property
    def store(self) -> ResultStore:
        return ResultStore(self.db)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Both apps started at once (loading takes the longest); stopped at the end."""
    made = {mode: Server(tmp_path_factory.mktemp(f"app-{mode}"), mode) for mode in MODES}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(Server.start, made.values()))
    yield made
    for s in made.values():
        s.proc.stop()


@pytest.fixture(params=MODES)
def server(request, servers):
    return servers[request.param]


def api_call(web: httpx.Client, api: str, data: list) -> tuple[str, object]:
    """A raw call of a named endpoint (what gradio_client does, minus its upload of local files): (event, data)."""
    r = web.post(f"gradio_api/call/{api}", json={"data": data})
    assert r.status_code == 200, r.text
    text = web.get(f"gradio_api/call/{api}/{r.json()['event_id']}").text
    events = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("event:")]
    datas = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("data:")]
    return events[-1], json.loads(datas[-1]) if datas[-1] not in ("", "null") else None


def page_call(web: httpx.Client, api_name: str, data: list) -> dict:
    """A page event called over HTTP by its place in the page (private endpoints too): the last message."""
    deps = web.get("config").json()["dependencies"]
    fn = next(d["id"] for d in deps if d.get("api_name") == api_name)
    session = uuid.uuid4().hex
    r = web.post("gradio_api/queue/join", json={"data": data, "fn_index": fn, "session_hash": session,
                                                  "event_data": None, "trigger_id": None})
    assert r.status_code == 200, r.text
    with web.stream("GET", f"gradio_api/queue/data?session_hash={session}") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("no answer")


def upload_http(web: httpx.Client, path: Path) -> dict:
    r = web.post("gradio_api/upload", files={"files": (path.name, path.read_bytes())})
    assert r.status_code == 200, r.text
    return {"path": r.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


# == 1. paths that were not uploaded =====================================================================


def targets(root: Path, store: ResultStore, auth: Path | None) -> dict[str, Path]:
    """What an attacker names: a system file, the database, the login file, a recording not theirs."""
    other = unique_recording(root / "someone_else.wav", 1)
    got = {"/etc/passwd": Path("/etc/passwd"), "results.sqlite": store.path, "outside recording": other}
    if auth is not None:
        got["login file"] = auth
    return got


def test_1_page_handlers_read_no_path_that_was_not_uploaded(page, tmp_path):
    h, store = page.h, page.store
    auth = tmp_path / "teachers.auth"
    add_user(auth, "ana", PASSWORDS["ana"])
    named = targets(tmp_path, store, auth)
    if page.mode == "login":  # ana's kept recording, named by ben
        s = store.as_owner("ana").new_session("ana's")
        store.as_owner("ana").add(s, assessor_free_result("amy"), audio={3: [unique_recording(tmp_path / "k.wav", 2)]})
        named["ana's kept recording"] = store.as_owner("ana").audio(s)[0][3][0]
    who = page.ben if page.mode == "login" else page.ana
    before = len(store.sessions())
    for label, path in named.items():
        file_data = {"path": str(path), "meta": {"_type": "gradio.FileData"}}
        for form, value in (("string", str(path)), ("FileData", file_data)):
            calls = {
                "assess_one": lambda v: h.assess_one("x", *[v if i == 6 else None for i in range(len(app.SLOTS))],
                                                     request=who),
                "assess_learner": lambda v: h.assess_learner(part3=v, request=who),
                "assess_learner part1 list": lambda v: h.assess_learner(part1=[v], request=who),
                "assess_class": lambda v: last(h.assess_class([v], "c", request=who)),
                "assess_class_csv": lambda v: h.assess_class_csv([v], "c", request=who),
                "resume_class": lambda v: last(h.resume_class(1, [v], request=who)),
            }
            for endpoint, call in calls.items():
                with attempt(f"1: {label}", page.mode, f"page {endpoint} ({form})"):
                    with pytest.raises(gr.Error) as refused:
                        call(value)
                    says_what_to_do(refused.value.message)
                    assert "upload" in refused.value.message.lower() or "session" in refused.value.message.lower()
            with attempt(f"1: {label}", page.mode, f"page check_answer ({form})"):
                says_what_to_do(h.check_answer(value, 3, 0, request=who), "upload")
    with attempt("1: nothing kept", page.mode, "page"):
        assert len(store.sessions()) == before
        assert files_holding([b"root:x:0:0", b"SQLite format 3"], page.root / "work", page.root / "gradio") == []


def assessor_free_result(name: str):
    from sla_core.testing.assessments import sample_assessment

    return sample_assessment(name)


@pytest.mark.slow
def test_1_the_running_app_reads_no_path_that_was_not_uploaded(server, tmp_path):
    store = server.store
    named = targets(tmp_path, store, getattr(server, "auth", None))
    caller = "ben" if server.mode == "login" else "ana"
    if server.mode == "login":  # a recording ana really uploaded and the app kept
        ana = server.client("ana")
        ana.predict(part3=_handle(unique_recording(tmp_path / "ana.wav", 3)), learner="amy", api_name="/assess_learner")
        mine = store.as_owner("ana")
        named["ana's kept recording"] = mine.audio(mine.sessions()[0].id)[-1][3][0]
    web, client = server.web(caller), server.client(caller)
    before = sum(s.n_results for s in store.sessions())
    for label, path in named.items():
        forms = {"string": str(path), "FileData": {"path": str(path), "meta": {"_type": "gradio.FileData"}},
                 "FileData without meta": {"path": str(path)}}
        for form, value in forms.items():
            for api, data in (("assess_learner", [None, value, None, None, "x"]),
                              ("assess_learner", [[value], None, None, None, "x"]),
                              ("assess_class", [[value], "c"])):
                with attempt(f"1: {label}", server.mode, f"HTTP /{api} ({form})"):
                    event, out = api_call(web, api, data)
                    assert event == "error" and out is not None, (event, out)
                    says_what_to_do(out["error"], "upload")
            for page_api, data in (("page_assess", ["x", *[value if i == 6 else None for i in range(len(app.SLOTS))]]),
                                   ("page_assess_class", [[value], "c"])):
                with attempt(f"1: {label}", server.mode, f"HTTP page {page_api} ({form})"):
                    msg = page_call(web, page_api, data)
                    assert not msg["success"]
                    says_what_to_do(msg["output"]["error"], "upload")
        with attempt(f"1: {label}", server.mode, "gradio_client /assess_learner (string)"):
            with pytest.raises(Exception) as refused:
                client.predict(part3=str(path), learner="x", api_name="/assess_learner")
            says_what_to_do(str(refused.value), "handle_file")
    with attempt("1: nothing kept, no link", server.mode, "HTTP"):
        assert sum(s.n_results for s in store.sessions()) == before
        secrets = [b"root:x:0:0", b"SQLite format 3", b"scrypt$"]
        assert files_holding(secrets, server.work) == []
        for path in named.values():  # and the file route gives none of them
            assert web.get(f"gradio_api/file={path}").status_code >= 400


def _handle(path: Path):
    from gradio_client import handle_file

    return handle_file(str(path))


# == 2. deletion leaves nothing ==========================================================================


NAME = "Zebulon Quist-7731"


def _flagged_profile(root: Path) -> Path:
    """A calibration profile whose evidence names the learner (what fitting on their marks leaves)."""
    folder = root / "p1"
    folder.mkdir(parents=True)
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "name": "p1", "created": "2026-01-01T00:00:00+00:00",
           "n_exemplars": 2, "applies": True, "reason": "it helps", "graders": {},
           "evidence": {"learners": [NAME, "amira"], "overall": {}}}
    (folder / PROFILE_FILE).write_text(json.dumps(doc))
    return folder / PROFILE_FILE


@pytest.mark.slow
def test_2_deleting_a_learner_on_the_page_leaves_nothing_behind(page, tmp_path):
    h, store = page.h, page.store
    mine = page.ana
    voice = unique_recording(tmp_path / "voice.wav", 7)
    zipped = zip_of(tmp_path / "class.zip", {f"{NAME}/part3.wav": voice, "amira/part3.wav": EXAMPLE / "part3.wav"})
    *_, (status, table, csv_update, *_, sessions, learners) = h.assess_class([page.upload(zipped)], "Tuesday 3B",
                                                                             request=mine)
    session = sessions["value"]
    index = [c[0] for c in learners["choices"]].index(NAME)
    h.show_learner(session, index, request=mine)  # the JSON download
    h.learner_recordings(session, index, request=mine)  # the player's copy
    single = page.upload(voice)
    h.assess_one(NAME, *page.slots(p3=single), request=mine)  # the same child on the one-learner tab
    profile = _flagged_profile(Path(h.calibration.root_for("ana" if page.mode == "login" else "")))
    cache = EmbeddingCache(h.erase_in.calibration_cache)
    cache.put("k" * 64, sources=[file_sha256(voice)], embedding=np.zeros(3))
    transcripts = list(h.erase_in.transcript_cache.rglob(f"*{_audio_key(voice)}*"))
    with attempt("2: deletion", page.mode, "page (set-up: copies exist)"):
        assert transcripts and files_holding([chunk_of(voice)], page.root / "gradio", store.audio_dir)
        assert files_holding([NAME.encode()], page.root / "gradio")

    status, *_ = h.delete_learner(session, index, request=mine)
    day = next(s.id for s in store.sessions() if s.kind == "single")
    h.delete_learner(day, 0, request=mine)
    with attempt("2: deletion", page.mode, "page: reads as a deletion"):
        says_what_to_do(status, "deleted")
        assert "not yet assessed" not in status and "Resume" not in status
        assert "1 learner" in status and "1 learners" not in status
        assert NAME not in h.open_session(session, request=mine)[0]
        assert [p.learner for p in store.planned(session)] == ["amira"]
    with attempt("2: deletion", page.mode, "page: nothing left anywhere"):
        needles = [NAME.encode(), NAME.encode("utf-16-le"), chunk_of(voice)]
        places = [page.root / "data", page.root / "work", page.root / "gradio", h.erase_in.transcript_cache,
                  h.erase_in.calibration_cache, profile.parent]
        assert files_holding(needles, *places) == []
        assert not any(h.erase_in.transcript_cache.rglob(f"*{_audio_key(voice)}*"))
        assert cache.get("k" * 64) is None
        assert "deleted learner" in json.loads(profile.read_text())["reason"]


def _audio_key(path: Path) -> str:
    from sla_core.asr import audio_digest

    return audio_digest(load_audio(path))


@pytest.mark.slow
def test_2_deleting_with_the_cli_reaches_every_run_folder(assessor, tmp_path, monkeypatch):
    from sla_core.__main__ import main

    work = tmp_path / "work-base"
    monkeypatch.setenv("SLA_WORK_DIR", str(work))
    run = RunFolder(work)  # the live app's folder: its gradio uploads and downloads
    page = Page(assessor, tmp_path, "open", gradio=run.path / "gradio")
    voice = unique_recording(tmp_path / "voice.wav", 8)
    zipped = zip_of(tmp_path / "class.zip", {f"{NAME}/part3.wav": voice, "amira/part3.wav": EXAMPLE / "part3.wav"})
    *_, (_, _, _, _, _, sessions, _) = page.h.assess_class([page.upload(zipped)], "Wednesday")
    session = sessions["value"]
    page.h.assess_one(NAME, *page.slots(p3=page.upload(voice)))  # an upload copy in the live run's cache
    page.h.open_session(session)  # a CSV download
    dead = work / "run-1-dead" / "gradio"  # a crashed run's copy of the recording and of the CSV
    (dead / "abc").mkdir(parents=True)
    shutil.copyfile(voice, dead / "abc" / "voice.wav")
    page.store.export_csv(session, Downloads(dead, page.store.path).new("", session, "c", ".csv"))
    with attempt("2: deletion", "open", "CLI"):
        assert files_holding([NAME.encode(), chunk_of(voice)], work)
        day = next(s.id for s in page.store.sessions() if s.kind == "single")
        for sid in (session, day):
            assert main(["delete", "--db", str(page.store.path), "--session", str(sid), "--learner", NAME]) == 0
        assert files_holding([NAME.encode(), chunk_of(voice)], work, tmp_path / "data") == []
        assert [a.learner for a in page.store.load(session)] == ["amira"]
    run.close()


@pytest.mark.slow
def test_2_deleting_through_the_api_leaves_nothing_in_the_app_folders(server, tmp_path):
    ana = server.client("ana")
    voice = unique_recording(tmp_path / "voice.wav", 9)
    zipped = zip_of(tmp_path / "class.zip", {f"{NAME}/part3.wav": voice, "amira/part3.wav": EXAMPLE / "part3.wav"})
    ana.predict([_handle(zipped)], "Thursday 4C", api_name="/assess_class")
    ana.predict(part3=_handle(voice), learner=NAME, api_name="/assess_learner")
    store = server.store
    day = next(s.name for s in store.sessions() if s.kind == "single")
    with attempt("2: deletion", server.mode, "API: refused without confirm or for another teacher"):
        with pytest.raises(Exception) as refused:
            ana.predict("Thursday 4C", NAME, "", api_name="/delete_learner")
        says_what_to_do(str(refused.value), 'confirm="delete"')
        if server.mode == "login":
            with pytest.raises(Exception) as refused:
                server.client("ben").predict("Thursday 4C", NAME, "delete", api_name="/delete_learner")
            says_what_to_do(str(refused.value), "not among your saved sessions")
        assert files_holding([chunk_of(voice)], server.work, server.db.parent)  # still there
    ana.predict("Thursday 4C", NAME, "delete", api_name="/delete_learner")
    ana.predict(day, NAME, "delete", api_name="/delete_learner")
    with attempt("2: deletion", server.mode, "API: nothing left in data and work folders"):
        assert files_holding([NAME.encode(), chunk_of(voice)], server.work, server.db.parent) == []
        names = [a.learner for s in store.sessions() for a in store.load(s.id)]
        assert NAME not in names and "amira" in names


def test_2_work_folders_of_dead_runs_are_purged_and_live_ones_kept(tmp_path):
    code = ("import sys, time; from sla_core.results.workfolders import RunFolder; r = RunFolder(sys.argv[1]); "
            "(r.path / 'upload.wav').write_bytes(b'x'); print(r.path, flush=True); time.sleep(600)")
    alive = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    killed = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        live_dir, dead_dir = Path(alive.stdout.readline().strip()), Path(killed.stdout.readline().strip())
        killed.send_signal(signal.SIGKILL)  # kill -9 mid-class: no clean-up of its own
        killed.wait()
        with attempt("2: deletion", "-", "start-up purge"):
            assert owner_alive(live_dir) and not owner_alive(dead_dir)
            assert purge_stale_runs(tmp_path) == [dead_dir]
            assert not dead_dir.exists() and (live_dir / "upload.wav").exists()
            assert list(run_folders(tmp_path)) == [live_dir]
    finally:
        alive.kill()
        alive.wait()


# == 3. long and hostile names ===========================================================================


@pytest.mark.slow  # 8-10 s: long names through every handler, twice (login and open)
def test_3_long_and_hostile_names_are_saved_whole_and_reopen(page, tmp_path):
    h, mine = page.h, page.ana
    learners = [LONG, *HOSTILE]
    folder = tmp_path / "upload"
    folder.mkdir()
    with open(folder / "class.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["learner", "part", "audio"])
        for k, name in enumerate(learners):
            w.writerow([name, 3, f"a{k}.wav"])
            shutil.copyfile(EXAMPLE / "part3.wav", folder / f"a{k}.wav")
    zipped = shutil.make_archive(str(tmp_path / "names"), "zip", folder)
    *_, (status, table, csv_update, *_, sessions, picker) = h.assess_class([page.upload(Path(zipped))], LONG,
                                                                           request=mine)
    session = sessions["value"]
    saved = [a.learner for a in page.store.load(session)]
    with attempt("3: long names", page.mode, "page: saved whole"):
        assert page.store.session(session).name == LONG and LONG in saved and len(saved) >= len(learners) - 1
        assert Path(csv_update["value"]).is_file() and len(Path(csv_update["value"]).name) < 100
    with attempt("3: long names", page.mode, "page: reopen session"):
        status, table, csv_update, *_ = h.open_session(session, request=mine)
        assert Path(csv_update["value"]).is_file() and len(table) == len(saved)
        says_what_to_do(status)
    for index, name in enumerate(saved):
        with attempt("3: long names", page.mode, f"page: show learner {name[:12]!r}"):
            out = h.show_learner(session, index, request=mine)
            assert Path(json_file(out)).is_file() and json.loads(Path(json_file(out)).read_text())["learner"] == name
            h.learner_recordings(session, index, request=mine)
    with attempt("3: long names", page.mode, "page: one learner tab"):
        out = h.assess_one(LONG, *page.slots(p3=page.upload(EXAMPLE / "part3.wav")), request=mine)
        assert json.loads(Path(json_file(out)).read_text())["learner"] == LONG
        day = next(s.id for s in page.store.sessions() if s.kind == "single")
        h.show_learner(day, 0, request=mine)


@pytest.mark.slow
def test_3_long_names_through_the_api(server, tmp_path):
    ana = server.client("ana")
    with attempt("3: long names", server.mode, "API /assess_learner"):
        got = ana.predict(part3=_handle(EXAMPLE / "part3.wav"), learner=LONG, api_name="/assess_learner")
        assert got["learner"] == LONG
    with attempt("3: long names", server.mode, "API /assess_class"):
        zipped = zip_of(tmp_path / "c.zip", {f"{HOSTILE[2].replace('/', '_')}/part3.wav": EXAMPLE / "part3.wav"})
        path = ana.predict([_handle(zipped)], LONG, api_name="/assess_class")
        assert next(csv.DictReader(open(path, encoding="utf-8-sig")))["session"] == LONG
    with attempt("3: long names", server.mode, "reopen what the API saved (the page's handlers, its database)"):
        session = next(s.id for s in server.store.sessions() if s.name == LONG)
        day = next(s.id for s in server.store.sessions() if s.kind == "single")
        h = app.Handlers(lambda *a, **k: None, lambda: (), server.store, workdir=tmp_path / "w",
                         downloads=Downloads(tmp_path / "gradio", server.db))
        ana = SimpleNamespace(username="ana" if server.mode == "login" else None)
        status, table, csv_update, *_ = h.open_session(session, request=ana)
        assert Path(csv_update["value"]).is_file() and len(table) == 1
        learners = [a.learner for a in server.store.load(day)]
        assert Path(json_file(h.show_learner(day, learners.index(LONG), request=ana))).is_file()


# == 4. floods ===========================================================================================


def flood(path: Path, tiny: int, learners_per_file: bool = True) -> Path:
    entries: dict[str, Path | bytes] = {f"l{k}_part3.wav" if learners_per_file else f"l{k % 10}_part1_{k}.wav":
                                        b"RIFF\x00\x00\x00\x00WAVEfmt " for k in range(tiny)}
    entries["good/part3.wav"] = EXAMPLE / "part3.wav"
    return zip_of(path, entries)


@pytest.mark.slow
def test_4_a_flood_is_refused_in_seconds_and_nothing_is_saved(page, tmp_path):
    h, mine = page.h, page.ana
    for label, zipped, words in (
            ("1,999 tiny entries", flood(tmp_path / "f1.zip", 1999), "learners"),
            ("120 tiny learners", flood(tmp_path / "f2.zip", 120), "too short")):
        with attempt("4: flood", page.mode, f"page: {label}"):
            t0 = time.perf_counter()
            with pytest.raises(gr.Error) as refused:
                last(h.assess_class([page.upload(zipped)], "flood", request=mine))
            seconds = time.perf_counter() - t0
            print(f"{label}: refused in {seconds:.1f} s")
            assert seconds < 30 and page.store.sessions() == []
            says_what_to_do(refused.value.message, words)
    with attempt("4: flood", page.mode, "page: within the caps bad files are skipped and listed"):
        *_, (status, table, *_) = h.assess_class([page.upload(flood(tmp_path / "f3.zip", 3))], "ok", request=mine)
        assert "Assessed 1 learner." in status and "Files skipped (3)" in status and list(table["Learner"]) == ["good"]


@pytest.mark.slow
def test_4_a_flood_through_the_api(server, tmp_path):
    ana = server.client("ana")
    before = len(server.store.sessions())
    with attempt("4: flood", server.mode, "API /assess_class: 1,999 tiny entries"):
        t0 = time.perf_counter()
        with pytest.raises(Exception) as refused:
            ana.predict([_handle(flood(tmp_path / "f.zip", 1999))], "flood", api_name="/assess_class")
        assert time.perf_counter() - t0 < 60 and len(server.store.sessions()) == before
        says_what_to_do(str(refused.value), "learners")


# == 5. extreme samples, non-finite scores ===============================================================


def loud_float(path: Path) -> Path:
    wav, sr = sf.read(EXAMPLE / "part3.wav", dtype="float32")
    sf.write(path, (wav * np.float32(1e30)).astype("float32"), sr, subtype="FLOAT")
    return path


def test_5_samples_times_1e30_are_that_answers_matter_only(page, tmp_path):
    loud = loud_float(tmp_path / "loud.wav")
    assert np.isfinite(sf.read(loud)[0]).all()
    with attempt("5: extreme samples", page.mode, "page assess_one"):
        out = page.h.assess_one("x", *page.slots(p3=page.upload(loud), p4=page.upload(EXAMPLE / "part4.wav")),
                                request=page.ana)
        raw = raw_json(out)
        assert list(raw["covered_parts"]) == [3, 4] and all(np.isfinite(p["score"]) for p in raw["parts"] if p["score"])


def test_5_a_graders_nan_is_that_parts_problem():
    class NaNOnPart3(PauseBlindGrader):
        def score(self, parts):
            return [s if s.part != 3 else type(s)(s.grader, 3, float("nan"), s.state) for s in super().score(parts)]

    with attempt("5: non-finite score", "-", "pipeline"):
        a = Assessor(mllm=NaNOnPart3()).assess({3: [EXAMPLE / "part3.wav"], 4: [EXAMPLE / "part4.wav"]})
        assert a.covered_parts == (4,) and a.part(3).status == "rejected"
        says_what_to_do(a.part(3).problem, "not a number")


@pytest.mark.slow
def test_5_extreme_samples_through_the_api(server, tmp_path):
    with attempt("5: extreme samples", server.mode, "API /assess_learner"):
        got = server.client("ana").predict(part3=_handle(loud_float(tmp_path / "loud.wav")),
                                           part4=_handle(EXAMPLE / "part4.wav"), api_name="/assess_learner")
        assert got["covered_parts"] == [3, 4]


# == 6. internal errors ==================================================================================


def test_6_odd_zips_are_listed_never_an_internal_error(page, tmp_path):
    h, mine = page.h, page.ana
    clash = zip_of(tmp_path / "clash.zip", {"bob": b"not audio", "bob/part3.wav": EXAMPLE / "part3.wav",
                                            "amira/part3.wav": EXAMPLE / "part3.wav"})
    with attempt("6: internal errors", page.mode, "page: file and folder of one name"):
        *_, (status, table, *_) = h.assess_class([page.upload(clash)], "clash", request=mine)
        assert "same name" in status and "amira" in list(table["Learner"])
    loose = zip_of(tmp_path / "bob.zip", {"part3.wav": EXAMPLE / "part3.wav"})
    with attempt("6: internal errors", page.mode, "page: a loose part3.wav in a badly named zip"):
        with pytest.raises(gr.Error) as refused:
            last(h.assess_class([page.upload(loose)], "loose", request=mine))
        says_what_to_do(refused.value.message, "no learner name", "part3.wav")
        assert not any(s.name == "loose" for s in page.store.sessions())
    with attempt("6: internal errors", page.mode, "page: plurals"):
        two = zip_of(tmp_path / "two.zip", {"amy/part3.wav": EXAMPLE / "part3.wav", "part3.wav": EXAMPLE / "part3.wav",
                                            "cy/part3.wav": EXAMPLE / "part3.wav"})
        *_, (status, *_) = h.assess_class([page.upload(two)], "two", request=mine)
        assert "Assessed 2 learners." in status and "Files skipped (1)" in status


@pytest.mark.slow
def test_6_odd_inputs_through_the_running_app(server, tmp_path):
    web = server.web("ana")
    clash = zip_of(tmp_path / "clash.zip", {"bob": b"x", "bob/part3.wav": EXAMPLE / "part3.wav",
                                            "amira/part3.wav": EXAMPLE / "part3.wav"})
    with attempt("6: internal errors", server.mode, "HTTP /assess_class: file and folder of one name"):
        event, out = api_call(web, "assess_class", [[upload_http(web, clash)], "clash"])
        assert event == "complete", out
    with attempt("6: internal errors", server.mode, "HTTP: FileData with a server path"):
        for value in ({"path": str(server.db), "meta": {"_type": "gradio.FileData"}}, {"path": str(server.db)},
                      {"nonsense": 1}, 12345):
            event, out = api_call(web, "assess_learner", [None, value, None, None, "x"])
            assert event == "error"
            says_what_to_do(out["error"])
            msg = page_call(web, "page_assess", ["x", *[value if i == 6 else None for i in range(len(app.SLOTS))]])
            says_what_to_do(msg["output"]["error"])


# == 7. downloads ========================================================================================


def test_7_downloads_are_the_owners_and_expire(page, tmp_path):
    h, mine = page.h, page.ana
    *_, (_, _, csv_update, *_, sessions, _) = h.assess_class(
        [page.upload(zip_of(tmp_path / "c.zip", {"amy/part3.wav": EXAMPLE / "part3.wav"}))], "3B", request=mine)
    _, player = h.learner_recordings(sessions["value"], 0, request=mine)
    json_download = json_file(h.show_learner(sessions["value"], 0, request=mine))
    guard = FileGuard(None, h.uploads, page.downloads, page.root / "gradio")
    owner, other = (("ana", "ben") if page.mode == "login" else ("", ""))
    for label, path in (("CSV", csv_update["value"]), ("recording", player), ("JSON", json_download)):
        with attempt("7: downloads", page.mode, f"page: {label}"):
            assert guard.may_read(path, owner)
            if page.mode == "login":
                assert not guard.may_read(path, other) and not guard.may_read(path, None)
    with attempt("7: downloads", page.mode, "page: links expire"):
        page.downloads.seconds = 0.2
        time.sleep(0.3)
        assert not guard.may_read(csv_update["value"], owner) and not Path(csv_update["value"]).exists()
    with attempt("7: downloads", page.mode, "page: an upload is its uploader's"):
        upload = page.upload(EXAMPLE / "part4.wav")
        assert guard.may_read(upload, owner) and (page.mode == "open" or not guard.may_read(upload, other))
        assert not guard.may_read(str(page.root / "gradio" / "never-uploaded.wav"), owner)


@pytest.mark.slow
def test_7_download_links_of_the_running_app(server, tmp_path):
    ana = server.client("ana")
    ana.predict([_handle(zip_of(tmp_path / "c.zip", {"amy/part3.wav": EXAMPLE / "part3.wav"}))], "links",
                api_name="/assess_class")
    from sla_core.results.workfolders import DOWNLOADS

    run = next(run_folders(server.work))
    csv_file = next((run / "gradio" / DOWNLOADS).rglob("*.csv"))
    kept = server.store.audio(next(s.id for s in server.store.sessions() if s.name == "links"))[0][3][0]
    uploaded = upload_http(server.web("ana"), EXAMPLE / "part1_1.wav")["path"]
    with attempt("7: downloads", server.mode, "HTTP: the owner gets their CSV"):
        assert server.web("ana").get(f"gradio_api/file={csv_file}").status_code == 200
    with attempt("7: downloads", server.mode, "HTTP: the store's recordings are never served"):
        assert server.web("ana").get(f"gradio_api/file={kept}").status_code >= 400
    if server.mode == "login":
        for label, path in (("CSV", csv_file), ("upload", uploaded)):
            with attempt("7: downloads", server.mode, f"HTTP: another teacher gets no {label}"):
                r = server.web("ben").get(f"gradio_api/file={path}")
                assert r.status_code == 404 and b"amy" not in r.content
                says_what_to_do(r.text, "teacher who")
            with attempt("7: downloads", server.mode, f"HTTP: nobody logged out gets the {label}"):
                assert server.web(None).get(f"gradio_api/file={path}").status_code >= 400
    with attempt("7: downloads", server.mode, "API: only the public endpoints are listed"):
        api = ana.view_api(return_format="dict", print_info=False)
        assert set(api["named_endpoints"]) == {"/assess_learner", "/assess_class", "/delete_learner",
                                               "/delete_session"} and not api["unnamed_endpoints"]
