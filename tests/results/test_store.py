"""Results survive: each learner is committed as it is added, and a new process finds the session again."""

import csv
import sqlite3
import subprocess
import sys

import pytest

from sla_core.assessment import Assessment
from sla_core.results.store import ResultStore, default_db_path
from sla_core.testing.assessments import sample_assessment


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path / "results.sqlite")


def test_a_result_is_committed_before_add_returns(store):
    session = store.new_session("3B", "class", "class.zip")
    store.add(session, sample_assessment("Ana"))
    # A second, independent connection (another process after a crash) sees it at once.
    with sqlite3.connect(store.path) as other:
        assert other.execute("SELECT learner FROM results").fetchall() == [("Ana",)]


def test_a_session_reloads_exactly_in_order(store):
    session = store.new_session("3B")
    saved = [sample_assessment("Ana"), sample_assessment("Ben", missing=(4,))]
    for a in saved:
        store.add(session, a)
    assert store.load(session) == saved
    info = store.session(session)
    assert (info.name, info.kind, info.n_results) == ("3B", "class", 2)


def test_sessions_are_listed_newest_first_and_found_after_a_restart(tmp_path):
    path = tmp_path / "r.sqlite"
    first = ResultStore(path)
    old = first.new_session("monday")
    first.add(old, sample_assessment("Ana"))
    new = first.new_session("tuesday")
    code = ("import sys; from sla_core.results.store import ResultStore; s = ResultStore(sys.argv[1]); "
            "print([(x.name, x.n_results) for x in s.sessions()])")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[('tuesday', 0), ('monday', 1)]"
    assert [s.id for s in ResultStore(path).sessions()] == [new, old]


def test_session_named_reuses_one_session_per_name(store):
    a = store.session_named("Individual assessments 2026-01-01")
    assert store.session_named("Individual assessments 2026-01-01") == a
    assert store.session_named("Individual assessments 2026-01-02") != a


def test_export_csv_writes_one_row_per_learner(store, tmp_path):
    session = store.new_session("3B")
    store.add(session, sample_assessment("Ana"))
    rows = list(csv.DictReader(store.export_csv(session, tmp_path / "out.csv").open(encoding="utf-8-sig")))
    assert rows[0]["learner"] == "Ana" and float(rows[0]["overall"]) == round(sample_assessment().overall, 3)


def test_errors_name_the_bad_value(store):
    with pytest.raises(ValueError, match="'exam'.*'class', 'single'"):
        store.new_session("x", "exam")
    with pytest.raises(KeyError, match="no session with id 99"):
        store.add(99, sample_assessment())
    with pytest.raises(KeyError, match="no session with id 42"):
        store.load(42)


def test_default_path_follows_the_environment(tmp_path):
    assert default_db_path({"SLA_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert default_db_path({"SLA_DATA_DIR": str(tmp_path)}) == tmp_path / "results.sqlite"
    assert default_db_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "sla-demo" / "results.sqlite"


def test_stored_json_is_the_assessment_json(store):
    session = store.new_session("x")
    a = sample_assessment("Ana")
    store.add(session, a)
    with sqlite3.connect(store.path) as db:
        (text,) = db.execute("SELECT assessment FROM results").fetchone()
    assert Assessment.from_json(text) == a


# -- a shared server: owners, deletion, retention, file modes, the CSV a spreadsheet opens ------------------

def _wav(path):
    import numpy as np
    import soundfile as sf
    sf.write(path, np.zeros(1600, "float32"), 16000)
    return path


def test_a_teacher_sees_and_changes_only_their_own_sessions(tmp_path):
    shared = ResultStore(tmp_path / "r.sqlite")
    ana, ben = shared.as_owner("ana"), shared.as_owner("ben")
    mine = ana.new_session("3B")
    ana.add(mine, sample_assessment("Zoe"), audio={3: [_wav(tmp_path / "a.wav")]})
    assert [s.name for s in ana.sessions()] == ["3B"] and ben.sessions() == []
    for attempt in (lambda: ben.load(mine), lambda: ben.audio(mine), lambda: ben.delete_session(mine),
                    lambda: ben.add(mine, sample_assessment("X")), lambda: ben.export_csv(mine, tmp_path / "x.csv"),
                    lambda: ben.delete_result(ana.result_ids(mine)[0])):
        with pytest.raises(KeyError, match="no (session|saved learner result) with id"):
            attempt()
    assert ana.load(mine)[0].learner == "Zoe" and ana.audio(mine)[0][3][0].is_file()
    assert [s.owner for s in shared.sessions()] == ["ana"]  # the CLI (unbound) sees everything


def test_deleting_a_learner_or_a_session_deletes_its_recordings(store, tmp_path):
    session = store.new_session("3B")
    first = store.add(session, sample_assessment("Ana"), audio={3: [_wav(tmp_path / "a.wav")]})
    store.add(session, sample_assessment("Ben"), audio={3: [_wav(tmp_path / "b.wav")]})
    ana_file, ben_file = (a[3][0] for a in store.audio(session))
    store.delete_result(first)
    assert [a.learner for a in store.load(session)] == ["Ben"] and not ana_file.exists() and ben_file.exists()
    store.delete_session(session)
    assert store.sessions() == [] and not ben_file.exists()
    assert not (store.audio_dir / str(session)).exists()


def test_retention_purges_recordings_and_keeps_the_scores(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    session = store.new_session("3B")
    store.add(session, sample_assessment("Ana"), audio={3: [_wav(tmp_path / "a.wav")]})
    kept = store.audio(session)[0][3][0]
    assert store.purge_recordings(older_than_days=30) == 0 and kept.is_file()
    assert store.purge_recordings(older_than_days=0) == 1
    assert not kept.exists() and store.audio(session) == [{}] and store.load(session)[0].learner == "Ana"
    nothing_kept = ResultStore(tmp_path / "r.sqlite", keep_audio=False)
    nothing_kept.add(session, sample_assessment("Ben"), audio={3: [_wav(tmp_path / "b.wav")]})
    assert nothing_kept.audio(session) == [{}, {}]


def test_data_files_are_owner_only(tmp_path):
    store = ResultStore(tmp_path / "data" / "r.sqlite")
    session = store.new_session("3B")
    store.add(session, sample_assessment("Ana"), audio={3: [_wav(tmp_path / "a.wav")]})
    kept = store.audio(session)[0][3][0]
    csv_path = store.export_csv(session, tmp_path / "out.csv")
    for f in (store.path, kept, csv_path):
        assert f.stat().st_mode & 0o077 == 0, f
    for d in (store.path.parent, store.audio_dir, kept.parent):
        assert d.stat().st_mode & 0o077 == 0, d


def test_data_saved_before_login_goes_to_the_first_teacher_and_settings_are_per_teacher(tmp_path):
    path = tmp_path / "r.sqlite"
    with sqlite3.connect(path) as old:  # a store from before owners existed
        old.executescript("CREATE TABLE sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, "
                          "kind TEXT NOT NULL, source TEXT NOT NULL DEFAULT '', created TEXT NOT NULL);"
                          "INSERT INTO sessions (name, kind, created) VALUES ('old class', 'class', '2025-01-01');")
    store = ResultStore(path)
    assert store.as_owner("ana").sessions() == []
    assert store.claim_unowned("ana") == 1
    assert [s.name for s in store.as_owner("ana").sessions()] == ["old class"]
    store.as_owner("ana").set_setting("active_profile", "mine")
    assert ResultStore(path).as_owner("ana").setting("active_profile") == "mine"  # after a restart
    assert store.as_owner("ben").setting("active_profile") is None


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
                                  "-2+3", "\t=1+1"])
def test_csv_cells_a_spreadsheet_would_run_are_escaped_and_the_file_says_what_it_is(store, tmp_path, name):
    session = store.new_session("3B =1+1")
    store.add(session, sample_assessment(name))
    rows = list(csv.DictReader(store.export_csv(session, tmp_path / "out.csv").open(encoding="utf-8-sig")))
    assert rows[0]["learner"] == "'" + name
    assert rows[0]["session"] == "'3B =1+1"[1:] and rows[0]["graded"] in ("True", "False")
    assert "calibration_profile" in rows[0] and "speech=" in rows[0]["model_sources"]


def test_the_csv_names_a_local_model_by_its_folder_name_only(store, tmp_path):
    from dataclasses import replace

    from sla_core.assessment import GraderInfo

    a = sample_assessment("Ana")
    a = replace(a, graders=(GraderInfo("speech", "/srv/school/models/w2v-graders", "trained"), *a.graders[1:]))
    session = store.new_session("3B")
    store.add(session, a)
    row = next(csv.DictReader(store.export_csv(session, tmp_path / "out.csv").open(encoding="utf-8-sig")))
    assert "speech=local: w2v-graders (trained)" in row["model_sources"] and "/srv" not in row["model_sources"]


def test_a_class_plan_keeps_hashes_and_copies_until_the_retention_purge(tmp_path):
    from sla_core.results.store import file_sha256

    answer = tmp_path / "tom_part3.wav"
    answer.write_bytes(b"RIFF-not-really-audio")
    store = ResultStore(tmp_path / "r.sqlite")
    session = store.new_session("3B", "class")
    store.plan(session, [("tom", {3: [answer]}), ("ann", {3: [answer]})])
    tom, ann = store.planned(session)
    assert (tom.learner, tom.done, ann.done) == ("tom", False, False)
    assert tom.files[0].sha256 == file_sha256(answer) and tom.files[0].kept.read_bytes() == answer.read_bytes()
    assert tom.files[0].kept.is_relative_to(store.audio_dir)
    assert store.purge_recordings(0) == 0  # no result recordings; the plan's copies go too
    assert store.planned(session)[0].files[0].kept is None and store.planned(session)[0].files[0].sha256
    assert ResultStore(tmp_path / "r.sqlite").as_owner("someone else").sessions() == []
