"""What every training loop here shares: seeding, the warm-up schedule, dev metrics, checkpoints, CLI.

The BERT baseline, the speech grader and the multimodal grader each keep one readable loop in their
own module (nanoGPT style) and take the pieces below instead of a framework.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ...cefr import grid_index

T = TypeVar("T")
CHECKPOINT_FILE = "training_state.pt"  # inside a trainer's output folder; resume reads it back


# ---------------------------------------------------------------------------------------------- runtime


def seed_everything(seed: int) -> None:
    """Same seed -> same data order, initial weights and dropout masks (on one device)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto"):
    """"auto" takes the GPU when there is one; otherwise the named device ("cpu", "cuda:1", ...)."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def linear_warmup_schedule(optimizer, warmup_steps: int, total_steps: int):
    """Linear warm-up to the base LR over `warmup_steps`, then linear decay to 0 at `total_steps`.

    Warm-up keeps the first updates of a freshly initialised head from wrecking the pretrained encoder.
    Returns a torch LambdaLR; call `.step()` after each optimizer step.
    """
    import torch

    warmup_steps, total_steps = max(0, int(warmup_steps)), max(1, int(total_steps))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def progress(items: Iterable[T], desc: str, total: int | None = None, disable: bool | None = None) -> Iterable[T]:
    """A tqdm bar on stderr; off when not attached to a terminal unless SLA_PROGRESS=1."""
    if disable is None:
        disable = os.environ.get("SLA_PROGRESS") != "1" and not _stderr_is_tty()
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, total=total, disable=disable, leave=False, dynamic_ncols=True)


def _stderr_is_tty() -> bool:
    import sys

    return sys.stderr.isatty()


# ---------------------------------------------------------------------------------------------- dev metrics


def grid_classes(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Scores -> class indices 0..7 of the nearest 0.5-grid point (cefr.grid_index: halves up, clipped)."""
    return np.array([grid_index(float(x)) for x in np.ravel(scores)], dtype=int)


def macro_f1(pred: Sequence[float] | np.ndarray, ref: Sequence[float] | np.ndarray) -> float:
    """Macro-F1 over the 0.5-grid classes present in `ref` or `pred` (the paper's checkpoint criterion).

    Classes absent from both are skipped (their F1 is undefined), as sklearn does with `labels=None`.
    """
    p, r = grid_classes(pred), grid_classes(ref)
    if len(p) != len(r) or len(p) == 0:
        raise ValueError(f"macro_f1 needs two equally long, non-empty arrays, got {len(p)} and {len(r)}")
    f1s = []
    for c in np.union1d(p, r):
        tp = np.sum((p == c) & (r == c))
        fp, fn = np.sum((p == c) & (r != c)), np.sum((p != c) & (r == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def dev_metrics(pred: Sequence[float] | np.ndarray, ref: Sequence[float] | np.ndarray) -> dict[str, float]:
    """The numbers a trainer logs after each epoch: rmse, pcc, macro_f1 (pcc is nan when undefined)."""
    p, r = np.asarray(pred, dtype=float), np.asarray(ref, dtype=float)
    rmse = float(np.sqrt(np.mean((p - r) ** 2)))
    pcc = float(np.corrcoef(p, r)[0, 1]) if len(p) > 1 and p.std() > 0 and r.std() > 0 else float("nan")
    return {"rmse": rmse, "pcc": pcc, "macro_f1": macro_f1(p, r)}


@dataclasses.dataclass
class BestTracker:
    """Remembers the best dev value so far; `update` says whether this one is a new best."""

    metric: str = "macro_f1"  # key in dev_metrics(); speech: macro_f1 (paper), bert: rmse
    mode: str = "max"  # "max" for macro_f1/pcc, "min" for rmse
    best: float | None = None
    best_epoch: int | None = None

    def update(self, metrics: dict[str, float], epoch: int) -> bool:
        value = metrics[self.metric]
        if not np.isfinite(value):
            return self.best is None and self._take(value, epoch)
        better = self.best is None or not np.isfinite(self.best) or (
            value > self.best if self.mode == "max" else value < self.best)
        return self._take(value, epoch) if better else False

    def _take(self, value: float, epoch: int) -> bool:
        self.best, self.best_epoch = float(value), epoch
        return True


# ---------------------------------------------------------------------------------------------- checkpoints


def save_checkpoint(out_dir: Path | str, state: dict[str, Any]) -> Path:
    """Write the training state (model/optimizer/scheduler state dicts, epoch, history, ...) atomically.

    Trainers call it at the end of each epoch, so `load_checkpoint` can resume after an interruption.
    """
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (CHECKPOINT_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(out_dir / CHECKPOINT_FILE)
    return out_dir / CHECKPOINT_FILE


def load_checkpoint(out_dir: Path | str, job: Any = None) -> dict[str, Any] | None:
    """The state `save_checkpoint` wrote in `out_dir`, or None when there is none.

    `job`: what identifies this training run (a trainer that stores it as state["job"]); a checkpoint of
    another run raises ValueError rather than be resumed into this one.
    """
    import torch

    path = Path(out_dir) / CHECKPOINT_FILE
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    if job is not None and state["job"] != job:
        raise ValueError(f"{out_dir} holds another training run ({state['job']}, this one is {job}); "
                         f"use another --out or --no-resume to start over")
    return state


def write_log(out_dir: Path | str, history: list[dict[str, Any]], name: str = "train_log.json") -> Path:
    """Per-epoch history (train loss, dev metrics) as JSON next to the artifact, for plots and tests."""
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(history, indent=1, default=float), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------- CLI from a dataclass


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> argparse.ArgumentParser:
    """One `--flag` per field of a config dataclass; the help is the field's `metadata["help"]`.

    Fields without a default become required; bools become `--flag/--no-flag`; tuple[int, ...]
    fields take several values (`--parts 1 3`).
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        default = _default(f)
        help_text = f.metadata.get("help", "")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            continue
        base, nargs = _base_type(kind)
        kwargs: dict[str, Any] = {"type": base, "help": help_text}
        if nargs:
            kwargs["nargs"] = nargs
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
            kwargs["help"] = f"{help_text} (default: {default})"
        parser.add_argument(flag, **kwargs)
    return parser


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """Build the config dataclass back from parsed arguments (tuples stay tuples)."""
    values = {}
    for f in dataclasses.fields(cls):
        value = getattr(args, f.name)
        values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _base_type(kind: Any) -> tuple[Any, str | None]:
    """(argparse type, nargs) for str/int/float/Path, their Optional forms and tuple[X, ...]."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    origin = typing.get_origin(kind)
    if origin is tuple:
        return args[0], "+"
    if args and origin is not None:  # Optional[X] / X | None
        return _base_type(args[0])
    return (str if kind is Path else kind), None  # Path fields stay strings; trainers wrap them


__all__ = ["seed_everything", "pick_device", "linear_warmup_schedule", "progress", "grid_classes", "macro_f1",
           "dev_metrics", "BestTracker", "save_checkpoint", "load_checkpoint", "write_log",
           "add_dataclass_arguments", "dataclass_from_args", "CHECKPOINT_FILE"]
