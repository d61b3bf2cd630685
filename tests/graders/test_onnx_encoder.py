"""The speech encoder through ONNX Runtime (CPUs without native bf16): the same scores as torch fp32, exported
once and cached, torch kept for training, and a plain torch fp32 fallback that the status names."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sla_core.data import PartInput
from sla_core.graders import onnx_encoder, precision
from sla_core.graders.onnx_encoder import OnnxEncoder
from sla_core.graders.precision import FP32, ONNX, auto_candidates
from sla_core.graders.speech import (SpeechGraderConfig, build_speech_grader, load_speech_graders,
                                     set_speech_precision, tiny_speech_grader, tiny_wav2vec2_config)
from sla_core.parts import PARTS
from sla_core.testing.batching import TOL_BATCH, random_groupings, score_grouped



@pytest.fixture
def cache(tmp_path, monkeypatch) -> SimpleNamespace:
    """A fresh ONNX cache for each test ($SLA_DATA_DIR/cache/onnx), and a count of exports and session calls."""
    monkeypatch.setenv("SLA_DATA_DIR", str(tmp_path))
    calls = {"export": 0, "run": 0}
    export, run = onnx_encoder.export_encoder, OnnxEncoder.__call__

    def counted_export(*args, **kwargs):
        calls["export"] += 1
        return export(*args, **kwargs)

    def counted_run(self, *args, **kwargs):
        calls["run"] += 1
        return run(self, *args, **kwargs)

    monkeypatch.setattr(onnx_encoder, "export_encoder", counted_export)
    monkeypatch.setattr(OnnxEncoder, "__call__", counted_run)
    return SimpleNamespace(dir=tmp_path / "cache" / "onnx", calls=calls)


@pytest.mark.slow
def test_onnx_scores_equal_torch_fp32_for_every_part(example_parts, cache):
    fp32 = load_speech_graders(None, tiny=True, device="cpu", precision="fp32").score(example_parts)
    graders = load_speech_graders(None, tiny=True, device="cpu", precision="onnx")
    assert "runs in fp32 through ONNX Runtime (forced by configuration)" in graders.info().note
    onnx = graders.score(example_parts)
    assert cache.calls["run"] >= len(PARTS)  # every part went through ONNX Runtime, not torch
    assert [s.part for s in onnx] == list(PARTS)
    for a, b in zip(fp32, onnx, strict=True):
        assert abs(a.score - b.score) <= 1e-5, (a.part, a.score, b.score)
        np.testing.assert_allclose(a.similarities, b.similarities, atol=1e-5, rtol=0)
        for wa, wb in zip(a.pooling_weights, b.pooling_weights, strict=True):
            np.testing.assert_allclose(wa, wb, atol=1e-5, rtol=0)


@pytest.mark.slow
def test_a_masked_layer_mixing_encoder_matches_torch_on_padded_batches(example_parts, cache):
    """wav2vec2-large-style encoders (layer norm) take an attention mask; layer_weighted_sum needs every layer."""
    config = SpeechGraderConfig(part=3, encoder="tiny", encoder_config=tiny_wav2vec2_config("layer").to_dict(),
                                layer_weighted_sum=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        grader = build_speech_grader(config).eval()
        torch.nn.init.normal_(grader.layer_logits)  # an uneven mix, so a wrong layer would show
    parts = [example_parts[0].waveforms[:3], example_parts[1].waveforms, example_parts[3].waveforms[1]]  # unequal lengths
    fp32 = grader.predict(parts)
    assert "through ONNX Runtime" in set_speech_precision({3: grader}, "onnx", "cpu")
    onnx = grader.predict(parts)
    assert cache.calls["run"] == 1  # one padded batch with its mask
    for a, b in zip(fp32, onnx, strict=True):
        assert abs(a.raw_score - b.raw_score) <= 1e-5


def test_batching_through_onnx_runtime_changes_nothing(example_parts, cache):
    graders = load_speech_graders(None, parts=(1, 5), tiny=True, device="cpu", precision="onnx")
    part1, part5 = example_parts[0].waveforms, example_parts[3].waveforms
    n = min(len(w) for w in part1)
    parts = [PartInput(1, tuple(w[:n] for w in part1)),  # equal lengths: one batch in the encoder
             PartInput(5, part5), PartInput(1, part1[:2]), PartInput(5, part5[2:3]), PartInput(1, (part1[4][:n],))]
    alone = [graders.score([p])[0] for p in parts]
    for groups in random_groupings(len(parts), seed=3, rounds=2)[1:]:
        for a, b in zip(score_grouped(graders.score, parts, groups), alone, strict=True):
            assert abs(a.score - b.score) <= TOL_BATCH
            np.testing.assert_allclose(a.similarities, b.similarities, atol=TOL_BATCH, rtol=0)


@pytest.mark.slow
def test_the_export_is_cached_on_disk_and_reused(cache):
    load_speech_graders(None, tiny=True, device="cpu", precision="onnx")
    assert cache.calls["export"] == 1  # the four tiny graders have the same weights: one graph
    (path,) = cache.dir.glob("*.onnx")
    assert path.stat().st_mode & 0o777 == 0o600  # children's-voice machines are shared: owner only
    before = path.stat()
    again = load_speech_graders(None, tiny=True, device="cpu", precision="onnx")
    assert cache.calls["export"] == 1 and path.stat().st_ino == before.st_ino
    assert again.graders[1].onnx.export_seconds is None
    assert "loaded from the cache" in again.graders[1].onnx.describe_load()

    other = tiny_speech_grader(part=3, seed=9)  # other weights: another graph
    set_speech_precision({3: other}, "onnx", "cpu")
    assert cache.calls["export"] == 2 and len(list(cache.dir.glob("*.onnx"))) == 2
    assert not list(cache.dir.glob("*.tmp"))  # written atomically: no leftovers


def test_training_runs_torch_with_gradients(example_parts, cache):
    grader = tiny_speech_grader(part=3, seed=2)
    set_speech_precision({3: grader}, "onnx", "cpu")
    assert grader.onnx is not None and grader.precision == ONNX
    grader.train()
    out = grader([example_parts[1].waveforms[0]], labels=torch.tensor([4.0]))
    out.loss.backward()
    weight = grader.encoder.feature_projection.projection.weight  # every frame passes it (layers may be dropped)
    assert weight.grad is not None and weight.grad.abs().sum() > 0  # gradients reach the encoder
    assert cache.calls["run"] == 0
    assert grader.onnx is None and grader.precision == FP32  # the graph would be stale after a step


def test_without_onnxruntime_the_encoder_runs_torch_fp32_and_says_why(example_parts, cache, tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")  # an AVX2 laptop
    monkeypatch.setattr(precision, "CPUINFO", cpuinfo)
    assert auto_candidates()[0] == [FP32, ONNX, "int8"]
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    paths, left_out = auto_candidates()
    assert paths == [FP32] and "onnx, int8: onnxruntime not installed" in left_out  # "auto" times torch fp32 alone
    graders = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision="onnx")
    assert "runs in fp32 in torch (onnx asked for, but onnxruntime not installed)" in graders.info().note
    assert 2.0 <= graders.score([example_parts[1]])[0].score <= 5.5 and cache.calls["run"] == 0


def test_a_failed_export_falls_back_to_torch_fp32(example_parts, cache, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("Unsupported: ONNX export of operator foo")

    monkeypatch.setattr(onnx_encoder, "export_encoder", broken)
    graders = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision="onnx")
    note = graders.info().note
    assert "runs in fp32 in torch (ONNX Runtime failed, RuntimeError: Unsupported: ONNX export of operator foo)" in note
    fp32 = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision="fp32")
    assert graders.score([example_parts[1]])[0].score == fp32.score([example_parts[1]])[0].score


def test_the_command_line_can_force_onnx_runtime(cache):
    import argparse

    from sla_core.cli.assess import add_assessor_arguments, assessor_config

    parser = argparse.ArgumentParser()
    add_assessor_arguments(parser)
    config = assessor_config(parser.parse_args(["--tiny", "--speech-precision", "onnx"]))
    assert config.speech_precision == "onnx"
    graders = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision=config.speech_precision)
    assert "runs in fp32 through ONNX Runtime" in graders.info().note
    assert assessor_config(parser.parse_args(["--speech-precision", "int8"])).speech_precision == "int8"
    with pytest.raises(SystemExit):
        parser.parse_args(["--speech-precision", "fp16"])


def test_int8_runs_only_when_asked_for_and_says_so(example_parts, cache):
    """ONNX Runtime's dynamic int8 (MatMul weights): quantised once from the fp32 export, cached beside it."""
    graders = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision="int8")
    assert "runs in int8 through ONNX Runtime (forced by configuration)" in graders.info().note
    assert graders.graders[3].onnx.path.name.endswith(".int8.onnx") and cache.calls["export"] == 1
    assert {f.name.count(".") for f in cache.dir.glob("*.onnx")} == {1, 2}  # the fp32 file and its int8 twin
    score = graders.score([example_parts[1]])[0].score
    assert cache.calls["run"] == 1 and 2.0 <= score <= 5.5
    again = load_speech_graders(None, parts=(3,), tiny=True, device="cpu", precision="int8")
    assert again.graders[3].onnx.export_seconds is None and cache.calls["export"] == 1  # from the cache
