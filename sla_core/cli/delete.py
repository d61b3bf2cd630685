"""`python -m sla_core delete`: delete saved results with their recordings (a learner, or a whole session).

    python -m sla_core delete --list                      # sessions: id, owner, name, learners
    python -m sla_core delete --session 12                # a session, its results and recordings
    python -m sla_core delete --session 12 --learner Ana  # one learner's results in that session
    python -m sla_core delete --purge-recordings 30       # recordings older than 30 days (0: all)

Run by the machine's own user: it sees every teacher's sessions (the app shows each teacher only theirs).
A deletion goes as far as the app's own: the rows (results, the plan's names and file hashes), the kept
recordings, then every copy - the app's work folders of every run (`$SLA_WORK_DIR`, default
<temp dir>/sla-app-<uid>: unpacked uploads, gradio's upload cache, the session's downloads), the transcript
and calibration caches - and the owner's calibration profiles fitted on the learner's marks are flagged.
The database is compacted (secure_delete, WAL checkpoint, VACUUM) so the file keeps no trace.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("delete", help="delete saved results and their recordings", description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="results file (default $SLA_DB, $SLA_DATA_DIR or ~/.local/share/sla-demo)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true", help="list the saved sessions")
    what.add_argument("--session", type=int, help="the session id (see --list)")
    what.add_argument("--purge-recordings", type=float, metavar="DAYS",
                      help="delete kept recordings saved more than DAYS ago (0: all); the scores stay")
    p.add_argument("--learner", help="with --session: delete only this learner's results")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..results.erasure import erase
    from ..results.store import ResultStore

    store = ResultStore(args.db)
    if args.list:
        for s in store.sessions():
            print(f"{s.id}\t{s.owner or '-'}\t{s.created[:10]}\t{s.n_results} learner(s)\t{s.name}")
        return 0
    if args.purge_recordings is not None:
        print(f"deleted {store.purge_recordings(args.purge_recordings)} recording(s)")
        return 0
    try:
        info = store.session(args.session)
        report = erase(store, info.id, learner=args.learner, places=_places(info.owner))
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    what = f"session {info.id} ({info.name}, {info.n_results} learner(s))" if args.learner is None else \
        f"{report.results} result(s) of {args.learner} in session {info.id}"
    print(f"deleted {what} and their recordings; copies removed: {report.copies} file(s), "
          f"{report.transcripts} transcript(s), {report.cache_entries} calibration cache entr(ies), "
          f"{report.downloads} download(s)" + (f"; profiles flagged: {', '.join(report.profiles_flagged)}"
                                               if report.profiles_flagged else ""))
    return 0


def _places(owner: str):
    """Every place the app may have copied a learner's data to, for every run on this machine."""
    from ..asr import default_transcript_cache_dir
    from ..calibration import default_cache_dir, default_profiles_root
    from ..results.erasure import Places
    from ..results.workfolders import DOWNLOADS, run_folders

    runs = list(run_folders())
    profiles = default_profiles_root() / ".teachers" / owner if owner else default_profiles_root()
    return Places(folders=tuple(runs), transcript_cache=default_transcript_cache_dir(),
                  calibration_cache=default_cache_dir(), profiles=(profiles,),
                  downloads=tuple(run / "gradio" / DOWNLOADS for run in runs))
