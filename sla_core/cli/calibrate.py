"""`python -m sla_core calibrate`: fit the system to a teacher's marking from a CSV manifest of graded recordings.

    python -m sla_core calibrate --manifest graded.csv --name my-class [model flags]
    python -m sla_core calibrate --list
    python -m sla_core assess --calibration my-class --part3 answer.wav

Exit status: 0 when the profile was saved (or listed), 1 when calibration did not help or there were
too few responses (nothing saved unless --force), 2 for usage errors and unreadable manifests.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from .assess import add_assessor_arguments, assessor_config


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="calibrate to a teacher's marking from graded recordings (a named profile)",
        description="Fit the speech grader's prototypes, a linear map of each grader's score and the fusion "
                    "weight to your own graded recordings (10-40 responses), check it by leave-one-out, and "
                    "save it as a named profile when it helps. Use the profile with `assess --calibration NAME`.",
    )
    parser.add_argument("--manifest", help="CSV: learner,part,audio,question,transcript,score (score = your mark)")
    parser.add_argument("--name", help="profile name (letters, digits, '.', '_', '-')")
    parser.add_argument("--list", action="store_true", help="list the saved profiles and exit")
    parser.add_argument("--profiles", help="profiles folder (default $SLA_DATA_DIR/profiles or "
                                           "~/.local/share/sla-demo/profiles)")
    parser.add_argument("--cache", help="embedding cache folder (default $SLA_DATA_DIR/cache/calibration or "
                                        "~/.cache/sla-demo/calibration)")
    parser.add_argument("--force", action="store_true", help="save the profile even when it did not help")
    parser.add_argument("--overwrite", action="store_true", help="replace a saved profile of the same name")
    add_assessor_arguments(parser)
    parser.set_defaults(func=run)


def _list(root) -> int:
    from ..calibration import default_profiles_root, list_profiles

    infos = list_profiles(root)
    if not infos:
        print(f"No calibration profiles in {root or default_profiles_root()}.")
        return 0
    for info in infos:
        print(f"{info.label}    [{', '.join(info.graders)}]  {info.path}")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..calibration import (
        EmbeddingCache,
        check_profile_name,
        collect_exemplars,
        describe,
        fit_calibration,
        save_profile,
    )

    if args.list:
        return _list(args.profiles)
    if not args.manifest or not args.name:
        print("error: give --manifest graded.csv and --name PROFILE (or --list)", file=sys.stderr)
        return 2
    try:
        check_profile_name(args.name)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from ..assess import load_assessor
    from ..manifest import read_manifest

    try:
        submissions = read_manifest(args.manifest)
    except ValueError as e:  # CorpusError names the file and line
        print(f"error: {e}", file=sys.stderr)
        return 2
    config = assessor_config(args)
    if config.calibration:
        print(f"note: calibrating the uncalibrated system; profile {config.calibration!r} is not loaded",
              file=sys.stderr)
        config = replace(config, calibration=None)
    assessor = load_assessor(config)
    cache = EmbeddingCache(args.cache) if args.cache else None
    try:
        data = collect_exemplars(assessor, submissions, cache=cache, progress=_progress_bar())
        result = fit_calibration(data, name=args.name)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(describe(result))
    if not result.applies and not args.force:
        print("Nothing saved (use --force to save it anyway).")
        return 1
    if not result.applies:
        print(f"warning: saving profile {args.name!r} although it did not help ({result.reason})", file=sys.stderr)
    try:
        folder = save_profile(result.profile, args.profiles, overwrite=args.overwrite)
    except FileExistsError as e:
        print(f"error: {e} (pass --overwrite to replace it)", file=sys.stderr)
        return 2
    print(f"Saved profile {args.name!r} to {folder}. Use it with: python -m sla_core assess --calibration "
          f"{args.name if args.profiles is None else folder} ...")
    return 0


def _progress_bar():
    """A tqdm bar on stderr driven by the (fraction, message) callback."""
    from tqdm import tqdm

    bar = tqdm(total=1000, desc="Listening", file=sys.stderr, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def report(fraction: float, message: str) -> None:
        bar.n = int(1000 * fraction)
        bar.set_postfix_str(message, refresh=True)
        if fraction >= 1.0:
            bar.close()

    return report
