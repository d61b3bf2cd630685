"""Delivery measures on real human voices against the timings their packages give: the before/after table.

"before" is the published de Jong & Wempe (2009) script's thresholds (nuclei.SCRIPT_DEFAULTS), "after"
the detector's own (nuclei.DEFAULT; its docstring says what changed and why). Pauses and spans come from
the voice-activity segments, which both share. The recordings and their licences:
tests/data/real_speech/README.md. Prints a Markdown table.

    python bench/bench_real_voices.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.audio import SAMPLE_RATE  # noqa: E402
from sla_core.delivery.measures import PartDelivery, measure_answer  # noqa: E402
from sla_core.delivery.nuclei import DEFAULT, SCRIPT_DEFAULTS, syllable_nuclei  # noqa: E402
from sla_core.delivery.vad import speech_segments  # noqa: E402
from sla_core.testing.real_speech import RealRecording, all_recordings  # noqa: E402


def measured(rec: RealRecording, settings) -> PartDelivery:
    segments = [(s.start, s.end) for s in speech_segments(rec.wav)]
    nuclei = syllable_nuclei(rec.wav, segments, settings)
    return PartDelivery((measure_answer(rec.wav.size / SAMPLE_RATE, segments, nuclei),))


def pause_errors(rec: RealRecording, part: PartDelivery) -> list[float]:
    """|found - given| length (s) of each given pause that has a found pause starting within 0.3 s of it."""
    found = part.answers[0].pauses
    out = []
    for start, length in rec.pauses:
        near = [f for f in found if abs(f[0] - start) < 0.3]
        if near:
            out.append(abs(min(near, key=lambda f: abs(f[0] - start))[1] - length))
    return out


def pct(found: float | None, truth: float) -> str:
    return "—" if found is None else f"{100 * (found - truth) / truth:+.0f}%"


def main() -> None:
    recordings = all_recordings()
    print("| recording | s | syllables (CMU) | before | after | pauses given / found | pause length error |"
          " speech rate given | before | after | articulation rate given | before | after |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    pooled = {"truth": 0, "before": 0, "after": 0}
    for rec in recordings:
        before, after = measured(rec, SCRIPT_DEFAULTS), measured(rec, DEFAULT)
        errors = pause_errors(rec, after)
        pause_err = "—" if not errors else f"≤ {max(errors):.2f} s ({len(errors)} matched)"
        pooled = {"truth": pooled["truth"] + rec.syllables, "before": pooled["before"] + before.syllables,
                  "after": pooled["after"] + after.syllables}
        note = "" if rec.word_times else " (utterance times)"
        print(f"| {rec.name}{note} | {rec.duration_s:.1f} | {rec.syllables} | {before.syllables} "
              f"({pct(before.syllables, rec.syllables)}) | {after.syllables} ({pct(after.syllables, rec.syllables)}) | "
              f"{len(rec.pauses)} / {after.n_pauses} | {pause_err} | {rec.speech_rate:.2f} | "
              f"{pct(before.speech_rate, rec.speech_rate)} | {pct(after.speech_rate, rec.speech_rate)} | "
              f"{rec.articulation_rate:.2f} | {pct(before.articulation_rate, rec.articulation_rate)} | "
              f"{pct(after.articulation_rate, rec.articulation_rate)} |")
    print(f"| all | | {pooled['truth']} | {pooled['before']} ({pct(pooled['before'], pooled['truth'])}) | "
          f"{pooled['after']} ({pct(pooled['after'], pooled['truth'])}) | | | | | | | | |")


if __name__ == "__main__":
    main()
