"""`python -m sla_core calibrate` and `assess --calibration` as a teacher runs them."""

import json
import subprocess
import sys

import pytest

from sla_core.__main__ import main
from sla_core.assessment import Assessment
from sla_core.testing.audio import write_wav
from sla_core.testing.calibration import PAUSE_FRACTION, paused_waveform, write_graded_manifest

pytestmark = pytest.mark.slow  # CLI runs in-process and in subprocesses, each loading the models

MODELS = ("--tiny", "--mllm", "off")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_calibrate")
    return {
        "graded": write_graded_manifest(root / "class", (2.5, 3.5, 4.5) * 4),
        "few": write_graded_manifest(root / "few", (2.5, 3.5, 4.5) * 2),
        "answer": write_wav(root / "answer.wav", paused_waveform(4.0, PAUSE_FRACTION[2.5], seed=4242)),
        "profiles": root / "profiles",
        "cache": root / "cache",
    }


def _calibrate(folders, manifest, *extra):
    return main(["calibrate", "--manifest", str(folders[manifest]), "--profiles", str(folders["profiles"]),
                 "--cache", str(folders["cache"]), *MODELS, *extra])


def test_calibrate_saves_a_profile_that_helps_and_assess_uses_it(folders, capsys):
    assert _calibrate(folders, "graded", "--name", "class-7b") == 0
    out = capsys.readouterr().out
    assert "typical error (RMSE" in out and "Verdict: lowered the error" in out
    assert "Delivery measures did not help (held-out error" in out and "): not used." in out
    assert (folders["profiles"] / "class-7b" / "profile.json").is_file()

    assert main(["calibrate", "--list", "--profiles", str(folders["profiles"])]) == 0
    assert "class-7b - 12 responses" in capsys.readouterr().out

    assert main(["assess", *MODELS, "--calibration", str(folders["profiles"] / "class-7b"),
                 "--part3", str(folders["answer"]), "--json"]) == 0
    result = Assessment.from_json(capsys.readouterr().out)
    assert result.calibration == "class-7b"
    assert abs(result.part(3).score - 2.5) <= 0.5 and "calibrated with profile 'class-7b'" in result.part(3).basis

    assert _calibrate(folders, "graded", "--name", "class-7b") == 2  # the name is taken
    assert "already exists" in capsys.readouterr().err


def test_too_few_responses_save_nothing_unless_forced(folders, capsys):
    assert _calibrate(folders, "few", "--name", "tiny-group") == 1
    captured = capsys.readouterr()
    assert "too few responses: 6 given, at least 10 needed" in captured.out and "Nothing saved" in captured.out
    assert not (folders["profiles"] / "tiny-group").exists()

    assert _calibrate(folders, "few", "--name", "tiny-group", "--force") == 0
    assert "although it did not help" in capsys.readouterr().err
    doc = json.loads((folders["profiles"] / "tiny-group" / "profile.json").read_text())
    assert doc["applies"] is False and doc["n_exemplars"] == 6


def test_bad_names_and_manifests_are_usage_errors(folders, tmp_path, capsys):
    assert _calibrate(folders, "graded", "--name", "my class") == 2
    assert "not allowed" in capsys.readouterr().err
    broken = tmp_path / "broken.csv"
    broken.write_text("learner,part,audio,score\nA,2,a.wav,3.0\n")
    assert main(["calibrate", "--manifest", str(broken), "--name", "x", *MODELS]) == 2
    err = capsys.readouterr().err
    assert "broken.csv" in err and "part" in err


def test_profile_by_name_from_the_environment(folders, tmp_path):
    """A classroom laptop: SLA_DATA_DIR holds the profiles, SLA_CALIBRATION names one (a real subprocess)."""
    env = {**__import__("os").environ, "SLA_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "sla_core", "calibrate", "--manifest", str(folders["graded"]),
                           "--name", "room-12", "--cache", str(folders["cache"]), *MODELS],
                          check=False, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "profiles" / "room-12" / "prototypes.safetensors").is_file()
    done = subprocess.run([sys.executable, "-m", "sla_core", "assess", "--part3", str(folders["answer"]), *MODELS],
                          check=False, capture_output=True, text=True, timeout=300,
                          env={**env, "SLA_CALIBRATION": "room-12"})
    assert done.returncode == 0, done.stderr
    assert "profile 'room-12'" in done.stdout
