"""A class assessed in turn on a laptop CPU: learners one after another, or pipelined (the next learner's
audio decoded and checked in a second thread while this one is graded: sla_core.assess.assess_in_turn).

Both runs use the same Assessor as the app on a CPU (the speech grader's "auto" path, measured once and
cached in the run's folder; with --asr-model a real Whisper through CTranslate2 transcribes) on the same
learners (bench_cpu.write_learner: espeak-ng speech), interleaved, and report the class's time and the ratio.

    python bench/bench_classroom.py --learners 3 --scale 0.3 --repeats 2 --asr-model /path/to/whisper-base-ct2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cpu import speech_graders, write_learner  # the same learner and graders as the main benchmark

from sla_core.asr import WINDOW_TOKENS
from sla_core.assess import Assessor, assess_in_turn
from sla_core.data import PartResponses, Response, Submission
from sla_core.graders.precision import AUTO


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--learners", type=int, default=3)
    ap.add_argument("--scale", type=float, default=0.3, help="fraction of every answer's length")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiny", action="store_true", help="tiny graders: checks the plumbing, not the speed")
    ap.add_argument("--asr-model", help="a real Whisper (CTranslate2 folder) for the transcripts; none without it")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads; load average at start {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_learner(folder / "audio", args.scale)
        class_ = [Submission(f"learner {k + 1}", tuple(PartResponses(p, tuple(Response(audio_path=f) for f in fs))
                                                       for p, fs in files.items()))
                  for k in range(args.learners)]  # the same recordings for each learner: the same work
        transcriber = None
        if args.asr_model:
            from sla_core.graders.ct2_whisper import Ct2WhisperTranscriber

            transcriber = Ct2WhisperTranscriber.load(args.asr_model, cache_dir=folder / "ct2", max_new_tokens=WINDOW_TOKENS)
        speech = speech_graders(args.tiny, AUTO, onnx_cache=folder / "onnx", precision_cache=folder / "precision")
        print(f"speech grader: {speech.precision_note}; transcripts: {transcriber.source if transcriber else 'none'}",
              flush=True)
        assessor = Assessor(speech=speech, transcriber=transcriber)
        times: dict[bool, list[float]] = {False: [], True: []}
        for r in range(args.repeats + 1):  # round 0 warms up and is dropped
            for pipelined in (False, True) if r % 2 == 0 else (True, False):
                t0 = time.perf_counter()
                done = [a for _, a in assess_in_turn(assessor, class_, pipelined=pipelined)]
                took = time.perf_counter() - t0
                assert len(done) == args.learners and all(a.covered_parts for a in done)
                if r:
                    times[pipelined].append(took)
                print(f"  repeat {r}{' (warm-up)' if not r else ''}: {'pipelined' if pipelined else 'in turn  '} "
                      f"{took:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)
        ratios = [p / s for p, s in zip(times[True], times[False])]
        print(f"\n{args.learners} learners ({args.scale:g} of each answer): in turn {statistics.median(times[False]):.1f} s, "
              f"pipelined {statistics.median(times[True]):.1f} s; ratio pipelined / in turn "
              f"{statistics.median(ratios):.3f} (per repeat {', '.join(f'{v:.3f}' for v in ratios)})")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
