"""`python -m sla_core predict`: one system's scores for every submission of a split, as a predictions file.

Writes part rows and "overall" rows, named by the system (W2V, Phi4-STG, Phi4-CTG-TA/-AO/-TO, BERT, Phi4-MTL), and
with --per-response one row per answer scored on its own. The session grader (--grader session, Phi4-MTL)
scores each submission as one session with its acoustic prior (--prior, or the speech graders it was trained
with); its overall row is its own overall output. With --official-dir it also writes the official
scorer's files (one `submissionID<TAB>score` file per part and one overall, in the reference's order).
Answers with too little speech follow `research.answers` (the rule training uses too); a part left with
none still gets a score, the bottom of the scale, noted in its row. Transcripts the corpus lacks (train,
eval: no CTM) come from the project's ASR through the transcript cache, so a second run transcribes nothing.
The file feeds `fit-fusion` (dev) and `evaluate`. See `sla_core/research/predictions.py`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..parts import PARTS

GRADERS = ("speech", "mllm", "bert", "session")
TEXT_ONLY = ("bert",)  # graders that never look at the audio


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="score a split with one grader and write a predictions file",
                              description=__doc__)
    p.add_argument("--grader", choices=GRADERS, required=True)
    p.add_argument("--data", required=True, help="S&I corpus root or CSV manifest")
    p.add_argument("--split", help="S&I split (dev, train, eval); the label written for a CSV (default: the file name)")
    p.add_argument("--out", required=True, help="predictions file to write (.tsv)")
    p.add_argument("--checkpoint", help="trained grader: speech part*/ folder, mllm adapters folder, bert folder, "
                                        "session adapter folder (train session --out)")
    p.add_argument("--tiny", action="store_true", help="tiny random models, offline (scores are not grades)")
    p.add_argument("--parts", type=int, nargs="+", default=list(PARTS), help="parts to score")
    p.add_argument("--per-response", action="store_true", help="also score each answer alone (one row per answer)")
    p.add_argument("--no-ctm", action="store_true", help="ignore the corpus CTM: every transcript from --asr")
    p.add_argument("--asr", choices=("whisper", "phi4", "tiny", "none"),
                   help="ASR for transcripts the data lacks (bert, mllm TA/TO): whisper (openai/whisper-small, the "
                        "baseline's), phi4 (mllm's own speech adapter), tiny (random, offline), none "
                        "(default: tiny with --tiny, else whisper)")
    p.add_argument("--asr-model", help="Whisper checkpoint for --asr whisper (hub id or folder)")
    p.add_argument("--transcript-cache", help="transcript cache folder (default $SLA_DATA_DIR/cache/transcripts)")
    p.add_argument("--official-dir", help="also write the official scorer's files ({split}-sla-P#.tsv, -overall.tsv) here")
    p.add_argument("--mllm-mode", choices=("stg", "ctg"), default="stg")
    p.add_argument("--mllm-variant", choices=("TA", "AO", "TO"),
                   help="input variant (default: the one the adapters were trained on, else TA)")
    p.add_argument("--mllm-model", help="Phi-4-multimodal hub id or folder (default: the grader's)")
    p.add_argument("--device", help="cuda / cpu (default: cuda when available)")
    p.add_argument("--prior", help="session: the acoustic prior as W2V predictions of this split (default: the "
                                   "speech graders of --speech-checkpoints, else those the adapter was trained with)")
    p.add_argument("--speech-checkpoints", help="session: speech graders that give the acoustic prior")
    p.add_argument("--no-prior", action="store_true", help="session: score without the acoustic prior ('not available')")
    p.add_argument("--batch-size", type=int, default=2, help="session: learners per forward pass (default 2)")
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
    if name == "session":
        from ..graders.session import load_session_grader

        kwargs = {"model_id": mllm_model} if mllm_model else {}
        return load_session_grader(adapter=checkpoint, device=device, tiny=tiny, **kwargs)
    raise ValueError(f"unknown grader {name!r}; expected one of {GRADERS}")


def predict(grader, submissions, split: str, parts: Sequence[int] = PARTS, per_response: bool = False,
            progress: bool | None = None, system: str | None = None) -> tuple[list, list[str]]:
    """Score every submission; returns (predictions, problems). One submission's parts go in one call.

    Each part hears only its gradable answers (`research.answers`); a part with none gets NO_SPEECH_SCORE
    and a note. The overall row is the mean of the parts scored (the BERT baseline: its calibrated mean),
    against the corpus's overall mark (holistic for an incomplete train submission).
    """
    from ..research.answers import NO_SPEECH_NOTE, NO_SPEECH_SCORE, gate_part, part_input
    from ..research.predictions import OVERALL, Prediction
    from ..research.train.common import progress as bar

    system = system or grader.name
    with_audio = grader.name not in TEXT_ONLY
    state = grader.info().state
    preds, problems = [], []
    for sub in bar(submissions, f"predict {system} {split}", total=len(submissions),
                   disable=None if progress is None else not progress):
        inputs, kept, silent = [], [], []
        for pr in sub.parts:
            if pr.part not in parts:
                continue
            gated = gate_part(pr, keep_audio=with_audio)
            problems += [f"{sub.submission_id}: {p}" for p in gated.problems]
            if gated.kept:
                inputs.append(part_input(pr, gated, sub.submission_id, with_audio))
                kept.append(gated.kept)
            else:
                silent.append(pr)
        scores = grader.score(inputs) if inputs else []
        by_part = {}
        for inp, s, idx in zip(inputs, scores, kept):
            mark = sub.part(inp.part).mark
            by_part[inp.part] = s.score
            preds.append(Prediction(split, sub.submission_id, inp.part, system, s.score, mark, s.state))
            if per_response:
                preds += _per_response(grader, sub, inp, idx, mark, split, system)
        for pr in silent:
            by_part[pr.part] = NO_SPEECH_SCORE
            preds.append(Prediction(split, sub.submission_id, pr.part, system, NO_SPEECH_SCORE, pr.mark, state,
                                    note=NO_SPEECH_NOTE))
        if by_part and set(by_part) == set(sub.part_numbers):  # every part it has (not a --parts subset)
            overall = grader.overall(by_part) if hasattr(grader, "overall") else sum(by_part.values()) / len(by_part)
            states = "/".join(sorted({s.state for s in scores} or {state}))
            note = f"includes part(s) {sorted(p.part for p in silent)} with no gradable speech" if silent else ""
            preds.append(Prediction(split, sub.submission_id, OVERALL, system, overall, sub.overall_mark, states,
                                    note=note))
    return preds, problems


def predict_sessions(grader, submissions, split: str, priors=None, system: str = "Phi4-MTL", batch_size: int = 2,
                     progress: bool | None = None) -> tuple[list, list[str]]:
    """The session grader over every submission: one session per submission (its gradable answers), a part row
    per part it heard, and an overall row holding its own overall output (noted OWN_OVERALL_NOTE).

    priors: submission -> part -> the acoustic prior (None or absent: "not available"). A part with no
    gradable speech gets NO_SPEECH_SCORE as in `predict`, and the session grader does not hear it.
    """
    from ..research.answers import NO_SPEECH_NOTE, NO_SPEECH_SCORE, gate_part, part_input
    from ..research.predictions import OVERALL, OWN_OVERALL_NOTE, Prediction
    from ..research.train.common import progress as bar

    priors = priors or {}
    preds, problems, todo = [], [], []  # todo: (submission, its inputs, its silent parts)
    for sub in submissions:
        inputs, silent = [], []
        for pr in sub.parts:
            gated = gate_part(pr)
            problems += [f"{sub.submission_id}: {p}" for p in gated.problems]
            (inputs.append(part_input(pr, gated, sub.submission_id, True)) if gated.kept else silent.append(pr))
        for pr in silent:
            preds.append(Prediction(split, sub.submission_id, pr.part, system, NO_SPEECH_SCORE, pr.mark,
                                    grader.state, note=NO_SPEECH_NOTE))
        if inputs:
            todo.append((sub, inputs, silent))
    starts = range(0, len(todo), batch_size)
    for start in bar(starts, f"predict {system} {split}", total=len(starts),
                     disable=None if progress is None else not progress):
        chunk = todo[start:start + batch_size]
        outs = grader.score_sessions([inputs for _, inputs, _ in chunk], [priors.get(s.submission_id) for s, _, _ in chunk])
        for (sub, _, silent), out in zip(chunk, outs):
            for s in out.parts:
                preds.append(Prediction(split, sub.submission_id, s.part, system, s.score, sub.part(s.part).mark, s.state))
            note = OWN_OVERALL_NOTE + (f"; part(s) {sorted(p.part for p in silent)} had no gradable speech and were "
                                       "not heard" if silent else "")
            preds.append(Prediction(split, sub.submission_id, OVERALL, system, out.overall.score, sub.overall_mark,
                                    out.overall.state, note=note))
    return preds, problems


def session_priors(args, grader, subs, split: str):
    """The acoustic prior for `predict --grader session`: a W2V predictions file, live speech graders, or none."""
    from pathlib import Path

    from ..research.prior import read_prior, speech_prior_rows

    if args.no_prior or grader.config.prior == "none":
        return {}
    if args.prior:
        return read_prior(args.prior, split=split)
    folder = args.speech_checkpoints or grader.config.prior_source
    if folder is None or not Path(folder).is_dir():
        raise SystemExit(f"predict: error: the session grader reads an acoustic prior from trained speech graders "
                         f"(trained with {grader.config.prior_source or 'none recorded'}): give --speech-checkpoints "
                         f"DIR or --prior FILE (W2V predictions of {split}), or --no-prior to score without it")
    from ..graders.speech import load_speech_graders

    parts = [p for p in args.parts if (Path(folder) / f"part{p}").is_dir()]
    graders = load_speech_graders(folder, parts=parts, device=args.device)
    prior: dict[str, dict[int, float]] = {}
    for row in speech_prior_rows(graders, subs, split):
        prior.setdefault(row.submission_id, {})[int(row.part)] = row.score
    print(f"acoustic prior: speech graders {folder} ({len(prior)} submissions)", file=sys.stderr)
    return prior


def _per_response(grader, sub, inp, kept, mark, split: str, system: str) -> list:
    """Each answer of a part scored alone (the part mark is the only reference the corpus has)."""
    from dataclasses import replace

    from ..research.predictions import Prediction

    responses = [sub.part(inp.part).responses[i] for i in kept]
    singles = [replace(inp, waveforms=(w,), questions=(q,), transcripts=(t,))
               for w, q, t in zip(inp.waveforms, inp.questions, inp.transcripts)]
    return [Prediction(split, sub.submission_id, inp.part, system, s.score, mark, s.state,
                       item=r.item or str(i + 1), utt_id=r.utt_id)
            for i, (r, s) in zip(kept, zip(responses, grader.score(singles)))]


def reads_text(grader) -> bool:
    """Whether the grader reads transcripts (BERT always; the multimodal grader in TA and TO)."""
    if grader.name in TEXT_ONLY:
        return True
    if grader.name == "mllm":
        from ..graders.prompts import uses_transcript

        return uses_transcript(grader.variant)
    return False


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from ..research.corpus import is_si_root, load_submissions, reference_order
    from ..research.predictions import OVERALL, system_name, write_predictions
    from ..research.transcripts import fill_transcripts, load_asr

    split = args.split or Path(args.data).stem
    subs = load_submissions(args.data, args.split, parts=args.parts, ctm=None if args.no_ctm else "pre-norm")
    if args.limit:
        subs = subs[:args.limit]
    grader = load_grader(args.grader, args.checkpoint, args.tiny, args.parts, args.device,
                         args.mllm_mode, args.mllm_variant, args.mllm_model)
    info = grader.info()
    system = system_name(args.grader, args.mllm_mode, getattr(grader, "variant", "TA"))
    problems: list[str] = []
    if reads_text(grader):
        kind = args.asr or ("tiny" if args.tiny else "whisper")
        asr = load_asr(kind, model_id=args.asr_model, device=args.device, cache_dir=args.transcript_cache,
                       grader=grader if kind == "phi4" else None)
        start = time.perf_counter()
        subs = fill_transcripts(subs, asr, desc=f"ASR {split}", problems=problems)
        if asr is not None and asr.hits + asr.misses:
            print(f"ASR {asr.model_id}: {asr.misses} answers transcribed, {asr.hits} from the cache "
                  f"({asr.cache.root}) in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    start = time.perf_counter()
    if args.grader == "session":
        if args.per_response:
            raise SystemExit("predict: error: --per-response: the session grader scores whole sessions, not answers")
        priors = session_priors(args, grader, subs, split)
        start = time.perf_counter()
        preds, more = predict_sessions(grader, subs, split, priors, system, args.batch_size)
    else:
        preds, more = predict(grader, subs, split, args.parts, args.per_response, system=system)
    seconds = time.perf_counter() - start
    problems += more
    write_predictions(args.out, preds)
    for problem in problems:
        print(f"left out: {problem}", file=sys.stderr)
    n_parts = sum(1 for p in preds if p.part != "overall" and not p.per_response)
    print(f"{system} ({info.state}, {info.source}): {n_parts} part scores for {len(subs)} submissions "
          f"of {split} in {seconds:.1f} s -> {args.out}")
    if args.official_dir:
        from ..research.official import write_official

        order = None
        if is_si_root(args.data) and not args.limit:
            order = {row: reference_order(args.data, args.split, row) for row in (*args.parts, OVERALL)}
        written, gaps = write_official(args.official_dir, preds, split, order)
        for gap in gaps:
            print(f"official files: {gap}", file=sys.stderr)
        print(f"official scorer files: {', '.join(str(w) for w in written)}")
    if info.state != "trained":
        print(f"note: the {args.grader} grader is {info.state}; these scores are not grades", file=sys.stderr)
    return 0
