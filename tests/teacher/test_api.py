"""The app's API as a program uses it: `gradio_client` against a running `python app.py` on loopback.

`assess_learner` must take named, optional inputs and return the Assessment: by default its compact form, with
detail="full" the same JSON as `python -m sla_core assess --json` for the same files; `assess_class` must return
the CSV as a file. The README's example runs as written against a running app.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app_process import AppProcess  # tests/teacher/app_process.py

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
EXAMPLE = ASSETS / "example_learner"
FLAGS = ["--tiny", "--asr", "none"]  # the same models for the app and the CLI

pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]  # `python app.py` in a process


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on 127.0.0.1 (never another interface), a temp database; yields its URL."""
    tmp = tmp_path_factory.mktemp("api")
    app = AppProcess(tmp / "r.sqlite", tmp / "app.log", [*FLAGS, "--no-warmup", "--host", "127.0.0.1"], start_timeout=240)
    try:
        yield app.start()
    finally:
        app.stop()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


def _without_time(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "created"}


def test_assess_learner_has_named_optional_inputs(client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/assess_learner" in api and "/assess" not in api  # the page's 13 unnamed slots are not the API
    params = {p["parameter_name"]: p for p in api["/assess_learner"]["parameters"]}
    assert list(params) == ["part1", "part3", "part4", "part5", "learner", "detail"]
    assert not any(p["parameter_has_default"] is False for p in params.values())
    assert params["detail"]["parameter_default"] == "compact" and params["detail"]["type"]["enum"] == ["compact", "full"]


def test_assess_learner_returns_what_the_cli_prints_for_the_same_files(client, tmp_path):
    from gradio_client import handle_file

    part1 = [EXAMPLE / "part1_1.wav", EXAMPLE / "part1_2.wav"]
    got = client.predict(part1=[handle_file(str(f)) for f in part1], part3=handle_file(str(EXAMPLE / "part3.wav")),
                         learner="Ana", detail="full", api_name="/assess_learner")
    cli = subprocess.run([sys.executable, "-m", "sla_core", "assess", *FLAGS, "--json", "--learner", "Ana",
                          *(a for f in part1 for a in ("--part1", str(f))), "--part3", str(EXAMPLE / "part3.wav")],
                         cwd=ROOT, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert got["overall"] == expected["overall"] and got["covered_parts"] == [1, 3]
    assert [p["score"] for p in got["parts"]] == [p["score"] for p in expected["parts"]]
    assert _without_time(got) == _without_time(expected)
    # By default the compact projection of the same result: a tenth of the size, the same numbers.
    from sla_core.assessment import Assessment

    compact = client.predict(part1=[handle_file(str(f)) for f in part1], part3=handle_file(str(EXAMPLE / "part3.wav")),
                             learner="Ana", api_name="/assess_learner")
    assert _without_time(compact) == _without_time(Assessment.from_dict(expected).to_dict("compact"))
    assert len(json.dumps(compact)) < len(json.dumps(got)) / 5


def test_a_part_may_be_one_file_or_a_list_and_no_file_at_all_says_what_to_send(client):
    from gradio_client import handle_file

    one = client.predict(part4=handle_file(str(EXAMPLE / "part4.wav")), api_name="/assess_learner")
    listed = client.predict(part4=[handle_file(str(EXAMPLE / "part4.wav"))], api_name="/assess_learner")
    assert one["covered_parts"] == listed["covered_parts"] == [4] and one["overall"] == listed["overall"]
    with pytest.raises(Exception, match="No recording was given: pass at least one of part1"):
        client.predict(learner="nobody", api_name="/assess_learner")


def test_assess_class_returns_the_csv_as_a_file(client):
    from gradio_client import handle_file

    path = client.predict(files=[handle_file(str(ASSETS / "example_class.zip"))], session_name="3B api",
                          api_name="/assess_class")
    assert isinstance(path, str) and path.endswith(".csv")
    rows = list(csv.DictReader(open(path, encoding="utf-8-sig")))
    assert [r["learner"] for r in rows] == ["amira", "ben", "chloe"] and all(r["overall"] for r in rows)


def readme_api_example() -> str:
    """The README's `gradio_client` example: the first Python block of its "Call the app from a program" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Call the app from a program"):]
    return section[section.index("```python\n") + len("```python\n"):section.index("\n```", section.index("```python"))]


@pytest.mark.slow  # about 10 s: three calls, a class of three
def test_the_readme_api_example_runs_as_written_on_the_shipped_files(server):
    code = readme_api_example()
    # As written, but for the address: the test's app runs on a free port, the README names the default one.
    assert code.count('"http://127.0.0.1:7860/"') == 1 and "7860 is the default port" in code
    run = subprocess.run([sys.executable, "-c", code.replace("http://127.0.0.1:7860/", server)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if not line.startswith("Loaded as API")]  # gradio_client's
    overall, level, covered = lines[0].split(" ", 2)
    assert 2.0 <= float(overall) <= 5.5 and covered == "[1, 3]"
    assert lines[1].startswith("1 assessed ") and lines[2].startswith("3 assessed ")  # one line per part
    csv_at = next(k for k, line in enumerate(lines) if line.startswith("learner,"))  # the class CSV, printed
    assert [line.split(",")[0] for line in lines[csv_at + 1:] if line] == ["amira", "ben", "chloe"]
