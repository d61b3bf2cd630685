"""Speed of the multimodal grader: the full four-part assessment, and one-forward scoring against
generate()-based scoring of the same prompts, side by side in one run, with peak memory.

Run by hand (not in CI):
    python bench/bench_mllm.py --tiny                # CPU or GPU, tiny random model (plumbing, not speed)
    python bench/bench_mllm.py --full-random         # GPU: full-size Phi-4-MM shapes, random weights, bf16
                                                     # no GPU: builds it on the meta device, prints sizes only
    python bench/bench_mllm.py --full-random --device cpu --layers 1 --scale 0.05 --repeats 1   # path check
    python bench/bench_mllm.py --tiny --quick        # only the one-forward rows (a busy CPU: minutes, not an hour)
Issue 18 (batch invariance) runs the audio encoder on unpadded groups of equally long clips; the row
"padded audio encoder" times the stock encoder on the same batch, side by side, for the before/after ratio.
Random weights: the ASR never stops early, so its time is the worst case for its token cap.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.cefr import GRID
from sla_core.data import PartInput
from sla_core.graders import phi4
from sla_core.graders.mllm import (
    SPEECH_ADAPTER,
    TINY_LORA,
    MllmGrader,
    part_adapter_name,
)
from sla_core.graders.prompts import END, SCORE_LABELS, build_prompt
from sla_core.parts import PART_INFO, PARTS
from sla_core.graders.phi4 import tiny_feature_extractor
from sla_core.testing.mllm import tiny_mllm_grader
from sla_core.testing.audio import tiny_waveform
from transformers.models.phi4_multimodal.modeling_phi4_multimodal import Phi4MultimodalAudioModel

FULL_LORA = (320, 640)  # the paper's (and the speech adapter's) LoRA shape
WORDS = ["well", "I", "think", "that", "the", "city", "is", "a", "good", "place", "to", "live", "because", "there", "are", "many", "things", "to", "do", "and", "people"]


def learner(scale: float, with_transcripts: bool) -> list[PartInput]:
    """A learner with the real test's answer counts and speaking times (x scale)."""
    parts = []
    for part in PARTS:
        info = PART_INFO[part]
        seconds = info.answer_seconds * scale
        waves = tuple(tiny_waveform(seconds, seed=10 * part + i) for i in range(info.max_answers))
        n_words = int(2.5 * seconds)  # ~150 words a minute
        texts = tuple(" ".join(WORDS[(i + k) % len(WORDS)] for k in range(n_words)) for i in range(info.max_answers))
        parts.append(PartInput(part, waves, transcripts=texts if with_transcripts else ()))
    return parts


def wordlevel_tokenizer():
    """An offline stand-in for the o200k tokenizer with about its token counts on English (a word, a
    digit or a punctuation mark per token), plus Phi-4's special tokens; the real one is not reachable."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from sla_core.graders.phi4 import SPECIAL_TOKENS

    pattern = r" ?[A-Za-z]+|\d| ?[^\sA-Za-z\d]|\s+"
    texts = [build_prompt(p, [None] * PART_INFO[p].max_answers, list(t.transcripts), "TA") for p, t in zip(PARTS, learner(1.0, True))]
    pieces = {m for t in texts for m in re.findall(pattern, t)} | set("0123456789") | {"[UNK]"}
    vocab = {tok: i for i, tok in enumerate((*SPECIAL_TOKENS, *sorted(pieces)))}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    tk.decoder = decoders.Fuse()
    tk.add_special_tokens(list(SPECIAL_TOKENS))
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                  unk_token="[UNK]", extra_special_tokens={"image_token": "<|image|>", "audio_token": "<|audio|>"})  # fmt: skip
    tok.padding_side = "left"
    return tok


def full_random_grader(device: torch.device, layers: int | None, on_meta: bool) -> MllmGrader | None:
    """Phi4MultimodalConfig() with the real checkpoint's shapes, minus vision, random bf16 weights, 1 speech +
    4 part adapters of r=320. Without a GPU: built on the meta device, sizes printed, None returned."""
    from transformers import Phi4MultimodalConfig

    tok = wordlevel_tokenizer()
    # Phi4MultimodalConfig() defaults, corrected where the hub checkpoint differs (HF_STACK, verified on
    # the meta device): 24 attention heads (head_dim 128) and tied input/output embeddings.
    config = Phi4MultimodalConfig(num_attention_heads=24, tie_word_embeddings=True)
    config.num_hidden_layers = layers or config.num_hidden_layers  # fewer layers: a quick check of this path
    config.audio_config.audio_token_id = tok.audio_token_id  # our stand-in tokenizer's ids
    config.vision_config.image_token_id = tok.convert_tokens_to_ids("<|image|>")
    with torch.device("meta" if on_meta else device):
        base = phi4.AudioOnlyPhi4._from_config(config, dtype=torch.bfloat16, attn_implementation=phi4.pick_attention(device))
    n_base = sum(p.numel() for p in base.parameters())
    if on_meta:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(r=FULL_LORA[0], lora_alpha=FULL_LORA[1], target_modules=phi4.LM_TARGETS)
        n_lora = sum(p.numel() for n, p in get_peft_model(base, lora).named_parameters() if "lora_" in n)
        gib = (n_base + 5 * n_lora) * 2 / 2**30
        print(f"no GPU: full size built on the meta device: base without vision {n_base / 1e9:.2f} B params, "
              f"one r=320 adapter {n_lora / 1e6:.1f} M; bf16 weights + 5 adapters = {gib:.2f} GiB before activations")  # fmt: skip
        return None
    model = phi4.add_random_adapter(base, SPEECH_ADAPTER, *FULL_LORA)
    grader = MllmGrader(model, tok, tiny_feature_extractor(), source="full-size random", random_base=True)
    for part in PARTS:
        phi4.add_random_adapter(grader.model, part_adapter_name(part), *FULL_LORA, seed=part)
        grader.part_adapters[part] = part_adapter_name(part)
    return grader


def timed(fn, device: torch.device, repeats: int) -> tuple[float, float | None, object]:
    """Median seconds over `repeats` (after one warm-up), peak GPU memory in GiB, the last result."""
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else None
    return statistics.median(times), peak, out


def with_padded_encoder(grader: MllmGrader, fn):
    """Run `fn` with the stock audio encoder (clips padded in one batch: before issue 18), then restore."""
    encoder = grader.model.get_base_model().model.embed_tokens_extend.audio_embed.encoder
    encoder.__class__ = Phi4MultimodalAudioModel
    try:
        return fn()
    finally:
        encoder.__class__ = phi4.UnpaddedAudioEncoder


@torch.inference_mode()
def generate_scores(grader: MllmGrader, rows, new_tokens: int) -> list[float]:
    """generate() the answer of each prompt (batched, each row with its adapter), then parse a score."""
    batch = phi4.encode(grader.tokenizer, grader.feature_extractor, [r.prompt for r in rows], [r.clips for r in rows])
    batch.pop("position_ids")
    out = grader.model.generate(**batch.to(grader.device), adapter_names=[r.adapter for r in rows], do_sample=False,
                                max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=grader.tokenizer.pad_token_id)  # fmt: skip
    first = out[:, batch["input_ids"].shape[1]]  # the label position
    labels = grader.tokenizer.batch_decode(first[:, None])
    return [GRID[SCORE_LABELS.index(lab)] if lab in SCORE_LABELS else float("nan") for lab in labels]


@torch.inference_mode()
def candidate_scores(grader: MllmGrader, rows) -> torch.Tensor:
    """The slow way: each of the 8 candidate answers as its own sequence (8 rows per part)."""
    probs = []
    for r in rows:
        texts = [r.prompt + lab + END for lab in SCORE_LABELS]
        batch = phi4.encode(grader.tokenizer, grader.feature_extractor, texts, [r.clips] * len(texts)).to(grader.device)
        logits = grader.model(**batch, adapter_names=[r.adapter] * len(texts), logits_to_keep=3).logits  # label, END
        probs.append(logits[:, 0].float().log_softmax(-1)[torch.arange(len(texts)), grader.label_ids].softmax(-1))
    return torch.stack(probs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--tiny", action="store_true", help="tiny random model (any device)")
    which.add_argument("--full-random", action="store_true", help="full-size shapes, random weights (GPU)")
    parser.add_argument("--device", default=None, help="default: cuda if present, else cpu")
    parser.add_argument("--scale", type=float, default=None, help="answer durations x scale (default 1.0; tiny 0.25)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layers", type=int, default=None, help="full-random: language-model layers (default 32)")
    parser.add_argument("--asr-tokens", type=int, default=None, help="ASR new-token cap (default: by duration)")
    parser.add_argument("--quick", action="store_true", help="only the one-forward rows (no generate(), no ASR)")
    args = parser.parse_args(argv)

    device = phi4.pick_device(args.device)
    scale = args.scale if args.scale is not None else (0.25 if args.tiny else 1.0)
    if args.tiny:
        grader = tiny_mllm_grader(device=device)
        for part in PARTS:
            phi4.add_random_adapter(grader.model, part_adapter_name(part), *TINY_LORA, seed=part)
            grader.part_adapters[part] = part_adapter_name(part)
    else:
        # without a GPU (and no --device asked for) a full-size model is only built on the meta device
        grader = full_random_grader(device, args.layers, on_meta=device.type != "cuda" and args.device is None)
        if grader is None:
            return 0
    from sla_core.asr import Phi4Transcriber

    grader.transcriber = Phi4Transcriber(grader, max_new_tokens=args.asr_tokens)
    dtype = next(grader.model.parameters()).dtype
    with_text, no_text = learner(scale, True), learner(scale, False)
    rows = grader.prepare(with_text, "TA")
    lengths = [int(x) for x in phi4.encode(grader.tokenizer, grader.feature_extractor, [r.prompt for r in rows],
                                            [r.clips for r in rows])["attention_mask"].sum(-1)]  # fmt: skip
    n_clips = sum(len(r.clips) for r in rows)
    print(f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}), dtype {dtype}, "
          f"{'tiny' if args.tiny else 'full-size'} random, attention {grader.model.config._attn_implementation}")  # fmt: skip
    print(f"learner: {n_clips} clips, {sum(len(w) for p in with_text for w in p.waveforms) / 16000:.0f} s of audio; "
          f"prompt tokens per part {dict(zip(PARTS, lengths))}")  # fmt: skip

    def one_forward():
        return grader.distributions([r.prompt for r in rows], [r.clips for r in rows], [r.adapter for r in rows])

    def per_part():
        return torch.cat([grader.distributions([r.prompt], [r.clips], [r.adapter]) for r in rows])

    results = [
        ("one forward, 4 parts batched, mixed adapters", *timed(one_forward, device, args.repeats)),
        ("  same, padded audio encoder (before issue 18)",
         *timed(lambda: with_padded_encoder(grader, one_forward), device, args.repeats)),
        ("one forward per part (4 forwards)", *timed(per_part, device, args.repeats)),
    ]
    if not args.quick:
        results += [
            ("generate() label + <|end|>, batched (2 tokens)", *timed(lambda: generate_scores(grader, rows, 2), device, args.repeats)),
            ("generate() 'X.Y' + <|end|>, batched (4 tokens)", *timed(lambda: generate_scores(grader, rows, 4), device, args.repeats)),
            ("8 candidate sequences per part (slow way)", *timed(lambda: candidate_scores(grader, rows), device, args.repeats)),
        ]
    base = results[0][1]
    print(f"\n{'scoring method':50s} {'median s':>9s} {'x one-fwd':>10s} {'peak GiB':>9s}")
    for name, seconds, peak, _ in results:
        print(f"{name:50s} {seconds:9.4f} {seconds / base:10.2f} {'-' if peak is None else f'{peak:.2f}':>9s}")
    fast, padded, alone = results[0][3], results[1][3], results[2][3]
    print(f"batch invariance: max |batched - per part| = {float((fast - alone).abs().max()):.2e} "
          f"(padded audio encoder: {float((padded - alone).abs().max()):.2e})")
    if args.quick:
        return 0
    gen2, slow = results[3][3], results[5][3]
    labelled = [(GRID[int(i)], g) for i, g in zip(fast.argmax(-1), gen2) if not np.isnan(g)]
    agree = sum(a == g for a, g in labelled)  # random weights rarely generate a label at all
    print(f"generate() gave a score label for {len(labelled)}/{len(rows)} parts, {agree} equal to the one-forward argmax; "
          f"max |one-forward - slow way| = {float((fast - slow.cpu()).abs().max()):.2e}")
    assess = timed(lambda: grader.score(no_text), device, max(1, args.repeats // 2))
    asr = timed(lambda: grader.transcriber.transcribe([w for p in no_text for w in p.waveforms]), device, max(1, args.repeats // 2))
    print(f"\n{'full four-part assessment':50s} {'median s':>9s} {'':>10s} {'peak GiB':>9s}")
    for name, (seconds, peak, _) in (("ASR of all clips (Phi-4 speech adapter)", asr), ("assessment: ASR + one-forward scoring", assess)):
        print(f"{name:50s} {seconds:9.4f} {'':>10s} {'-' if peak is None else f'{peak:.2f}':>9s}")
    if device.type != "cuda":
        print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
