"""`train speech` on the miniature corpus: the loss falls, the best epoch is what assess loads, resume, bad audio."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from sla_core.__main__ import main
from sla_core.assess import AssessorConfig, load_assessor
from sla_core.assessment import TRAINED
from sla_core.audio import load_audio
from sla_core.cefr import round_to_grid
from sla_core.research.corpus import load_si_split
from sla_core.data import PartResponses, Response, Submission
from sla_core.graders.speech import SpeechGrader
from sla_core.testing.audio import write_wav
from sla_core.testing.corpus import write_manifest
from sla_core.research.train import common
from sla_core.research.train.speech import SkippedAudioWarning, SpeechTrainConfig, collect_examples

EPOCHS = 3
# Tiny and quick: no warm-up, no accumulation, a learning rate a 32-wide random encoder learns with.
FAST = ["--tiny", "--epochs", str(EPOCHS), "--warmup-steps", "0", "--batch-size", "2", "--grad-accum", "1",
        "--lr", "3e-3", "--seed", "0", "--device", "cpu"]


def _train(*argv: str) -> int:
    return main(["train", "speech", *argv])


def _log(out: Path) -> list[dict]:
    return json.loads((out / "train_log.json").read_text())



@pytest.fixture(scope="module")
def trained(mini, tmp_path_factory):
    """Part 1 (two answers per part, pooled together as at inference), trained from the S&I layout."""
    out = tmp_path_factory.mktemp("speech")
    assert _train("--data", str(mini.root), "--out", str(out), "--part", "1", *FAST) == 0
    return out, _log(out)


@pytest.mark.slow
def test_training_loss_falls_and_each_epoch_is_logged(trained):
    _, history = trained
    assert [h["epoch"] for h in history] == list(range(1, EPOCHS + 1))
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert all(np.isfinite(h["dev_rmse"]) and 0 <= h["dev_macro_f1"] <= 1 for h in history)


@pytest.mark.slow
def test_the_saved_grader_is_the_best_dev_epoch(trained, mini):
    out, history = trained
    best = max(history, key=lambda h: (h["dev_macro_f1"], -h["dev_rmse"]))
    assert [h["epoch"] for h in history if h["best"]][-1] == best["epoch"]
    grader = SpeechGrader.from_pretrained(out / "part1", device="cpu")
    dev = collect_examples(load_si_split(mini.root, "dev", parts=(1,)), 1)
    scores = [o.score for o in grader.predict([[load_audio(p) for p in ex.paths] for ex in dev])]
    again = common.dev_metrics(scores, [ex.mark for ex in dev])
    assert again["macro_f1"] == pytest.approx(best["dev_macro_f1"])
    assert again["rmse"] == pytest.approx(best["dev_rmse"], abs=1e-5)
    train_marks = [p.mark for s in load_si_split(mini.root, "train", parts=(1,)) for p in s.parts]
    assert grader.prototype_levels == tuple(sorted({round_to_grid(m) for m in train_marks}))


@pytest.mark.slow
def test_assess_loads_the_trained_part_in_one_call(trained, mini):
    out, _ = trained
    assessor = load_assessor(AssessorConfig(tiny=True, speech_checkpoints=str(out), mllm="off", device="cpu"))
    answers = [r.audio_path for r in load_si_split(mini.root, "dev", parts=(1,))[0].part(1).responses]
    result = assessor.assess({1: answers}).part(1)
    assert result.speech.state == TRAINED and result.graded
    grader = SpeechGrader.from_pretrained(out / "part1", device="cpu")
    expected = grader.predict([[load_audio(a) for a in answers]])[0].score
    assert result.speech.score == pytest.approx(expected, abs=1e-5)
    speech_info = next(g for g in assessor.status() if g.name == "speech")
    assert speech_info.parts == (1,)


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C right after an epoch's checkpoint was written."""


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_result(trained, mini, tmp_path, monkeypatch):
    _, uninterrupted = trained
    save = common.save_checkpoint

    def save_then_stop(out_dir, state):
        save(out_dir, state)
        raise Interrupted

    monkeypatch.setattr(common, "save_checkpoint", save_then_stop)
    argv = ["--data", str(mini.root), "--out", str(tmp_path), "--part", "1", *FAST]
    with pytest.raises(Interrupted):
        _train(*argv)
    assert [h["epoch"] for h in _log(tmp_path)] == [1]
    monkeypatch.setattr(common, "save_checkpoint", save)
    assert _train(*argv, "--resume") == 0
    resumed = _log(tmp_path)
    assert [h["epoch"] for h in resumed] == list(range(1, EPOCHS + 1))  # epoch 1 not trained again
    for got, want in zip(resumed, uninterrupted):  # same data order, weights, optimizer and LR as if never stopped
        assert got["train_loss"] == pytest.approx(want["train_loss"], rel=1e-4)
        assert (got["step"], got["best"]) == (want["step"], want["best"])
    SpeechGrader.from_pretrained(tmp_path / "part1", device="cpu")


@pytest.mark.slow
def test_bad_audio_is_skipped_with_a_warning_naming_the_file(mini, tmp_path):
    train = load_si_split(mini.root, "train", parts=(3,))
    dev = load_si_split(mini.root, "dev", parts=(3,))
    broken = tmp_path / "broken_answer.wav"
    broken.write_text("not audio")
    bad = Submission("LEARNER-BAD", (PartResponses(3, (Response(audio_path=broken),), mark=3.0),))
    train_csv = write_manifest(tmp_path / "train.csv", [*train, bad])
    dev_csv = write_manifest(tmp_path / "dev.csv", dev)
    out = tmp_path / "out"
    with pytest.warns(SkippedAudioWarning, match="broken_answer.wav"):
        rc = _train("--data", str(train_csv), "--dev-data", str(dev_csv), "--out", str(out), "--part", "3",
                    *FAST[:2], "1", *FAST[3:])
    assert rc == 0 and (out / "part3" / "model.safetensors").is_file()


def test_a_part_keeps_its_good_answers_when_one_is_bad(mini, tmp_path):
    subs = load_si_split(mini.root, "train", parts=(1,))
    silent = write_wav(tmp_path / "silent.wav", np.zeros(32000, dtype=np.float32))
    first = subs[0].part(1)
    subs[0] = Submission(subs[0].submission_id, (PartResponses(1, (first.responses[0], Response(silent)), first.mark),))
    with pytest.warns(SkippedAudioWarning, match="silent.wav"):
        found = collect_examples(subs, 1)
    assert len(found) == len(subs)
    assert found[0].paths == (first.responses[0].audio_path,) and found[0].mark == first.mark


def test_nothing_usable_is_an_error_that_says_so(mini, tmp_path):
    write_wav(tmp_path / "quiet.wav", np.zeros(32000, dtype=np.float32))
    rows = "learner,part,audio,question,transcript,score\nL1,3,quiet.wav,,,3.5\n"
    (tmp_path / "train.csv").write_text(rows)
    (tmp_path / "dev.csv").write_text(rows)
    with pytest.warns(SkippedAudioWarning), pytest.raises(ValueError, match="part 3: 0 usable marked training"):
        _train("--data", str(tmp_path / "train.csv"), "--dev-data", str(tmp_path / "dev.csv"),
               "--out", str(tmp_path / "out"), "--part", "3", *FAST)


def test_defaults_are_the_paper_recipe_and_part_is_checked():
    parser = common.add_dataclass_arguments(argparse.ArgumentParser(), SpeechTrainConfig)
    cfg = common.dataclass_from_args(SpeechTrainConfig, parser.parse_args(["--data", "d", "--out", "o", "--part", "5"]))
    assert (cfg.epochs, cfg.lr, cfg.warmup_steps, cfg.batch_size, cfg.grad_accum) == (30, 1e-4, 600, 4, 8)
    assert (cfg.encoder, cfg.tiny, cfg.parts) == ("facebook/wav2vec2-base", False, (5,))
    assert cfg.freeze_feature_encoder and cfg.resume
    assert SpeechTrainConfig(data="d", out="o", part="all").parts == (1, 3, 4, 5)
    with pytest.raises(ValueError, match="'2' is not one of 1, 3, 4, 5"):
        SpeechTrainConfig(data="d", out="o", part="2")
    with pytest.raises(ValueError, match="needs --dev-data"):
        _train("--data", "train.csv", "--out", "o", "--part", "3", "--tiny")
