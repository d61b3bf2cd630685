"""The session grader's acoustic prior: our speech grader's per-part estimates, never from a grader that saw the marks.

On the train split the prior is **cross-fitted** (out-of-fold): the train submissions are split into K
folds (a seeded permutation of submission ids, dealt round-robin), and fold k's estimates come from
speech graders trained on the other K-1 folds only. Each fold's graders choose their best epoch on dev,
as `train speech` does. A prior the session grader trains on therefore has the error a prior has at
test time; an in-sample prior would be near the marks, the session grader would learn to copy it, and
then lean on it too hard on dev and eval.

On dev and eval (and in the app) the prior comes from one speech grader trained on the whole train
split (`--speech-checkpoints`, e.g. the W2V of Table 1; trained here when not given). Its best epoch was
chosen on dev, as the fusion weights are fitted on dev: dev's prior is mildly optimistic, eval's is not.

Every prior is a predictions file (`predictions.py`: system W2V, one row per part). The cross-fitted
rows carry `OUT_OF_FOLD` in their note, and the trainer refuses a train prior without it.
A part whose answers have no gradable speech (`research.answers`) gets no prior row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..parts import PARTS
from .predictions import Prediction, read_predictions, write_predictions

PRIOR_SYSTEM = "W2V"
OUT_OF_FOLD = "out-of-fold"  # the note of a cross-fitted row starts with this
TRAIN_PRIOR_FILE, DEV_PRIOR_FILE, FOLDS_FILE = "train-oof.tsv", "dev.tsv", "folds.json"


def assign_folds(submission_ids: Sequence[str], folds: int, seed: int) -> dict[str, int]:
    """Submission -> fold 0..folds-1: a seeded permutation dealt round-robin (fold sizes differ by at most 1)."""
    ids = sorted(set(submission_ids))
    if not 2 <= folds <= len(ids):
        raise ValueError(f"cross-fitting needs 2 <= folds <= {len(ids)} (the training submissions), got {folds}")
    order = np.random.default_rng(seed).permutation(len(ids))
    return {ids[i]: k % folds for k, i in enumerate(order)}


def speech_prior_rows(graders, submissions, split: str, note: str = "") -> list[Prediction]:
    """The speech graders' part scores of each submission (its gradable answers, all parts in one call), as
    prediction rows; only parts the graders score TRAINED (an untrained grader's number is no prior)."""
    from ..assessment import TRAINED
    from .answers import gate_part, part_input

    rows = []
    for sub in submissions:
        inputs = []
        for pr in sub.parts:
            gated = gate_part(pr)
            if gated.kept:
                inputs.append(part_input(pr, gated, sub.submission_id, with_audio=True))
        for inp, s in zip(inputs, graders.score(inputs) if inputs else []):
            if s.state == TRAINED:
                rows.append(Prediction(split, sub.submission_id, inp.part, PRIOR_SYSTEM, s.score,
                                       sub.part(inp.part).mark, s.state, note=note))
    return rows


def read_prior(path: str | Path, split: str | None = None, out_of_fold: bool = False) -> dict[str, dict[int, float]]:
    """submission -> part -> prior score, from a W2V predictions file (part rows of `split`).

    out_of_fold: every row must be cross-fitted (its note starts with OUT_OF_FOLD), as a train prior must.
    """
    rows = [p for p in read_predictions(path) if p.part in PARTS and not p.per_response
            and (split is None or p.split == split)]
    if not rows:
        raise ValueError(f"{path}: no part rows{f' of split {split!r}' if split else ''} to use as the acoustic prior")
    systems = sorted({p.grader for p in rows})
    if systems != [PRIOR_SYSTEM]:
        raise ValueError(f"{path}: the acoustic prior is the speech grader's ({PRIOR_SYSTEM}) estimate, got {systems}")
    if out_of_fold:
        bad = [p for p in rows if not p.note.startswith(OUT_OF_FOLD)]
        if bad:
            raise ValueError(f"{path}: {len(bad)} rows (first: {bad[0].submission_id} part {bad[0].part}) are not "
                             f"out-of-fold: the train prior must come from speech graders that never saw those marks "
                             f"(train session --prior cross-fit writes one)")
    prior: dict[str, dict[int, float]] = {}
    for p in rows:
        prior.setdefault(p.submission_id, {})[int(p.part)] = p.score
    return prior


def cross_fit(train_subs, dev_subs, folds: int, speech_cfg, out: str | Path, seed: int, device,
              log: Callable[[str], None] = print) -> Path:
    """Out-of-fold speech-grader estimates for every train submission; returns the predictions file.

    Args:
        speech_cfg: `research.train.speech.SpeechTrainConfig` for each fold's graders (its `out` is replaced
            by `out/speech-fold{k}`); each fold trains every part that has marks in the other folds.
        out: the prior folder; a fold whose file exists is not trained again (resume), and `folds.json`
            records which submissions each fold held out (a different assignment is refused).
    """
    from ..graders.speech import load_speech_graders
    from .train import speech
    from .train.common import pick_device

    device = pick_device(str(device))  # "cpu", "cuda:0", "auto" or a torch.device
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    assignment = assign_folds([s.submission_id for s in train_subs], folds, seed)
    record = out / FOLDS_FILE
    if record.is_file() and json.loads(record.read_text(encoding="utf-8")) != assignment:
        raise ValueError(f"{record} holds another fold assignment (other data, --prior-folds or --seed); "
                         f"use another --out or delete {out}")
    record.write_text(json.dumps(assignment, indent=1, sort_keys=True), encoding="utf-8")
    rows: list[Prediction] = []
    for k in range(folds):
        path = out / f"fold{k + 1}.tsv"
        held = [s for s in train_subs if assignment[s.submission_id] == k]
        if not path.is_file():
            rest = [s for s in train_subs if assignment[s.submission_id] != k]
            cfg = replace(speech_cfg, out=str(out / f"speech-fold{k + 1}"))
            parts = [p for p in PARTS if any(s.part(p) is not None and s.part(p).mark is not None for s in rest)]
            log(f"acoustic prior: fold {k + 1}/{folds}: speech graders for parts {parts} on {len(rest)} submissions, "
                f"estimates for the {len(held)} held out")
            for part in parts:
                speech.train_part(part, rest, dev_subs, cfg, device)
            graders = load_speech_graders(cfg.out, parts=parts, device=device)
            note = f"{OUT_OF_FOLD}: fold {k + 1} of {folds}, speech graders trained without these submissions"
            write_predictions(path, speech_prior_rows(graders, held, "train", note))
        rows += read_predictions(path)
    return write_predictions(out / TRAIN_PRIOR_FILE, rows)


def full_prior(dev_subs, speech_checkpoints: str | Path, out: str | Path, split: str, device) -> Path:
    """The dev (or eval) prior from the speech graders in `speech_checkpoints` (trained on all of train)."""
    from ..graders.speech import load_speech_graders

    path = Path(out) / f"{split}.tsv"
    if not path.is_file():
        parts = [p for p in PARTS if (Path(speech_checkpoints) / f"part{p}").is_dir()]
        if not parts:
            raise FileNotFoundError(f"{speech_checkpoints} holds no trained speech grader (part1/ .. part5/)")
        graders = load_speech_graders(speech_checkpoints, parts=parts, device=device)
        write_predictions(path, speech_prior_rows(graders, dev_subs, split))
    return path


__all__ = ["OUT_OF_FOLD", "PRIOR_SYSTEM", "assign_folds", "cross_fit", "full_prior", "read_prior", "speech_prior_rows"]
