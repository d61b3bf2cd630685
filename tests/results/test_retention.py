"""The retention setting covers every copy: kept recordings, caches and leftover uploads, by age."""

import os
import time

import numpy as np
import pytest
import soundfile as sf

from sla_core.results.retention import GRACE_SECONDS, Retention
from sla_core.results.store import ResultStore
from sla_core.testing.assessments import sample_assessment


@pytest.mark.parametrize("text, days", [("keep", None), ("", None), ("0", 0.0), ("none", 0.0), ("30", 30.0)])
def test_the_setting_reads_as_written(text, days):
    assert Retention.parse(text).days == days


def test_a_bad_setting_says_what_to_write():
    with pytest.raises(ValueError, match="number of days, 0"):
        Retention.parse("a month")


def _aged(path, days: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    old = time.time() - days * 86400
    os.utime(path, (old, old))
    return path


def test_a_sweep_deletes_what_is_older_than_the_setting_everywhere(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(1600, "float32"), 16000)
    session = store.new_session("3B")
    store.add(session, sample_assessment("Ana"), audio={3: [wav]})
    old_transcript = _aged(tmp_path / "cache" / "asr" / "ab" / "old.json", 40)
    new_embedding = _aged(tmp_path / "cache" / "cal" / "cd" / "new.npz", 2)
    old_upload = _aged(tmp_path / "work" / "graded-x" / "m.csv", 40)
    folders = [tmp_path / "cache", tmp_path / "work"]
    assert Retention(None).sweep(store, folders) == 0 and old_transcript.exists()  # keep: nothing goes
    Retention(30).sweep(store, folders)
    assert not old_transcript.exists() and not old_upload.exists() and new_embedding.exists()
    assert store.audio(session)[0][3][0].is_file()  # saved today: kept for 30 days
    fresh = _aged(tmp_path / "work" / "class-y" / "part3.wav", GRACE_SECONDS / 86400 / 2)
    Retention(0).sweep(store, folders)
    assert store.audio(session) == [{}] and not new_embedding.exists()
    assert fresh.exists()  # younger than the grace period: another class may be reading it
    assert store.load(session)[0].learner == "Ana"  # the scores stay
