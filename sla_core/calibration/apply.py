"""Applying a profile to a loaded Assessor: prototypes onto its speech graders, maps onto its scores.

`use_calibration(assessor, name)` is the one entry point (load_assessor, the CLI and the app's
profile dropdown call it). It refuses a profile fitted for other graders: prototypes belong to one
encoder, and the evidence to one combination of graders, so applying it elsewhere would be a guess.

A calibrated score stays visible as such: the PartScore carries the mapped score, and the part's
`basis` says "calibrated ..." with each grader's score before and after. A profile that uses delivery
measures then adds its correction to the part's combined score (`delivery_correction`), and the basis
gives the correction and the measures it came from. Grader states do not
change: an untrained speech grader calibrated on 20 exemplars is still labelled untrained (its
numbers come from 20 recordings, not from a trained model), and the basis says what it rests on.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path

from ..assessment import TRAINED, GraderInfo, PartScore, ScoreInterval
from ..fusion import FusionWeights
from ..intervals import bound_interval, conformal_quantile, min_items
from ..delivery.measures import PartDelivery
from .delivery_fit import delivery_values
from .features import assessor_identities
from .fit import MLLM, SPEECH, prototype_score
from .profile import DELIVERY_WORDS, IDENTITY, CalibrationProfile, load_profile, resolve_profile

_NAMES = {SPEECH: "speech", MLLM: "multimodal"}
# How a profile in use says its own held-out check found it no better (the app's result card reads it).
NOT_HELPING = "did not help on its own evidence"


class Calibration:
    """A profile bound to an Assessor's graders (made by `use_calibration`)."""

    def __init__(self, profile: CalibrationProfile, base_fusion: FusionWeights, path: Path | None = None) -> None:
        self.profile = profile
        self.base_fusion = base_fusion  # the loaded weights, restored when the profile is removed
        self.path = path

    @property
    def name(self) -> str:
        return self.profile.name

    def covers(self, part: int) -> bool:
        """Whether the profile was fitted on marks for `part` (the only parts it changes)."""
        return part in self.profile.n_by_part

    def fusion_for(self, part: int) -> FusionWeights:
        """The fusion weights for `part`: the profile's for the parts it covers, the loaded ones elsewhere."""
        return self.fusion if self.covers(part) else self.base_fusion

    @property
    def fusion(self) -> FusionWeights:
        """The fusion weights in use while this profile is applied."""
        return self.profile.fusion or self.base_fusion

    def _evidence_words(self) -> str:
        ev = self.profile.evidence
        n = f"{self.profile.n_exemplars} of the teacher's graded responses"
        if ev is None:
            return n
        return f"{n}; held-out error {ev.overall['before']['rmse']:.2f} -> {ev.overall['after']['rmse']:.2f}"

    def apply(self, part: int, speech: PartScore | None, mllm: PartScore | None
              ) -> tuple[PartScore | None, PartScore | None, str]:
        """Map one part's grader scores; returns (speech, mllm, a note for the part's basis).

        A part the profile has no marks for is left exactly as the uncalibrated system scores it: a
        profile changes the parts it names, and no others.
        """
        if not self.covers(part):
            return speech, mllm, f"profile '{self.name}' has no marks for part {part}: not calibrated"
        changes = []
        out = {}
        for grader, score in ((SPEECH, speech), (MLLM, mllm)):
            if score is None:
                out[grader] = None
                continue
            linear = self.profile.maps.get(grader, {}).get(part, IDENTITY)
            if linear is IDENTITY or linear.scope == "none":
                out[grader] = score
                changes.append(f"{_NAMES[grader]} not calibrated for this part")
                continue
            x = score.score
            fit = self.profile.prototypes.get(part) if grader == SPEECH else None
            if fit is not None and fit.kind == "prototypes":
                x = float(prototype_score(score.similarities, score.prototype_levels, fit.levels))
            new = linear(x)
            out[grader] = replace(score, score=new)
            changes.append(f"{_NAMES[grader]} {score.score:.2f} -> {new:.2f}")
        note = f"calibrated with profile '{self.name}' ({self._evidence_words()}): {', '.join(changes)}"
        if not self.profile.applies:
            note += f" - this profile {NOT_HELPING}"
        return out[SPEECH], out[MLLM], note

    def delivery_correction(self, part: int, delivery: PartDelivery | None) -> tuple[float, str | None]:
        """(score points to add to the part's calibrated score, a note for its basis) from its delivery measures.

        (0.0, None) when the profile uses no delivery measures or does not cover the part; a part without
        measures (none were made, e.g. an answer re-read from an old result) gets no correction, and the
        note says so.
        """
        fit = self.profile.delivery
        if fit is None or not fit.used or not self.covers(part):
            return 0.0, None
        values = delivery_values(delivery)
        shift = fit.correction(values)
        if shift is None:
            return 0.0, f"no delivery measures for this part: no delivery correction ({fit.names})"
        shown = ", ".join(f"{DELIVERY_WORDS[m]} {values[m]:.2f}" for m in fit.measures if values.get(m) is not None)
        return shift, f"delivery measures {shift:+.2f} ({shown})"

    def part_interval(self, part: int, score: float) -> ScoreInterval:
        """The profile's interval around a calibrated part score (its leave-one-out widths, pooled over parts)."""
        p, w = self.profile, self.profile.widths
        basis = (f"{p.coverage:.0%} split-conformal interval from the leave-one-out errors of profile "
                 f"'{p.name}' ({w.n} of the teacher's marks, all parts together)")
        if w.half_width is None:
            return ScoreInterval.unavailable(p.coverage, "profile", w.n, basis,
                                             f"too few marks ({w.n}) for a {p.coverage:.0%} interval: at least "
                                             f"{min_items(p.coverage)} are needed")
        return ScoreInterval.around(score, w.half_width, p.coverage, "profile", w.n, basis)

    def overall_interval(self, parts, overall: float) -> ScoreInterval:
        """A conservative bound for the mean of the covered parts' marks (intervals module docstring):
        the leave-one-out residuals are per part, so the overall has no residuals of its own."""
        p, k = self.profile, len(parts)
        ev = p.evidence
        residuals = [] if ev is None else [abs(a - m) for a, m in zip(ev.after, ev.marks)]
        q = conformal_quantile(residuals, 1 - (1 - p.coverage) / k) if residuals else None
        basis = (f"conservative {p.coverage:.0%} bound for the mean of the {k} covered parts' marks, from the "
                 f"leave-one-out errors of profile '{p.name}' (each part at {1 - (1 - p.coverage) / k:.1%})")
        return bound_interval(overall, [q] * k, p.coverage, len(residuals), basis)

    def info(self) -> GraderInfo:
        """The model-status line of the profile."""
        p = self.profile
        parts = ", ".join(f"part {k}: {n}" for k, n in sorted(p.n_by_part.items()))
        # The verdict ends in "it helps"/"it does not help" ("applied"/"not applied" in profiles saved
        # before); this profile is in use either way.
        verdict = re.sub(r"[;:] ((not )?applied|it (does not )?helps?)$", "", p.reason)
        if not p.applies:
            verdict = f"in use although it {NOT_HELPING} ({verdict})"
        note = f"{p.n_exemplars} responses ({parts}) on {p.created[:10]}; {verdict}"
        if p.delivery is not None:
            note += f"; {p.delivery.words}"
        return GraderInfo(name="calibration", source=str(self.path or p.name), state=TRAINED,
                          parts=tuple(sorted(p.n_by_part)), note=f"profile '{p.name}': {note}")


def evidence_said(info: GraderInfo) -> tuple[str, bool]:
    """(what the profile's own held-out check said, in words; whether it helps), read back from the model-status
    line `Calibration.info` wrote: what a result card says about the profile a saved Assessment names."""
    rest = re.sub(r"^profile '.*?': \d+ responses \(.*?\) on [\d-]+; ", "", info.note)
    head = f"in use although it {NOT_HELPING} ("
    if not rest.startswith(head):
        return rest, NOT_HELPING not in rest
    depth, end = 1, len(head)
    while end < len(rest) and depth:  # the verdict may hold brackets of its own
        depth += {"(": 1, ")": -1}.get(rest[end], 0)
        end += 1
    return rest[len(head):end - 1], False  # the verdict alone: what follows (delivery measures) is detail


def check_compatible(profile: CalibrationProfile, assessor) -> None:
    """Raise ValueError naming what differs when `assessor`'s graders are not those the profile was fitted for."""
    current = assessor_identities(assessor)
    if set(current) != set(profile.graders):
        raise ValueError(f"calibration profile {profile.name!r} was fitted with grader(s) {sorted(profile.graders)}, "
                         f"but the loaded system has {sorted(current)}; calibrate again with this system "
                         "(or load the same graders, e.g. --mllm on/off)")
    for name, identity in profile.graders.items():
        if current[name] != identity:
            was, now = json.dumps(identity, sort_keys=True), json.dumps(current[name], sort_keys=True)
            raise ValueError(f"calibration profile {profile.name!r} was fitted for another {name} grader: "
                             f"{was}, loaded {now}; calibrate again with this system")


def use_calibration(assessor, profile: CalibrationProfile | str | Path | None, root: str | Path | None = None
                    ) -> Calibration | None:
    """Apply a profile to `assessor` in place, replacing any applied before; None removes it.

    Sets the speech graders' prototypes (SpeechGraders.set_prototypes), the fusion weights when the
    profile refitted them, and `assessor.calibration` (which maps scores in every assessment and names
    the profile in each Assessment). Shared graders are changed for every Assessor that holds them.

    Args:
        profile: a CalibrationProfile, a profile name under `root` or a profile folder; None: uncalibrated.
        root: the profiles folder for names; default profile.default_profiles_root().
    Raises:
        FileNotFoundError: no such profile (the message lists the ones there are).
        ValueError: the profile is unreadable or was fitted for other graders; nothing is changed then.
    """
    previous = getattr(assessor, "calibration", None)
    base_fusion = previous.base_fusion if previous is not None else assessor.fusion
    path = None
    if profile is not None and not isinstance(profile, CalibrationProfile):
        path = resolve_profile(profile, root)
        profile = load_profile(path)
    # Undo the previous profile first: identities are fingerprints of the loaded (uncalibrated) graders.
    if previous is not None:
        _reset(assessor, base_fusion)
    if profile is None:
        return None
    try:
        check_compatible(profile, assessor)
    except ValueError:
        if previous is not None:  # leave the assessor as it was
            _bind(assessor, previous)
        raise
    calibration = Calibration(profile, base_fusion, path)
    _bind(assessor, calibration)
    return calibration


def load_calibration(assessor, name: str | Path, root: str | Path | None = None) -> Calibration:
    """A profile checked against `assessor`'s graders, ready for `calibrated` (the assessor is not changed).

    Raises:
        FileNotFoundError / ValueError: as `use_calibration`.
    """
    path = resolve_profile(name, root)
    profile = load_profile(path)
    with getattr(assessor, "_lock", nullcontext()), calibrated(assessor, None):  # identities: uncalibrated graders
        check_compatible(profile, assessor)
        base_fusion = assessor.fusion
    return Calibration(profile, base_fusion, path)


@contextmanager
def calibrated(assessor, calibration: Calibration | None):
    """Bind `calibration` (None: none) to `assessor` for one call, then put back what was bound before.

    This is how one server serves teachers with different profiles: each call names its own. The caller
    holds the assessor's lock (Assessor.assess_submission does), as the speech graders are shared.
    """
    previous = getattr(assessor, "calibration", None)
    base = previous.base_fusion if previous is not None else assessor.fusion
    if calibration is not previous:
        if previous is not None:
            _reset(assessor, base)
        if calibration is not None:
            _bind(assessor, calibration)
    try:
        yield calibration
    finally:
        if getattr(assessor, "calibration", None) is not previous:
            _reset(assessor, base)
            if previous is not None:
                _bind(assessor, previous)


def _bind(assessor, calibration: Calibration) -> None:
    speech = assessor.speech
    for part, fit in calibration.profile.prototypes.items():
        speech.set_prototypes(part, fit.levels, fit.vectors)
    assessor.fusion = calibration.fusion
    assessor.calibration = calibration


def _reset(assessor, base_fusion: FusionWeights) -> None:
    if hasattr(assessor.speech, "reset_prototypes"):
        assessor.speech.reset_prototypes()
    assessor.fusion = base_fusion
    assessor.calibration = None
