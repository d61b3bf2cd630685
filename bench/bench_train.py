"""Training speed of the graders: a few optimizer steps at the paper's batch settings, on random weights.

Speech grader: wav2vec 2.0 at wav2vec2-base size (random init), batch 4 x accumulation 8, float32, the
answers of varied length (as in the corpus). Multimodal grader: Phi-4-multimodal LoRA (r=320 copy of a random
speech adapter) through the training command's own step (sla_core.research.train.mllm: encode_examples, label_loss),
micro-batch 4 x accumulation 8, bf16 autocast on CUDA, gradient checkpointing on. Session grader (Phi4-MTL,
issue 25): the training command's own step (sla_core.research.train.session: whole tests of --minutes of audio,
masked MSE over the five outputs), micro-batch 2 x accumulation 16, then the per-learner inference forward.

Run by hand (not in CI):
    python bench/bench_train.py --tiny                 # tiny random models, CPU is fine (plumbing, not speed)
    python bench/bench_train.py                        # speech grader at full size (slow on CPU: use --scale)
    python bench/bench_train.py --full-random          # + Phi-4-multimodal at full size (needs a GPU)
    python bench/bench_train.py --full-random --device cpu --layers 1 --scale 0.02 --steps 1 --grad-accum 1  # path check
    python bench/bench_train.py --which session --full-random --steps 2      # session grader at full size (GPU, ~3 min)
    python bench/bench_train.py --which session --estimate                   # no GPU: FLOPs and memory from the shapes
Prints per grader: seconds per optimizer step (median), responses per second, peak memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_mllm: full-size builder pieces

from sla_core.audio import SAMPLE_RATE
from sla_core.cefr import GRID
from sla_core.graders import phi4
from sla_core.graders.mllm import SPEECH_ADAPTER, MllmGrader
from sla_core.graders.speech import SpeechGraderConfig, build_speech_grader
from sla_core.parts import PART_INFO
from sla_core.graders.phi4 import tiny_feature_extractor
from sla_core.testing.mllm import tiny_mllm_grader
from sla_core.testing.audio import tiny_waveform
from sla_core.graders.speech import tiny_wav2vec2_config
from sla_core.research.train import mllm as mllm_train
from sla_core.research.train import session as session_train


def durations(part: int, n: int, scale: float, seed: int) -> list[list[float]]:
    """Seconds per answer for n responses of `part`: 50-100% of the part's speaking time, x scale."""
    rng = np.random.default_rng(seed)
    info = PART_INFO[part]
    return [list(rng.uniform(0.5, 1.0, info.max_answers) * info.answer_seconds * scale) for _ in range(n)]


def peak_memory(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB (GPU, allocated)"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (process RSS, all so far)"


def time_steps(step, device: torch.device, steps: int) -> list[float]:
    """Seconds of each of `steps` optimizer steps, after one untimed warm-up step."""
    step(0)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(1, steps + 1):
        start = time.perf_counter()
        step(i)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def report(name: str, times: list[float], per_step: int, device: torch.device) -> None:
    med = statistics.median(times)
    print(f"{name:58s} {med:9.3f} s/step {per_step / med:9.2f} responses/s   peak {peak_memory(device)}")


# ---------------------------------------------------------------------------------------------- speech grader


def bench_speech(args, device: torch.device) -> None:
    """AdamW on the whole speech grader (CNN frozen), MSE on the mark, fp32, like the speech trainer."""
    encoder = tiny_wav2vec2_config() if args.tiny else None
    config = SpeechGraderConfig(part=args.part, encoder="random", encoder_config=(encoder or _base_config()).to_dict())
    torch.manual_seed(0)
    model = build_speech_grader(config).to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    per_step = args.batch * args.grad_accum
    lengths = durations(args.part, per_step, args.scale, seed=1)

    def step(i: int) -> None:
        for m in range(args.grad_accum):
            parts = [[tiny_waveform(s, seed=100 * i + 10 * m + k) for k, s in enumerate(answers)]
                     for answers in lengths[m * args.batch:(m + 1) * args.batch]]
            labels = torch.tensor([GRID[(i + m + k) % len(GRID)] for k in range(len(parts))], device=device)
            (model(parts, labels=labels).loss / args.grad_accum).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds = sum(map(sum, lengths)) / per_step
    print(f"\nspeech grader: {'tiny' if args.tiny else 'wav2vec2-base size'} random, {n_params:,} params, "
          f"part {args.part}, {seconds:.1f} s of audio per response, batch {args.batch} x accumulation {args.grad_accum}")
    report("speech grader step (fp32)", time_steps(step, device, args.steps), per_step, device)


def _base_config():
    from transformers import Wav2Vec2Config

    return Wav2Vec2Config(mask_time_prob=0.0)  # the defaults are wav2vec2-base's shapes (94.4 M params)


# ---------------------------------------------------------------------------------------------- multimodal grader


def full_random_grader(device: torch.device, layers: int | None) -> MllmGrader:
    """Phi-4-multimodal with the hub checkpoint's shapes (minus vision), random bf16 weights, a random r=320 speech LoRA."""
    from bench_mllm import FULL_LORA, wordlevel_tokenizer
    from transformers import Phi4MultimodalConfig

    tok = wordlevel_tokenizer()
    config = Phi4MultimodalConfig(num_attention_heads=24, tie_word_embeddings=True)  # the checkpoint's values
    config.num_hidden_layers = layers or config.num_hidden_layers
    config.audio_config.audio_token_id = tok.audio_token_id
    config.vision_config.image_token_id = tok.convert_tokens_to_ids("<|image|>")
    with torch.device(device):
        base = phi4.AudioOnlyPhi4._from_config(config, dtype=torch.bfloat16, attn_implementation=phi4.pick_attention(device))
    model = phi4.add_random_adapter(base, SPEECH_ADAPTER, *FULL_LORA)
    return MllmGrader(model, tok, tiny_feature_extractor(), source="full-size random", random_base=True)


def bench_mllm(args, device: torch.device, folder: Path) -> None:
    """The training command's own step: copy of the speech LoRA, label-token loss, AdamW on the adapter."""
    grader = tiny_mllm_grader(device=device) if args.tiny else full_random_grader(device, args.layers)
    cfg = mllm_train.MllmTrainConfig(data="-", out=str(folder), mode="stg", part=args.part, tiny=args.tiny,
                                     micro_batch=args.batch, grad_accum=args.grad_accum).resolved()
    params = mllm_train.new_trainable_adapter(grader, cfg)
    model = grader.model
    if args.checkpointing:
        model.get_base_model().activation_checkpointing_enable({"use_reentrant": False})
    model.train()
    optimizer = torch.optim.AdamW(params, lr=cfg.lr)
    per_step = cfg.micro_batch * cfg.grad_accum
    items = _examples(args.part, per_step, args.scale, folder)

    def step(i: int) -> None:
        for m in range(0, per_step, cfg.micro_batch):
            batch, mask = mllm_train.encode_examples(grader, items[m:m + cfg.micro_batch], "TA", args.audio_seconds)
            with mllm_train.autocast(device):
                loss = mllm_train.label_loss(model, batch.to(device), mask.to(device), reduction="sum")
            (loss / per_step).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    n_lora = sum(p.numel() for p in params)
    batch, _ = mllm_train.encode_examples(grader, items[:1], "TA", args.audio_seconds)
    print(f"\nmultimodal grader: {'tiny' if args.tiny else 'full-size'} random Phi-4-multimodal, trainable LoRA "
          f"{n_lora:,} params, part {args.part}: {len(items[0].audio)} answers, ~{batch['input_ids'].shape[1]} "
          f"tokens per response, micro-batch {cfg.micro_batch} x accumulation {cfg.grad_accum}, "
          f"checkpointing {'on' if args.checkpointing else 'off'}")
    label = "bf16 autocast" if device.type == "cuda" else f"{model.get_base_model().dtype} base, no autocast"
    report(f"multimodal LoRA step ({label})", time_steps(step, device, args.steps), per_step, device)


def _examples(part: int, n: int, scale: float, folder: Path) -> list[mllm_train.Example]:
    """n responses of `part` as the trainer sees them: audio files on disk, ~150 words a minute of transcript."""
    from bench_mllm import WORDS

    items = []
    for i, answers in enumerate(durations(part, n, scale, seed=2)):
        paths, texts = [], []
        for k, seconds in enumerate(answers):
            path = folder / f"r{i}a{k}.wav"
            sf.write(path, tiny_waveform(seconds, seed=10 * i + k), SAMPLE_RATE)
            paths.append(path)
            texts.append(" ".join(WORDS[(i + k + w) % len(WORDS)] for w in range(max(1, int(2.5 * seconds)))))
        items.append(mllm_train.Example(f"bench-{i}", part, tuple(paths), (None,) * len(answers), tuple(texts),
                                        GRID[i % len(GRID)]))
    return items


# ---------------------------------------------------------------------------------------------- session grader


def full_test(minutes: float, seed: int):
    """One learner's whole test (Part 1 six answers, 3 and 4 one, 5 five) with `minutes` of audio in all,
    shared out as the real test's speaking times are (340 s at their full length)."""
    from sla_core.data import PartInput
    from sla_core.parts import PARTS

    scale = minutes * 60 / sum(PART_INFO[p].answer_seconds * PART_INFO[p].max_answers for p in PARTS)
    return [PartInput(p, tuple(tiny_waveform(PART_INFO[p].answer_seconds * scale, seed=seed * 100 + 10 * p + i)
                               for i in range(PART_INFO[p].max_answers))) for p in PARTS]


def session_grader(args, device: torch.device):
    """The session grader: tiny, or full-size random (Phi-4-MM shapes, r=320 speech LoRA copied as the session adapter)."""
    from sla_core.graders.session import ADAPTER, SessionConfig, SessionGrader, build_head, load_session_grader

    if args.tiny:
        return load_session_grader(tiny=True, device=device)
    base = full_random_grader(device, args.layers)
    phi4.copy_adapter(base.model, SPEECH_ADAPTER, ADAPTER)
    head = build_head(base.model.get_base_model().config.hidden_size, device=device)
    return SessionGrader(base, head, SessionConfig(), trained=False, source="full-size random")


def bench_session(args, device: torch.device) -> None:
    """The trainer's step (session_train: encode, outputs, masked MSE) and the per-learner inference forward."""
    grader = session_grader(args, device)
    adapter, head = session_train.trainable(grader, [3.5] * 5)
    model = grader.model
    if args.checkpointing:
        model.get_base_model().activation_checkpointing_enable({"use_reentrant": False})
    model.train()
    optimizer = torch.optim.AdamW([{"params": adapter, "lr": 5e-5}, {"params": head, "lr": 1e-3}])
    micro, per_step = args.session_batch, args.session_batch * args.session_accum
    sessions = [full_test(args.minutes, seed=i) for i in range(per_step)]
    priors = [{p.part: 3.5 for p in s} for s in sessions]
    targets = torch.tensor([[GRID[(i + j) % len(GRID)] for j in range(5)] for i in range(per_step)], device=device)

    def step(i: int) -> None:
        for m in range(0, per_step, micro):
            batch = grader.encode(sessions[m:m + micro], priors[m:m + micro]).to(device)
            with mllm_train.autocast(device):
                loss = session_train.masked_mse(grader.outputs(batch, priors[m:m + micro]), targets[m:m + micro], "sum")
            (loss / targets[:per_step].numel()).backward()
        torch.nn.utils.clip_grad_norm_(adapter + head, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    tokens = int(grader.encode(sessions[:1], priors[:1])["attention_mask"].sum())
    print(f"\nsession grader: {'tiny' if args.tiny else 'full-size'} random Phi-4-multimodal, trainable LoRA "
          f"{sum(p.numel() for p in adapter):,} + head {sum(p.numel() for p in head):,} params; one test = "
          f"{args.minutes:g} min of audio = {tokens} tokens; micro-batch {micro} x accumulation {args.session_accum}, "
          f"checkpointing {'on' if args.checkpointing else 'off'} (audio features made on the CPU inside each step)")
    label = "bf16 autocast" if device.type == "cuda" else f"{model.get_base_model().dtype} base, no autocast"
    report(f"session LoRA step ({label})", time_steps(step, device, args.steps), per_step, device)
    if args.checkpointing:
        model.get_base_model().activation_checkpointing_disable()
    model.eval()

    def one_learner(i: int) -> None:
        with mllm_train.autocast(device):
            grader.predict(sessions[i % per_step:i % per_step + 1], priors[:1])

    report("session inference, one learner per forward", time_steps(one_learner, device, args.steps), 1, device)


def estimate_session(args) -> None:
    """No GPU: the session grader's cost at full size from the checkpoint's shapes (meta device), labelled an estimate."""
    from peft import LoraConfig, get_peft_model
    from transformers import Phi4MultimodalConfig

    from bench_mllm import FULL_LORA, wordlevel_tokenizer
    from sla_core.graders.session_prompt import build_session_prompt

    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # peft reads a property transformers 5 deprecates
    config = Phi4MultimodalConfig(num_attention_heads=24, tie_word_embeddings=True)
    with torch.device("meta"):
        base = phi4.AudioOnlyPhi4._from_config(config, dtype=torch.bfloat16)
    n = {name: sum(p.numel() for p in module.parameters()) for name, module in
         (("all", base), ("audio", base.model.embed_tokens_extend), ("embed", base.model.embed_tokens))}
    layers = sum(p.numel() for p in base.model.layers.parameters())  # the LM's matmul weights (+ norms)
    lora = sum(p.numel() for n_, p in get_peft_model(base, LoraConfig(r=FULL_LORA[0], lora_alpha=FULL_LORA[1],
                                                                        target_modules=phi4.LM_TARGETS)).named_parameters()
               if "lora_" in n_)
    tok = wordlevel_tokenizer()
    text = len(tok(build_session_prompt({p: [None] * PART_INFO[p].max_answers for p in PART_INFO},
                                        {p: 3.5 for p in PART_INFO}).replace("<|audio|>", ""))["input_ids"])
    audio = int(args.minutes * 60 * 12.5)
    L, H, n_layers, kv = audio + text, config.hidden_size, config.num_hidden_layers, config.num_key_value_heads
    attn = 4 * (L / 2) * H * n_layers  # QK^T and AV per token, causal: half the context on average
    fwd = 2 * layers + 2 * lora + attn  # FLOP per token, LM forward with the LoRA
    audio_fwd = 2 * n["audio"] * audio  # the conformer and projector, frozen: forward only, no gradient
    # train: forward + checkpoint recompute + backward (activation grads of the frozen base, weight + activation
    # grads of the LoRA, attention twice)
    train_token = 2 * fwd + (2 * layers + 2 * attn + 4 * lora)
    per_session_train = L * train_token + audio_fwd
    per_session_infer = L * fwd + audio_fwd
    gib = 2**30
    static = ((n["all"] + lora) * 2 + lora * 4 * 4) / gib  # bf16 base + speech LoRA; session LoRA fp32 x (w, g, m, v)
    saved = args.session_batch * L * H * 2 * n_layers / gib  # checkpointed layer inputs, bf16
    layer = args.session_batch * L * (3 * H + (H + 2 * kv * 128) + 2 * config.intermediate_size + config.intermediate_size
                                      + 4 * FULL_LORA[0]) * 2 * 2 / gib  # one layer's activations + their gradients
    per_step = args.session_batch * args.session_accum
    print(f"\nESTIMATE (not measured: no GPU here), session grader at full size, {args.minutes:g} min of audio per test:")
    print(f"  parameters: {n['all'] / 1e9:.2f} B without vision (LM layers {layers / 1e9:.2f} B, embeddings {n['embed'] / 1e9:.2f} B, "
          f"audio {n['audio'] / 1e9:.2f} B); one r=320 LoRA {lora / 1e6:.1f} M")
    print(f"  tokens per test: {audio} audio (12.5/s) + {text} text (word-level stand-in for o200k) = {L}")
    print(f"  FLOP per test: training {per_session_train / 1e12:.0f} TFLOP (forward {L * fwd / 1e12:.0f} + checkpoint "
          f"recompute + backward; frozen audio encoder {audio_fwd / 1e12:.1f}), inference {per_session_infer / 1e12:.0f} TFLOP")
    print(f"  optimizer step of {per_step} tests: {per_step * per_session_train / 1e15:.2f} PFLOP")
    for gpu, peak in (("A100 80GB", 312), ("H100/H200", 989)):
        for mfu in (0.3, 0.45):
            step_s = per_step * per_session_train / (peak * mfu * 1e12)
            infer_s = per_session_infer / (peak * min(mfu + 0.1, 0.6) * 1e12)
            print(f"  {gpu} bf16 (dense peak {peak} TFLOP/s) at {mfu:.0%} of peak: step {step_s:5.1f} s, "
                  f"{1000 * per_session_train / (peak * mfu * 1e12) / 60:4.0f} min per 1,000 training tests; one "
                  f"learner's inference {infer_s:.2f} s at {min(mfu + 0.1, 0.6):.0%}")
    print(f"  peak memory, training (micro-batch {args.session_batch}, gradient checkpointing): weights + speech LoRA + "
          f"fp32 session LoRA with grads and AdamW {static:.1f} GiB + checkpointed layer inputs {saved:.1f} GiB + one "
          f"layer's activations {layer:.1f} GiB = ~{static + saved + layer:.0f} GiB (+ allocator slack)")
    print(f"  peak memory, inference (one learner): {(n['all'] + 2 * lora) * 2 / gib:.1f} GiB of bf16 weights + "
          f"~{L * (H + config.intermediate_size * 2) * 2 / gib:.2f} GiB of one layer's activations")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny random models for both graders (any device)")
    parser.add_argument("--full-random", action="store_true", help="also Phi-4-multimodal at full size (needs a GPU)")
    parser.add_argument("--which", nargs="+", choices=("speech", "mllm", "session"), default=("speech", "mllm"))
    parser.add_argument("--minutes", type=float, default=4.5, help="session: minutes of audio per test (default 4.5)")
    parser.add_argument("--session-batch", type=int, default=2, help="session: tests per forward (default 2)")
    parser.add_argument("--session-accum", type=int, default=16, help="session: forwards per step (default 16: 2 x 16 = 32)")
    parser.add_argument("--estimate", action="store_true", help="session: FLOPs and memory from the shapes, no run")
    parser.add_argument("--device", default=None, help="default: cuda if present, else cpu")
    parser.add_argument("--part", type=int, default=3, choices=sorted(PART_INFO), help="whose answers (count, length)")
    parser.add_argument("--scale", type=float, default=None, help="answer durations x scale (default: 1 on GPU, 0.05 on CPU)")
    parser.add_argument("--audio-seconds", type=float, default=0.0, help="multimodal: cut recordings (CTG: 30; 0 = none)")
    parser.add_argument("--batch", type=int, default=4, help="responses per forward (paper: 4)")
    parser.add_argument("--grad-accum", type=int, default=8, help="forwards per optimizer step (paper: 8)")
    parser.add_argument("--steps", type=int, default=3, help="timed optimizer steps (after one warm-up step)")
    parser.add_argument("--layers", type=int, default=None, help="full-random: language-model layers (default 32)")
    parser.add_argument("--no-checkpointing", dest="checkpointing", action="store_false", help="multimodal: keep activations")
    args = parser.parse_args(argv)

    if args.estimate:
        estimate_session(args)
        return 0
    device = phi4.pick_device(args.device)
    args.scale = args.scale if args.scale is not None else (1.0 if device.type == "cuda" else 0.05)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), torch "
          f"{torch.__version__}, threads {torch.get_num_threads()}, answer durations x {args.scale}")
    if "speech" in args.which:
        bench_speech(args, device)
    if "mllm" in args.which:
        if not args.tiny and not args.full_random:
            print("\nmultimodal grader: skipped (give --tiny, or --full-random on a GPU)")
        elif args.full_random and not args.tiny and device.type != "cuda" and args.device is None:
            print("\nmultimodal grader: skipped: --full-random needs a GPU (or --device cpu --layers 1 as a path check)")
        else:
            with tempfile.TemporaryDirectory(prefix="bench-train-") as folder:
                bench_mllm(args, device, Path(folder))
    if "session" in args.which:
        if not args.tiny and not args.full_random:
            print("\nsession grader: skipped (give --tiny, or --full-random on a GPU; --estimate without one)")
        elif args.full_random and not args.tiny and device.type != "cuda" and args.device is None:
            print("\nsession grader: skipped: --full-random needs a GPU (--estimate gives the figures from the shapes)")
        else:
            bench_session(args, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
