"""Syllable nuclei from the acoustics: de Jong & Wempe (2009), Behavior Research Methods 41(2), 385-390.

Their Praat script counts a syllable at each intensity peak that (1) is louder than a threshold set
`silence_db` below the 99th-percentile intensity, (2) stands out by more than `min_dip_db` from the
lowest intensity between it and the next peak, and (3) is voiced (Praat finds a pitch there). We follow
the script step by step with praat-parselmouth, with one change of method: the script's own silence
detection (its 0.3 s "minimum pause") is replaced by the voice-activity segments, so a nucleus must lie
inside a speech segment (sla_core/delivery/vad.py). The script's peak picking works on the intensity
contour turned into a sound; here the local maxima of the contour itself are used, with parabolic
interpolation, which picks the same peaks.

Three settings differ from the script's defaults (`SCRIPT_DEFAULTS`), tuned on real human voices shipped
in public packages (tests/delivery/test_real_voices.py: LibriVox read speech, a telephone conversation,
two short praatio sentences; 226 syllables by the CMU dictionary) while keeping the espeak-ng accuracy
tests within their 15%:
- `min_dip_db` 2 -> 1 dB: with 2 dB, syllables joined by sonorants ("Mary rolled", "bar-rel") have no
  dip deep enough and merge, which undercounted those voices by 13-33%;
- `last_peak`: the script compares each peak with the dip before the *next* peak, so the recording's last
  syllable never counts (1 in 6 of a short sentence); here the last peak of a speech segment is compared
  with the dip up to that segment's end;
- `voicing_threshold` 0.25 -> 0.35 (Praat's own default is 0.45): the shallower dip lets more peaks
  through, and a stricter voicing test removes those in voiceless noise (breaths, fricatives), which
  otherwise overcount (the script's 0.25 with a 1 dB dip: +20% on two LibriVox sentences).
Measured before/after, per recording: `python bench/bench_real_voices.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..audio import SAMPLE_RATE

INTENSITY_MIN_PITCH = 50.0  # Hz; sets Praat's intensity analysis window (script: To Intensity 50, 0, yes)
PITCH_FLOOR, PITCH_CEILING = 30.0, 450.0  # Hz; the script's To Pitch (ac) range
PITCH_STEP = 0.02  # s; the script's pitch time step


@dataclass(frozen=True)
class NucleiSettings:
    """The detector's thresholds (module docstring: which differ from the script and why)."""

    silence_db: float = -25.0  # dB below the 99th-percentile intensity: quieter peaks are not nuclei (script)
    min_dip_db: float = 1.0  # dB a peak must rise above the dip before the next peak (script: 2)
    voicing_threshold: float = 0.35  # Praat To Pitch (ac) voicing threshold at the peak (script: 0.25)
    last_peak: bool = True  # count a segment's last peak against the dip to the segment's end (script: never)


DEFAULT = NucleiSettings()
SCRIPT_DEFAULTS = NucleiSettings(min_dip_db=2.0, voicing_threshold=0.25, last_peak=False)  # de Jong & Wempe 2009


def syllable_nuclei(wav: np.ndarray, segments: Sequence[tuple[float, float]],
                    settings: NucleiSettings = DEFAULT) -> tuple[float, ...]:
    """Times (s) of the syllable nuclei of a 16 kHz mono waveform, counted inside `segments` only.

    Args:
        wav: (samples,) float at SAMPLE_RATE.
        segments: (start, end) s of the voice-activity segments of the same waveform.
        settings: the thresholds (DEFAULT; SCRIPT_DEFAULTS reproduces the published script).
    Returns:
        Nucleus times in seconds, ascending.
    """
    import parselmouth  # lazy: the app and the CLI import the package without measuring anything

    wav = np.asarray(wav, dtype=np.float64)
    if not segments or wav.size < 0.2 * SAMPLE_RATE:
        return ()
    sound = parselmouth.Sound(wav, sampling_frequency=SAMPLE_RATE)
    intensity = sound.to_intensity(minimum_pitch=INTENSITY_MIN_PITCH, subtract_mean=True)
    level = intensity.values[0]  # (frames,) dB
    times = intensity.xs()  # (frames,) s
    if level.size < 3:
        return ()
    threshold = max(float(np.quantile(level, 0.99)) + settings.silence_db, float(level.min()))
    peaks = [(t, v) for t, v in _peaks(level, times) if v > threshold]  # (time, dB) of each loud local maximum
    # A peak counts when it rises min_dip_db above the lowest point before the next peak; the last peak
    # (which the script never counts) is compared with the lowest point up to the end of its speech segment.
    valid = []
    for k, (t, v) in enumerate(peaks):
        if k + 1 < len(peaks):
            until = peaks[k + 1][0]
        elif settings.last_peak:
            until = next((b for a, b in segments if a <= t <= b), float(times[-1]))
        else:
            continue
        between = level[(times >= t) & (times <= until)]
        if between.size and abs(v - float(between.min())) > settings.min_dip_db:
            valid.append(t)
    if not valid:
        return ()
    pitch = sound.to_pitch_ac(time_step=PITCH_STEP, pitch_floor=PITCH_FLOOR, max_number_of_candidates=4,
                              very_accurate=False, silence_threshold=0.03,
                              voicing_threshold=settings.voicing_threshold, octave_cost=0.01,
                              octave_jump_cost=0.35, voiced_unvoiced_cost=0.25, pitch_ceiling=PITCH_CEILING)
    inside = [t for t in valid if any(a <= t <= b for a, b in segments)]
    return tuple(round(t, 3) for t in inside if not np.isnan(pitch.get_value_at_time(t)))


def _peaks(level: np.ndarray, times: np.ndarray) -> list[tuple[float, float]]:
    """Local maxima of a contour, refined by a parabola through each maximum and its neighbours."""
    mid = level[1:-1]
    idx = np.flatnonzero((mid > level[:-2]) & (mid >= level[2:])) + 1  # frame indices
    step = float(times[1] - times[0])
    out = []
    for i in idx:
        a, b, c = level[i - 1], level[i], level[i + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom else 0.0  # in frames, within (-0.5, 0.5)
        out.append((float(times[i] + shift * step), float(b - 0.25 * (a - c) * shift)))
    return out
