"""`python -m sla_core train mllm`: LoRA fine-tuning of the Phi-4-multimodal grader (the paper's STG / CTG).

STG (`--mode stg --part N`): one adapter per part, trained on that part's responses only; run it once per
part with the same `--out` and the folder holds `part1/ part3/ part4/ part5/`. CTG (`--mode ctg`): one
adapter on the responses of all four parts, written to `--out` itself. Either folder loads straight into
the grader: `python -m sla_core assess --mllm on --mllm-adapters OUT --mllm-mode stg|ctg --mllm-variant TA|AO|TO`.

Recipe (DESIGN.md): each adapter starts as a copy of the model's speech LoRA (r=320, alpha=640); AdamW,
linear schedule with 10% warm-up, effective batch 32 (micro-batch x gradient accumulation), bf16 autocast
on CUDA. STG: lr 5e-5, 3 epochs (the paper trained 3-5). CTG: lr 4e-5, 3 epochs, at most 150 responses
per 0.5 level (seeded down-sampling), audio cut to 30 s. The loss is the cross-entropy of the single
label token (prompts.training_text) predicted at the answer position, the very logits that
MllmGrader.distributions reads, so training and one-forward scoring agree. The epoch with the best dev
macro-F1 (scores rounded to the 0.5 grid) is kept; its RMSE is reported too.

Output, per adapter folder (`OUT/partN/` or `OUT/`): the PEFT adapter, `train_log.json` (per epoch),
`train_config.json`; `OUT/checkpoints/<adapter>/` holds the last state (resume) and the best adapter so far.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...cefr import GRID, grid_index
from ...parts import PARTS
from . import common

MODES = ("stg", "ctg")
INPUTS = {"ta": "TA", "ao": "AO", "to": "TO"}  # --inputs -> the grader's variant
INPUT_NAMES = "ta (transcript + audio), ao (audio only), to (transcript only)"
INITS = ("speech", "fresh")
ASR_CHOICES = ("phi4", "whisper", "tiny", "none")
# Per-mode recipe for the fields left at None: (lr, max responses per 0.5 level (0 = all), audio cut in s (0 = none)).
RECIPES: dict[str, tuple[float, int, float]] = {"stg": (5e-5, 0, 0.0), "ctg": (4e-5, 150, 30.0)}
# --tiny builds its random base from this seed, as `assess --tiny` does: an adapter fits only its own base.
TINY_BASE_SEED = 0


@dataclass(frozen=True)
class MllmTrainConfig:
    data: str = field(metadata={"help": "S&I corpus root, or a CSV manifest of training responses"})
    out: str = field(metadata={"help": "adapter folder: STG writes OUT/partN/, CTG writes OUT/ itself"})
    mode: str = field(default="stg", metadata={"help": "stg: one adapter per part (needs --part); ctg: one for all parts"})
    part: int | None = field(default=None, metadata={"help": "STG: the part to train (1, 3, 4 or 5)"})
    inputs: str = field(default="ta", metadata={"help": f"what the grader reads: {INPUT_NAMES}"})
    dev_data: str | None = field(default=None, metadata={"help": "CSV manifest for dev (needed with a CSV --data)"})
    train_split: str = field(default="train", metadata={"help": "S&I split to train on"})
    dev_split: str = field(default="dev", metadata={"help": "S&I split that picks the best epoch"})
    model: str = field(default="microsoft/Phi-4-multimodal-instruct", metadata={"help": "base model: hub id or folder"})
    revision: str | None = field(default="refs/pr/70", metadata={"help": "hub revision (refs/pr/70: native layout)"})
    tiny: bool = field(default=False, metadata={"help": "tiny random Phi-4-multimodal built in code (tests, offline)"})
    init: str = field(default="speech", metadata={"help": "speech: start from a copy of the speech LoRA (paper); "
                                                          "fresh: a new LoRA of --lora-r/--lora-alpha (lora_B = 0)"})
    lora_r: int = field(default=320, metadata={"help": "rank of a fresh LoRA (the speech LoRA is r=320 already)"})
    lora_alpha: int = field(default=640, metadata={"help": "alpha of a fresh LoRA (the speech LoRA's is 640)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout of a fresh LoRA"})
    epochs: int = field(default=3, metadata={"help": "passes over the training set (the paper: STG 3-5, CTG 3)"})
    lr: float | None = field(default=None, metadata={"help": "AdamW peak LR; None: STG 5e-5, CTG 4e-5"})
    micro_batch: int = field(default=4, metadata={"help": "responses per forward pass (memory)"})
    grad_accum: int = field(default=8, metadata={"help": "micro-batches per optimizer step (4 x 8 = the paper's 32)"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps spent warming the LR up"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay (none: the usual for LoRA)"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping (0 = off)"})
    max_per_level: int | None = field(default=None, metadata={"help": "at most this many training responses per "
                                                                       "0.5 level, 0 = all; None: CTG 150, STG all"})
    audio_seconds: float | None = field(default=None, metadata={"help": "cut each recording to this many seconds, "
                                                                         "0 = no cut; None: CTG 30, STG no cut"})
    gradient_checkpointing: bool = field(default=True, metadata={"help": "recompute activations in backward (memory)"})
    asr: str | None = field(default=None, metadata={
        "help": "for ta/to, transcripts the data lacks (S&I train: no CTM) come from: whisper (openai/whisper-small, "
                "the ASR of the dev CTMs, so train and dev words match), phi4 (the model's speech adapter), tiny "
                "(random, offline), or none (error); None: tiny with --tiny, else whisper"})
    asr_model: str | None = field(default=None, metadata={"help": "Whisper checkpoint for --asr whisper"})
    transcript_cache: str | None = field(default=None, metadata={
        "help": "transcript cache folder (default $SLA_DATA_DIR/cache/transcripts): each answer is transcribed once"})
    seed: int = field(default=1011, metadata={"help": "seeds down-sampling, data order and dropout"})
    device: str = field(default="auto", metadata={"help": "'auto' (GPU if any), 'cpu', 'cuda:0', ..."})
    resume: bool = field(default=True, metadata={"help": "continue from OUT/checkpoints/<adapter>/ if present"})

    def __post_init__(self) -> None:
        if self.asr is None:
            object.__setattr__(self, "asr", "tiny" if self.tiny else "whisper")
        checks = {"mode": (self.mode, MODES), "init": (self.init, INITS), "asr": (self.asr, ASR_CHOICES)}
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"unknown --{name} {value!r}; expected one of {', '.join(allowed)}")
        if str(self.inputs).lower() not in INPUTS:
            raise ValueError(f"unknown --inputs {self.inputs!r}; expected one of {INPUT_NAMES}")
        object.__setattr__(self, "inputs", str(self.inputs).lower())
        if self.mode == "stg" and self.part not in PARTS:
            raise ValueError(f"--mode stg trains one part: give --part as one of {PARTS}, got {self.part}")
        if self.mode == "ctg" and self.part is not None:
            raise ValueError(f"--mode ctg trains one adapter on all parts; drop --part {self.part} (or use --mode stg)")
        for name in ("epochs", "micro_batch", "grad_accum"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")

    def resolved(self) -> MllmTrainConfig:
        """The config with the mode's recipe filled in where a field was left at None."""
        lr, per_level, seconds = RECIPES[self.mode]
        return dataclasses.replace(
            self,
            lr=self.lr if self.lr is not None else lr,
            max_per_level=self.max_per_level if self.max_per_level is not None else per_level,
            audio_seconds=self.audio_seconds if self.audio_seconds is not None else seconds,
        )

    @property
    def variant(self) -> str:
        return INPUTS[self.inputs]

    @property
    def parts(self) -> tuple[int, ...]:
        return (self.part,) if self.mode == "stg" else PARTS

    @property
    def adapter_name(self) -> str:
        from ...graders.mllm import CTG_ADAPTER, part_adapter_name

        return part_adapter_name(self.part) if self.mode == "stg" else CTG_ADAPTER

    @property
    def adapter_dir(self) -> Path:
        """Where load_mllm_grader(adapters=out, mode=mode) looks for this adapter."""
        return Path(self.out) / self.adapter_name if self.mode == "stg" else Path(self.out)


# ---------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Example:
    """One marked part of one submission: one prompt, one label."""

    submission_id: str
    part: int
    audio: tuple[Path | None, ...]  # one recording per answer
    questions: tuple[str | None, ...]
    transcripts: tuple[str | None, ...]  # None: unknown (ASR fills it for ta/to)
    mark: float  # on the 0.5 grid

    @property
    def where(self) -> str:
        return f"learner {self.submission_id} part {self.part}"


def examples(subs, parts: Sequence[int], gate: bool = False, skipped: list[str] | None = None) -> list[Example]:
    """The marked parts among `parts` of each submission, in submission order.

    gate: keep only the answers with gradable speech (`research.answers`, the rule prediction applies);
        a part left with none is skipped. What was left out is appended to `skipped`.
    """
    from ..answers import gate_part
    from ..corpus import training_target

    out = []
    for s in subs:
        for p in s.parts:
            if p.part in parts and p.mark is not None:
                rs = p.responses
                if gate:
                    gated = gate_part(p, keep_audio=False)
                    if skipped is not None:
                        skipped += [f"{s.submission_id}: {why}" for why in gated.problems]
                    rs = tuple(rs[i] for i in gated.kept)
                    if not rs:
                        continue
                out.append(Example(s.submission_id, p.part, tuple(r.audio_path for r in rs),
                                   tuple(r.question for r in rs), tuple(r.transcript for r in rs),
                                   training_target(float(p.mark))))
    return out


def balance(items: Sequence[Example], max_per_level: int, seed: int) -> list[Example]:
    """At most `max_per_level` examples per 0.5 level (a seeded random subset), original order kept; 0 = all.

    The CTG recipe: the marks pile up in the middle of the scale; capping each level keeps the adapter
    from learning to answer B1 for everyone.
    """
    if max_per_level <= 0:
        return list(items)
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for level in range(len(GRID)):
        idx = [i for i, ex in enumerate(items) if grid_index(ex.mark) == level]
        keep += idx if len(idx) <= max_per_level else rng.choice(idx, max_per_level, replace=False).tolist()
    return [items[i] for i in sorted(keep)]


def _load(cfg: MllmTrainConfig) -> tuple[list[Example], list[Example]]:
    """(train, dev) examples through the loaders the other trainers use (S&I root or CSV manifests)."""
    from ..corpus import load_submissions

    if Path(cfg.data).suffix.lower() == ".csv":
        if cfg.dev_data is None:
            raise ValueError("training from a CSV manifest needs --dev-data (a CSV with dev marks): "
                             "the best epoch is chosen on dev")
        train_subs, dev_subs = load_submissions(cfg.data, parts=cfg.parts), load_submissions(cfg.dev_data, parts=cfg.parts)
    else:
        train_subs = load_submissions(cfg.data, cfg.train_split, parts=cfg.parts, require_marks=True)
        dev_subs = load_submissions(cfg.dev_data or cfg.data, cfg.dev_split, parts=cfg.parts, require_marks=True)
    skipped: list[str] = []
    train = examples(train_subs, cfg.parts, gate=True, skipped=skipped)
    dev = examples(dev_subs, cfg.parts, gate=True, skipped=skipped)
    for why in skipped:
        print(f"left out: {why}", file=sys.stderr)
    if not train or not dev:
        raise ValueError(f"parts {cfg.parts}: {len(train)} marked training and {len(dev)} marked dev responses; need both")
    return balance(train, cfg.max_per_level, cfg.seed), dev


def _missing_transcripts(items: Sequence[Example]) -> list[tuple[int, int]]:
    """(example, answer) indices whose transcript is unknown."""
    return [(i, j) for i, ex in enumerate(items) for j, t in enumerate(ex.transcripts) if t is None]


def _check_transcripts(cfg: MllmTrainConfig, sets: dict[str, list[Example]]) -> None:
    """Fail before loading the model when transcripts are needed, missing, and no ASR is allowed."""
    from ...graders.prompts import uses_transcript

    if not uses_transcript(cfg.variant) or cfg.asr != "none":
        return
    for name, items in sets.items():
        missing = _missing_transcripts(items)
        if missing:
            i, j = missing[0]
            raise ValueError(f"--inputs {cfg.inputs} needs transcripts, but {len(missing)} {name} answers have none "
                             f"(first: {items[i].where} answer {j + 1}) and --asr is none; give transcripts in the "
                             f"data or use --asr phi4 / whisper")


def fill_transcripts(items: list[Example], transcriber, batch: int = 32) -> list[Example]:
    """Examples with every unknown transcript made by `transcriber` (full recordings, before any cut)."""
    from ...audio import load_audio

    missing = _missing_transcripts(items)
    made: dict[tuple[int, int], str] = {}
    for start in common.progress(range(0, len(missing), batch), "ASR", total=math.ceil(len(missing) / batch)):
        chunk = missing[start:start + batch]
        clips = []
        for i, j in chunk:
            if items[i].audio[j] is None:
                raise ValueError(f"{items[i].where} answer {j + 1}: no transcript and no audio to transcribe")
            clips.append(load_audio(items[i].audio[j], part=items[i].part, answer=j))  # 0-based
        made.update(zip(chunk, transcriber.transcribe(clips)))
    texts = [list(ex.transcripts) for ex in items]
    for (i, j), text in made.items():
        texts[i][j] = text
    return [dataclasses.replace(ex, transcripts=tuple(t)) for ex, t in zip(items, texts)]


def load_clips(ex: Example, variant: str, audio_seconds: float) -> list[np.ndarray]:
    """The recordings the prompt's placeholders stand for, each cut to `audio_seconds` (0 = whole)."""
    from ...audio import SAMPLE_RATE, load_audio
    from ...graders.prompts import uses_audio

    if not uses_audio(variant):
        return []
    clips = []
    for j, path in enumerate(ex.audio):
        if path is None:
            raise ValueError(f"{ex.where} answer {j + 1}: --inputs {variant.lower()} needs audio, the data has none")
        wav = load_audio(path, part=ex.part, answer=j)  # 0-based: AudioIssue says "answer j + 1"
        clips.append(wav[: int(audio_seconds * SAMPLE_RATE)] if audio_seconds > 0 else wav)
    return clips


def prompt(ex: Example, variant: str) -> str:
    from ...graders.prompts import build_prompt, uses_transcript

    return build_prompt(ex.part, ex.questions, ex.transcripts if uses_transcript(variant) else None, variant)


# ---------------------------------------------------------------------------------------------- the loss


def encode_examples(grader, items: Sequence[Example], variant: str, audio_seconds: float = 0.0):
    """Model inputs for `prompt + label + <|end|>` (prompts.training_text) and where the label token sits.

    Returns:
        batch: phi4.encode's BatchFeature (input_ids (B, L), left padded, audio features, ...);
        label_mask: (B, L) bool, True at exactly one position per row: the label token, second to last.
    """
    import torch

    from ...graders import phi4
    from ...graders.prompts import END, training_text

    texts = [training_text(prompt(ex, variant), ex.mark) for ex in items]
    batch = phi4.encode(grader.tokenizer, grader.feature_extractor, texts, [load_clips(ex, variant, audio_seconds) for ex in items])
    ids = batch["input_ids"]
    label_mask = torch.zeros_like(ids, dtype=torch.bool)
    label_mask[:, -2] = True  # left padding puts every row's label right before its final <|end|>
    expected = torch.tensor([grader.label_ids[grid_index(ex.mark)] for ex in items])
    end_id = grader.tokenizer.convert_tokens_to_ids(END)
    if not (torch.equal(ids[:, -2], expected) and bool((ids[:, -1] == end_id).all())):
        raise ValueError(f"training texts do not end in <label><|end|> tokens (got {ids[:, -2:].tolist()}, "
                         f"labels {expected.tolist()}): the tokenizer must keep each score label one token")
    return batch, label_mask


def answer_logits(model, batch, label_mask):
    """(B, vocab) logits at the position that predicts each row's label token: the prompt's last position,
    where MllmGrader.distributions reads the score. Only those positions go through the 200k-wide lm_head."""
    import torch

    length = label_mask.shape[1]
    answer_pos = label_mask.int().argmax(-1) - 1  # (B,) the prompt's last token
    keep = length - int(answer_pos.min())
    logits = model(**batch, logits_to_keep=keep, use_cache=False).logits  # (B, keep, vocab)
    return logits[torch.arange(len(answer_pos)), answer_pos - (length - keep)]


def label_loss(model, batch, label_mask, reduction: str = "mean"):
    """Cross-entropy (over the vocabulary) of the label token: the only position with a loss."""
    import torch.nn.functional as F

    targets = batch["input_ids"][label_mask]  # (B,) the label token ids
    return F.cross_entropy(answer_logits(model, batch, label_mask).float(), targets, reduction=reduction)


# ---------------------------------------------------------------------------------------------- model


def autocast(device):
    """bf16 autocast on CUDA (the model's training precision); a no-op on CPU, where everything is float32."""
    import torch

    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def _load_grader(cfg: MllmTrainConfig, device):
    from ...graders.mllm import load_mllm_grader

    return load_mllm_grader(model_id=cfg.model, revision=cfg.revision, mode=cfg.mode, variant=cfg.variant,
                            device=device, tiny=cfg.tiny, seed=TINY_BASE_SEED)


def new_trainable_adapter(grader, cfg: MllmTrainConfig) -> list:
    """Add the adapter to train (a copy of the speech LoRA, or fresh), make it the only trainable thing.

    Its weights are kept in float32 (master weights; autocast computes in bf16): in bf16 an update of
    lr x 1 on a weight of ~1e-2 would round away. Returns the trainable parameters.
    """
    from peft import LoraConfig

    from ...graders import phi4

    name, model = cfg.adapter_name, grader.model
    if cfg.init == "speech":
        grader.new_adapter(cfg.parts, name=name)
    else:
        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=phi4.LM_TARGETS)
        model.add_adapter(name, lora, autocast_adapter_dtype=False)
        grader.part_adapters.update({p: name for p in cfg.parts})
    model.set_adapter(name)  # the active adapter: training forwards take no adapter_names
    params = []
    for n, p in model.named_parameters():
        p.requires_grad_("lora_" in n and f".{name}." in n)
        if p.requires_grad:
            p.data = p.data.float()
            params.append(p)
    return params


def _adapter_state(grader, name: str) -> dict:
    from peft.utils import get_peft_model_state_dict

    return {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(grader.model, adapter_name=name).items()}


def _set_adapter_state(grader, name: str, state: dict) -> None:
    from peft.utils import set_peft_model_state_dict

    set_peft_model_state_dict(grader.model, state, adapter_name=name)


def predict(grader, name: str, items: Sequence[Example], variant: str, audio_seconds: float, batch: int) -> np.ndarray:
    """(N,) expected scores of `items` under adapter `name`: exactly the grader's one-forward read-out."""
    import torch

    grader.model.eval()  # peft takes per-row adapter_names only in eval mode
    grid = torch.tensor(GRID)
    scores = []
    for start in common.progress(range(0, len(items), batch), "dev", total=math.ceil(len(items) / batch)):
        chunk = items[start:start + batch]
        with autocast(grader.device):
            probs = grader.distributions([prompt(ex, variant) for ex in chunk],
                                         [load_clips(ex, variant, audio_seconds) for ex in chunk], [name] * len(chunk))
        scores.append(probs @ grid)  # (b,)
    return torch.cat(scores).numpy()


# ---------------------------------------------------------------------------------------------- the loop


def _job(cfg: MllmTrainConfig, n_train: int) -> dict:
    """What must match for a checkpoint to be resumed (epochs and lr may change)."""
    return {"mode": cfg.mode, "part": cfg.part, "inputs": cfg.inputs, "model": "tiny" if cfg.tiny else cfg.model,
            "init": cfg.init, "n_train": n_train, "batch": cfg.micro_batch * cfg.grad_accum}


def train(cfg: MllmTrainConfig, log: Callable[[str], None] | None = print):
    """Train one adapter (STG: cfg.part's; CTG: all parts'), keep the best dev macro-F1 epoch, save it.

    Returns:
        (grader, history): the grader with the trained adapter scoring cfg.parts (state TRAINED), and
        one dict per epoch (train_loss, dev_rmse, dev_pcc, dev_macro_f1, ...).
    """
    import torch

    log = log or (lambda _: None)
    cfg = cfg.resolved()
    device = common.pick_device(cfg.device)
    train_set, dev_set = _load(cfg)
    _check_transcripts(cfg, {"training": train_set, "dev": dev_set})
    grader = _load_grader(cfg, device)
    common.seed_everything(cfg.seed)  # after the load: the tiny base is built from its own fixed seed
    if _missing_transcripts(train_set + dev_set) and cfg.variant != "AO":
        from ..transcripts import load_asr

        # through the transcript cache: `predict` and a second run reuse these words
        transcriber = load_asr(cfg.asr, grader=grader if cfg.asr == "phi4" else None, model_id=cfg.asr_model,
                               device=device, cache_dir=cfg.transcript_cache)
        train_set, dev_set = fill_transcripts(train_set, transcriber), fill_transcripts(dev_set, transcriber)
    name, variant, cut = cfg.adapter_name, cfg.variant, float(cfg.audio_seconds)
    params = new_trainable_adapter(grader, cfg)
    model = grader.model
    if cfg.gradient_checkpointing:
        model.get_base_model().activation_checkpointing_enable({"use_reentrant": False})

    per_step = cfg.micro_batch * cfg.grad_accum
    steps_per_epoch = math.ceil(len(train_set) / per_step)
    total = steps_per_epoch * cfg.epochs
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = common.linear_warmup_schedule(optimizer, round(cfg.warmup_ratio * total), total)
    tracker, history, start = common.BestTracker(metric="macro_f1", mode="max"), [], 0
    ckpt_dir = Path(cfg.out) / "checkpoints" / name
    best_dir = ckpt_dir / "best"
    job = _job(cfg, len(train_set))
    state = common.load_checkpoint(ckpt_dir, job) if cfg.resume else None
    if state is not None:
        _set_adapter_state(grader, name, state["adapter"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, start = state["history"], state["epoch"] + 1
        tracker = common.BestTracker(metric="macro_f1", mode="max", best=state["best"], best_epoch=state["best_epoch"])
        if state.get("torch_rng") is not None:  # LoRA dropout then draws the masks of an uninterrupted run
            torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        log(f"resuming {name} after epoch {start} from {ckpt_dir}")
    log(f"{name}: {len(train_set)} training / {len(dev_set)} dev responses, inputs {cfg.inputs}, "
        f"{steps_per_epoch} steps of {per_step} per epoch, lr {cfg.lr:g}, device {device}")

    rng = np.random.default_rng(cfg.seed)
    for _ in range(start):
        rng.permutation(len(train_set))  # replay the shuffles of the finished epochs, so resuming is exact
    for epoch in range(start, cfg.epochs):
        model.train()
        order, losses = rng.permutation(len(train_set)), []
        for s in common.progress(range(steps_per_epoch), f"mllm {name} epoch {epoch + 1}", total=steps_per_epoch):
            # one optimizer step; sorting by answer count puts similar lengths in a micro-batch (less padding)
            step = sorted(order[s * per_step:(s + 1) * per_step], key=lambda i: len(train_set[i].audio))
            step_loss = 0.0
            for m in range(0, len(step), cfg.micro_batch):
                batch, mask = encode_examples(grader, [train_set[i] for i in step[m:m + cfg.micro_batch]], variant, cut)
                with autocast(device):
                    loss = label_loss(model, batch.to(device), mask.to(device), reduction="sum")
                (loss / len(step)).backward()  # the step's mean over responses, however it was split
                step_loss += loss.item()
            if cfg.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(step_loss / len(step))
        pred = predict(grader, name, dev_set, variant, cut, cfg.micro_batch)
        dev = common.dev_metrics(pred, [ex.mark for ex in dev_set])
        history.append({"adapter": name, "epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                        "lr": scheduler.get_last_lr()[0], **{f"dev_{k}": v for k, v in dev.items()}})
        if tracker.update(dev, epoch + 1):
            grader.save_adapter(name, best_dir)
        common.save_checkpoint(ckpt_dir, {"adapter": _adapter_state(grader, name), "optimizer": optimizer.state_dict(),
                                          "scheduler": scheduler.state_dict(), "epoch": epoch, "best": tracker.best,
                                          "best_epoch": tracker.best_epoch, "history": history, "job": job,
                                          "torch_rng": torch.get_rng_state(),
                                          "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None})
        h = history[-1]
        log(f"{name} epoch {epoch + 1}/{cfg.epochs}: train loss {h['train_loss']:.4f}, dev macro-F1 "
            f"{h['dev_macro_f1']:.3f}, RMSE {h['dev_rmse']:.3f}, PCC {h['dev_pcc']:.3f}"
            + ("  (best)" if tracker.best_epoch == epoch + 1 else ""))

    # The kept adapter: the best epoch's weights, back in the base model's dtype, in the grader's layout.
    from peft.utils import load_peft_weights

    if cfg.gradient_checkpointing:
        model.get_base_model().activation_checkpointing_disable()
    base_dtype = model.get_base_model().dtype
    for p in params:
        p.data = p.data.to(base_dtype)
        p.requires_grad_(False)
    _set_adapter_state(grader, name, load_peft_weights(str(best_dir), device=str(device)))
    model.eval()
    grader.mark_trained(name)
    grader.save_adapter(name, cfg.adapter_dir)
    common.write_log(cfg.adapter_dir, history)
    # Beside the adapter: its input variant and audio cut, which load_mllm_grader applies at inference.
    from ...graders.mllm import TRAIN_CONFIG_FILE

    (cfg.adapter_dir / TRAIN_CONFIG_FILE).write_text(json.dumps(dataclasses.asdict(cfg), indent=1), encoding="utf-8")
    if cut > 0:
        grader.audio_seconds[name] = cut
    return grader, history


# ---------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_dataclass_arguments(parser, MllmTrainConfig)


def main(args: argparse.Namespace) -> int:
    try:
        cfg = common.dataclass_from_args(MllmTrainConfig, args)
    except ValueError as e:  # a bad flag value: say which and what is allowed, no traceback
        print(f"train mllm: error: {e}", file=sys.stderr)
        return 2
    _, history = train(cfg)
    best = max(history, key=lambda h: h["dev_macro_f1"])
    print(f"{cfg.adapter_name}: {len(history)} epochs, train loss {history[0]['train_loss']:.3f} -> "
          f"{history[-1]['train_loss']:.3f}; kept epoch {best['epoch']}: dev macro-F1 {best['dev_macro_f1']:.3f}, "
          f"RMSE {best['dev_rmse']:.3f}")
    print(f"saved to {cfg.adapter_dir}; use: python -m sla_core assess --mllm on --mllm-adapters {cfg.out} "
          f"--mllm-mode {cfg.mode} --mllm-variant {cfg.variant}" + (" --tiny" if cfg.tiny else ""))
    return 0


if __name__ == "__main__":  # `python -m sla_core.research.train.mllm ...`
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    sys.exit(main(p.parse_args()))
