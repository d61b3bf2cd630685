"""Cost of the delivery measures of one 60 s answer, step by step, on 2 CPU threads.

Issue 13 asks for under 0.5 s per 60 s answer on 2 cores, using the audio the pipeline already loaded.
The package's own window-by-window Silero runner is timed in the same run for comparison (ratios are
what transfer between machines; this one is shared, so absolute times vary with its load).

    python bench/bench_delivery.py            # 60 s espeak-ng answer, 5 repeats
    python bench/bench_delivery.py --seconds 180 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.audio import SAMPLE_RATE, check_audio, load_audio  # noqa: E402
from sla_core.delivery.analyse import measure_waveform  # noqa: E402
from sla_core.delivery.measures import measure_answer  # noqa: E402
from sla_core.delivery.nuclei import syllable_nuclei  # noqa: E402
from sla_core.delivery.vad import WINDOW, silero_package_model, speech_probabilities, speech_segments  # noqa: E402
from sla_core.testing.audio import spoken_answer  # noqa: E402

SENTENCES = [("I think my town is a good place to live because it is quiet.", 15),
             ("On Saturdays we usually go to the market near the river.", 15),
             ("My favourite teacher at school was very patient with us.", 15)]


def answer(seconds: float) -> np.ndarray:
    """About `seconds` of espeak-ng speech with pauses of 0.3 to 1.5 s, (samples,) at 16 kHz."""
    rng = np.random.default_rng(0)
    sentences = [SENTENCES[i % 3] for i in range(int(seconds / 3.2) + 1)]
    pauses = list(rng.uniform(0.3, 1.5, len(sentences) - 1))
    with tempfile.TemporaryDirectory() as tmp:
        wav = load_audio(spoken_answer(Path(tmp) / "a.wav", sentences, pauses, speed_wpm=160).path)
    return wav[: round(seconds * SAMPLE_RATE)]


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wav = answer(args.seconds)
    speech_probabilities(wav[:SAMPLE_RATE])  # load the network once, as the app does at the first answer
    segments = tuple((s.start, s.end) for s in speech_segments(wav))
    nuclei = syllable_nuclei(wav, segments)
    rows = [
        ("VAD probabilities (batched)", timed(lambda: speech_probabilities(wav), args.repeats)),
        ("VAD segments (+ refinement)", timed(lambda: speech_segments(wav), args.repeats)),
        ("syllable nuclei (parselmouth)", timed(lambda: syllable_nuclei(wav, segments), args.repeats)),
        ("measures from segments + nuclei", timed(lambda: measure_answer(len(wav) / SAMPLE_RATE, segments, nuclei),
                                                  args.repeats)),
        ("check_audio (VAD rule, in the pipeline)", timed(lambda: check_audio(wav), args.repeats)),
        ("pipeline extra: measure_waveform(wav, segments)", timed(lambda: measure_waveform(wav, segments), args.repeats)),
        ("all from scratch: VAD + nuclei + measures", timed(lambda: measure_waveform(wav), args.repeats)),
    ]
    model = silero_package_model()
    padded = torch.from_numpy(np.pad(wav, (0, -wav.size % WINDOW)))

    def package_runner():
        model.reset_states()
        for i in range(0, padded.numel(), WINDOW):
            model(padded[i:i + WINDOW], SAMPLE_RATE)

    rows.append(("silero-vad's own window-by-window runner", timed(package_runner, 1)))
    print(f"{args.seconds:.0f} s answer, {len(segments)} speech segments, {len(nuclei)} syllable nuclei, "
          f"torch threads {args.threads}, median of {args.repeats}")
    for name, seconds in rows:
        print(f"  {name:<50} {seconds:7.3f} s   ({seconds / args.seconds * 1000:5.1f} ms per s of audio)")
    budget = dict(rows)["all from scratch: VAD + nuclei + measures"]
    print(f"issue 13 budget 0.5 s per 60 s answer: {'met' if budget / args.seconds * 60 < 0.5 else 'NOT met'} "
          f"({budget / args.seconds * 60:.3f} s per 60 s)")


if __name__ == "__main__":
    main()
