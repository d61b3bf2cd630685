"""`python -m sla_core evaluate`: the paper's Table 1 and per-part RMSE chart from predictions files.

One call makes every row: give it the predictions of each system (BERT, W2V, Phi4-STG, Phi4-CTG-TA/-AO/-TO,
Phi4-MTL) and the fusion weights; the fused row names the two systems it fuses (--speech, --mllm).

The protocol that tells a gain from noise (sla_core/research/protocol.py): every system's overall RMSE per
CEFR band of the reference mark and their macro mean; --runs summarises several runs (seeds) of one system
(mean, median, min-max, sd, 95% CI); --compare A B runs a paired bootstrap of RMSE(A) - RMSE(B) on the
submissions both scored (--bootstrap-resamples, --bootstrap-seed: both printed).

Writes report.md, report.json, rmse_per_part.html and rmse_per_part.png (when kaleido and a
Chrome/Chromium are installed) into --out-dir, and prints the markdown.
"""

from __future__ import annotations

import argparse

from ..research.protocol import DEFAULT_RESAMPLES, DEFAULT_SEED


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="write the evaluation report (Table 1 layout)", description=__doc__)
    p.add_argument("--predictions", nargs="+", required=True, help="predictions file(s), any graders")
    p.add_argument("--out-dir", required=True, help="folder for report.md / report.json / charts")
    p.add_argument("--split", help="evaluate only rows of this split (e.g. eval)")
    p.add_argument("--fusion", help="fusion-weights JSON from fit-fusion: adds the fused system")
    p.add_argument("--speech", default="W2V", help="system name of the speech scores to fuse (default W2V)")
    p.add_argument("--mllm", default="Phi4-STG", help="system name of the multimodal scores to fuse (default Phi4-STG)")
    p.add_argument("--marks", help="folder of official-format marks ({split}-sla-P#.tsv, -overall.tsv), e.g. the eval "
                                   "marks released after the challenge: they become the references (needs --split)")
    p.add_argument("--png", action=argparse.BooleanOptionalAction, default=True, help="also write the chart as PNG")
    p.add_argument("--runs", nargs="+", action="append", default=[], metavar="FILE",
                   help="predictions files of several runs (seeds) of ONE system, one file per run: their overall "
                        "RMSE summarised (repeat --runs for another system)")
    p.add_argument("--compare", nargs=2, action="append", default=[], metavar=("A", "B"),
                   help="paired bootstrap of overall RMSE(A) - RMSE(B), system names as in the report "
                        "(a fused row by its full name); repeatable")
    p.add_argument("--bootstrap-resamples", type=int, default=DEFAULT_RESAMPLES,
                   help=f"resamples of the paired bootstrap (default {DEFAULT_RESAMPLES})")
    p.add_argument("--bootstrap-seed", type=int, default=DEFAULT_SEED,
                   help=f"seed of the paired bootstrap (default {DEFAULT_SEED})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..research.evaluation import add_comparison, add_runs, build_report, to_markdown, write_report
    from ..research.predictions import read_predictions

    weights = None
    if args.fusion:
        from ..fusion import load_fusion

        weights = load_fusion(args.fusion)
    marks = None
    if args.marks:
        from ..research.official import read_official_marks

        if not args.split:
            raise SystemExit("evaluate: error: --marks needs --split (the marks files are named by split)")
        marks = read_official_marks(args.marks, args.split)

    def read(*paths):
        from ..research.predictions import with_references

        found = read_predictions(*paths)
        return found if marks is None else with_references(found, marks, args.split)

    report = build_report(read(*args.predictions), split=args.split, fusion_weights=weights, speech=args.speech,
                          mllm=args.mllm)
    try:
        for files in args.runs:
            add_runs(report, [read(f) for f in files], split=args.split)
        for a, b in args.compare:
            add_comparison(report, a, b, resamples=args.bootstrap_resamples, seed=args.bootstrap_seed)
    except ValueError as e:
        raise SystemExit(f"evaluate: error: {e}") from e
    written = write_report(report, args.out_dir, png=args.png)
    print(to_markdown(report))
    for kind, where in written.items():
        print(f"{kind}: {where}")
    return 0
