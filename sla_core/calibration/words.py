"""A calibration's evidence in plain words, for the teacher (CLI output and the app's Calibrate tab)."""

from __future__ import annotations

import math

from ..parts import part_info
from .fit import CalibrationResult
from .gain import ALPHA, gain_test
from .profile import DELIVERY_WORDS, DeliveryFit, Evidence


def _pcc(v: float) -> str:
    return "undefined (constant scores)" if math.isnan(v) else f"{v:.2f}"


def evidence_lines(evidence: Evidence) -> list[str]:
    """The before/after numbers, overall then per part."""
    b, a = evidence.overall["before"], evidence.overall["after"]
    gain = gain_test(evidence.before, evidence.after, evidence.marks)
    lines = [
        f"Checked by leaving each of the {evidence.n} responses out in turn, calibrating on the others and scoring it:",
        f"  typical error (RMSE, lower is better): {b['rmse']:.2f} -> {a['rmse']:.2f}",
        f"  each response's own error: {gain.words}; below {ALPHA} a gain this consistent is not chance",
        f"  agreement with your marks (Pearson):   {_pcc(b['pcc'])} -> {_pcc(a['pcc'])}",
        f"  within half a band (|error| <= 0.5):   {b['within_0_5']:.0f}% -> {a['within_0_5']:.0f}%",
    ]
    for part, rows in sorted(evidence.by_part.items()):
        lines.append(f"  {part_info(part).title} ({rows['after']['n']} responses): error {rows['before']['rmse']:.2f} "
                     f"-> {rows['after']['rmse']:.2f}, within 0.5: {rows['before']['within_0_5']:.0f}% -> "
                     f"{rows['after']['within_0_5']:.0f}%")
    return lines


_UNITS = {"speech_rate": " syl/s", "articulation_rate": " syl/s", "phonation_ratio": "",
          "mean_length_of_run": " syllables", "long_pauses_per_min": " per minute"}


def _coefficient(fit: DeliveryFit, k: int) -> str:
    """e.g. "speech rate +0.21 per 0.48 syl/s more": score points per standard deviation of the measure."""
    m = fit.measures[k]
    return f"{DELIVERY_WORDS[m]} {fit.coefficients[k]:+.2f} per {fit.scale[k]:.3g}{_UNITS.get(m, '')} more"


def describe(result: CalibrationResult) -> str:
    """What was fitted, the evidence and the verdict, as a few lines of text."""
    p = result.profile
    parts = ", ".join(f"part {k}: {n}" for k, n in sorted(p.n_by_part.items()))
    lines = [f"Calibration '{p.name}': {p.n_exemplars} graded responses ({parts})."]
    if result.skipped:
        lines.append(f"Left out {len(result.skipped)}: " + "; ".join(result.skipped))
    if p.evidence is not None:
        lines.extend(evidence_lines(p.evidence))
    fitted = []
    if p.prototypes:
        fitted.append("speech-grader prototypes for part(s) " + ", ".join(str(k) for k in sorted(p.prototypes)))
    for grader, maps in p.maps.items():
        scopes = sorted({m.scope for m in maps.values() if m.scope != "none"})
        if scopes:
            fitted.append(f"a linear map of the {grader} score ({' / '.join(scopes)})")
    if p.fusion is not None:
        fitted.append(f"one fusion weight ({p.fusion.global_weight:.2f} on the multimodal score)")
    if p.delivery is not None and p.delivery.used:
        fitted.append(f"a correction from delivery measures ({', '.join(_coefficient(p.delivery, k) for k in range(len(p.delivery.measures)))})")
    if fitted:
        lines.append("Fitted: " + "; ".join(fitted) + ".")
    if p.delivery is not None:
        words = p.delivery.words
        lines.append(f"{words[0].upper()}{words[1:]}.")
    lines.append(("Verdict: " if p.applies else "Verdict: DOES NOT HELP - ") + p.reason)
    covered = ", ".join(str(k) for k in sorted(p.n_by_part))
    lines.append(f"In use, it changes part(s) {covered} only: the parts it has marks for.")
    return "\n".join(lines)
