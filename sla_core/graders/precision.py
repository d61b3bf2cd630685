"""How the speech encoder runs on a CPU: bfloat16 where the CPU computes it natively, else fp32 through
ONNX Runtime, else fp32 in torch.

Why: wav2vec2-base is nearly all matrix products. CPUs with AMX (Intel Xeon 4th gen and later) or AVX512-BF16
(those, and AMD Zen 4 and later) multiply bf16 at about twice the fp32 rate, and the encoder took 0.61x its fp32
time there (issue 16). On CPUs without them (AVX2 laptops) bf16 is emulated and slower; there ONNX Runtime runs
the same fp32 encoder in 0.48x the torch time with no drift (graders/onnx_encoder.py). Torch fp32 is what is
left when onnxruntime is not installed or its export fails. The tiny test models always stay in torch fp32
under "auto", so a test's exact checks do not depend on the machine CI runs on.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .onnx_encoder import onnx_runtime_missing

FP32, BF16, ONNX, AUTO = "fp32", "bf16", "onnx", "auto"  # ONNX: fp32 through ONNX Runtime
PRECISIONS = (AUTO, FP32, BF16, ONNX)
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of native bf16 matrix units
CPUINFO = Path("/proc/cpuinfo")


def native_bf16_feature(cpuinfo: Path | None = None) -> str | None:
    """The CPU feature that makes bf16 fast here ("amx_bf16" / "avx512_bf16"), or None.

    Reads /proc/cpuinfo (or `cpuinfo`) on Linux and asks torch's own CPU probe elsewhere (same cpuid bits).
    """
    try:
        words = set((cpuinfo or CPUINFO).read_text().split())
    except OSError:
        words = set()
    if not words:  # not Linux: torch's probes (private, but they read the same cpuid bits)
        cpu = torch.cpu
        probes = {"amx_bf16": "_is_amx_tile_supported", "avx512_bf16": "_is_avx512_bf16_supported"}
        words = {flag for flag, probe in probes.items() if getattr(cpu, probe, lambda: False)()}
    return next((flag for flag in CPU_BF16_FLAGS if flag in words), None)


def resolve_precision(requested: str, device: str | torch.device, tiny: bool = False) -> tuple[str, str]:
    """The path to run and why, in words for the model-status panel.

    Args:
        requested: "auto" (bf16 on a CPU with native bf16, else ONNX Runtime fp32 where installed, else
            torch fp32), or "fp32", "bf16", "onnx" (forced).
        device: where the encoder runs; "auto" keeps torch fp32 off the CPU (GPUs are not this module's concern).
        tiny: a tiny test model, which "auto" keeps in torch fp32 (exact checks; nothing to gain at that width).
    Returns:
        (FP32, BF16 or ONNX, a short reason). ONNX still needs its export to succeed: load_speech_graders
        falls back to FP32 and says why when it does not.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"speech precision {requested!r} is not one of {PRECISIONS}")
    on = torch.device(device).type
    if requested == ONNX and on != "cpu":
        return FP32, f"onnx asked for, but ONNX Runtime runs on the CPU here, not on {on}"
    if requested == ONNX and (missing := onnx_runtime_missing()):
        return FP32, f"onnx asked for, but {missing}"
    if requested != AUTO:
        return requested, "forced by configuration"
    if on != "cpu":
        return FP32, f"fp32 on {on}"
    if tiny:
        return FP32, "tiny test model: fp32 so checks are exact on any CPU"
    feature = native_bf16_feature()
    if feature is not None:
        return BF16, f"this CPU has {feature}"
    no_bf16 = "this CPU has no native bf16 (no AMX / AVX512-BF16)"
    if missing := onnx_runtime_missing():
        return FP32, f"{no_bf16}; {missing}"
    return ONNX, no_bf16


def describe(precision: str, reason: str) -> str:
    """'runs in bf16 (this CPU has amx_bf16)': the line the model status shows."""
    path = "fp32 through ONNX Runtime" if precision == ONNX else f"{precision} in torch" if precision == FP32 else precision
    return f"runs in {path} ({reason})"


__all__ = ["AUTO", "BF16", "FP32", "ONNX", "PRECISIONS", "describe", "native_bf16_feature", "resolve_precision"]
