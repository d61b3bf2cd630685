"""`python -m sla_core fit-fusion`: fit the eight interval weights on dev predictions and save them.

Reads the speech and multimodal graders' predictions (one file each, or one file with both), pairs
them by (submission, part), pools the four parts and grid-searches one weight per interval of the
multimodal score to minimise RMSE against the marks (the paper's fusion). `evaluate --fusion` and
`assess --fusion` then use the saved JSON as it is.
"""

from __future__ import annotations

import argparse

from ..parts import PARTS


def register(subparsers) -> None:
    p = subparsers.add_parser("fit-fusion", help="fit the fusion weights on dev predictions", description=__doc__)
    p.add_argument("--predictions", nargs="+", required=True, help="predictions file(s) with both graders (dev)")
    p.add_argument("--out", required=True, help="fusion-weights JSON to write")
    p.add_argument("--split", help="use only rows of this split (default: all rows)")
    p.add_argument("--speech", default="speech", help="grader name of the speech scores")
    p.add_argument("--mllm", default="mllm", help="grader name of the multimodal scores")
    p.add_argument("--grid-step", type=float, default=0.05, help="spacing of the candidate weights in [0, 1]")
    p.add_argument("--min-count", type=int, default=None,
                   help="fewest dev items for an interval to get its own weight (default: fusion's)")
    p.set_defaults(func=run)


def pooled_dev_scores(predictions, speech: str, mllm: str, split: str | None = None):
    """(speech, mllm, reference) arrays over all parts' aligned rows."""
    import numpy as np

    from ..research.predictions import align

    rows = [align(predictions, [speech, mllm], part, split=split) for part in PARTS]
    if sum(len(a) for a in rows) == 0:
        raise ValueError(f"no (submission, part) has both a {speech!r} and a {mllm!r} prediction with a mark; "
                         "run `predict` for both graders on the dev split first")
    cat = lambda xs: np.concatenate(xs)  # noqa: E731
    return cat([a.scores[speech] for a in rows]), cat([a.scores[mllm] for a in rows]), cat([a.reference for a in rows])


def run(args: argparse.Namespace) -> int:
    from ..fusion import fit_fusion, save_fusion
    from ..research.predictions import read_predictions

    preds = read_predictions(*args.predictions)
    s, m, y = pooled_dev_scores(preds, args.speech, args.mllm, args.split)
    kwargs = {} if args.min_count is None else {"min_count": args.min_count}
    weights = fit_fusion(s, m, y, grid_step=args.grid_step, **kwargs)
    save_fusion(weights, args.out)
    print("w_k (weight on the multimodal score) per interval: " + ", ".join(f"{w:.2f}" for w in weights.weights))
    print("dev RMSE: " + ", ".join(f"{k} {v:.3f}" for k, v in (weights.dev_rmse or {}).items()))
    print(f"saved {args.out} ({weights.source})")
    return 0
