"""A teacher's calibration saved as a named profile: a small folder a person can read.

    <profiles root>/<name>/profile.json            what was fitted, on what, when, and the evidence
    <profiles root>/<name>/prototypes.safetensors  the speech grader's re-estimated prototypes, per part

profile.json's "delivery" (absent in profiles saved before it) holds the delivery-measure correction:
which measures, their standardisation and coefficients, and the held-out figures behind the choice.

The root is $SLA_DATA_DIR/profiles, else $XDG_DATA_HOME/sla-demo/profiles (~/.local/share/...).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..cefr import clip_score
from ..fusion import FusionWeights
from ..intervals import DEFAULT_COVERAGE, Widths, fit_widths
from ..paths import DATA, default_folder
from .gain import p_text

PROFILE_FILE = "profile.json"
PROTOTYPES_FILE = "prototypes.safetensors"
FORMAT = "sla-calibration-profile"
FORMAT_VERSION = 1
NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class LinearMap:
    """y = slope * x + offset for one grader's score on one part, clipped to the scale."""

    slope: float
    offset: float
    n: int  # exemplars it was fitted on
    scope: str  # "part" (this part's own exemplars) | "pooled" (all parts) | "none" (not calibrated)
    note: str = ""  # why it is offset-only or absent, in words

    def __call__(self, x: float) -> float:
        return clip_score(self.slope * float(x) + self.offset)


IDENTITY = LinearMap(1.0, 0.0, 0, "none", "no exemplars to calibrate it with")


@dataclass(frozen=True)
class PrototypeFit:
    """The speech grader's prototypes re-estimated for one part (levels without exemplars keep theirs)."""

    levels: tuple[float, ...]  # (L,) levels given a new prototype: the mean embedding of their exemplars
    vectors: np.ndarray  # (L, H)
    counts: tuple[int, ...]  # (L,) exemplars behind each
    scope: str  # "part" | "pooled" (exemplars of every part whose grader shares the encoder)
    kind: str  # which speech score is calibrated: "head" (trained grader) | "prototypes" (untrained: see fit.py)


DELIVERY_WORDS = {  # measure (PartDelivery / calibration.delivery_fit) -> how a teacher reads it
    "speech_rate": "speech rate", "articulation_rate": "articulation rate", "phonation_ratio": "phonation-time ratio",
    "mean_length_of_run": "mean length of run", "long_pauses_per_min": "long pauses per minute",
}
Z_LIMIT = 3.0  # a standardised measure is clipped to +-3 sd: an outlier recording cannot swing the score far


@dataclass(frozen=True)
class DeliveryFit:
    """A correction of the calibrated score from the part's delivery measures, and whether it is used.

    correction = sum_k coefficients[k] * clip((value_k - mean_k) / scale_k, +-Z_LIMIT), in score points,
    added to the part's calibrated score (then clipped to the scale). A missing measure adds nothing.
    See calibration.delivery_fit for how it is fitted and checked.
    """

    measures: tuple[str, ...]  # (k,) names, keys of DELIVERY_WORDS
    mean: tuple[float, ...]  # (k,) standardisation, over the exemplars
    scale: tuple[float, ...]  # (k,)
    coefficients: tuple[float, ...]  # (k,) score points per standard deviation (ridge)
    ridge: float  # the ridge penalty it was fitted with
    n: int  # exemplars with delivery measures
    used: bool  # the held-out check says it helps: the profile applies it
    rmse_without: float  # held-out error of the calibration without delivery measures
    rmse_with: float  # held-out error with them (each response: chosen and fitted without it)
    note: str = ""  # why it is not used, in words
    better: int | None = None  # responses whose held-out error is smaller with the measures (None: saved before)
    worse: int | None = None  # ... larger
    p_value: float | None = None  # one-sided paired test of that gain (calibration.gain)

    def correction(self, values: Mapping[str, float | None] | None) -> float | None:
        """Score points to add for one part's measures; None when the part has none of them."""
        if not values or all(values.get(m) is None for m in self.measures):
            return None
        total = 0.0
        for m, mu, sd, c in zip(self.measures, self.mean, self.scale, self.coefficients):
            v = values.get(m)
            if v is not None:
                total += c * float(np.clip((float(v) - mu) / sd, -Z_LIMIT, Z_LIMIT))
        return total

    @property
    def names(self) -> str:
        """e.g. "speech rate, phonation-time ratio"."""
        return ", ".join(DELIVERY_WORDS.get(m, m) for m in self.measures)

    @property
    def words(self) -> str:
        """The decision in one sentence, with the held-out figures behind it."""
        paired = ""
        if self.p_value is not None:
            paired = (f", smaller for {self.better} of {self.n} responses, larger for {self.worse} "
                      f"(paired test {p_text(self.p_value)})")
        if self.used:
            return (f"uses delivery measures ({self.names}): held-out error {self.rmse_without:.2f} -> "
                    f"{self.rmse_with:.2f}{paired}")
        why = f"; {self.note}" if self.note else ""
        return (f"delivery measures did not help (held-out error {self.rmse_without:.2f} without them vs "
                f"{self.rmse_with:.2f} with them{paired}{why}): not used")


@dataclass(frozen=True)
class Evidence:
    """Held-out check of a calibration: every exemplar scored by a fit that did not see it."""

    method: str  # "leave-one-out"
    learners: tuple[str, ...]  # (n,)
    parts: tuple[int, ...]  # (n,)
    marks: tuple[float, ...]  # (n,) the teacher's marks
    before: tuple[float, ...]  # (n,) the uncalibrated system's scores
    after: tuple[float, ...]  # (n,) each from a calibration fitted without it
    overall: dict[str, dict[str, float]]  # {"before": metrics.score_report, "after": ...}
    by_part: dict[int, dict[str, dict[str, float]]]  # part -> the same, for parts with >= 2 exemplars

    @property
    def n(self) -> int:
        return len(self.marks)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["overall"] = {k: _nan_to_none(v) for k, v in self.overall.items()}
        doc["by_part"] = {str(p): {k: _nan_to_none(v) for k, v in rows.items()} for p, rows in self.by_part.items()}
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping) -> "Evidence":
        values = dict(doc)
        for name in ("learners", "parts", "marks", "before", "after"):
            values[name] = tuple(values[name])
        values["overall"] = {k: _none_to_nan(v) for k, v in doc["overall"].items()}
        values["by_part"] = {int(p): {k: _none_to_nan(v) for k, v in rows.items()}
                             for p, rows in doc["by_part"].items()}
        return cls(**values)


@dataclass(frozen=True)
class CalibrationProfile:
    """Everything a calibration changes, what it was fitted for, and the evidence for it."""

    name: str
    created: str  # ISO 8601, UTC
    n_exemplars: int
    n_by_part: dict[int, int]  # part -> graded parts of the teacher's used
    graders: dict[str, dict]  # grader name -> identity it was fitted for (features.grader_identity)
    maps: dict[str, dict[int, LinearMap]]  # grader name -> part -> map
    prototypes: dict[int, PrototypeFit]  # speech grader part -> re-estimated prototypes
    fusion: FusionWeights | None  # refitted fusion weights; None keeps the loaded ones
    evidence: Evidence | None  # None when there were too few exemplars to check
    applies: bool  # the evidence says it helps (a profile saved with --force may say False)
    reason: str  # the verdict in words
    coverage: float = DEFAULT_COVERAGE  # of the score intervals the profile gives
    widths: Widths | None = None  # conformal widths from the leave-one-out residuals (widths_from_evidence)
    delivery: DeliveryFit | None = None  # the delivery-measure check; None: not tried (profiles saved before it)

    def __post_init__(self) -> None:
        check_profile_name(self.name)
        if self.widths is None:  # profiles saved before intervals existed: the same widths, from their evidence
            object.__setattr__(self, "widths", widths_from_evidence(self.evidence, self.n_exemplars, self.coverage))


def widths_from_evidence(evidence: Evidence | None, n: int, coverage: float = DEFAULT_COVERAGE) -> Widths:
    """Split-conformal widths from the leave-one-out residuals |after - mark|, pooled over parts.

    The rank ceil((n + 1) * coverage) is the finite-sample correction; below `intervals.min_items`
    residuals (9 at 90%) the width is None and the interval says there are too few marks. Leave-one-out
    residuals are the jackknife's: each comes from a calibration fitted without its item, so it is an
    honest held-out error, but the n fits differ slightly from the saved one (Barber et al. 2021 bound the
    worst case at 1 - 2 alpha; in practice coverage sits near the nominal).
    """
    if evidence is None:
        return Widths(None, n)
    return fit_widths(np.asarray(evidence.after), np.asarray(evidence.marks), coverage,
                      min_region_count=max(n + 1, 30))  # 10-40 marks: one pooled width, no regions


@dataclass(frozen=True)
class ProfileInfo:
    """One line of the profile list (the app's dropdown, `calibrate --list`)."""

    name: str
    path: Path
    created: str
    n_exemplars: int
    applies: bool
    rmse_before: float | None
    rmse_after: float | None
    graders: tuple[str, ...]
    uses_delivery: bool = False  # its scores are corrected by delivery measures
    deleted_learners: int = 0  # answers of learners deleted since it was fitted (forget_learners): fit it again

    @property
    def label(self) -> str:
        """e.g. "my-class - 24 responses, 2026-11-23, error 0.82 -> 0.41, uses delivery measures"."""
        text = f"{self.name} - {self.n_exemplars} responses, {self.created[:10]}"
        if self.rmse_before is not None and self.rmse_after is not None:
            text += f", error {self.rmse_before:.2f} -> {self.rmse_after:.2f}"
        if self.uses_delivery:
            text += ", uses delivery measures"
        if self.deleted_learners:
            text += ", fitted partly on deleted learners' marks: fit it again"
        return text + ("" if self.applies else " (did not help)")


def check_profile_name(name: str) -> str:
    """The name itself, when it is safe as a folder name; ValueError naming the rule otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"profile name {name!r} is not allowed: use {NAME_RULE}")
    return name


def default_profiles_root(env: Mapping[str, str] | None = None) -> Path:
    """$SLA_DATA_DIR/profiles, else $XDG_DATA_HOME/sla-demo/profiles, else ~/.local/share/sla-demo/profiles."""
    return default_folder(DATA, "profiles", env)


def save_profile(profile: CalibrationProfile, root: str | Path | None = None, overwrite: bool = False) -> Path:
    """Write root/<name>/ (profile.json + prototypes.safetensors) and return the folder.

    Raises:
        FileExistsError: a profile of that name exists and overwrite is False.
    """
    from safetensors.numpy import save_file

    root = Path(root) if root is not None else default_profiles_root()
    folder = root / check_profile_name(profile.name)
    if folder.exists() and not overwrite:
        raise FileExistsError(f"a calibration profile named {profile.name!r} already exists in {root}; "
                              "choose another name or overwrite it")
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{profile.name}."))  # written whole, then moved into place
    try:
        text = json.dumps(_to_json(profile), indent=2, allow_nan=False) + "\n"
        (tmp / PROFILE_FILE).write_text(text, encoding="utf-8")
        tensors = {f"part{p}": np.ascontiguousarray(fit.vectors, dtype=np.float32)
                   for p, fit in profile.prototypes.items()}
        save_file(tensors, str(tmp / PROTOTYPES_FILE))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def resolve_profile(name_or_path: str | Path, root: str | Path | None = None) -> Path:
    """A profile folder from a folder path or a name under `root`; FileNotFoundError listing the names."""
    path = Path(name_or_path).expanduser()
    if (path / PROFILE_FILE).is_file():
        return path
    root = Path(root) if root is not None else default_profiles_root()
    name = str(name_or_path)
    if _NAME.match(name) and (root / name / PROFILE_FILE).is_file():
        return root / name
    names = [p.name for p in list_profiles(root)]
    raise FileNotFoundError(f"no calibration profile {name!r}: not a profile folder, and not a name in {root} "
                            f"(profiles there: {', '.join(names) if names else 'none'})")


def load_profile(name_or_path: str | Path, root: str | Path | None = None) -> CalibrationProfile:
    """Read a profile written by `save_profile`; errors name the folder and what is wrong."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = resolve_profile(name_or_path, root)
    try:
        doc = json.loads((folder / PROFILE_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"calibration profile {folder}: {PROFILE_FILE} is not valid JSON ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != FORMAT_VERSION:
        raise ValueError(f"calibration profile {folder}: {PROFILE_FILE} is not a version-{FORMAT_VERSION} "
                         f"{FORMAT!r} file (format {doc.get('format') if isinstance(doc, dict) else None!r})")
    try:
        tensors = load_file(str(folder / PROTOTYPES_FILE)) if doc["prototypes"] else {}
    except (OSError, SafetensorError) as e:
        raise ValueError(f"calibration profile {folder}: cannot read {PROTOTYPES_FILE} ({e})") from e
    try:
        return _from_json(doc, tensors)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"calibration profile {folder}: bad or missing field ({e!r})") from e


def list_profiles(root: str | Path | None = None) -> list[ProfileInfo]:
    """The profiles under `root`, newest first; unreadable folders are skipped with a warning."""
    root = Path(root) if root is not None else default_profiles_root()
    if not root.is_dir():
        return []
    infos = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / PROFILE_FILE).is_file():
            continue
        try:
            doc = json.loads((folder / PROFILE_FILE).read_text(encoding="utf-8"))
            overall = (doc.get("evidence") or {}).get("overall") or {}
            infos.append(ProfileInfo(
                name=doc["name"], path=folder, created=doc["created"], n_exemplars=int(doc["n_exemplars"]),
                applies=bool(doc["applies"]), rmse_before=(overall.get("before") or {}).get("rmse"),
                rmse_after=(overall.get("after") or {}).get("rmse"), graders=tuple(doc["graders"]),
                uses_delivery=bool((doc.get("delivery") or {}).get("used")),
                deleted_learners=int(doc.get("deleted_learners", 0)),
            ))
        except (OSError, ValueError, KeyError, TypeError) as e:
            warnings.warn(f"skipping calibration profile folder {folder}: {e!r}", stacklevel=2)
    return sorted(infos, key=lambda i: i.created, reverse=True)


DELETED_LEARNER = "(deleted learner)"  # what a deleted learner's name becomes in a profile's evidence


def forget_learners(root: str | Path | None, learners) -> list[str]:
    """Take deleted learners out of the profiles under `root` (one teacher's): their names leave the evidence
    and each profile fitted on their marks says so in its verdict, to be fitted again without them (the
    profile keeps no recordings, so it cannot be refitted here). Returns the names of the profiles changed."""
    names = {str(n) for n in learners if n}
    root = Path(root) if root is not None else default_profiles_root()
    changed = []
    for info in list_profiles(root) if names else ():
        path = info.path / PROFILE_FILE
        doc = json.loads(path.read_text(encoding="utf-8"))
        evidence = doc.get("evidence") or {}
        hits = sum(1 for n in evidence.get("learners", ()) if n in names)
        if not hits:
            continue
        evidence["learners"] = [DELETED_LEARNER if n in names else n for n in evidence["learners"]]
        doc["deleted_learners"] = int(doc.get("deleted_learners", 0)) + hits
        doc["reason"] = (f"{doc['reason'].split(' [')[0]} [fitted partly on the marks of {doc['deleted_learners']} "
                         f"deleted learner answer(s): fit it again without them]")
        tmp = path.with_name(f".{PROFILE_FILE}.tmp")
        tmp.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        changed.append(info.name)
    return changed


# -- JSON --------------------------------------------------------------------------------------------


def _to_json(profile: CalibrationProfile) -> dict:
    return {
        "format": FORMAT, "version": FORMAT_VERSION,
        "name": profile.name, "created": profile.created,
        "n_exemplars": profile.n_exemplars, "n_by_part": {str(p): n for p, n in profile.n_by_part.items()},
        "applies": profile.applies, "reason": profile.reason,
        "graders": profile.graders,
        "maps": {g: {str(p): asdict(m) for p, m in maps.items()} for g, maps in profile.maps.items()},
        "prototypes": {str(p): {"levels": list(f.levels), "counts": list(f.counts), "scope": f.scope, "kind": f.kind,
                                "tensor": f"part{p}"} for p, f in profile.prototypes.items()},
        "fusion": None if profile.fusion is None else asdict(profile.fusion),
        "evidence": None if profile.evidence is None else profile.evidence.to_dict(),
        "intervals": {"coverage": profile.coverage, **asdict(profile.widths)} if profile.widths else None,
        "delivery": None if profile.delivery is None else asdict(profile.delivery),
    }


def _from_json(doc: dict, tensors: dict[str, np.ndarray]) -> CalibrationProfile:
    prototypes = {}
    for p, meta in doc["prototypes"].items():
        if meta["tensor"] not in tensors:
            raise ValueError(f"{PROTOTYPES_FILE} has no tensor {meta['tensor']!r} (has {sorted(tensors)})")
        prototypes[int(p)] = PrototypeFit(
            levels=tuple(float(v) for v in meta["levels"]), vectors=tensors[meta["tensor"]],
            counts=tuple(int(c) for c in meta["counts"]), scope=meta["scope"], kind=meta["kind"])
    fusion = doc["fusion"]
    if fusion is not None:
        fusion = FusionWeights(**{f.name: fusion[f.name] for f in fields(FusionWeights) if f.name in fusion})
    return CalibrationProfile(
        name=doc["name"], created=doc["created"], n_exemplars=int(doc["n_exemplars"]),
        n_by_part={int(p): int(n) for p, n in doc["n_by_part"].items()},
        graders=doc["graders"],
        maps={g: {int(p): LinearMap(**m) for p, m in maps.items()} for g, maps in doc["maps"].items()},
        prototypes=prototypes, fusion=fusion,
        evidence=None if doc["evidence"] is None else Evidence.from_dict(doc["evidence"]),
        applies=bool(doc["applies"]), reason=doc["reason"], **_intervals_from_json(doc.get("intervals")),
        delivery=_delivery_from_json(doc.get("delivery")),
    )


def _delivery_from_json(doc: dict | None) -> DeliveryFit | None:
    """Profiles saved before delivery measures have none: they apply exactly as before."""
    if not doc:
        return None
    values = {f.name: doc[f.name] for f in fields(DeliveryFit) if f.name in doc}
    for name in ("measures", "mean", "scale", "coefficients"):
        values[name] = tuple(values[name])
    return DeliveryFit(**values)


def _intervals_from_json(doc: dict | None) -> dict:
    """Profiles saved before intervals existed have none: __post_init__ derives them from the evidence."""
    if not doc:
        return {}
    values = dict(doc)
    return {"coverage": float(values.pop("coverage")), "widths": Widths(**values)}


def _nan_to_none(row: Mapping[str, float]) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


def _none_to_nan(row: Mapping[str, float | None]) -> dict:
    return {k: (math.nan if v is None else v) for k, v in row.items()}
