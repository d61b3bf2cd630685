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
