"""How the speech encoder runs on a CPU, chosen by measurement: torch fp32, fp32 through ONNX Runtime, bf16
where the CPU computes it natively, or ONNX Runtime's dynamic int8.

Why measure: the rule "bf16 wherever the CPU has AVX512-BF16" picked the slower path on such a CPU (issue 24:
ONNX Runtime fp32 0.53x the bare torch encoder there, bf16 0.67x), and on AVX2 laptops ONNX Runtime fp32 was
0.48x on a quiet CPU but 1.28x torch while other processes spun. No flag predicts which path wins on a given
machine, so "auto" times the candidates on the first start on a machine (`choose_path`, timings from
`speech.loading.measure_paths`), keeps the fastest whose score drift against torch fp32 is within MAX_DRIFT,
and caches the choice per machine and model (`PrecisionCache`, keyed by `machine_key`): later starts read it.

The tiny test models always stay in torch fp32 under "auto", so a test's exact checks do not depend on the
machine CI runs on.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..paths import CACHE, default_folder
from .onnx_encoder import onnx_runtime_missing

FP32, BF16, ONNX, INT8, AUTO = "fp32", "bf16", "onnx", "int8", "auto"  # ONNX: fp32 through ONNX Runtime; INT8 too
PRECISIONS = (AUTO, FP32, BF16, ONNX, INT8)
# Which paths "auto" may time, and its order of preference when two are equally fast (within TIE): torch fp32
# first (exact, no second copy of the weights), then ONNX Runtime fp32 (exact to 1e-5), bf16, and int8 last: it
# moved part scores by up to 0.0115 on espeak-ng speech with the full-size random encoder (README), within
# MAX_DRIFT; a trained checkpoint's larger weight outliers may move them more, so its drift is measured on the
# loaded weights before it is kept.
AUTO_CANDIDATES = (FP32, ONNX, BF16, INT8)
MAX_DRIFT = 0.02  # score points (2.0-5.5 scale): the most a path may move a part score from torch fp32
TIE = 0.05  # a path must be more than 5% faster than a preferred one to be chosen over it
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of native bf16 matrix units
CPUINFO = Path("/proc/cpuinfo")
CHOICE_FORMAT = "sla-precision-choice-v1"  # bump when the measurement or the stored JSON changes
VERSIONED = ("torch", "onnxruntime", "onnx", "transformers")  # libraries whose versions change the timings
FILE_MODE, DIR_MODE = 0o600, 0o700


def _cpuinfo_words(cpuinfo: Path | None = None) -> tuple[str, set[str]]:
    """(CPU model name, flags) from /proc/cpuinfo; ("", set()) where there is none (not Linux)."""
    try:
        text = (cpuinfo or CPUINFO).read_text()
    except OSError:
        return "", set()
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return model, set(flags) or set(text.split())


def native_bf16_feature(cpuinfo: Path | None = None) -> str | None:
    """The CPU feature that makes bf16 fast here ("amx_bf16" / "avx512_bf16"), or None.

    Reads /proc/cpuinfo (or `cpuinfo`) on Linux and asks torch's own CPU probe elsewhere (same cpuid bits).
    """
    _, words = _cpuinfo_words(cpuinfo)
    if not words:  # not Linux: torch's probes (private, but they read the same cpuid bits)
        cpu = torch.cpu
        probes = {"amx_bf16": "_is_amx_tile_supported", "avx512_bf16": "_is_avx512_bf16_supported"}
        words = {flag for flag, probe in probes.items() if getattr(cpu, probe, lambda: False)()}
    return next((flag for flag in CPU_BF16_FLAGS if flag in words), None)


def resolve_precision(requested: str, device: str | torch.device, tiny: bool = False) -> tuple[str, str]:
    """The path to run and why, before any measurement.

    Args:
        requested: "auto" (measure, see `auto_candidates`), or "fp32", "bf16", "onnx", "int8" (forced).
        device: where the encoder runs; "auto" keeps torch fp32 off the CPU (GPUs are not this module's concern).
        tiny: a tiny test model, which "auto" keeps in torch fp32 (exact checks; nothing to gain at that width).
    Returns:
        (FP32, BF16, ONNX or INT8, a short reason), or (AUTO, "") when the paths must be timed on this CPU.
        ONNX and INT8 still need their export to succeed: set_speech_precision falls back to FP32 and says why.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"speech precision {requested!r} is not one of {PRECISIONS}")
    on = torch.device(device).type
    if requested in (ONNX, INT8) and on != "cpu":
        return FP32, f"{requested} asked for, but ONNX Runtime runs on the CPU here, not on {on}"
    if requested in (ONNX, INT8) and (missing := onnx_runtime_missing()):
        return FP32, f"{requested} asked for, but {missing}"
    if requested != AUTO:
        return requested, "forced by configuration"
    if on != "cpu":
        return FP32, f"fp32 on {on}"
    if tiny:
        return FP32, "tiny test model: fp32 so checks are exact on any CPU"
    return AUTO, ""


def auto_candidates() -> tuple[list[str], list[str]]:
    """The paths "auto" times on this CPU, in AUTO_CANDIDATES order, and why each other one is left out."""
    paths, left_out = [FP32], []
    if missing := onnx_runtime_missing():
        left_out.append(f"onnx, int8: {missing}")
    else:
        paths += [ONNX, INT8]
    if native_bf16_feature() is None:
        left_out.append("bf16: not native here (no AMX / AVX512-BF16), emulated bf16 is several times slower")
    else:
        paths.append(BF16)
    return [p for p in AUTO_CANDIDATES if p in paths], left_out


@dataclass(frozen=True)
class PathTiming:
    """One candidate path timed on the probe audio."""

    path: str  # FP32, ONNX, BF16, ...
    seconds: float  # median time of the encoder on the probe (interleaved repeats)
    drift: float  # largest |score - torch fp32 score| over the loaded parts on the probe, score points


def choose_path(timings: Sequence[PathTiming], max_drift: float = MAX_DRIFT, tie: float = TIE) -> tuple[str, str]:
    """The fastest path whose drift is within `max_drift`; a preferred path (earlier in AUTO_CANDIDATES) wins
    unless another is more than `tie` faster. Returns (path, the reason in words).

    Raises:
        ValueError: no timings, or none for torch fp32 (the reference every drift is measured against).
    """
    by_path = {t.path: t for t in timings}
    if FP32 not in by_path:
        raise ValueError(f"no torch fp32 timing among {sorted(by_path)}: it is the reference")
    order = sorted(by_path, key=lambda p: AUTO_CANDIDATES.index(p) if p in AUTO_CANDIDATES else len(AUTO_CANDIDATES))
    best = FP32
    for path in order:
        t = by_path[path]
        if t.drift <= max_drift and t.seconds < by_path[best].seconds * (1 - tie):
            best = path
    parts = []
    for path in order:
        t = by_path[path]
        said = f"{path} {t.seconds:.2f} s" + (f" (drift {t.drift:.3f})" if 1e-4 < t.drift <= max_drift else "")
        if t.drift > max_drift:
            said += f" (drift {t.drift:.3f} > {max_drift:g}: not used)"
        parts.append(said)
    return best, "measured here: " + ", ".join(parts)


def machine_key(weights: Sequence[str], threads: int | None = None, cpuinfo: Path | None = None) -> dict[str, object]:
    """What the timings depend on: the CPU (model and flags), the thread count, the libraries' versions and
    the encoder weights (`weights`: digests of every distinct encoder; see speech.loading). Any change -> measure again."""
    model, flags = _cpuinfo_words(cpuinfo)
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "format": CHOICE_FORMAT,
        "cpu": model or platform.processor() or platform.machine(),
        "flags": hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()[:16],
        "threads": threads or torch.get_num_threads(),
        "versions": versions,
        "weights": sorted(weights),
    }


def default_precision_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """$SLA_DATA_DIR/cache/precision, else $XDG_CACHE_HOME/sla-demo/precision (~/.cache/...)."""
    return default_folder(CACHE, "precision", env)


@dataclass(frozen=True)
class PrecisionChoice:
    """A measured choice as stored: the path, why, and the timings it was made from."""

    path: str
    reason: str
    timings: tuple[PathTiming, ...]
    measured_at: str  # ISO date and time, UTC


class PrecisionCache:
    """The measured choices on disk, one JSON file per machine key (owner-only, written atomically)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_precision_cache_dir()

    def _path(self, key: Mapping[str, object]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
        return self.root / f"{digest}.json"

    def get(self, key: Mapping[str, object]) -> PrecisionChoice | None:
        """The stored choice for exactly this key, or None (also for a damaged or foreign file)."""
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            if data["key"] != json.loads(json.dumps(key, sort_keys=True)) or data["path"] not in PRECISIONS:
                return None
            timings = tuple(PathTiming(str(t["path"]), float(t["seconds"]), float(t["drift"])) for t in data["timings"])
            return PrecisionChoice(data["path"], str(data["reason"]), timings, str(data["measured_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: Mapping[str, object], choice: PrecisionChoice) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        path = self._path(key)
        data = {"key": key, **asdict(choice)}
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=path.stem[:8], suffix=".tmp")  # created 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, sort_keys=True)
        os.replace(tmp, path)


def now_utc() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def describe(precision: str, reason: str) -> str:
    """'runs in bf16 (this CPU has amx_bf16)': the line the model status shows."""
    paths = {ONNX: "fp32 through ONNX Runtime", INT8: "int8 through ONNX Runtime", FP32: "fp32 in torch"}
    return f"runs in {paths.get(precision, precision)} ({reason})"


__all__ = ["AUTO", "AUTO_CANDIDATES", "BF16", "FP32", "INT8", "MAX_DRIFT", "ONNX", "PRECISIONS", "PathTiming",
           "PrecisionCache", "PrecisionChoice", "auto_candidates", "choose_path", "default_precision_cache_dir",
           "describe", "machine_key", "native_bf16_feature", "resolve_precision"]
