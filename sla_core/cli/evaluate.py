"""`python -m sla_core evaluate`: the paper's Table 1 and per-part RMSE chart from predictions files.

One call makes every row: give it the predictions of each system (BERT, W2V, Phi4-STG, Phi4-CTG-TA/-AO/-TO)
and the fusion weights; the fused row names the two systems it fuses (--speech, --mllm).

Writes report.md, report.json, rmse_per_part.html and rmse_per_part.png (when kaleido and a
Chrome/Chromium are installed) into --out-dir, and prints the markdown.
"""

from __future__ import annotations

import argparse


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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..research.evaluation import build_report, to_markdown, write_report
    from ..research.predictions import read_predictions

    weights = None
    if args.fusion:
        from ..fusion import load_fusion

        weights = load_fusion(args.fusion)
    predictions = read_predictions(*args.predictions)
    if args.marks:
        from ..research.official import read_official_marks
        from ..research.predictions import with_references

        if not args.split:
            raise SystemExit("evaluate: error: --marks needs --split (the marks files are named by split)")
        predictions = with_references(predictions, read_official_marks(args.marks, args.split), args.split)
    report = build_report(predictions, split=args.split, fusion_weights=weights, speech=args.speech, mllm=args.mllm)
    written = write_report(report, args.out_dir, png=args.png)
    print(to_markdown(report))
    for kind, where in written.items():
        print(f"{kind}: {where}")
    return 0
