"""`python -m sla_core transcribe`: make a split's transcripts once, keep them in the cache, export them.

The S&I corpus has the baseline's CTMs for dev only; the train and eval answers need the project's
ASR. This command fills the transcript cache (the data folder's, shared by `predict` and `train`) and
writes `uttID<TAB>words` (or, with --ctm, a CTM where the transcriber gave word times). Run again, it
transcribes nothing.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    from ..research.transcripts import ASR_CHOICES

    p = subparsers.add_parser("transcribe", help="transcribe a split once (cached) and export uttID<TAB>words",
                              description=__doc__)
    p.add_argument("--data", required=True, help="S&I corpus root or CSV manifest")
    p.add_argument("--split", help="S&I split (dev, train, eval)")
    p.add_argument("--out", required=True, help="file to write: uttID<TAB>words lines (or a CTM with --ctm)")
    p.add_argument("--asr", choices=[a for a in ASR_CHOICES if a not in ("phi4", "none")], default="whisper",
                   help="whisper (default openai/whisper-small, the baseline's ASR) or tiny (random, offline)")
    p.add_argument("--asr-model", help="Whisper checkpoint: hub id or folder")
    p.add_argument("--transcript-cache", help="cache folder (default $SLA_DATA_DIR/cache/transcripts)")
    p.add_argument("--use-ctm", action="store_true", help="keep the corpus CTM's words where the split has them")
    p.add_argument("--ctm", action="store_true", help="write a CTM (uttID 1 start dur word) instead of words")
    p.add_argument("--device", help="cuda / cpu (default: cuda when available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from ..research.corpus import load_submissions
    from ..research.transcripts import export_words, fill_transcripts, load_asr

    subs = load_submissions(args.data, args.split, ctm="pre-norm" if args.use_ctm else None)
    asr = load_asr(args.asr, model_id=args.asr_model, device=args.device, cache_dir=args.transcript_cache)
    problems: list[str] = []
    digests: dict[str, str] = {}
    start = time.perf_counter()
    subs = fill_transcripts(subs, asr, desc=f"ASR {args.split or args.data}", problems=problems, digests=digests)
    seconds = time.perf_counter() - start
    for problem in problems:
        print(f"not transcribed: {problem}", file=sys.stderr)
    if args.ctm:
        try:
            asr.cache.export(args.out, digests, asr.model_id, ctm=True)
        except ValueError as e:
            print(f"transcribe: error: {e}", file=sys.stderr)
            return 2
    else:
        export_words(subs, args.out)
    print(f"{len(digests)} answers: {asr.misses} transcribed by {asr.model_id}, {asr.hits} from the cache "
          f"({asr.cache.root}) in {seconds:.1f} s -> {args.out}")
    return 0
