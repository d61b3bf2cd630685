"""`python -m sla_core batch`: assess a whole cohort on Ray Data, on a laptop or a cluster, resumably.

Writes to --out: results.parquet (one row per learner, with the Assessment JSON), parts.parquet (one
row per learner and part), results.csv (the classroom CSV), summary.json, and batches/ (what a resume
reads). Exit status: 0 when every learner has a result (bad audio is a result, with its reasons),
1 when some learners failed with an error (listed; a rerun retries them), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys

from .assess import add_assessor_arguments, assessor_config


def register(subparsers) -> None:
    p = subparsers.add_parser("batch", help="assess a cohort with Ray Data (resumable; local or a Ray cluster)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="CSV manifest or S&I corpus root")
    p.add_argument("--split", help="S&I split (dev, train, eval) when --data is a corpus root")
    p.add_argument("--out", required=True, help="output folder; an existing one is resumed (learners written are skipped)")
    p.add_argument("--limit", type=int, help="only the first N learners (a trial run)")
    ray = p.add_argument_group("Ray")
    ray.add_argument("--ray-address", help="'auto' or 'ray://head:10001' for a running cluster "
                                           "(default: an embedded local Ray on this machine)")
    ray.add_argument("--workers", type=int, default=1, help="actors, each loading the graders once (default 1)")
    ray.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs (torch threads) per actor (default 1)")
    ray.add_argument("--gpus-per-worker", type=float, default=0.0,
                     help="GPUs per actor; 1 for the full-size multimodal grader (default 0)")
    ray.add_argument("--batch-size", type=int, default=8,
                     help="learners per task: what a lost worker redoes, the unit written to disk (default 8)")
    add_assessor_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..research.batch import BatchConfig, RayMissing, import_ray, run_batch
    from ..research.batch_store import OutputMismatch
    from ..research.corpus import load_submissions

    try:
        import_ray()  # before reading thousands of rows: say what to install first
    except RayMissing as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        config = BatchConfig(workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                             gpus_per_worker=args.gpus_per_worker, batch_size=args.batch_size,
                             ray_address=args.ray_address)
        models = assessor_config(args)
        subs = load_submissions(args.data, args.split)
    except ValueError as e:  # CorpusError included: names the file and line
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.limit:
        subs = subs[:args.limit]
    bar = _progress(len(subs))
    try:
        summary = run_batch(subs, Path(args.out), models, config, data_source=_source(args), on_batch=bar)
    except (OutputMismatch, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    print(summary.to_text())
    print(f"-> {args.out}")
    return 1 if summary.errors else 0


def _source(args: argparse.Namespace) -> str:
    return f"{args.data}" + (f" split {args.split}" if args.split else "")


class _progress:
    """Learners done / to do and learners per second: a tqdm bar on a terminal, a line per batch otherwise."""

    def __init__(self, total: int):
        import time

        from tqdm.auto import tqdm

        self.start, self.counts = time.perf_counter(), {}
        self.bar = tqdm(total=total, unit="learner", desc="batch", dynamic_ncols=True, disable=not sys.stderr.isatty())
        self.lines = self.bar.disable

    def __call__(self, rows: dict, done: int, todo: int) -> None:
        import time

        for status in rows["status"]:
            self.counts[status] = self.counts.get(status, 0) + 1
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        self.bar.total = todo
        self.bar.update(len(rows["status"]))
        self.bar.set_postfix_str(counts)
        if self.lines:
            rate = done / (time.perf_counter() - self.start)  # start-up (Ray, model loading) included
            print(f"[batch] {done}/{todo} learners ({counts}), {rate:.2f} learners/s", file=sys.stderr, flush=True)

    def close(self) -> None:
        self.bar.close()
