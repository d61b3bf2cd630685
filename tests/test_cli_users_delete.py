"""`python -m sla_core users add` writes scrypt hashes owner-only; `delete` removes learners and sessions with
their recordings."""

import os

import numpy as np
import pytest
import soundfile as sf

from sla_core.__main__ import main
from sla_core.results.store import ResultStore
from sla_core.results.users import Logins, check_password, hash_password, read_users
from sla_core.testing.assessments import sample_assessment


def test_users_add_writes_a_hash_not_the_password_and_the_login_checks_it(tmp_path, monkeypatch, capsys):
    path = tmp_path / "teachers.auth"
    monkeypatch.setenv("SLA_NEW_PASSWORD", "correct horse")
    assert main(["users", "add", str(path), "ana"]) == 0
    monkeypatch.setenv("SLA_NEW_PASSWORD", "battery staple")
    assert main(["users", "add", str(path), "ben"]) == 0
    assert main(["users", "add", str(path), "ana"]) == 2 and "--replace" in capsys.readouterr().err
    text = path.read_text()
    assert "correct horse" not in text and text.startswith("ana:scrypt$")
    assert path.stat().st_mode & 0o077 == 0
    logins = Logins(path)
    assert logins.first == "ana" and logins("ana", "correct horse") and not logins("ana", "battery staple")
    assert not logins("nobody", "correct horse") and list(read_users(path)) == ["ana", "ben"]
    monkeypatch.setenv("SLA_NEW_PASSWORD", "short")
    assert main(["users", "add", str(path), "cy"]) == 2


def test_a_hash_is_salted_and_a_bad_hash_never_matches():
    assert hash_password("x" * 8) != hash_password("x" * 8)
    assert not check_password("x", "scrypt$bad") and not check_password("x", "md5$1$2$3$aa$bb")


def test_delete_a_learner_a_session_and_old_recordings(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    store = ResultStore(db)
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(1600, "float32"), 16000)
    s1, s2 = store.new_session("3B"), store.new_session("4C")
    for name in ("Ana", "Ben"):
        store.add(s1, sample_assessment(name), audio={3: [wav]})
    store.add(s2, sample_assessment("Cy"), audio={3: [wav]})
    ana_file, ben_file = (a[3][0] for a in store.audio(s1))
    assert main(["delete", "--db", str(db), "--list"]) == 0 and "3B" in capsys.readouterr().out
    assert main(["delete", "--db", str(db), "--session", str(s1), "--learner", "Ana"]) == 0
    assert not ana_file.exists() and ben_file.exists() and [a.learner for a in store.load(s1)] == ["Ben"]
    assert main(["delete", "--db", str(db), "--session", str(s1), "--learner", "Zed"]) == 2
    assert main(["delete", "--db", str(db), "--session", str(s1)]) == 0
    assert not ben_file.exists() and [s.name for s in store.sessions()] == ["4C"]
    assert main(["delete", "--db", str(db), "--session", "999"]) == 2
    assert main(["delete", "--db", str(db), "--purge-recordings", "0"]) == 0
    assert store.audio(s2) == [{}] and store.load(s2)[0].learner == "Cy"
