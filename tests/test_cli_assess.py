"""`python -m sla_core assess` as a script or a researcher runs it."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sla_core.assessment import Assessment
from sla_core.testing.audio import espeak_wav, write_wav

pytestmark = pytest.mark.slow  # each test runs `python -m sla_core assess` in a subprocess (models loaded per run)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    good = espeak_wav(root / "opinion.wav", "I think cities are better because there is more to do there.")
    p1 = [espeak_wav(root / f"interview_{i}.wav", t) for i, t in enumerate(["I live in Rome, near the old market.", "I am a nurse at the city hospital."])]
    silent = root / "silent.wav"
    write_wav(silent, np.zeros(16000 * 2, dtype=np.float32), 16000)
    notaudio = root / "notes.wav"
    notaudio.write_text("this is not audio")
    return {"good": good, "p1": p1, "silent": silent, "notaudio": notaudio}


def _run(*args):
    return subprocess.run([sys.executable, "-m", "sla_core", "assess", "--tiny", "--mllm", "off", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_json_output_is_the_assessment_and_bad_parts_go_to_stderr(files):
    p1a, p1b = files["p1"]
    done = _run("--part1", p1a, "--part1", p1b, "--part3", files["good"], "--part5", files["silent"],
                "--part4", files["notaudio"], "--json", "--learner", "Li")
    assert done.returncode == 0, done.stderr
    result = Assessment.from_json(done.stdout)
    assert result.learner == "Li"
    assert result.covered_parts == (1, 3)
    assert len(result.part(1).durations) == 2
    assert "Part 5" in done.stderr and "silent" in done.stderr
    assert "Part 4" in done.stderr and "notes.wav" in done.stderr
    assert json.loads(done.stdout)["part" + "s"][3]["status"] == "rejected"


def test_text_output_says_it_is_not_a_grade(files):
    done = _run("--part3", files["good"])
    assert done.returncode == 0, done.stderr
    assert "not a grade" in done.stdout
    assert "Part 3: Opinion" in done.stdout and "Overall:" in done.stdout


def test_exit_status_is_nonzero_only_when_no_part_could_be_assessed(files):
    done = _run("--part3", files["silent"], "--json")
    assert done.returncode == 1
    assert Assessment.from_json(done.stdout).covered_parts == ()
    assert "silent" in done.stderr


def test_no_recordings_is_a_usage_error():
    done = _run()
    assert done.returncode == 2 and "--part3" in done.stderr
