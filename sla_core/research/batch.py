"""Assess a cohort on Ray Data: submissions in, one Assessment per learner out, resumable.

The same job runs on a laptop (an embedded local Ray, the default) and on a cluster (`ray_address`):

    submissions (manifest or S&I split, read on the driver)
      -> Ray Dataset, one row per learner (the Submission as JSON: paths, questions, transcripts)
      -> map_batches(AssessBatch): each actor loads the graders ONCE, then assesses learner by learner
         with `Assessor.assess_submission`, exactly as `python -m sla_core assess` does
      -> the driver writes each finished batch atomically (batch_store), shows progress,
         and finally builds the Parquet tables, the classroom CSV and the summary.

Learners are assessed one at a time inside a batch, so a score never depends on which other learners
shared the batch; `batch_size` only sets how much work one task carries (and how much a killed worker
loses). Ray restarts a dead actor and retries its tasks; batch_store makes that exactly-once on disk.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from ..assess import AssessorConfig
from ..data import PartResponses, Response, Submission
from . import batch_store
from .batch_store import ERROR, Summary

RAY_INSTALL = 'pip install -r requirements-batch.txt   (or: pip install "ray[data]>=2.60,<3")'
DEFAULT_OBJECT_STORE_BYTES = 512 * 2**20  # embedded Ray: rows are paths and JSON, not audio; keep RAM for models


class RayMissing(RuntimeError):
    """Ray Data is an optional extra; the message says how to install it."""


@dataclass(frozen=True)
class BatchConfig:
    """How the cohort is spread over Ray (the models are an AssessorConfig, as for `assess`)."""

    workers: int = 1  # actors, each holding its own copy of the graders
    cpus_per_worker: float = 1.0  # Ray CPUs per actor; also torch's thread count inside it
    gpus_per_worker: float = 0.0  # 1 for a full-size multimodal grader (about 12 GiB bf16 + activations)
    batch_size: int = 8  # learners per task: what a killed worker redoes, and the unit written to disk
    ray_address: str | None = None  # None: embedded local Ray; "auto" or "ray://host:10001" for a cluster
    object_store_bytes: int = DEFAULT_OBJECT_STORE_BYTES  # embedded Ray only

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.cpus_per_worker <= 0 or self.gpus_per_worker < 0:
            raise ValueError(f"cpus_per_worker must be > 0 and gpus_per_worker >= 0, got "
                             f"{self.cpus_per_worker} and {self.gpus_per_worker}")


def import_ray():
    """`ray` with Ray Data, or RayMissing naming the install step."""
    try:
        import ray
        import ray.data  # noqa: F401  (needs pyarrow: the `data` extra)
    except ImportError as e:
        raise RayMissing(f"the batch job needs Ray Data ({e.name or e} is not installed): {RAY_INSTALL}") from e
    return ray


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def start_ray(config: BatchConfig) -> bool:
    """Connect to `config.ray_address`, or start an embedded local Ray sized for the workers.

    The embedded Ray listens on 127.0.0.1 only (GCS, raylet, object manager, workers, agents): nobody on
    the network can reach it. Returns True when this call started Ray (so the caller shuts it down), False
    when a session was already running in this process (a notebook, or the test suite's shared one).
    Raises:
        RuntimeError: the embedded Ray came up on another address (it is shut down first).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    if config.ray_address:
        ray.init(address=config.ray_address, logging_level="WARNING")
        return True
    # Embedded: loopback only, no dashboard, no usage report: a laptop or an exam-board server offline.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    gpus = config.gpus_per_worker * config.workers
    if gpus:
        import torch

        have = torch.cuda.device_count()
        if have < gpus:
            raise ValueError(f"{config.workers} worker(s) x {config.gpus_per_worker} GPU need {gpus:g} GPUs; "
                             f"this machine has {have}")
    with _loopback_node(ray):
        ray.init(num_cpus=max(1, round(config.workers * config.cpus_per_worker)), num_gpus=int(-(-gpus // 1)),
                 include_dashboard=False, _node_ip_address="127.0.0.1", object_store_memory=config.object_store_bytes,
                 logging_level="WARNING", log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": _pythonpath()}})
    address = ray.util.get_node_ip_address()
    if address not in LOOPBACK:
        ray.shutdown()
        raise RuntimeError(f"the embedded Ray started on {address}, not 127.0.0.1; stopped it rather than listen "
                           "on the network (pass --ray-address to use a cluster on purpose)")
    return True


@contextmanager
def _loopback_node(ray):
    """Ray turns `_node_ip_address="127.0.0.1"` into the machine's network address (so other nodes could join),
    and its servers then listen on every interface, unless clusters are off: its own setting for laptops
    (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0). That variable is read once, when ray is imported, so the module's
    value is switched here, only while this process starts its embedded node (every listener then binds
    127.0.0.1; tests/research/test_batch.py checks the sockets), and restored for any later cluster use."""
    from ray._private import ray_constants

    was = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = was


def _pythonpath() -> str:
    """Workers import sla_core from where the driver found it (a checkout need not be pip-installed)."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH", "")
    return here + (os.pathsep + rest if rest else "")


# ---------------------------------------------------------------------------------------------- rows


def submission_to_json(sub: Submission) -> str:
    return json.dumps({"submission_id": sub.submission_id, "overall_mark": sub.overall_mark, "parts": [
        {"part": p.part, "mark": p.mark, "responses": [
            {**asdict(r), "audio_path": None if r.audio_path is None else str(r.audio_path)} for r in p.responses]}
        for p in sub.parts]})


def submission_from_json(text: str) -> Submission:
    data = json.loads(text)
    parts = tuple(PartResponses(part=p["part"], mark=p["mark"], responses=tuple(
        Response(**{**r, "audio_path": None if r["audio_path"] is None else Path(r["audio_path"])})
        for r in p["responses"])) for p in data["parts"])
    return Submission(submission_id=data["submission_id"], parts=parts, overall_mark=data["overall_mark"])


class AssessBatch:
    """The Ray Data callable class: graders loaded once per actor, then reused for every batch.

    A learner whose assessment raises is returned with status "error" and the reason; bad audio
    never raises (the Assessor records it per part), and nothing stops the batch.
    """

    models: AssessorConfig = AssessorConfig()  # set by `_assess_class` for one job
    threads: int = 1

    def __init__(self):
        import torch

        from ..assess import load_assessor

        torch.set_num_threads(self.threads)
        self.assessor = load_assessor(self.models)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: dict) -> dict:
        # batch: {"learner": (B,) str, "submission": (B,) JSON str}
        out = {c: [] for c in batch_store.BATCH_COLUMNS}
        for learner, text in zip(batch["learner"], batch["submission"]):
            start = time.perf_counter()
            status, error, result = ERROR, None, None
            try:
                assessment = self.assessor.assess_submission(submission_from_json(str(text)))
                status, result = batch_store.learner_status(assessment), assessment.to_json(indent=None)
            except Exception as e:  # noqa: BLE001 - one learner's failure is data, the cohort goes on
                error = f"{type(e).__name__}: {e}"
            for column, value in (("learner", str(learner)), ("status", status), ("error", error),
                                  ("assessment_json", result), ("worker", self.worker),
                                  ("seconds", time.perf_counter() - start)):
                out[column].append(value)
        return out


def _assess_class(models: AssessorConfig, threads: int) -> type[AssessBatch]:
    """AssessBatch bound to one job's models. A class attribute travels with the class definition, so a
    restarted actor never depends on constructor arguments kept in the object store (ray#53727)."""
    return type("AssessBatch", (AssessBatch,), {"models": models, "threads": max(1, threads)})


# ---------------------------------------------------------------------------------------------- the job


BatchCallback = Callable[[dict, int, int], None]  # (rows of one finished batch, learners done, learners to do)


def run_batch(
    submissions: Sequence[Submission],
    out: Path | str,
    models: AssessorConfig,
    config: BatchConfig = BatchConfig(),
    data_source: str = "",
    on_batch: BatchCallback | None = None,
) -> Summary:
    """Assess every submission not yet written in `out`, then rebuild the final tables.

    Args:
        submissions: the cohort; learner ids (submission ids) must be unique.
        out: the output folder; an existing one is resumed (same models required).
        models: which graders every worker loads.
        config: workers, GPUs, batch size, Ray address.
        data_source: recorded in job.json (where the submissions came from).
        on_batch: called after each batch is on disk (progress display, tests).
    Returns:
        The summary of the results folder and of this run (also written to summary.json).
    """
    out = Path(out)
    duplicates = sorted(i for i, n in Counter(s.submission_id for s in submissions).items() if n > 1)
    if duplicates:
        raise ValueError(f"learner ids must be unique in a batch; repeated: {duplicates[:10]}")
    batch_store.check_job(out, {"models": asdict(models), "data": data_source})
    done = batch_store.written_learners(out)
    todo = [s for s in submissions if s.submission_id not in done]
    run = batch_store.next_run(out)

    start = time.perf_counter()
    seconds: list[float] = []
    first: list[float] = []  # when the first batch reached the disk: Ray start-up plus loading the graders

    def arrived(rows: dict, done: int, total: int) -> None:
        if not first:
            first.append(time.perf_counter() - start)
        if on_batch is not None:
            on_batch(rows, done, total)

    if todo:
        seconds = _assess_on_ray(todo, out, run, models, config, arrived)
    wall = time.perf_counter() - start

    summary = batch_store.finalise(out)
    summary.assessed_this_run = len(seconds)
    summary.skipped_already_written = len(submissions) - len(todo)
    summary.seconds = round(wall, 2)
    summary.learners_per_second = round(len(seconds) / wall, 3) if seconds and wall > 0 else None
    summary.worker_seconds_per_learner = batch_store.worker_seconds(seconds)
    summary.workers = config.workers if todo else 0
    summary.first_batch_after_seconds = round(first[0], 2) if first else None
    batch_store.save_summary(out, summary)
    return summary


def _assess_on_ray(todo: Sequence[Submission], out: Path, run: int, models: AssessorConfig,
                   config: BatchConfig, on_batch: BatchCallback | None) -> list[float]:
    """Stream the learners through the actors; write each finished batch as it arrives."""
    ray = import_ray()
    started = start_ray(config)
    try:
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # block-level chatter; our progress counts learners
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "bars disabled": on purpose
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours counts learners, not blocks
        context.execution_options.preserve_order = False  # write batches as they finish
        items = [{"learner": s.submission_id, "submission": submission_to_json(s)} for s in todo]
        blocks = max(1, min(len(items), -(-len(items) // config.batch_size)))
        results = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
            _assess_class(models, int(config.cpus_per_worker)),
            batch_size=config.batch_size,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=config.workers),
            num_cpus=config.cpus_per_worker,
            num_gpus=config.gpus_per_worker or None,
        )
        seconds: list[float] = []
        n_done = 0
        for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
            rows = {c: list(batch[c]) for c in batch_store.BATCH_COLUMNS}
            batch_store.write_batch(out, run, rows)
            n_done += len(rows["learner"])
            seconds += [float(s) for s, status in zip(rows["seconds"], rows["status"]) if status != ERROR]
            if on_batch is not None:
                on_batch(rows, n_done, len(todo))
        return seconds
    finally:
        if started:
            ray.shutdown()


__all__ = ["BatchConfig", "RayMissing", "RAY_INSTALL", "AssessBatch", "import_ray", "start_ray", "run_batch",
           "submission_to_json", "submission_from_json"]
