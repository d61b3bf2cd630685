"""Syllable nuclei from the acoustics: de Jong & Wempe (2009), Behavior Research Methods 41(2), 385-390.

Their Praat script counts a syllable at each intensity peak that (1) is louder than a threshold set
`SILENCE_DB` below the 99th-percentile intensity, (2) stands out by more than `MIN_DIP_DB` from the
lowest intensity between it and the next peak, and (3) is voiced (Praat finds a pitch there). We follow
the script step by step with praat-parselmouth, with its published defaults, and one change: the script's
own silence detection (its 0.3 s "minimum pause") is replaced by the voice-activity segments, so a
nucleus must lie inside a speech segment (sla_core/delivery/vad.py). The script's peak picking works on
the intensity contour turned into a sound; here the local maxima of the contour itself are used, with
parabolic interpolation, which picks the same peaks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..audio import SAMPLE_RATE

SILENCE_DB = -25.0  # dB relative to the 99th-percentile intensity: quieter peaks are not nuclei (script default)
MIN_DIP_DB = 2.0  # dB a peak must rise above the dip before the next peak (script default)
INTENSITY_MIN_PITCH = 50.0  # Hz; sets Praat's intensity analysis window (script: To Intensity 50, 0, yes)
PITCH_FLOOR, PITCH_CEILING = 30.0, 450.0  # Hz; the script's To Pitch (ac) range
PITCH_STEP = 0.02  # s; the script's pitch time step


def syllable_nuclei(wav: np.ndarray, segments: Sequence[tuple[float, float]]) -> tuple[float, ...]:
    """Times (s) of the syllable nuclei of a 16 kHz mono waveform, counted inside `segments` only.

    Args:
        wav: (samples,) float at SAMPLE_RATE.
        segments: (start, end) s of the voice-activity segments of the same waveform.
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
    threshold = max(float(np.quantile(level, 0.99)) + SILENCE_DB, float(level.min()))
    peaks = _peaks(level, times)  # (time, dB) of each local maximum
    peaks = [(t, v) for t, v, in peaks if v > threshold]
    # A peak counts when it rises MIN_DIP_DB above the lowest point before the next peak (the script
    # compares each peak with the following dip only, so the last peak never counts).
    valid = []
    for (t, v), (t_next, _) in zip(peaks, peaks[1:]):
        between = level[(times >= t) & (times <= t_next)]
        if between.size and abs(v - float(between.min())) > MIN_DIP_DB:
            valid.append(t)
    if not valid:
        return ()
    pitch = sound.to_pitch_ac(time_step=PITCH_STEP, pitch_floor=PITCH_FLOOR, max_number_of_candidates=4,
                              very_accurate=False, silence_threshold=0.03, voicing_threshold=0.25,
                              octave_cost=0.01, octave_jump_cost=0.35, voiced_unvoiced_cost=0.25,
                              pitch_ceiling=PITCH_CEILING)
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
