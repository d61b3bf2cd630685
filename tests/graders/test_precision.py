"""The speech encoder's number format on a CPU: bf16 only where the CPU has it, said in the status, and
its score drift against fp32 pinned on espeak-ng speech for every part."""

from __future__ import annotations

import pytest

from sla_core.graders import precision
from sla_core.graders.precision import BF16, FP32, ONNX, native_bf16_feature, resolve_precision
from sla_core.graders.speech import SpeechGrader, load_speech_graders, tiny_speech_grader
from sla_core.parts import PARTS
from sla_core.testing.batching import TOL_BATCH

# Measured: the largest |bf16 - fp32| part score of the tiny graders on the example learner was 0.0010
# (2.0-5.5 scale); bench/bench_cpu.py measures the full-size encoder (README). The bound is the 0.02.
MAX_DRIFT = 0.02


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse avx2 fma", None),                                  # an AVX2 laptop: fp32
    ("fpu avx2 avx512f avx512_bf16", "avx512_bf16"),             # AMD Zen 4 / Intel Cooper Lake
    ("fpu avx2 avx512f avx512_bf16 amx_tile amx_bf16", "amx_bf16"),  # Intel Sapphire Rapids and later
])
def test_auto_runs_bf16_only_where_the_cpu_computes_it(tmp_path, monkeypatch, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    assert native_bf16_feature(cpuinfo) == expected
    monkeypatch.setattr(precision, "CPUINFO", cpuinfo)
    run_as, why = resolve_precision("auto", "cpu")
    assert run_as == (BF16 if expected else ONNX)  # no native bf16: fp32 through ONNX Runtime (installed here)
    assert (expected or "no native bf16") in why
    assert resolve_precision("auto", "cpu", tiny=True)[0] == FP32  # tests stay exact on any CI machine
    assert resolve_precision("fp32", "cpu") == (FP32, "forced by configuration")
    with pytest.raises(ValueError, match=r"'fp16' is not one of \('auto', 'fp32', 'bf16', 'onnx'\)"):
        resolve_precision("fp16", "cpu")


def test_the_model_status_says_which_path_runs():
    assert "runs in fp32" in load_speech_graders(None, parts=(3,), tiny=True, device="cpu").info().note
    forced = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision="bf16")
    assert "runs in bf16 (forced by configuration)" in forced.info().note
    assert all(g.precision == BF16 for g in forced.graders.values())


def test_bf16_drift_against_fp32_is_pinned_for_every_part(example_parts):
    fp32 = load_speech_graders(None, tiny=True, device="cpu", precision="fp32").score(example_parts)
    bf16 = load_speech_graders(None, tiny=True, device="cpu", precision="bf16").score(example_parts)
    drift = {a.part: abs(a.score - b.score) for a, b in zip(fp32, bf16, strict=True)}
    assert set(drift) == set(PARTS)
    assert max(drift.values()) <= MAX_DRIFT, drift
    assert any(d > 0 for d in drift.values())  # bf16 really ran: the scores are not the fp32 ones


def test_batching_is_exact_in_fp32_and_within_the_drift_in_bf16(example_parts, monkeypatch):
    part1 = list(example_parts[0].waveforms)
    n = min(len(w) for w in part1)
    same_length = [w[:n] for w in part1]  # equal lengths: the grader encodes them as one batch
    for run_as, tolerance in ((FP32, TOL_BATCH), (BF16, MAX_DRIFT)):  # fp32: the 1e-5 of batch invariance
        grader = tiny_speech_grader(part=1, seed=5)
        grader.precision = run_as
        batched = grader.predict([same_length])[0]
        with monkeypatch.context() as m:  # the same part with every answer encoded alone
            m.setattr(grader, "encode", lambda waves, g=grader: [SpeechGrader.encode(g, [w])[0] for w in waves])
            alone = grader.predict([same_length])[0]
        assert abs(batched.raw_score - alone.raw_score) <= tolerance, (run_as, batched.raw_score, alone.raw_score)
