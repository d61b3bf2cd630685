"""`train bert` on the miniature corpus: the loss falls, the artifact reloads, dev calibration, resume."""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sla_core.research.corpus import load_si_split
from sla_core.graders.bert import fit_linear, load_bert_grader
from sla_core.research.train import common
from sla_core.research.train.bert import BertTrainConfig, _examples, train


@pytest.fixture(scope="module")
def trained(mini, tmp_path_factory):
    cfg = BertTrainConfig(data=str(mini.root), out=str(tmp_path_factory.mktemp("bert")), parts=(3,), encoder="tiny",
                          epochs=3, lr=1e-3, batch_size=4, seed=0)
    grader, history = train(cfg)
    return mini, cfg, grader, history


@pytest.mark.slow
def test_training_loss_falls_and_the_log_is_written(trained):
    _, cfg, _, history = trained
    losses = [h["train_loss"] for h in history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert json.loads((Path(cfg.out) / "train_log.json").read_text()) == history


@pytest.mark.slow
def test_saved_artifact_reloads_with_the_same_scores_and_dev_calibration(trained):
    mini, cfg, grader, _ = trained
    back = load_bert_grader(cfg.out)
    texts, marks, _ = _examples(load_si_split(mini.root, "dev"), 3)
    raw = back.raw_scores(3, texts)
    np.testing.assert_allclose(raw, grader.raw_scores(3, texts), atol=1e-6)
    assert back.calibration[3] == pytest.approx(fit_linear(raw, marks), abs=1e-5)  # y = m x + b fitted on dev
    assert back.info().state == "trained" and back.info().parts == (3,)


@pytest.mark.slow
def test_resume_continues_from_the_last_epoch(trained):
    _, cfg, _, history = trained
    _, resumed = train(replace(cfg, epochs=4))
    assert [h["epoch"] for h in resumed] == [1, 2, 3, 4]
    assert resumed[:3] == history  # the finished epochs were not trained again


class Interrupted(Exception):
    """Stands in for a crash right after an epoch's checkpoint was written."""


@pytest.mark.slow
def test_an_interrupted_run_with_dropout_resumes_to_the_same_result(trained, tmp_path, monkeypatch):
    import sla_core.graders.bert as tiny_bert

    mini, cfg, _, _ = trained
    plain = tiny_bert.tiny_bert_config
    monkeypatch.setattr(tiny_bert, "tiny_bert_config",  # bert-base-uncased trains with dropout 0.1
                        lambda n: replace(plain(n), hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3))
    _, uninterrupted = train(replace(cfg, out=str(tmp_path / "straight"), epochs=2))
    save = common.save_checkpoint

    def save_then_stop(out_dir, state):
        save(out_dir, state)
        raise Interrupted

    monkeypatch.setattr(common, "save_checkpoint", save_then_stop)
    stopped = replace(cfg, out=str(tmp_path / "stopped"), epochs=2)
    with pytest.raises(Interrupted):
        train(stopped)
    monkeypatch.setattr(common, "save_checkpoint", save)
    _, resumed = train(stopped)
    # same data order, weights, optimizer, LR and dropout masks as if never stopped
    assert [h["train_loss"] for h in resumed] == pytest.approx([h["train_loss"] for h in uninterrupted], rel=1e-6)
    assert [h["dev_rmse"] for h in resumed] == pytest.approx([h["dev_rmse"] for h in uninterrupted], rel=1e-6)


def test_macro_f1_matches_sklearn():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    ref = rng.choice(np.arange(2.0, 6.0, 0.5), 50)
    pred = ref + rng.normal(0, 0.6, 50)
    classes = lambda s: np.clip(np.floor((s - 2.0) / 0.5 + 0.5), 0, 7)  # noqa: E731
    assert common.macro_f1(pred, ref) == pytest.approx(f1_score(classes(ref), classes(pred), average="macro"))
    assert common.macro_f1(ref, ref) == 1.0


def test_warmup_schedule_rises_then_decays_to_zero():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = common.linear_warmup_schedule(opt, warmup_steps=4, total_steps=10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:5] == sorted(lrs[:5]) and max(lrs) == pytest.approx(1.0) and lrs[-1] < 0.2
    assert lrs[4:] == sorted(lrs[4:], reverse=True)


def test_best_tracker_keeps_the_best_epoch():
    t = common.BestTracker(metric="rmse", mode="min")
    assert [t.update({"rmse": v}, e) for e, v in enumerate([0.9, 0.7, 0.8, 0.6], 1)] == [True, True, False, True]
    assert (t.best, t.best_epoch) == (0.6, 4)


def test_cli_flags_come_from_the_config_dataclass():
    parser = common.add_dataclass_arguments(argparse.ArgumentParser(), BertTrainConfig)
    args = parser.parse_args(["--data", "d", "--out", "o", "--parts", "1", "5", "--lr", "1e-4", "--no-resume"])
    cfg = common.dataclass_from_args(BertTrainConfig, args)
    assert (cfg.parts, cfg.lr, cfg.resume, cfg.epochs, cfg.dev_data) == ((1, 5), 1e-4, False, 7, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["--data", "d"])  # --out is required
