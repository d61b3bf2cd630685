"""`python -m sla_core predict`: one grader's scores for every submission of a split, as a predictions file.

Writes part rows, "overall" rows (complete submissions) and, with --per-response, one row per answer
scored on its own. The file feeds `fit-fusion` (dev) and `evaluate` (eval). See `sla_core/research/predictions.py`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..parts import PARTS

GRADERS = ("speech", "mllm", "bert")
TEXT_ONLY = ("bert",)  # graders that never look at the audio


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="score a split with one grader and write a predictions file",
                              description=__doc__)
    p.add_argument("--grader", choices=GRADERS, required=True)
    p.add_argument("--data", required=True, help="S&I corpus root or CSV manifest")
    p.add_argument("--split", help="S&I split (dev, train, eval); the label written for a CSV (default: the file name)")
    p.add_argument("--out", required=True, help="predictions file to write (.tsv)")
    p.add_argument("--checkpoint", help="trained grader: speech part*/ folder, mllm adapters folder, bert folder")
    p.add_argument("--tiny", action="store_true", help="tiny random models, offline (scores are not grades)")
    p.add_argument("--parts", type=int, nargs="+", default=list(PARTS), help="parts to score")
    p.add_argument("--per-response", action="store_true", help="also score each answer alone (one row per answer)")
    p.add_argument("--no-ctm", action="store_true", help="ignore the corpus ASR (CTM); transcripts stay unknown")
    p.add_argument("--mllm-mode", choices=("stg", "ctg"), default="stg")
    p.add_argument("--mllm-variant", choices=("TA", "AO", "TO"), default="TA")
    p.add_argument("--mllm-model", help="Phi-4-multimodal hub id or folder (default: the grader's)")
    p.add_argument("--device", help="cuda / cpu (default: cuda when available)")
    p.add_argument("--limit", type=int, help="score only the first N submissions (a quick look)")
    p.set_defaults(func=run)


def load_grader(name: str, checkpoint: str | None, tiny: bool, parts: Sequence[int], device: str | None = None,
                mllm_mode: str = "stg", mllm_variant: str = "TA", mllm_model: str | None = None):
    """A grader by name, from a trained artifact or tiny; its `info().state` says which."""
    if name == "bert":
        from ..graders.bert import TINY, load_bert_grader

        if not checkpoint and not tiny:
            raise ValueError("the BERT grader needs --checkpoint (a folder from `train bert`) or --tiny")
        from ..research.train.common import pick_device

        return load_bert_grader(TINY if tiny else checkpoint, device=pick_device(device or "auto"))
    if name == "speech":
        from ..graders.speech import load_speech_graders

        return load_speech_graders(checkpoint, parts=parts, tiny=tiny, device=device)
    if name == "mllm":
        from ..graders.mllm import load_mllm_grader

        kwargs = {"model_id": mllm_model} if mllm_model else {}
        return load_mllm_grader(adapters=checkpoint, mode=mllm_mode, variant=mllm_variant, device=device,
                                tiny=tiny, **kwargs)
    raise ValueError(f"unknown grader {name!r}; expected one of {GRADERS}")


def part_inputs(submission, parts: Sequence[int], with_audio: bool) -> tuple[list, list[str]]:
    """PartInputs of one submission (audio loaded unless text-only) and the problems met."""
    from ..audio import AudioIssue, load_audio
    from ..data import PartInput

    inputs, problems = [], []
    for pr in submission.parts:
        if pr.part not in parts:
            continue
        waves = []
        for i, r in enumerate(pr.responses):
            if not with_audio:
                waves.append(None)
                continue
            try:  # corpus answers are scored as they are: no speech-length gate, unlike `assess`
                waves.append(load_audio(r.audio_path, part=pr.part, answer=i))
            except AudioIssue as issue:
                problems.append(f"{submission.submission_id}: {issue}")
                break
        else:
            inputs.append(PartInput(part=pr.part, waveforms=tuple(waves), submission_id=submission.submission_id,
                                    questions=tuple(r.question for r in pr.responses),
                                    transcripts=tuple(r.transcript for r in pr.responses)))
    return inputs, problems


def predict(grader, submissions, split: str, parts: Sequence[int] = PARTS, per_response: bool = False,
            progress: bool | None = None) -> tuple[list, list[str]]:
    """Score every submission; returns (predictions, problems). One submission's parts go in one call."""
    from ..research.predictions import OVERALL, Prediction
    from ..research.train.common import progress as bar

    with_audio = grader.name not in TEXT_ONLY
    preds, problems = [], []
    for sub in bar(submissions, f"predict {grader.name} {split}", total=len(submissions),
                   disable=None if progress is None else not progress):
        inputs, issues = part_inputs(sub, parts, with_audio)
        problems += issues
        if not inputs:
            continue
        scores = grader.score(inputs)
        by_part = {}
        for inp, s in zip(inputs, scores):
            mark = sub.part(inp.part).mark
            by_part[inp.part] = s.score
            preds.append(Prediction(split, sub.submission_id, inp.part, grader.name, s.score, mark, s.state))
            if per_response:
                preds += _per_response(grader, sub, inp, mark, split)
        if set(by_part) == set(PARTS):
            overall = grader.overall(by_part) if hasattr(grader, "overall") else sum(by_part.values()) / len(by_part)
            state = "/".join(sorted({s.state for s in scores}))
            preds.append(Prediction(split, sub.submission_id, OVERALL, grader.name, overall, sub.overall_mark, state))
    return preds, problems


def _per_response(grader, sub, inp, mark, split: str) -> list:
    """Each answer of a part scored alone (the part mark is the only reference the corpus has)."""
    from dataclasses import replace

    from ..research.predictions import Prediction

    responses = sub.part(inp.part).responses
    singles = [replace(inp, waveforms=(w,), questions=(q,), transcripts=(t,))
               for w, q, t in zip(inp.waveforms, inp.questions, inp.transcripts)]
    return [Prediction(split, sub.submission_id, inp.part, grader.name, s.score, mark, s.state,
                       item=r.item or str(i + 1), utt_id=r.utt_id)
            for i, (r, s) in enumerate(zip(responses, grader.score(singles)))]


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..research.corpus import load_submissions
    from ..research.predictions import write_predictions

    split = args.split or Path(args.data).stem
    subs = load_submissions(args.data, args.split, parts=args.parts, ctm=None if args.no_ctm else "pre-norm")
    if args.limit:
        subs = subs[:args.limit]
    grader = load_grader(args.grader, args.checkpoint, args.tiny, args.parts, args.device,
                         args.mllm_mode, args.mllm_variant, args.mllm_model)
    info = grader.info()
    preds, problems = predict(grader, subs, split, args.parts, args.per_response)
    write_predictions(args.out, preds)
    for problem in problems:
        print(f"skipped: {problem}", file=sys.stderr)
    n_parts = sum(1 for p in preds if p.part != "overall" and not p.per_response)
    print(f"{args.grader} ({info.state}, {info.source}): {n_parts} part scores for {len(subs)} submissions "
          f"of {split} -> {args.out}")
    if info.state != "trained":
        print(f"note: the {args.grader} grader is {info.state}; these scores are not grades", file=sys.stderr)
    return 0
