"""`python app.py` as its own process on a free local port: for the tests that talk to a running server
(the browser test, the gradio_client API test) the way a teacher's browser or a script would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """`python app.py FLAGS` on a free port with its own database; `stop()` then `start()` is a restart on the same
    database (a new port). Calibration profiles and caches go in the database's folder (SLA_DATA_DIR)."""

    def __init__(self, db: Path, log: Path, flags: Sequence[str], start_timeout: float = 420.0,
                 env: dict[str, str] | None = None) -> None:
        self.db, self.log, self.flags, self.start_timeout = db, log, list(flags), start_timeout
        self.env = dict(env or {})  # e.g. SLA_WORK_DIR: where the run's work folder goes
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        """Start the app and wait until it answers (a shared CPU can take minutes to load the models); its URL."""
        self.port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
               "SLA_DATA_DIR": str(self.db.parent), **self.env}
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), *self.flags, "--port", str(self.port), "--db", str(self.db)],
            cwd=ROOT, env=env, stdout=self.log.open("a"), stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{self.port}/"
        deadline = time.time() + self.start_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return url
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"app did not answer on {url}:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
