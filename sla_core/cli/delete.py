"""`python -m sla_core delete`: delete saved results with their recordings (a learner, or a whole session).

    python -m sla_core delete --list                      # sessions: id, owner, name, learners
    python -m sla_core delete --session 12                # a session, its results and recordings
    python -m sla_core delete --session 12 --learner Ana  # one learner's results in that session
    python -m sla_core delete --purge-recordings 30       # recordings older than 30 days (0: all)

Run by the machine's own user: it sees every teacher's sessions (the app shows each teacher only theirs).
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
        if args.learner is None:
            store.delete_session(info.id)
            print(f"deleted session {info.id} ({info.name}, {info.n_results} learner(s)) and its recordings")
            return 0
        ids = [i for i, a in zip(store.result_ids(info.id), store.load(info.id)) if (a.learner or "") == args.learner]
        if not ids:
            learners = sorted({a.learner or "" for a in store.load(info.id)})
            print(f"no learner {args.learner!r} in session {info.id}; it has {', '.join(learners)}", file=sys.stderr)
            return 2
        for result_id in ids:
            store.delete_result(result_id)
        print(f"deleted {len(ids)} result(s) of {args.learner} in session {info.id} and their recordings")
        return 0
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
