"""Learners per second of the cohort batch job with 1 and 2 local Ray workers, side by side in one run.

Run by hand (not in CI):
    python bench/bench_batch.py                         # tiny models, 12 espeak learners, batch size 2
    python bench/bench_batch.py --learners 24 --batch-size 4

Two rates per setting: "wall" counts everything from the job's start (Ray actors starting, graders loading)
and "steady" counts from the first finished batch to the last (the rate a long cohort approaches).
Both settings run in one embedded Ray session sized for 2 workers, so neither pays Ray's start-up.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.assess import AssessorConfig
from sla_core.research.batch import BatchConfig, run_batch, start_ray
from sla_core.research.corpus import load_si_split, load_submissions
from sla_core.testing.corpus import make_mini_corpus, write_manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--learners", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()

    import ray

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        corpus = make_mini_corpus(tmp / "corpus", {"eval": args.learners})
        manifest = write_manifest(tmp / "cohort.csv", load_si_split(corpus.root, "eval"), with_text=False)
        subs = load_submissions(manifest)
        start_ray(BatchConfig(workers=max(args.workers)))
        rows = []
        for workers in args.workers:
            arrivals: list[tuple[float, int]] = []
            summary = run_batch(subs, tmp / f"out-{workers}", AssessorConfig(tiny=True),
                                BatchConfig(workers=workers, batch_size=args.batch_size),
                                on_batch=lambda r, done, todo: arrivals.append((time.perf_counter(), done)))
            (t0, n0), (t1, n1) = arrivals[0], arrivals[-1]
            steady = (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")
            rows.append((workers, summary.learners_per_second, steady, summary.worker_seconds_per_learner["mean"]))
        ray.shutdown()

    print(f"{len(subs)} learners, tiny models, batch size {args.batch_size}, {os.cpu_count()} CPUs (shared)")
    print(f"{'workers':>7} {'wall learners/s':>16} {'steady learners/s':>18} {'worker s/learner':>17}")
    for workers, wall, steady, per in rows:
        print(f"{workers:>7} {wall:>16.3f} {steady:>18.3f} {per:>17.3f}")
    if len(rows) >= 2:
        print(f"scaling {rows[-1][0]} vs {rows[0][0]} workers: wall x{rows[-1][1] / rows[0][1]:.2f}, "
              f"steady x{rows[-1][2] / rows[0][2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
