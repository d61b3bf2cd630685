"""Plain-text rendering of an Assessment for terminals and logs (no subcommand of its own)."""

from __future__ import annotations

from ..assessment import Assessment, ScoreInterval
from ..checks.answers import checks_summary
from ..delivery.feedback import part_feedback
from ..parts import part_info


def _interval(iv: ScoreInterval | None) -> str:
    if iv is None:
        return ""
    if not iv.available:
        return f" (no {iv.coverage:.0%} interval: {iv.note})"
    return f" ({iv.coverage:.0%} interval {iv.low:.2f}-{iv.high:.2f}{', a conservative bound' if iv.method == 'bound' else ''})"


def format_assessment(assessment: Assessment) -> str:
    lines = []
    if assessment.learner:
        lines.append(f"Learner: {assessment.learner}")
    if not assessment.graded:
        lines.append("NOTE: not a grade - at least one score comes from an untrained or uncalibrated model.")
    for part in assessment.parts:
        title = part_info(part.part).title
        if not part.ok:
            lines.append(f"{title:<36} {part.status.replace('_', ' ').upper()}: {part.problem}")
            if part.checks:
                lines.append(f"{'':<36} checks: {checks_summary(part.checks)}")
            continue
        scores = []
        if part.speech is not None:
            scores.append(f"speech {part.speech.score:.2f} ({part.speech.state})")
        if part.mllm is not None:
            scores.append(f"multimodal {part.mllm.score:.2f} ({part.mllm.state})")
        if part.fusion_weight is not None:
            scores.append(f"w={part.fusion_weight:.2f}")
        lines.append(f"{title:<36} {part.score:.2f} {part.cefr:<4} [{'; '.join(scores)}]{_interval(part.interval)}")
        if part.problem:
            lines.append(f"{'':<36} warning: {part.problem}")
        lines.extend(f"{'':<36} delivery: {sentence}" for sentence in part_feedback(part.delivery))
        if part.checks:
            lines.append(f"{'':<36} checks: {checks_summary(part.checks)}")
    if assessment.overall is None:
        lines.append("Overall: no part could be assessed")
    else:
        covered = ", ".join(str(p) for p in assessment.covered_parts)
        partial = "" if assessment.complete else " (partial)"
        lines.append(f"Overall: {assessment.overall:.2f} {assessment.overall_cefr} - mean of parts {covered}{partial}"
                     + _interval(assessment.overall_interval))
    own = assessment.holistic
    if own is not None:  # a session grader's own overall output, beside the mean of the parts
        lines.append(f"{own.grader} overall (its own output, {own.state}): {own.score:.2f} {own.cefr}"
                     + _interval(own.interval))
    if assessment.review:
        lines.append("REVIEW - listen before relying on this result:")
        lines.extend(f"  - {reason}" for reason in assessment.review)
    for info in assessment.graders:
        lines.append(f"  {info.name}: {info.state} from {info.source}" + (f" - {info.note}" if info.note else ""))
    return "\n".join(lines)
