"""The speech encoder's number format on a CPU: bf16 only where the CPU has it, said in the status, and
its score drift against fp32 pinned on espeak-ng speech for every part."""

from __future__ import annotations

import pytest

import torch

from sla_core.graders import precision
from sla_core.graders.precision import (AUTO, BF16, FP32, INT8, MAX_DRIFT, ONNX, PathTiming, auto_candidates,
                                        choose_path, native_bf16_feature, resolve_precision)
from sla_core.graders.speech import SpeechGrader, load_speech_graders, loading, set_speech_precision, tiny_speech_grader
from sla_core.parts import PARTS
from sla_core.testing.batching import TOL_BATCH

# Measured: the largest |bf16 - fp32| part score of the tiny graders on the example learner was 0.0010
# (2.0-5.5 scale); bench/bench_cpu.py measures the full-size encoder (README). The bound is the 0.02
# (precision.MAX_DRIFT, which "auto" applies too).


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse avx2 fma", None),                                  # an AVX2 laptop: fp32
    ("fpu avx2 avx512f avx512_bf16", "avx512_bf16"),             # AMD Zen 4 / Intel Cooper Lake
    ("fpu avx2 avx512f avx512_bf16 amx_tile amx_bf16", "amx_bf16"),  # Intel Sapphire Rapids and later
])
def test_auto_times_bf16_only_where_the_cpu_computes_it(tmp_path, monkeypatch, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n")
    assert native_bf16_feature(cpuinfo) == expected
    monkeypatch.setattr(precision, "CPUINFO", cpuinfo)
    paths, left_out = auto_candidates()
    assert paths == ([FP32, ONNX, BF16, INT8] if expected else [FP32, ONNX, INT8])  # onnxruntime is installed here
    assert bool(left_out) == (expected is None)
    assert resolve_precision("auto", "cpu") == (AUTO, "")  # measured, not decided by the flags
    assert resolve_precision("auto", "cpu", tiny=True)[0] == FP32  # tests stay exact on any CI machine
    assert resolve_precision("fp32", "cpu") == (FP32, "forced by configuration")
    assert resolve_precision("int8", "cpu") == (INT8, "forced by configuration")
    with pytest.raises(ValueError, match=r"'fp16' is not one of \('auto', 'fp32', 'bf16', 'onnx', 'int8'\)"):
        resolve_precision("fp16", "cpu")


@pytest.mark.parametrize("timings, expected", [
    # the CPU: bf16 native but slower than ONNX Runtime -> ONNX Runtime
    ({FP32: (1.00, 0), ONNX: (0.53, 0), BF16: (0.67, 0.001)}, ONNX),
    # bf16 fastest and within the bound -> bf16
    ({FP32: (1.00, 0), ONNX: (0.60, 0), BF16: (0.40, 0.001)}, BF16),
    # the fastest drifts past the bound -> the next fastest
    ({FP32: (1.00, 0), ONNX: (0.60, 0), BF16: (0.40, 0.05)}, ONNX),
    # a busy CPU where ONNX Runtime is slower than torch -> torch
    ({FP32: (1.00, 0), ONNX: (1.28, 0)}, FP32),
    # within 5% of a preferred path: the preferred one (torch fp32: exact, no second copy of the weights)
    ({FP32: (1.00, 0), ONNX: (0.97, 0)}, FP32),
    ({FP32: (1.00, 0), ONNX: (0.50, 0), BF16: (0.49, 0.001)}, ONNX),
    # int8 much faster and within the bound -> int8; past it -> ONNX Runtime fp32
    ({FP32: (1.00, 0), ONNX: (0.48, 0), INT8: (0.37, 0.0115)}, INT8),
    ({FP32: (1.00, 0), ONNX: (0.48, 0), INT8: (0.37, 0.021)}, ONNX),
])
def test_auto_keeps_the_fastest_path_within_the_drift_bound(timings, expected):
    chosen, why = choose_path([PathTiming(p, s, d) for p, (s, d) in timings.items()])
    assert chosen == expected
    assert why.startswith("measured here: fp32 1.00 s")
    assert ("not used" in why) == any(d > MAX_DRIFT for _, d in timings.values())
    with pytest.raises(ValueError, match="no torch fp32 timing"):
        choose_path([PathTiming(ONNX, 0.5, 0.0)])


@pytest.fixture
def full_size(monkeypatch, tmp_path):
    """Tiny graders treated as full-size ones (so "auto" measures) with fake timings; counts measurements."""
    monkeypatch.setenv("SLA_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(loading, "SMALL_WIDTH", 0)
    fake = {"timings": {FP32: (1.0, 0.0), ONNX: (0.5, 0.0)}, "calls": 0}

    def measure(graders, candidates, onnx_cache=None):
        fake["calls"] += 1
        assert candidates[0] == FP32 and all(g.precision == FP32 for g in graders.values())
        return [PathTiming(p, *fake["timings"][p]) for p in candidates if p in fake["timings"]]

    monkeypatch.setattr(loading, "measure_paths", measure)
    return fake


def test_auto_measures_once_per_machine_and_model_and_says_so(full_size, tmp_path, monkeypatch):
    graders = {3: tiny_speech_grader(part=3, seed=1)}
    note = set_speech_precision(graders, "auto", "cpu")
    assert full_size["calls"] == 1 and graders[3].precision == ONNX and graders[3].onnx is not None
    assert note.startswith("runs in fp32 through ONNX Runtime (measured here: fp32 1.00 s, onnx 0.50 s")
    stored = list((tmp_path / "cache" / "precision").glob("*.json"))
    assert len(stored) == 1 and stored[0].stat().st_mode & 0o777 == 0o600

    again = {3: tiny_speech_grader(part=3, seed=1)}  # a second start: the stored choice, no measuring
    assert "cached" in set_speech_precision(again, "auto", "cpu") and full_size["calls"] == 1
    assert again[3].precision == ONNX

    full_size["timings"][ONNX] = (1.3, 0.0)  # what a new measurement would find: torch wins
    other = {3: tiny_speech_grader(part=3, seed=2)}  # other weights: measured again
    assert "runs in fp32 in torch (measured here" in set_speech_precision(other, "auto", "cpu")
    assert full_size["calls"] == 2 and other[3].precision == FP32 and other[3].onnx is None

    threads_before = torch.get_num_threads()
    torch.set_num_threads(threads_before + 1)
    try:  # another thread count (another laptop, or SLA threads changed): measured again
        set_speech_precision({3: tiny_speech_grader(part=3, seed=1)}, "auto", "cpu")
    finally:
        torch.set_num_threads(threads_before)
    assert full_size["calls"] == 3
    monkeypatch.setattr(precision, "VERSIONED", (*precision.VERSIONED, "numpy"))  # a library changed
    set_speech_precision({3: tiny_speech_grader(part=3, seed=1)}, "auto", "cpu")
    assert full_size["calls"] == 4


def test_a_damaged_choice_file_is_measured_again(full_size, tmp_path):
    set_speech_precision({3: tiny_speech_grader(part=3, seed=1)}, "auto", "cpu")
    for f in (tmp_path / "cache" / "precision").glob("*.json"):
        f.write_text("{not json")
    set_speech_precision({3: tiny_speech_grader(part=3, seed=1)}, "auto", "cpu")
    assert full_size["calls"] == 2


@pytest.mark.slow
def test_measuring_times_every_candidate_and_its_drift(tmp_path, monkeypatch):
    """The real measurement on a tiny grader: every candidate timed, fp32's drift 0, ONNX Runtime's within 1e-5."""
    monkeypatch.setenv("SLA_DATA_DIR", str(tmp_path))
    graders = {p: tiny_speech_grader(part=p, seed=p) for p in (1, 3)}
    timings = loading.measure_paths(graders, [FP32, ONNX, BF16, INT8], repeats=1)
    assert [t.path for t in timings] == [FP32, ONNX, BF16, INT8]
    assert all(t.seconds > 0 for t in timings)
    drift = {t.path: t.drift for t in timings}
    assert drift[FP32] == 0 and drift[ONNX] <= 1e-5 and 0 < drift[BF16] <= MAX_DRIFT and drift[INT8] > 0
    assert all(g.precision == FP32 and g.onnx is None for g in graders.values())  # left as found


def test_the_model_status_says_which_path_runs():
    assert "runs in fp32" in load_speech_graders(None, parts=(3,), tiny=True, device="cpu").info().note
    forced = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision="bf16")
    assert "runs in bf16 (forced by configuration)" in forced.info().note
    assert all(g.precision == BF16 for g in forced.graders.values())


@pytest.mark.slow
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
