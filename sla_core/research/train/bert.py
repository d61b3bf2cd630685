"""`python -m sla_core train bert`: the official baseline, one BERT text grader per part.

Recipe: MSE on the part mark over the part's ASR words (corpus CTM or manifest transcripts); AdamW,
linear schedule with warm-up; the epoch with the lowest dev RMSE is kept; then the per-part linear
calibration y = m * x + b and the overall calibration are fitted on dev (the baseline's procedure).
The optimiser values follow a closed-track re-implementation of the baseline (aalto-speech/slate-2025:
batch 8, lr 5e-5, 5% warm-up, linear decay); the official baseline's own values were not checked.
"""

from __future__ import annotations

import argparse
import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...parts import PARTS
from . import common

PAPER_NOTE = "S&I 2025 baseline: BERT per part on ASR words, per-part linear calibration on dev"


@dataclass(frozen=True)
class BertTrainConfig:
    data: str = field(metadata={"help": "S&I corpus root, or a CSV manifest of training responses"})
    out: str = field(metadata={"help": "folder for the trained grader (bert_grader.json, part*.safetensors)"})
    dev_data: str | None = field(default=None, metadata={"help": "CSV manifest for dev (needed with a CSV --data)"})
    train_split: str = field(default="train", metadata={"help": "S&I split to train on"})
    dev_split: str = field(default="dev", metadata={"help": "S&I split for model selection and calibration"})
    parts: tuple[int, ...] = field(default=PARTS, metadata={"help": "parts to train, one model each"})
    encoder: str = field(default="bert-base-uncased", metadata={"help": "BERT hub id/path, or 'tiny' (offline debug)"})
    epochs: int = field(default=7, metadata={"help": "passes over the training set"})
    lr: float = field(default=5e-5, metadata={"help": "AdamW peak learning rate"})
    batch_size: int = field(default=8, metadata={"help": "parts per step"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "share of steps spent warming the LR up"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    max_length: int = field(default=512, metadata={"help": "tokens per part (BERT's limit)"})
    seed: int = field(default=1011, metadata={"help": "seeds data order and head initialisation"})
    device: str = field(default="auto", metadata={"help": "'auto' (GPU if any), 'cpu', 'cuda:0', ..."})
    resume: bool = field(default=True, metadata={"help": "continue from the checkpoints in --out if present"})
    asr: str | None = field(default=None, metadata={
        "help": "transcripts the data lacks (S&I train: no CTM) come from: whisper (openai/whisper-small, the "
                "ASR of the dev CTMs), tiny (random, offline) or none (error); None: tiny with --encoder tiny, "
                "else whisper"})
    asr_model: str | None = field(default=None, metadata={"help": "Whisper checkpoint for --asr whisper"})
    transcript_cache: str | None = field(default=None, metadata={
        "help": "transcript cache folder (default $SLA_DATA_DIR/cache/transcripts): each answer is transcribed once"})


def _examples(subs, part: int) -> tuple[list[str], np.ndarray, list[str]]:
    """(texts, marks, submission ids) of the submissions that have `part` with a mark."""
    from ...graders.bert import part_text

    texts, marks, ids = [], [], []
    for s in subs:
        pr = s.part(part)
        if pr is None or pr.mark is None:
            continue
        texts.append(part_text([r.transcript for r in pr.responses], part))
        marks.append(pr.mark)
        ids.append(s.submission_id)
    return texts, np.asarray(marks, dtype=np.float32), ids


def _load(cfg: BertTrainConfig):
    """(train, dev) submissions: only gradable answers (`research.answers`), every transcript known
    (corpus CTM where the split has one, else the ASR through the transcript cache)."""
    import sys

    from ..answers import gate_submissions
    from ..corpus import load_submissions
    from ..transcripts import fill_transcripts, load_asr

    if Path(cfg.data).suffix.lower() == ".csv":
        if cfg.dev_data is None:
            raise ValueError("training from a CSV manifest needs --dev-data (a CSV with dev marks): "
                             "the best epoch and the calibration are chosen on dev")
        train_subs, dev_subs = load_submissions(cfg.data, parts=cfg.parts), load_submissions(cfg.dev_data, parts=cfg.parts)
    else:
        dev_source = cfg.dev_data or cfg.data
        train_subs = load_submissions(cfg.data, cfg.train_split, parts=cfg.parts, require_marks=True)
        dev_subs = load_submissions(dev_source, cfg.dev_split, parts=cfg.parts, require_marks=True)
    problems: list[str] = []
    (train_subs, left_train), (dev_subs, left_dev) = gate_submissions(train_subs), gate_submissions(dev_subs)
    problems += left_train + left_dev
    kind = cfg.asr or ("tiny" if cfg.encoder == "tiny" else "whisper")
    if kind not in ("whisper", "tiny", "none"):
        raise ValueError(f"unknown --asr {kind!r} for the BERT baseline; expected whisper, tiny or none")
    asr = load_asr(kind, model_id=cfg.asr_model, cache_dir=cfg.transcript_cache)
    train_subs = fill_transcripts(train_subs, asr, "ASR train", problems)
    dev_subs = fill_transcripts(dev_subs, asr, "ASR dev", problems)
    for problem in problems:
        print(f"left out: {problem}", file=sys.stderr)
    return train_subs, dev_subs


def train_part(grader, part: int, train_subs, dev_subs, cfg: BertTrainConfig, device) -> list[dict]:
    """Train the part's model in place; keep the best-dev-RMSE epoch's weights. Returns the history."""
    import torch

    texts, marks, _ = _examples(train_subs, part)
    dev_texts, dev_marks, _ = _examples(dev_subs, part)
    if len(texts) == 0 or len(dev_texts) == 0:
        raise ValueError(f"part {part}: {len(texts)} marked training and {len(dev_texts)} marked dev parts; need both")
    model = grader.models[part].to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(texts) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    scheduler = common.linear_warmup_schedule(optimizer, round(cfg.warmup_ratio * total), total)
    tracker, history, start = common.BestTracker(metric="rmse", mode="min"), [], 0
    best_state = copy.deepcopy(model.state_dict())
    ckpt_dir = Path(cfg.out) / "checkpoints" / f"part{part}"
    state = common.load_checkpoint(ckpt_dir) if cfg.resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        best_state, history, start = state["best_model"], state["history"], state["epoch"] + 1
        tracker = common.BestTracker(metric="rmse", mode="min", best=state["best"], best_epoch=state["best_epoch"])
        if state.get("torch_rng") is not None:  # dropout then draws the masks of an uninterrupted run
            torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    rng = np.random.default_rng(cfg.seed + part)
    for _ in range(start):
        rng.permutation(len(texts))  # replay the shuffles of the finished epochs, so resuming is exact
    for epoch in range(start, cfg.epochs):
        model.train()
        order, losses = rng.permutation(len(texts)), []
        for i in common.progress(range(0, len(texts), cfg.batch_size), f"bert P{part} epoch {epoch + 1}",
                                 total=steps_per_epoch):
            idx = order[i:i + cfg.batch_size]
            batch = grader.encode([texts[j] for j in idx])  # input_ids, attention_mask: (B, T)
            target = torch.as_tensor(marks[idx], device=device)  # (B,)
            loss = torch.nn.functional.mse_loss(model(**batch), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        dev = common.dev_metrics(grader.raw_scores(part, dev_texts), dev_marks)
        history.append({"part": part, "epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                        **{f"dev_{k}": v for k, v in dev.items()}})
        if tracker.update(dev, epoch + 1):
            best_state = copy.deepcopy(model.state_dict())
        common.save_checkpoint(ckpt_dir, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                          "scheduler": scheduler.state_dict(), "epoch": epoch,
                                          "best_model": best_state, "best": tracker.best,
                                          "best_epoch": tracker.best_epoch, "history": history,
                                          "torch_rng": torch.get_rng_state(),
                                          "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None})
    model.load_state_dict(best_state)
    return history


def calibrate(grader, dev_subs, parts) -> None:
    """Fit the per-part y = m * x + b on dev, then the overall calibration on complete dev submissions."""
    from ...graders.bert import fit_linear

    calibrated: dict[str, dict[int, float]] = {}
    for part in parts:
        texts, marks, ids = _examples(dev_subs, part)
        raw = grader.raw_scores(part, texts)
        grader.calibration[part] = fit_linear(raw, marks)
        for sub_id, r in zip(ids, raw):
            calibrated.setdefault(sub_id, {})[part] = float(grader.calibrate(part, r))
    means, overall = [], []
    for s in dev_subs:
        got = calibrated.get(s.submission_id, {})
        if s.overall_mark is not None and set(got) == set(PARTS):
            means.append(np.mean(list(got.values())))
            overall.append(s.overall_mark)
    grader.overall_calibration = fit_linear(means, overall) if len(means) >= 2 else (1.0, 0.0)


def train(cfg: BertTrainConfig) -> tuple[object, list[dict]]:
    """Train, calibrate and save the BERT grader; returns (grader, per-epoch history)."""
    from ...assessment import TRAINED
    from ...graders.bert import BertGraderConfig, build_bert_grader

    common.seed_everything(cfg.seed)
    device = common.pick_device(cfg.device)
    train_subs, dev_subs = _load(cfg)
    grader = build_bert_grader(BertGraderConfig(encoder=cfg.encoder, max_length=cfg.max_length),
                               parts=cfg.parts, seed=cfg.seed).to(device)
    history = []
    for part in cfg.parts:
        history += train_part(grader, part, train_subs, dev_subs, cfg, device)
        common.write_log(cfg.out, history)
    calibrate(grader, dev_subs, cfg.parts)
    grader.state = TRAINED
    grader.save_pretrained(cfg.out)
    return grader, history


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_dataclass_arguments(parser, BertTrainConfig)


def main(args: argparse.Namespace) -> int:
    cfg = common.dataclass_from_args(BertTrainConfig, args)
    _, history = train(cfg)
    for part in cfg.parts:
        rows = [h for h in history if h["part"] == part]
        best = min(rows, key=lambda h: h["dev_rmse"])
        print(f"part {part}: {len(rows)} epochs, train loss {rows[0]['train_loss']:.3f} -> {rows[-1]['train_loss']:.3f}, "
              f"best dev RMSE {best['dev_rmse']:.3f} (epoch {best['epoch']}, uncalibrated)")
    print(f"saved the BERT grader to {cfg.out}")
    return 0


if __name__ == "__main__":  # `python -m sla_core.research.train.bert ...`
    import sys

    p = argparse.ArgumentParser(description=PAPER_NOTE)
    add_arguments(p)
    sys.exit(main(p.parse_args()))
