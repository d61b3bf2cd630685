"""The wav2vec2-base encoder's other CPU paths, side by side with eager fp32 in one run: time ratio and drift.

Issue 16 asks for the speech grader at <= 0.60x the bare fp32 encoder. On a CPU without native bf16 (AVX2
laptops), that leaves other runtimes and int8. Each path here runs the same full-size random encoder
(wav2vec2-base shapes, seed 0) on the same espeak-ng answer, interleaved, and is reported as
  - its time over eager fp32's in the same repeat (median over repeats),
  - its hidden-state drift: max |h - h_fp32| over fp32's range, and relative RMS,
  - its part-score drift: the four part graders (random heads, as bench_cpu.py) on the example learner
    (assets/example_learner, espeak-ng, every part), largest |score - fp32 score| and |raw - fp32 raw|.

Paths: torch dynamic int8 (Linear layers), ONNX Runtime fp32 (all graph optimisations), ONNX Runtime fp32
after its transformer fusions, ONNX Runtime dynamic int8 (MatMul weights; optionally Conv too). ONNX paths
need `onnx` and `onnxruntime` (not project dependencies: pip install them in a scratch environment).

Random weights set the speed but not int8's error: trained wav2vec2 weights have larger outliers, so the
drift measured here is a lower bound for int8 on a real checkpoint.

    python bench/bench_encoder_alt.py                       # 20 s answer, 2 threads, 3 repeats
    python bench/bench_encoder_alt.py --seconds 10 --repeats 2 --no-conv-int8
    python bench/bench_encoder_alt.py --tiny --seconds 2 --repeats 1   # plumbing check
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cpu import SPEECH, speech_graders  # the same random graders as the main benchmark

from sla_core.audio import SAMPLE_RATE, load_checked
from sla_core.graders.precision import FP32
from sla_core.parts import PARTS
from sla_core.testing.audio import dummy_waveform, espeak_wav, has_espeak

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "example_learner"


def answer(seconds: float, folder: Path) -> np.ndarray:
    """One normalised answer of `seconds` (espeak-ng speech where installed), shaped (1, samples)."""
    if has_espeak():
        wav = load_checked(espeak_wav(folder / "speech.wav", SPEECH * 2, sr=SAMPLE_RATE))[0]
        wav = np.resize(wav, round(seconds * SAMPLE_RATE))
    else:
        wav = dummy_waveform(seconds, sr=SAMPLE_RATE, seed=1)
    return ((wav - wav.mean()) / np.sqrt(wav.var() + 1e-7)).astype(np.float32)[None]


def export(encoder, x: np.ndarray, path: Path) -> Path:
    """The encoder's last hidden state as an ONNX graph with dynamic batch and length."""

    class LastHidden(torch.nn.Module):
        def __init__(self, enc):
            super().__init__()
            self.enc = enc

        def forward(self, x):
            return self.enc(x).last_hidden_state

    # .eval(): export restores the wrapper's mode, and a new module is in training mode: without it the
    # shared encoder came back with dropout on
    torch.onnx.export(LastHidden(encoder).eval(), (torch.from_numpy(x),), str(path), input_names=["x"], output_names=["h"],
                      dynamic_axes={"x": {0: "b", 1: "n"}, "h": {0: "b", 1: "t"}}, dynamo=False, opset_version=17)
    return path


def ort_session(path: Path, threads: int, spin: bool = True):
    """spin: ONNX Runtime's threads busy-wait between operators (its default); fast alone, slow on a busy CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]


def onnx_paths(encoder, x: np.ndarray, folder: Path, threads: int, conv_int8: bool) -> dict[str, object]:
    """name -> a function (b, samples) float32 -> (b, T, H) numpy; a sentence where a path cannot be built."""
    try:
        import onnxruntime  # noqa: F401
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        return {"onnxruntime": "not measured: onnxruntime is not installed"}
    paths: dict[str, object] = {}
    t0 = time.perf_counter()
    fp32 = export(encoder, x, folder / "encoder.onnx")
    print(f"  export: {time.perf_counter() - t0:.0f} s, {fp32.stat().st_size / 2**20:.0f} MiB", flush=True)
    paths["ort fp32 (ORT_ENABLE_ALL)"] = ort_session(fp32, threads)
    paths["ort fp32, threads do not spin"] = ort_session(fp32, threads, spin=False)

    fused = folder / "encoder_fused.onnx"
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        c = encoder.config
        opt = optimize_model(str(fp32), model_type="bert", num_heads=c.num_attention_heads, hidden_size=c.hidden_size,
                             opt_level=1, only_onnxruntime=False)
        print(f"  transformer fusions: {opt.get_fused_operator_statistics()}", flush=True)
        opt.save_model_to_file(str(fused), use_external_data_format=False)
        paths["ort fp32 + transformer fusions"] = ort_session(fused, threads)
    except Exception as e:  # the optimizer raises many types; the sentence says which
        paths["ort fp32 + transformer fusions"] = f"not measured: {type(e).__name__}: {str(e)[:160]}"
        fused = None

    variants = [("MatMul", ["MatMul"])] + ([("MatMul+Conv", ["MatMul", "Conv"])] if conv_int8 else [])
    for label, ops in variants:
        out = folder / f"encoder_int8_{label.replace('+', '_')}.onnx"
        t0 = time.perf_counter()
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=ops)
        print(f"  int8 {label}: quantised in {time.perf_counter() - t0:.0f} s, {out.stat().st_size / 2**20:.0f} MiB",
              flush=True)
        paths[f"ort int8 dynamic ({label})"] = ort_session(out, threads)
    if fused is not None:
        import onnx

        out = folder / "encoder_fused_int8.onnx"
        try:  # the fused ops are in the com.microsoft domain, where shape inference finds no types
            quantize_dynamic(str(fused), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Attention"],
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            paths["ort int8 dynamic (fused, MatMul)"] = ort_session(out, threads)
        except Exception as e:
            paths["ort int8 dynamic (fused, MatMul)"] = f"not measured: {type(e).__name__}: {str(e)[:160]}"
    return paths


def torch_path(module):
    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(x)).last_hidden_state.float().numpy().copy()  # own memory: torch may reuse its buffer

    return run


def example_parts() -> list[list[np.ndarray]]:
    return [[load_checked(f)[0] for f in sorted(EXAMPLE.glob(f"part{p}*.wav"))] for p in PARTS]


def part_scores(graders, parts, run=None) -> list[tuple[float, float]]:
    """(score, raw score) per part; `run` replaces the encoder (mask-free batches, as wav2vec2-base runs)."""
    out = []
    for p, waves in zip(PARTS, parts):
        g = graders.graders[p]
        if run is not None:
            g._hidden_states = lambda batch, mask, run=run: torch.from_numpy(np.asarray(run(batch.numpy()), np.float32))
        try:
            o = g.predict([waves])[0]
        finally:
            g.__dict__.pop("_hidden_states", None)
        out.append((o.score, o.raw_score))
    return out


def part_drift(tiny: bool) -> None:
    """Each part's |score - torch fp32 score| on the example learner (espeak-ng, every part) for the paths the
    app can run (set_speech_precision: ONNX Runtime fp32 and int8), fixed-seed full-size graders (random heads)."""
    parts = example_parts()
    base = part_scores(speech_graders(tiny=tiny, precision=FP32), parts)
    print(f"fp32 part scores (random heads): {', '.join(f'P{p} {s:.4f}' for p, (s, _) in zip(PARTS, base))}")
    with tempfile.TemporaryDirectory() as tmp:
        for path in ("onnx", "int8"):
            scores = part_scores(speech_graders(tiny=tiny, precision=path, onnx_cache=Path(tmp)), parts)
            drift = [abs(a[1] - b[1]) for a, b in zip(scores, base)]
            print(f"{path}: score drift per part {', '.join(f'P{p} {d:.4f}' for p, d in zip(PARTS, drift))}; "
                  f"largest {max(drift):.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the timed answer")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tiny", action="store_true", help="tiny encoder: checks the plumbing, not the speed")
    ap.add_argument("--no-conv-int8", dest="conv_int8", action="store_false", help="skip int8 of the conv layers too")
    ap.add_argument("--part-drift", action="store_true",
                    help="only the per-part score drift of the grader's own paths (onnx, int8) against torch fp32")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.part_drift:
        return part_drift(args.tiny)
    print(f"torch {torch.__version__}, {args.threads} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}; "
          f"load average at start {os.getloadavg()}", flush=True)
    graders = speech_graders(tiny=args.tiny, precision=FP32)
    encoder = graders.graders[1].encoder
    with tempfile.TemporaryDirectory() as tmp:
        x = answer(args.seconds, Path(tmp))
        print(f"answer: {x.shape[1] / SAMPLE_RATE:.1f} s; building the paths", flush=True)
        paths: dict[str, object] = {"torch fp32 eager (reference)": torch_path(encoder)}
        qt = torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8)
        paths["torch int8 dynamic (Linear)"] = torch_path(qt)
        paths.update(onnx_paths(encoder, x, Path(tmp), args.threads, args.conv_int8))
        assert not encoder.training, "the reference encoder must run in eval mode (no dropout)"
        for name, run in list(paths.items()):
            if isinstance(run, str):
                print(f"{name}: {run}")
                del paths[name]

        # -- time, interleaved; the first round warms up and is dropped --------------------------------------
        ratios: dict[str, list[float]] = defaultdict(list)
        seconds: dict[str, list[float]] = defaultdict(list)
        hidden: dict[str, np.ndarray] = {}
        for r in range(args.repeats + 1):
            took = {}
            for name, run in paths.items():
                t0 = time.perf_counter()
                hidden[name] = np.asarray(run(x))
                took[name] = time.perf_counter() - t0
            ref = took["torch fp32 eager (reference)"]
            if r:
                for name, t in took.items():
                    seconds[name].append(t)
                    ratios[name].append(t / ref)
            print(f"  repeat {r}{' (warm-up)' if not r else ''}: fp32 {ref:.2f} s, load {os.getloadavg()[0]:.1f}", flush=True)

        # -- drift: hidden states on the timed answer, part scores on the example learner ---------------------
        h0 = hidden["torch fp32 eager (reference)"]
        span = float(h0.max() - h0.min())
        parts = example_parts()
        base = part_scores(graders, parts)
        print(f"\nfp32 part scores (random heads): {', '.join(f'P{p} {s:.3f} (raw {r:.3f})' for p, (s, r) in zip(PARTS, base))}")
        print(f"\n{'path (' + format(args.seconds, '.0f') + ' s answer)':44s} {'median s':>8s} {'ratio':>6s} "
              f"{'h maxdiff/range':>15s} {'h rel RMS':>9s} {'score drift':>11s} {'raw drift':>9s}")
        for name, run in paths.items():
            h = hidden[name]
            same = h.shape == h0.shape
            maxdiff = float(np.abs(h - h0).max()) / span if same else float("nan")
            rms = float(np.sqrt(((h - h0) ** 2).mean() / (h0**2).mean())) if same else float("nan")
            scores = base if name.startswith("torch fp32") else part_scores(graders, parts, run)
            drift = max(abs(a[0] - b[0]) for a, b in zip(scores, base))
            raw = max(abs(a[1] - b[1]) for a, b in zip(scores, base))
            print(f"{name:44s} {statistics.median(seconds[name]):8.2f} {statistics.median(ratios[name]):6.3f} "
                  f"{maxdiff:15.4f} {rms:9.4f} {drift:11.4f} {raw:9.4f}   (ratios {', '.join(f'{v:.3f}' for v in ratios[name])})")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
