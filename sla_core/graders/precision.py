"""Which number format the speech encoder runs in on a CPU: bfloat16 where the CPU computes it natively, else fp32.

Why: wav2vec2-base is nearly all matrix products. CPUs with AMX (Intel Xeon 4th gen and later) or AVX512-BF16
(those, and AMD Zen 4 and later) multiply bf16 at about twice the fp32 rate, and the encoder took 0.61x its fp32
time there (issue 16). On CPUs without them (AVX2 laptops) bf16 is emulated and slower, so they keep fp32, which
is also the only format in which batching is exactly invariant. The tiny test models always stay fp32, so a
test's exact checks do not depend on the machine CI runs on.
"""

from __future__ import annotations

from pathlib import Path

import torch

FP32, BF16, AUTO = "fp32", "bf16", "auto"
PRECISIONS = (AUTO, FP32, BF16)
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
    """The precision to run and why, in words for the model-status panel.

    Args:
        requested: "auto" (bf16 only on a CPU with native bf16), "fp32" or "bf16" (forced).
        device: where the encoder runs; "auto" keeps fp32 off the CPU (GPUs are not this module's concern).
        tiny: a tiny test model, which "auto" keeps in fp32 (bf16 gains nothing at that width).
    Returns:
        (FP32 or BF16, a short reason).
    """
    if requested not in PRECISIONS:
        raise ValueError(f"speech precision {requested!r} is not one of {PRECISIONS}")
    if requested != AUTO:
        return requested, "forced by configuration"
    if torch.device(device).type != "cpu":
        return FP32, f"fp32 on {torch.device(device).type}"
    if tiny:
        return FP32, "tiny test model: fp32 so checks are exact on any CPU"
    feature = native_bf16_feature()
    if feature is None:
        return FP32, "this CPU has no native bf16 (no AMX / AVX512-BF16)"
    return BF16, f"this CPU has {feature}"


def describe(precision: str, reason: str) -> str:
    """'runs in bf16 (this CPU has amx_bf16)': the line the model status shows."""
    return f"runs in {precision} ({reason})"


__all__ = ["AUTO", "BF16", "FP32", "PRECISIONS", "describe", "native_bf16_feature", "resolve_precision"]
