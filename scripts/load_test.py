"""Load test: N teachers (default 8) log in and assess at once through the HTTP API on 127.0.0.1.

    python scripts/load_test.py                 # 8 teachers x 3 assessments, tiny speech grader, CPU
    python scripts/load_test.py --teachers 8 --rounds 1 --mllm auto

Each teacher is a gradio_client on its own thread, logged in as its own user; every request must complete,
and each teacher's store must hold exactly their own results. Prints latency min / median / max (seconds,
wall clock from submit to result: queue wait included). Absolute times depend on the machine; compare runs
on one machine.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run(teachers: int = 8, rounds: int = 3, mllm: str = "off", workdir: str | Path | None = None) -> dict:
    """Start the app, run the load, stop the app; returns {"latencies": [...], "errors": [...], "per_teacher": {...}}."""
    from gradio_client import Client, handle_file

    import app
    from sla_core.assess import AssessorConfig, load_assessor
    from sla_core.results.store import ResultStore
    from sla_core.results.users import add_user

    root = Path(workdir or tempfile.mkdtemp(prefix="sla-load-"))
    auth = root / "teachers.auth"
    users = {f"teacher{k}": f"password-{k:04d}" for k in range(teachers)}
    for user, password in users.items():
        add_user(auth, user, password)
    assessor = load_assessor(AssessorConfig(tiny=True, mllm=mllm, asr="none"))
    store = ResultStore(root / "results.sqlite")
    logins = app._logins(str(auth), store, app.desk.CalibrationDesk(assessor, profiles_root=root / "profiles"))
    demo = app.build_demo(assessor.assess_submission, assessor.status, store, examples=False, workdir=root / "work",
                          server=app.ServerOptions(login=True))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, auth=logins)
    url = f"http://127.0.0.1:{port}/"
    example = ROOT / "assets" / "example_learner"
    answers = {(3, 0): example / "part3.wav", (4, 0): example / "part4.wav"}
    latencies: list[float] = []
    errors: list[str] = []
    lock, login_lock = threading.Lock(), threading.Lock()
    start = threading.Barrier(teachers)

    def one_teacher(user: str, password: str) -> None:
        try:
            with login_lock:  # logins one after the other (each is a deliberate scrypt); then all assess at once
                client = Client(url, auth=(user, password), verbose=False, download_files=str(root / "dl" / user),
                                httpx_kwargs={"timeout": 300})
        except Exception as e:  # noqa: BLE001 - reported, and the run fails
            with lock:
                errors.append(f"{user}: login failed: {e}")
            start.wait()
            return
        start.wait()  # everybody presses "Assess" together
        for r in range(rounds):
            files = {f"part{part}": handle_file(str(path)) for (part, _), path in answers.items()}
            t0 = time.perf_counter()
            try:
                client.predict(**files, learner=f"{user}-learner{r}", api_name="/assess_learner")
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(f"{user} round {r}: {e}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=one_teacher, args=item) for item in users.items()]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    demo.close()
    per_teacher = {u: [a.learner for s in store.as_owner(u).sessions() for a in store.as_owner(u).load(s.id)]
                   for u in users}
    return {"latencies": latencies, "errors": errors, "per_teacher": per_teacher, "wall": wall,
            "expected": teachers * rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teachers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="assessments per teacher, one after the other")
    parser.add_argument("--mllm", default="off", help="off (default: speech grader only), on or auto")
    args = parser.parse_args(argv)
    out = run(args.teachers, args.rounds, args.mllm)
    lat = sorted(out["latencies"])
    print(f"{len(lat)}/{out['expected']} assessments completed by {args.teachers} teachers in {out['wall']:.1f} s")
    if lat:
        print(f"latency s: min {lat[0]:.2f}  median {statistics.median(lat):.2f}  max {lat[-1]:.2f}")
    for e in out["errors"]:
        print("error:", e)
    return 0 if len(lat) == out["expected"] and not out["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
