"""Cost of the language-use measures and of the learner report, per learner, on this machine.

Language use runs once per assessed part on words already transcribed: it must cost milliseconds, not
seconds (issue 26 item 5). The first call in a process also reads cefrpy's word list; that is timed apart.

    python bench/bench_language.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.language import language_use  # noqa: E402

ANSWER = ("I think that living in a big city is exciting because there are many museums and restaurants, um, "
          "and the the transport is convenient, but the environment is often polluted and noisy.").split()


def words(n: int) -> str:
    return " ".join((ANSWER * (n // len(ANSWER) + 1))[:n])


def timed(fn, repeats: int = 20) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    start = time.perf_counter()
    language_use(["hello"], "given")
    print(f"first call (reads the word list): {1000 * (time.perf_counter() - start):.0f} ms, once per process")
    part3 = [words(150)]
    learner = {1: [words(50)] * 6, 3: part3, 4: [words(150)], 5: [words(50)] * 5}
    print(f"one 60 s answer (150 words): {1000 * timed(lambda: language_use(part3, 'asr')):.2f} ms")
    print(f"one learner (4 parts, 13 answers, 850 words): "
          f"{1000 * timed(lambda: [language_use(t, 'asr') for t in learner.values()]):.2f} ms")
    from sla_core.language.vocabulary import word_level

    word_level.cache_clear()
    print(f"one learner, word-level cache cleared: "
          f"{1000 * timed(lambda: (word_level.cache_clear(), [language_use(t, 'asr') for t in learner.values()]), 5):.2f} ms")

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "teacher"))
    from test_learner_report import full_learner  # the longest report: every answer at full length

    from sla_core.teacher.report_files import save_report

    a = full_learner()
    with tempfile.TemporaryDirectory() as tmp:
        save_report(a, tmp)  # warm: ReportLab's import and fonts
        print(f"learner report, HTML + PDF: {1000 * timed(lambda: save_report(a, tmp), 5):.0f} ms")


if __name__ == "__main__":
    main()
