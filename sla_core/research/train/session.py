"""`python -m sla_core train session`: the session grader (Phi4-MTL), five targets from one forward.

One example per submission: the whole test as one conversation (`graders.session_prompt`), the
recorded answers' audio in place (gradable answers only: `research.answers`), the question where known,
and the acoustic prior of each part (`research.prior`: cross-fitted on train). Targets: the four part
marks and the overall mark. The loss is a **masked MSE** over the five outputs: a part without a mark
(missing from the submission) adds nothing, and the holistic overall mark of an incomplete train
submission is a target for the overall output only (its parts stay masked unless they have marks).
Every known mark weighs the same. Overall marks are targets as released (1.875, 5.625 stay): a
regression head needs no grid.

Recipe (the follow-up paper gives no hyperparameters; where it is silent, our multimodal graders'):
the adapter starts as a copy of the speech LoRA (r=320, alpha=640); AdamW, lr 5e-5 on the adapter
(STG's) and 1e-3 on the head, which starts as the prior itself (`session.init_head`: readout 0, each
part's output = its prior, the overall = their mean, no prior = the training mean), linear schedule
with 10% warm-up, effective batch 32 sessions (2 x 16), 3 epochs, bf16 autocast on CUDA, gradient
checkpointing; the prior is hidden ("not available", in the prompt and to the head) for 10% of training
sessions (`prior_dropout`), so the grader has seen that case when no trained speech grader is loaded. The epoch with the lowest dev RMSE
of the overall output is kept (the challenge ranks by it; macro-F1 would need classes, which a
regression head does not give); dev is also scored before training (epoch 0), so the log shows what
training bought over the head's start (every output at its training mean).

Output (`--out`): the PEFT adapter, `head.safetensors`, `session_config.json` (what inference applies),
`train_config.json`, `train_log.json`; `prior/` (the cross-fitted train prior `train-oof.tsv`, the dev
prior `dev.tsv`, each fold's speech graders); `checkpoints/` (the last epoch's state, for resuming).
Loads with `assess --mllm-mode session --mllm-adapters OUT --speech-checkpoints <the prior's graders>`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...parts import PARTS
from . import common

PRIORS = ("cross-fit", "file", "none")
TINY_BASE_SEED = 0  # as `train mllm --tiny`: an adapter fits only the base it was trained on
N_TARGETS = len(PARTS) + 1  # P1, P3, P4, P5, overall (graders.session_prompt.TARGETS)


@dataclass(frozen=True)
class SessionTrainConfig:
    data: str = field(metadata={"help": "S&I corpus root, or a CSV manifest of training responses"})
    out: str = field(metadata={"help": "folder for the trained session adapter (what assess --mllm-mode session loads)"})
    dev_data: str | None = field(default=None, metadata={"help": "CSV manifest for dev (needed with a CSV --data)"})
    train_split: str = field(default="train", metadata={"help": "S&I split to train on"})
    dev_split: str = field(default="dev", metadata={"help": "S&I split that picks the best epoch"})
    model: str = field(default="microsoft/Phi-4-multimodal-instruct", metadata={"help": "base model: hub id or folder"})
    revision: str | None = field(default="refs/pr/70", metadata={"help": "hub revision (refs/pr/70: native layout)"})
    tiny: bool = field(default=False, metadata={"help": "tiny random Phi-4-multimodal built in code (tests, offline)"})
    prior: str = field(default="cross-fit", metadata={
        "help": "acoustic prior: cross-fit (train K speech graders, each without one fold, for train; --speech-"
                "checkpoints or one trained on all of train for dev), file (--prior-train/--prior-dev), none"})
    prior_folds: int = field(default=5, metadata={"help": "cross-fitting folds of the train submissions"})
    prior_train: str | None = field(default=None, metadata={"help": "--prior file: out-of-fold W2V predictions of train"})
    prior_dev: str | None = field(default=None, metadata={"help": "--prior file: W2V predictions of dev"})
    speech_checkpoints: str | None = field(default=None, metadata={
        "help": "trained speech graders (part1/ ..) for the dev prior, and what inference should load; "
                "cross-fit without it trains one on all of train into OUT/prior/speech-full"})
    speech_epochs: int = field(default=30, metadata={"help": "cross-fit speech graders: epochs (paper: 30)"})
    speech_lr: float = field(default=1e-4, metadata={"help": "cross-fit speech graders: AdamW lr (paper: 1e-4)"})
    speech_warmup_steps: int = field(default=600, metadata={"help": "cross-fit speech graders: warm-up steps (600)"})
    speech_batch_size: int = field(default=4, metadata={"help": "cross-fit speech graders: batch (4)"})
    speech_grad_accum: int = field(default=8, metadata={"help": "cross-fit speech graders: accumulation (8)"})
    prior_dropout: float = field(default=0.1, metadata={"help": "share of training sessions shown without a prior"})
    prior_head: bool = field(default=True, metadata={
        "help": "the head also reads the prior's numbers, starting as the prior itself (graders/session.py); "
                "--no-prior-head: the prior in the prompt only (the ablation)"})
    epochs: int = field(default=3, metadata={"help": "passes over the training sessions"})
    lr: float = field(default=5e-5, metadata={"help": "AdamW peak LR of the LoRA adapter (STG's)"})
    head_lr: float = field(default=1e-3, metadata={"help": "AdamW peak LR of the regression head (starts at 0)"})
    micro_batch: int = field(default=2, metadata={"help": "sessions per forward pass (memory: ~4,500 tokens each)"})
    grad_accum: int = field(default=16, metadata={"help": "micro-batches per optimizer step (2 x 16 = 32)"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "share of steps spent warming the LR up"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping (0 = off)"})
    gradient_checkpointing: bool = field(default=True, metadata={"help": "recompute activations in backward (memory)"})
    seed: int = field(default=1011, metadata={"help": "seeds folds, data order, prior dropout and LoRA dropout"})
    device: str = field(default="auto", metadata={"help": "'auto' (GPU if any), 'cpu', 'cuda:0', ..."})
    resume: bool = field(default=True, metadata={"help": "continue from OUT/checkpoints/ if present"})

    def __post_init__(self) -> None:
        if self.prior not in PRIORS:
            raise ValueError(f"unknown --prior {self.prior!r}; expected one of {', '.join(PRIORS)}")
        if self.prior == "file" and not (self.prior_train and self.prior_dev):
            raise ValueError("--prior file needs --prior-train (out-of-fold W2V predictions of train) and --prior-dev")
        for name in ("epochs", "micro_batch", "grad_accum", "speech_epochs", "speech_batch_size", "speech_grad_accum"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.prior_dropout < 1.0:
            raise ValueError(f"--prior-dropout must lie in [0, 1), got {self.prior_dropout}")


# ---------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class SessionExample:
    """One submission: its recorded parts (gradable answers), the five targets (NaN: unknown), its prior."""

    submission_id: str
    parts: tuple[tuple[int, tuple[Path, ...], tuple[str | None, ...]], ...]  # (part, audio paths, questions)
    targets: tuple[float, ...]  # (5,) P1, P3, P4, P5, overall; NaN where there is no mark
    prior: Mapping[int, float] | None = None

    @property
    def mask(self) -> np.ndarray:
        return np.isfinite(np.array(self.targets))


def session_examples(subs, skipped: list[str] | None = None) -> list[SessionExample]:
    """One example per submission with at least one mark; answers without gradable speech are left out (a part
    left with none is not recorded, and its mark is not a target: the model cannot hear what was marked)."""
    from ..answers import gate_part

    out = []
    for s in subs:
        parts, targets = [], [math.nan] * N_TARGETS
        for pr in s.parts:
            gated = gate_part(pr, keep_audio=False)
            if skipped is not None:
                skipped += [f"{s.submission_id}: {why}" for why in gated.problems]
            if not gated.kept:
                continue
            rs = [pr.responses[i] for i in gated.kept]
            parts.append((pr.part, tuple(r.audio_path for r in rs), tuple(r.question for r in rs)))
            if pr.mark is not None:
                targets[PARTS.index(pr.part)] = float(pr.mark)
        if s.overall_mark is not None and parts:
            targets[-1] = float(s.overall_mark)  # holistic for an incomplete train submission: the overall's target only
        if parts and np.isfinite(targets).any():
            out.append(SessionExample(s.submission_id, tuple(parts), tuple(targets)))
    return out


def part_inputs(ex: SessionExample) -> list:
    """The example's parts as PartInputs (audio loaded; the grader cuts each answer to its part's cap)."""
    from ...audio import load_audio
    from ...data import PartInput

    return [PartInput(part, tuple(load_audio(a, part=part, answer=j) for j, a in enumerate(paths)), questions=qs,
                      submission_id=ex.submission_id) for part, paths, qs in ex.parts]


def masked_mse(pred, target, reduction: str = "mean"):
    """Squared error over the known targets only. pred, target: (B, 5), target NaN where unknown.

    reduction "sum" gives the sum over known targets (the trainer divides by the step's count)."""
    import torch

    known = torch.isfinite(target)
    err = torch.where(known, pred - torch.nan_to_num(target), torch.zeros_like(pred)) ** 2
    return err.sum() if reduction == "sum" else err.sum() / known.sum().clamp(min=1)


def _load(cfg: SessionTrainConfig):
    """(train submissions, dev submissions) through the loaders the other trainers use."""
    from ..corpus import load_submissions

    if Path(cfg.data).suffix.lower() == ".csv":
        if cfg.dev_data is None:
            raise ValueError("training from a CSV manifest needs --dev-data (a CSV with dev marks): "
                             "the best epoch is chosen on dev")
        return load_submissions(cfg.data, ctm=None), load_submissions(cfg.dev_data, ctm=None)
    return (load_submissions(cfg.data, cfg.train_split, ctm=None, require_marks=True),
            load_submissions(cfg.dev_data or cfg.data, cfg.dev_split, ctm=None, require_marks=True))


def prepare_priors(cfg: SessionTrainConfig, train_subs, dev_subs, device, log) -> tuple[dict, dict, str | None]:
    """(train prior, dev prior, the speech graders inference should load) as submission -> part -> score."""
    from .. import prior
    from .speech import SpeechTrainConfig

    if cfg.prior == "none":
        return {}, {}, None
    if cfg.prior == "file":
        return (prior.read_prior(cfg.prior_train, out_of_fold=True), prior.read_prior(cfg.prior_dev),
                cfg.speech_checkpoints)
    folder = Path(cfg.out) / "prior"
    speech_cfg = SpeechTrainConfig(data=cfg.data, out="-", part="all", dev_data=cfg.dev_data, tiny=cfg.tiny,
                                   epochs=cfg.speech_epochs, lr=cfg.speech_lr, warmup_steps=cfg.speech_warmup_steps,
                                   batch_size=cfg.speech_batch_size, grad_accum=cfg.speech_grad_accum, seed=cfg.seed,
                                   device=str(device))
    train_file = prior.cross_fit(train_subs, dev_subs, cfg.prior_folds, speech_cfg, folder, cfg.seed, device, log)
    checkpoints = cfg.speech_checkpoints
    if checkpoints is None:  # the dev prior's graders, trained on all of train (what inference loads too)
        from .speech import train_part

        checkpoints = str(folder / "speech-full")
        full_cfg = dataclasses.replace(speech_cfg, out=checkpoints)
        for part in PARTS:  # a finished part resumes past its last epoch: nothing is trained twice
            if any(s.part(part) is not None and s.part(part).mark is not None for s in train_subs):
                log(f"acoustic prior: speech grader part {part} on all {len(train_subs)} train submissions")
                train_part(part, train_subs, dev_subs, full_cfg, device)
    dev_file = prior.full_prior(dev_subs, checkpoints, folder, "dev", device)
    return prior.read_prior(train_file, out_of_fold=True), prior.read_prior(dev_file), checkpoints


# ---------------------------------------------------------------------------------------------- model


def _load_grader(cfg: SessionTrainConfig, device):
    from ...graders.session import load_session_grader

    return load_session_grader(model_id=cfg.model, revision=cfg.revision, device=device, tiny=cfg.tiny,
                               seed=TINY_BASE_SEED)


def trainable(grader, target_means: Sequence[float]) -> tuple[list, list]:
    """Make the session adapter and the head the only trainable parameters; (adapter params, head params).

    The adapter's weights are kept in float32 (master weights; autocast computes in bf16), as `train mllm` does.
    """
    from ...graders.session import ADAPTER, init_head

    model = grader.model
    model.set_adapter(ADAPTER)
    adapter = []
    for n, p in model.named_parameters():
        p.requires_grad_("lora_" in n and f".{ADAPTER}." in n)
        if p.requires_grad:
            p.data = p.data.float()
            adapter.append(p)
    init_head(grader.head, target_means)
    head = list(grader.head.parameters())
    for p in head:
        p.requires_grad_(True)
    return adapter, head


def predict(grader, items: Sequence[SessionExample], batch: int, desc: str = "dev") -> np.ndarray:
    """(N, 5) raw outputs of `items` with their priors: exactly the grader's one-forward read-out."""
    from .mllm import autocast

    out = []
    for start in common.progress(range(0, len(items), batch), desc, total=math.ceil(len(items) / batch)):
        chunk = items[start:start + batch]
        with autocast(grader.device):
            out.append(grader.predict([part_inputs(ex) for ex in chunk], [ex.prior for ex in chunk]))
    return np.concatenate(out)


def dev_metrics(pred: np.ndarray, items: Sequence[SessionExample]) -> dict[str, float]:
    """RMSE of the overall output (the selection metric), of each part's, and PCC of the overall."""
    from ...cefr import SCORE_MAX, SCORE_MIN

    y = np.array([ex.targets for ex in items])  # (N, 5)
    p = np.clip(pred, SCORE_MIN, SCORE_MAX)  # as reported
    out = {}
    for j, name in enumerate([f"p{q}" for q in PARTS] + ["overall"]):
        known = np.isfinite(y[:, j])
        out[f"rmse_{name}"] = float(np.sqrt(np.mean((p[known, j] - y[known, j]) ** 2))) if known.any() else math.nan
    known = np.isfinite(y[:, -1])
    out["rmse"] = out["rmse_overall"]
    out["pcc"] = common.dev_metrics(p[known, -1], y[known, -1])["pcc"] if known.sum() > 1 else math.nan
    return out


# ---------------------------------------------------------------------------------------------- the loop


def _job(cfg: SessionTrainConfig, n_train: int) -> dict:
    """What must match for a checkpoint to be resumed (epochs and lr may change)."""
    return {"model": "tiny" if cfg.tiny else cfg.model, "prior": cfg.prior, "n_train": n_train,
            "batch": cfg.micro_batch * cfg.grad_accum}


def _with_priors(items, priors: Mapping[str, Mapping[int, float]]) -> list[SessionExample]:
    return [dataclasses.replace(ex, prior=dict(priors.get(ex.submission_id, {})) or None) for ex in items]


def train(cfg: SessionTrainConfig, log: Callable[[str], None] | None = print):
    """Train the session adapter and head, keep the epoch with the lowest dev overall RMSE, save them.

    Returns:
        (grader, history): the grader with the best epoch's adapter and head (state TRAINED), and one dict
        per epoch, epoch 0 being dev before training (train_loss None).
    """
    import torch

    from ...graders.session import SessionConfig, build_head

    log = log or (lambda _: None)
    device = common.pick_device(cfg.device)
    train_subs, dev_subs = _load(cfg)
    # the prior first: a prior file that is not out-of-fold fails before any audio is read
    train_prior, dev_prior, prior_source = prepare_priors(cfg, train_subs, dev_subs, device, log)
    skipped: list[str] = []
    train_set, dev_set = session_examples(train_subs, skipped), session_examples(dev_subs, skipped)
    for why in skipped:
        print(f"left out: {why}", file=sys.stderr)
    if not train_set or not dev_set or not any(np.isfinite(ex.targets[-1]) for ex in dev_set):
        raise ValueError(f"{len(train_set)} training and {len(dev_set)} dev sessions with marks (dev needs overall "
                         f"marks: the best epoch is chosen on them); need both")
    train_set, dev_set = _with_priors(train_set, train_prior), _with_priors(dev_set, dev_prior)

    grader = _load_grader(cfg, device)
    grader.config = SessionConfig(prior="none" if cfg.prior == "none" else "speech", prior_source=prior_source,
                                  prior_head=cfg.prior_head and cfg.prior != "none")
    grader.head = build_head(grader.head.hidden, device=device, prior_head=grader.config.prior_head)
    common.seed_everything(cfg.seed)  # after the load: the tiny base is built from its own fixed seed
    y = np.array([ex.targets for ex in train_set])  # (N, 5)
    means = [float(np.nanmean(y[:, j])) if np.isfinite(y[:, j]).any() else 3.5 for j in range(N_TARGETS)]
    adapter_params, head_params = trainable(grader, means)
    model = grader.model
    if cfg.gradient_checkpointing:
        model.get_base_model().activation_checkpointing_enable({"use_reentrant": False})

    per_step = cfg.micro_batch * cfg.grad_accum
    steps_per_epoch = math.ceil(len(train_set) / per_step)
    total = steps_per_epoch * cfg.epochs
    optimizer = torch.optim.AdamW([{"params": adapter_params, "lr": cfg.lr}, {"params": head_params, "lr": cfg.head_lr}],
                                  weight_decay=cfg.weight_decay)
    scheduler = common.linear_warmup_schedule(optimizer, round(cfg.warmup_ratio * total), total)
    tracker = common.BestTracker(metric="rmse", mode="min")
    ckpt_dir = Path(cfg.out) / "checkpoints"
    best_dir = ckpt_dir / "best"
    job, history, start = _job(cfg, len(train_set)), [], 0
    state = common.load_checkpoint(ckpt_dir, job) if cfg.resume else None
    if state is not None:
        _set_state(grader, state["adapter"], state["head"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history, start = state["history"], state["epoch"]
        tracker = common.BestTracker(metric="rmse", mode="min", best=state["best"], best_epoch=state["best_epoch"])
        torch.set_rng_state(state["torch_rng"])
        log(f"resuming the session grader after epoch {start} from {ckpt_dir}")
    log(f"session grader: {len(train_set)} training / {len(dev_set)} dev sessions, prior {cfg.prior}, "
        f"{steps_per_epoch} steps of {per_step} per epoch, lr {cfg.lr:g} (head {cfg.head_lr:g}), device {device}")

    def evaluate(epoch: int, losses: list[float] | None) -> None:
        model.eval()
        dev = dev_metrics(predict(grader, dev_set, cfg.micro_batch), dev_set)
        history.append({"epoch": epoch, "train_loss": None if losses is None else float(np.mean(losses)),
                        "lr": scheduler.get_last_lr()[0], **{f"dev_{k}": v for k, v in dev.items()}})
        if tracker.update(dev, epoch):
            _save_state(grader, best_dir)
        common.save_checkpoint(ckpt_dir, {"adapter": _adapter_state(grader), "head": _head_state(grader),
                                          "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                                          "epoch": epoch, "best": tracker.best, "best_epoch": tracker.best_epoch,
                                          "history": history, "job": job, "torch_rng": torch.get_rng_state()})
        h = history[-1]
        log(f"session epoch {epoch}/{cfg.epochs}: " + ("before training" if losses is None else
            f"train loss {h['train_loss']:.4f}") + f", dev RMSE overall {h['dev_rmse']:.3f} (parts "
            + ", ".join(f"{h[f'dev_rmse_p{p}']:.3f}" for p in PARTS) + f"), PCC {h['dev_pcc']:.3f}"
            + ("  (best)" if tracker.best_epoch == epoch else ""))

    if state is None:
        evaluate(0, None)  # the head's start (every output at its training mean): what training must beat
    rng = np.random.default_rng(cfg.seed)
    for _ in range(start):
        rng.permutation(len(train_set))  # replay the shuffles of the finished epochs, so resuming is exact
    from .mllm import autocast

    for epoch in range(start + 1, cfg.epochs + 1):
        model.train()
        order, losses = rng.permutation(len(train_set)), []
        for s in common.progress(range(steps_per_epoch), f"session epoch {epoch}", total=steps_per_epoch):
            step = order[s * per_step:(s + 1) * per_step]
            n_known = sum(int(train_set[i].mask.sum()) for i in step)
            step_loss = 0.0
            for m in range(0, len(step), cfg.micro_batch):
                chunk = [train_set[i] for i in step[m:m + cfg.micro_batch]]
                shown = [None if _drop_prior(cfg, epoch, ex) else ex.prior for ex in chunk]
                batch = grader.encode([part_inputs(ex) for ex in chunk], shown).to(device)
                target = torch.tensor([ex.targets for ex in chunk], dtype=torch.float32, device=device)
                with autocast(device):
                    loss = masked_mse(grader.outputs(batch, shown), target, reduction="sum")
                (loss / n_known).backward()  # the step's mean over known targets, however it was split
                step_loss += loss.item()
            if cfg.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(adapter_params + head_params, cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(step_loss / n_known)
        evaluate(epoch, losses)

    if cfg.gradient_checkpointing:
        model.get_base_model().activation_checkpointing_disable()
    base_dtype = model.get_base_model().dtype
    for p in adapter_params:
        p.data = p.data.to(base_dtype)
        p.requires_grad_(False)
    for p in head_params:
        p.requires_grad_(False)
    best = _read_state(best_dir, device)
    _set_state(grader, *best)
    model.eval()
    grader.trained = True
    grader.source = f"{grader.source.split(' + ')[0]} + session adapter {cfg.out}"
    grader.save(cfg.out)
    common.write_log(cfg.out, history)
    (Path(cfg.out) / "train_config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1), encoding="utf-8")
    return grader, history


def _drop_prior(cfg: SessionTrainConfig, epoch: int, ex: SessionExample) -> bool:
    """Whether this session is shown without its prior this epoch: a draw fixed by (seed, epoch, submission),
    so a resumed run hides the same priors as an uninterrupted one."""
    if ex.prior is None or cfg.prior_dropout <= 0:
        return ex.prior is None
    digest = int.from_bytes(ex.submission_id.encode("utf-8")[-8:].rjust(8, b"\0"), "big")
    return np.random.default_rng([cfg.seed, epoch, digest]).random() < cfg.prior_dropout


def _adapter_state(grader) -> dict:
    from ...graders.session import ADAPTER
    from .mllm import _adapter_state as adapter_state

    return adapter_state(grader, ADAPTER)


def _head_state(grader) -> dict:
    return {k: v.detach().cpu().clone() for k, v in grader.head.state_dict().items()}


def _set_state(grader, adapter: dict, head: dict) -> None:
    from ...graders.session import ADAPTER
    from .mllm import _set_adapter_state

    _set_adapter_state(grader, ADAPTER, adapter)
    grader.head.load_state_dict(head)


def _save_state(grader, folder: Path) -> None:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"adapter": _adapter_state(grader), "head": _head_state(grader)}, folder / "best.pt")


def _read_state(folder: Path, device) -> tuple[dict, dict]:
    import torch

    state = torch.load(folder / "best.pt", map_location=device, weights_only=True)
    return state["adapter"], state["head"]


# ---------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_dataclass_arguments(parser, SessionTrainConfig)


def main(args: argparse.Namespace) -> int:
    try:
        cfg = common.dataclass_from_args(SessionTrainConfig, args)
    except ValueError as e:  # a bad flag value: say which and what is allowed, no traceback
        print(f"train session: error: {e}", file=sys.stderr)
        return 2
    grader, history = train(cfg)
    best = min(history, key=lambda h: h["dev_rmse"])
    print(f"session grader: {len(history) - 1} epochs, dev RMSE overall {history[0]['dev_rmse']:.3f} before training; "
          f"kept epoch {best['epoch']}: {best['dev_rmse']:.3f}")
    speech = f" --speech-checkpoints {grader.config.prior_source}" if grader.config.prior_source else ""
    print(f"saved to {cfg.out}; use: python -m sla_core assess --mllm on --mllm-mode session --mllm-adapters "
          f"{cfg.out}{speech}" + (" --tiny" if cfg.tiny else ""))
    return 0


if __name__ == "__main__":  # `python -m sla_core.research.train.session ...`
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    sys.exit(main(p.parse_args()))
