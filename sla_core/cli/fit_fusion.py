"""`python -m sla_core fit-fusion`: fit the eight interval weights and the score intervals on dev predictions.

Reads the speech and multimodal graders' predictions (one file each, or one file with both), pairs
them by (submission, part), pools the four parts and grid-searches one weight per interval of the
multimodal score to minimise RMSE against the marks (the paper's fusion).

Then the split-conformal interval widths (`sla_core.intervals`) at --coverage: for the fused score,
and for each grader alone, per part and for the overall of every set of parts. The fused residuals
are cross-fitted: the submissions are split into --folds folds, and each fold is fused with weights
fitted on the other folds, so no residual comes from weights that saw its item. Each grader alone has
no fitted parameter here, so its dev residuals are held out as they are. `evaluate --fusion` and
`assess --fusion` then use the saved JSON as it is.

A session grader (--mllm Phi4-MTL) is fused per part like any multimodal grader, and the fused overall
is the mean of the fused parts; its own overall output (the overall rows noted as its own) gets its own
width from its dev residuals against the overall mark, shown beside the overall in the app.
"""

from __future__ import annotations

import argparse

from ..parts import PARTS


def register(subparsers) -> None:
    from ..fusion import DEFAULT_FOLDS
    from ..intervals import DEFAULT_COVERAGE, DEFAULT_MIN_REGION_COUNT

    p = subparsers.add_parser("fit-fusion", help="fit the fusion weights and score intervals on dev predictions",
                              description=__doc__)
    p.add_argument("--predictions", nargs="+", required=True, help="predictions file(s) with both graders (dev)")
    p.add_argument("--out", required=True, help="fusion-weights JSON to write")
    p.add_argument("--split", help="use only rows of this split (default: all rows)")
    p.add_argument("--speech", default="W2V", help="system name of the speech scores (default W2V)")
    p.add_argument("--mllm", default="Phi4-STG", help="system name of the multimodal scores (default Phi4-STG; "
                                                      "or Phi4-CTG-TA, ...)")
    p.add_argument("--grid-step", type=float, default=0.05, help="spacing of the candidate weights in [0, 1]")
    p.add_argument("--min-count", type=int, default=None,
                   help="fewest dev items for an interval to get its own weight (default: fusion's)")
    p.add_argument("--coverage", type=float, default=DEFAULT_COVERAGE,
                   help=f"nominal coverage of the score intervals (default {DEFAULT_COVERAGE})")
    p.add_argument("--folds", type=int, default=DEFAULT_FOLDS,
                   help=f"cross-fitting folds for the fused residuals (default {DEFAULT_FOLDS})")
    p.add_argument("--min-region-count", type=int, default=DEFAULT_MIN_REGION_COUNT,
                   help="fewest dev items a score region needs for its own width (default "
                        f"{DEFAULT_MIN_REGION_COUNT}); fewer -> the part's global width")
    p.set_defaults(func=run)


def aligned_rows(predictions, speech: str, mllm: str, split: str | None = None) -> list:
    """The per-part `Aligned` rows (PARTS order) where both graders and a mark exist."""
    from ..research.predictions import align

    rows = [align(predictions, [speech, mllm], part, split=split) for part in PARTS]
    if sum(len(a) for a in rows) == 0:
        raise ValueError(f"no (submission, part) has both a {speech!r} and a {mllm!r} prediction with a mark; "
                         "run `predict` for both graders on the dev split first")
    return rows


def pooled_dev_scores(predictions, speech: str, mllm: str, split: str | None = None):
    """(speech, mllm, reference) arrays over all parts' aligned rows."""
    import numpy as np

    rows = aligned_rows(predictions, speech, mllm, split)
    cat = lambda xs: np.concatenate(xs)  # noqa: E731
    return cat([a.scores[speech] for a in rows]), cat([a.scores[mllm] for a in rows]), cat([a.reference for a in rows])


def held_out_scores(rows, speech: str, mllm: str, folds: int, **fit_kwargs) -> dict:
    """system -> intervals.HeldOut: cross-fitted fused scores, and each grader's own, as (submissions, 4)."""
    import numpy as np

    from ..fusion import cross_fit_fusion
    from ..intervals import HeldOut

    ids = sorted({s for a in rows for s in a.submission_ids})
    index = {s: i for i, s in enumerate(ids)}
    groups = np.concatenate([a.submission_ids for a in rows])  # (n,) pooled over parts
    s, m, y = (np.concatenate([a.scores[speech] for a in rows]), np.concatenate([a.scores[mllm] for a in rows]),
               np.concatenate([a.reference for a in rows]))
    fused = cross_fit_fusion(s, m, y, groups, folds=folds, **fit_kwargs)
    rowcol = [(index[sub], PARTS.index(a.part)) for a in rows for sub in a.submission_ids]  # pooled order
    r, c = (np.array([rc[k] for rc in rowcol], dtype=int) for k in (0, 1))

    def matrix(values) -> np.ndarray:
        out = np.full((len(ids), len(PARTS)), np.nan)  # (N, 4), NaN where a part is absent
        out[r, c] = values
        return out

    marks = matrix(y)
    return {"fused": HeldOut(matrix(fused), marks), "speech": HeldOut(matrix(s), marks),
            "mllm": HeldOut(matrix(m), marks)}


def own_overall(predictions, system: str, ids) -> tuple:
    """(scores, marks) of `system`'s own overall outputs for submissions `ids` (NaN where absent), or (None, None)
    when its overall rows are the mean of its parts (every system but the session grader)."""
    import numpy as np

    from ..research.predictions import OVERALL, OWN_OVERALL_NOTE

    rows = {p.submission_id: p for p in predictions if p.grader == system and p.part == OVERALL and not p.per_response
            and p.note.startswith(OWN_OVERALL_NOTE) and p.reference is not None}
    if not rows:
        return None, None
    pick = lambda attr: np.array([getattr(rows[s], attr) if s in rows else np.nan for s in ids], dtype=float)  # noqa: E731
    return pick("score"), pick("reference")


def grader_states(predictions, names) -> dict[str, str]:
    """grader -> the single state of its predictions ("mixed" when its rows disagree: then no width applies)."""
    out = {}
    for role, name in names.items():
        states = {p.state for p in predictions if p.grader == name and not p.per_response}
        out[role] = states.pop() if len(states) == 1 else "mixed"
    return out


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..fusion import fit_fusion, save_fusion
    from ..intervals import fit_intervals
    from ..research.predictions import read_predictions

    preds = read_predictions(*args.predictions)
    if args.split:
        preds = [p for p in preds if p.split == args.split]
    rows = aligned_rows(preds, args.speech, args.mllm)
    s, m, y = pooled_dev_scores(preds, args.speech, args.mllm)
    kwargs = {"grid_step": args.grid_step} | ({} if args.min_count is None else {"min_count": args.min_count})
    source = f"fit-fusion of {args.speech} + {args.mllm} on {s.size} dev items (grid step {args.grid_step:g})"
    weights = fit_fusion(s, m, y, source=source, **kwargs)
    n_subs = len({sub for a in rows for sub in a.submission_ids})
    folds = min(args.folds, n_subs)  # a tiny dev set: one submission per fold (leave-one-out)
    if folds >= 2:
        held_out = held_out_scores(rows, args.speech, args.mllm, folds, **kwargs)
        own, own_marks = own_overall(preds, args.mllm, sorted({sub for a in rows for sub in a.submission_ids}))
        if own is not None:  # the session grader's own overall: its dev residuals as they are (nothing fitted)
            held_out["mllm"] = replace(held_out["mllm"], own_overall=own, own_overall_marks=own_marks)
        method = (f"fused residuals cross-fitted over {folds} folds of submissions; each grader alone "
                  "scored as it is")
        intervals = fit_intervals(held_out, grader_states(preds, {"speech": args.speech, "mllm": args.mllm}),
                                  method, coverage=args.coverage, min_region_count=args.min_region_count)
        weights = replace(weights, intervals=intervals)
    save_fusion(weights, args.out)
    print("w_k (weight on the multimodal score) per interval: " + ", ".join(f"{w:.2f}" for w in weights.weights))
    print("dev RMSE: " + ", ".join(f"{k} {v:.3f}" for k, v in (weights.dev_rmse or {}).items()))
    if weights.intervals is None:
        print(f"no score intervals: {n_subs} submission(s) cannot be cross-fitted (at least 2 are needed)")
    else:
        print(f"{args.coverage:.0%} interval half-widths (global; n/a: too few dev items for that coverage):")
        for system, targets in weights.intervals.table.items():
            cells = [f"{t} {'n/a' if w.half_width is None else f'{w.half_width:.2f}'}" for t, w in targets.items()
                     if t.startswith("part") or t in ("overall:" + "+".join(map(str, PARTS)), "overall:own")]
            print(f"  {system}: " + ", ".join(cells))
    print(f"saved {args.out} ({weights.source})")
    return 0
