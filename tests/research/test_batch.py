"""`python -m sla_core batch`: a cohort on two local Ray workers with tiny models, a worker killed mid-run,
a resume, bad audio, and results identical to `python -m sla_core assess` on the same files.

Ray start-up costs seconds and every actor loads the graders, so one Ray session serves the module and
the cohort is small: the miniature eval split (4 learners, one without Part 5) plus one learner whose
recordings are all bad.
"""

import csv
import json
import os
import signal
import sys
import time

import numpy as np
import pandas as pd
import pytest

from sla_core.__main__ import main
from sla_core.assess import AssessorConfig
from sla_core.assessment import Assessment
from sla_core.parts import PARTS
from sla_core.research import batch_store
from sla_core.research.batch import BatchConfig, run_batch, start_ray
from sla_core.research.corpus import load_si_split, load_submissions
from sla_core.testing.assessments import sample_assessment
from sla_core.testing.audio import write_wav
from sla_core.testing.corpus import write_manifest

MODELS = AssessorConfig(tiny=True)  # both tiny graders, tiny Phi-4 ASR: the whole pipeline
BAD = "BAD-0001"


@pytest.fixture(scope="module")
def ray_session():
    import ray

    started = start_ray(BatchConfig(workers=2))
    yield
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def cohort(mini, tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort")
    manifest = write_manifest(root / "cohort.csv", load_si_split(mini.root, "eval"), with_text=False)
    write_wav(root / "silent.wav", np.zeros(16000 * 2, dtype=np.float32))
    (root / "notes.wav").write_text("this is not audio")
    with manifest.open("a", newline="") as f:
        csv.writer(f).writerows([[BAD, 3, "silent.wav", "", "", ""], [BAD, 4, "notes.wav", "", "", ""],
                                 [BAD, 5, "gone.wav", "", "", ""]])
    return manifest


def _busy_worker(timeout=30.0):
    """The pid of one of this session's actors assessing a learner right now
    (Ray titles it `ray::MapWorker(...).submit`; the embedded Ray's processes descend from this one)."""
    import psutil  # installed with accelerate

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in psutil.Process().children(recursive=True):
            try:
                title = (proc.cmdline() or [""])[0]
            except psutil.Error:
                continue
            if title.startswith("ray::MapWorker(MapBatches(AssessBatch)).submit"):
                return proc.pid
        time.sleep(0.05)
    raise AssertionError("no worker was assessing a learner when the test meant to kill one")


@pytest.fixture(scope="module")
def killed_run(cohort, ray_session, tmp_path_factory):
    """The cohort with 2 workers, one learner per task; once the first learner is written, a worker busy
    assessing another one is killed (SIGKILL): Ray restarts the actor and retries its tasks."""
    out = tmp_path_factory.mktemp("batch") / "out"
    killed = []

    def kill_once(rows, done, todo):
        if not killed:
            pid = _busy_worker()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    subs = load_submissions(cohort)
    summary = run_batch(subs, out, MODELS, BatchConfig(workers=2, batch_size=1), on_batch=kill_once)
    return subs, out, summary, killed[0]


def _results(out):
    return pd.read_parquet(out / batch_store.RESULTS_FILE)


@pytest.mark.slow
def test_a_killed_worker_loses_no_learner_and_duplicates_none(killed_run):
    subs, out, summary, killed_pid = killed_run
    with pytest.raises(ProcessLookupError):
        os.kill(killed_pid, 0)  # the worker died in the middle of a learner
    results = _results(out)
    assert sorted(results["learner"]) == sorted(s.submission_id for s in subs)
    assert results["learner"].is_unique
    assert summary.learners == len(subs) and summary.assessed_this_run == len(subs)


@pytest.mark.slow
def test_tables_csv_and_summary(killed_run):
    subs, out, summary, _ = killed_run
    first = subs[0].submission_id
    results = _results(out).set_index("learner")
    assert results.loc[first, "status"] == "complete"
    assert results["status"].value_counts().to_dict() == {"complete": 3, "partial": 1, "none": 1}
    one = Assessment.from_json(results.loc[first, "assessment_json"])
    assert one.learner == first and one.covered_parts == PARTS

    parts = pd.read_parquet(out / batch_store.PARTS_FILE)
    assert len(parts) == len(subs) * len(PARTS) and "assessment_json" not in parts.columns
    row = parts[(parts.learner == first) & (parts.part == 3)].iloc[0]
    part3 = one.part(3)
    assert (row.score, row.speech_score, row.mllm_score) == (part3.score, part3.speech.score, part3.mllm.score)
    assert row.speech_state == "untrained" and not row.graded

    with open(out / batch_store.CSV_FILE, encoding="utf-8-sig", newline="") as f:
        csv_rows = {r["learner"]: r for r in csv.DictReader(f)}
    assert set(csv_rows) == set(results.index)
    assert float(csv_rows[first]["overall"]) == pytest.approx(one.overall, abs=1e-3)

    saved = json.loads((out / batch_store.SUMMARY_FILE).read_text())
    assert saved["by_status"] == {"complete": 3, "partial": 1, "none": 1}
    assert saved["learners_per_second"] > 0 and saved["worker_seconds_per_learner"]["mean"] > 0
    assert 0 < saved["first_batch_after_seconds"] < saved["seconds"]
    assert "not grades" in summary.to_text()


@pytest.mark.slow
def test_bad_audio_is_recorded_with_reasons(killed_run):
    _, out, _, _ = killed_run
    bad = _results(out).set_index("learner").loc[BAD]
    assert bad["status"] == "none" and np.isnan(bad["overall"])
    for where in ("Part 3", "silent", "Part 4", "notes.wav", "Part 5", "gone.wav"):
        assert where in bad["problems"]
    parts = pd.read_parquet(out / batch_store.PARTS_FILE)
    assert parts[parts.learner == BAD].set_index("part").loc[[1, 3, 4, 5], "status"].tolist() == \
        ["missing", "rejected", "rejected", "rejected"]


@pytest.mark.slow
def test_results_are_identical_to_assess(killed_run, monkeypatch, capsys):
    """Each learner through `python -m sla_core assess --tiny --json` (models loaded once for the loop).

    Bit for bit: the workers run torch on one thread each (--cpus-per-worker 1), so does this reference;
    torch sums in another order on more threads (differences near 1e-7).
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _compare_with_assess(killed_run, monkeypatch, capsys)
    finally:
        torch.set_num_threads(threads)


def _compare_with_assess(killed_run, monkeypatch, capsys):
    import functools

    import sla_core.assess

    subs, out, _, _ = killed_run
    monkeypatch.setattr(sla_core.assess, "load_assessor", functools.cache(sla_core.assess.load_assessor))
    results = _results(out).set_index("learner")
    for sub in subs:
        args = ["assess", "--tiny", "--json", "--learner", sub.submission_id]
        for part in sub.parts:
            for r in part.responses:
                args += [f"--part{part.part}", str(r.audio_path)]
        main(args)
        expected = json.loads(capsys.readouterr().out)
        got = json.loads(results.loc[sub.submission_id, "assessment_json"])
        expected.pop("created"), got.pop("created")
        assert got == expected, sub.submission_id


@pytest.mark.slow
def test_resume_assesses_only_what_is_not_written(killed_run, cohort, capsys):
    """A run stopped before one batch reached the disk: the CLI's second run does that learner only."""
    subs, out, _, _ = killed_run
    redo = subs[1].submission_id
    before = _results(out).set_index("learner")
    lost = next(p for p in batch_store.batch_files(out)
                if pd.read_parquet(p, columns=["learner"])["learner"].tolist() == [redo])
    lost.unlink()
    (out / batch_store.RESULTS_FILE).unlink()

    assert main(["batch", "--data", str(cohort), "--out", str(out), "--tiny", "--workers", "1"]) == 0
    printed = capsys.readouterr()
    assert "1 assessed, 4 already written (skipped)" in printed.out
    assert "[batch] 1/1 learners" in printed.err and "learners/s" in printed.err
    after = _results(out).set_index("learner")
    assert after.index.is_unique and sorted(after.index) == sorted(before.index)
    untouched = [s.submission_id for s in subs if s.submission_id != redo]
    assert (after.loc[untouched, "assessed_at"] == before.loc[untouched, "assessed_at"]).all()

    # Nothing left to do: no Ray work at all, the tables are rebuilt the same.
    assert main(["batch", "--data", str(cohort), "--out", str(out), "--tiny"]) == 0
    assert "0 assessed, 5 already written" in capsys.readouterr().out


@pytest.mark.slow
def test_resume_with_other_models_is_refused(killed_run, capsys):
    _, out, _, _ = killed_run
    with pytest.raises(batch_store.OutputMismatch, match="mllm"):
        run_batch([], out, AssessorConfig(tiny=True, mllm="off"))


@pytest.mark.slow
def test_the_embedded_ray_listens_on_127_0_0_1_only(killed_run):
    """Every listening socket of this process and the Ray processes it started (GCS, raylet, agents, the
    workers that assessed the cohort) is bound to the loopback address: nobody on the network can reach them."""
    import ipaddress

    import psutil  # installed with accelerate

    me = psutil.Process()
    listening = []
    for proc in [me, *me.children(recursive=True)]:
        try:
            listening += [(proc.name(), c.laddr.ip, c.laddr.port) for c in proc.net_connections(kind="inet")
                          if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            continue
    assert len({name for name, *_ in listening}) >= 3, listening  # the GCS, the raylet and a worker at least

    def loopback(ip: str) -> bool:
        address = ipaddress.ip_address(ip)
        return (getattr(address, "ipv4_mapped", None) or address).is_loopback  # "::ffff:127.0.0.1" too

    assert all(loopback(ip) for _, ip, _ in listening), [x for x in listening if not loopback(x[1])]


def test_a_batch_arriving_twice_is_written_once(tmp_path):
    """Ray retries a task whose worker died; if both copies reach the disk, the tables hold one row."""
    rows = lambda learners: {"learner": learners, "status": ["complete"] * len(learners),  # noqa: E731
                             "error": [None] * len(learners), "worker": ["w:1"] * len(learners),
                             "seconds": [1.0] * len(learners),
                             "assessment_json": [sample_assessment(l).to_json() for l in learners]}
    batch_store.write_batch(tmp_path, 1, rows(["a", "b"]))
    batch_store.write_batch(tmp_path, 1, rows(["b"]))
    batch_store.write_batch(tmp_path, 2, rows(["c"]))
    assert batch_store.written_learners(tmp_path) == {"a", "b", "c"}
    summary = batch_store.finalise(tmp_path)
    assert sorted(_results(tmp_path)["learner"]) == ["a", "b", "c"] and summary.learners == 3
    assert len(pd.read_parquet(tmp_path / batch_store.PARTS_FILE)) == 3 * len(PARTS)


def test_missing_ray_names_the_install_step(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["batch", "--data", str(tmp_path / "x.csv"), "--out", str(tmp_path / "out"), "--tiny"]) == 2
    assert "pip install" in capsys.readouterr().err


def test_a_learner_whose_assessment_raises_is_recorded_and_retried_on_resume(tmp_path):
    """One learner's exception becomes an "error" row with its reason; the batch goes on; a resume retries it."""
    from sla_core.research.batch import AssessBatch, submission_to_json
    from sla_core.data import PartResponses, Response, Submission

    class Flaky:  # stands in for the loaded Assessor: fails on one learner, like a corrupt file the decoder crashes on
        def assess_submission(self, sub):
            if sub.submission_id == "b":
                raise RuntimeError("decoder crashed on b.flac")
            return sample_assessment(sub.submission_id)

    worker = AssessBatch.__new__(AssessBatch)  # the graders are not needed to test the bookkeeping
    worker.assessor, worker.worker = Flaky(), "w:1"
    subs = [Submission(l, (PartResponses(3, (Response(tmp_path / f"{l}.wav"),)),)) for l in "abc"]
    rows = worker({"learner": np.array(list("abc")), "submission": np.array([submission_to_json(s) for s in subs])})
    assert rows["status"] == ["complete", "error", "complete"]
    assert rows["error"][1] == "RuntimeError: decoder crashed on b.flac"

    batch_store.write_batch(tmp_path, 1, rows)
    assert batch_store.written_learners(tmp_path) == {"a", "c"}  # b is tried again by the next run
    summary = batch_store.finalise(tmp_path)
    assert summary.errors == {"b": "RuntimeError: decoder crashed on b.flac"} and "error: b:" in summary.to_text()
    with open(tmp_path / batch_store.CSV_FILE, encoding="utf-8-sig", newline="") as f:
        assert [r["learner"] for r in csv.DictReader(f)] == ["a", "c"]

    batch_store.write_batch(tmp_path, 2, {**rows, "learner": ["b"], "status": ["complete"], "error": [None],
                                          "assessment_json": [sample_assessment("b").to_json()],
                                          "worker": ["w:2"], "seconds": [1.0]})
    results = batch_store.finalise(tmp_path)
    assert results.errors == {} and results.by_status == {"complete": 3}
