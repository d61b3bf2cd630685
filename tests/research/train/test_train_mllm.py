"""`train mllm` on the miniature corpus with tiny random Phi-4-multimodal models (CPU, nothing downloaded).

STG trains from a model *folder* in the real hub layout (weights, tokenizer, feature extractor,
`speech-lora/`), so the real loading path runs and a reloaded grader says TRAINED; CTG uses `--tiny`.
"""

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sla_core.__main__ import main as cli_main
from sla_core.assessment import TRAINED, ZERO_SHOT
from sla_core.cefr import GRID, grid_index
from sla_core.research.corpus import load_si_split
from sla_core.graders import phi4
from sla_core.graders.mllm import SPEECH_ADAPTER, TINY_LORA, load_mllm_grader
from sla_core.parts import PARTS
from sla_core.testing.corpus import write_manifest
from sla_core.graders.phi4 import tiny_config, tiny_feature_extractor, tiny_tokenizer
from sla_core.testing.mllm import tiny_mllm_grader
from sla_core.research.train import common
from sla_core.research.train.mllm import (
    TINY_BASE_SEED,
    Example,
    MllmTrainConfig,
    answer_logits,
    balance,
    encode_examples,
    examples,
    fill_transcripts,
    label_loss,
    load_clips,
    new_trainable_adapter,
    prompt,
    train,
)

TINY_LR = 3e-2  # a random 2-layer model with r=8 LoRA needs far larger steps than Phi-4's 5e-5
TOL = 1e-5  # same model, same inputs, two code paths: float rounding only



@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny random Phi-4-multimodal saved like the hub repo: base weights, tokenizer, features, speech-lora/."""
    folder = tmp_path_factory.mktemp("phi4-tiny")
    tok = tiny_tokenizer()
    torch.manual_seed(0)
    base = phi4.AudioOnlyPhi4(tiny_config(tok))
    base.save_pretrained(folder)  # before LoRA wraps its layers
    tok.save_pretrained(folder)
    tiny_feature_extractor().save_pretrained(folder)
    phi4.save_adapter(phi4.add_random_adapter(base, SPEECH_ADAPTER, *TINY_LORA), SPEECH_ADAPTER, folder / "speech-lora")
    return str(folder)


@pytest.fixture(scope="module")
def stg(mini, model_dir, tmp_path_factory):
    cfg = MllmTrainConfig(data=str(mini.root), out=str(tmp_path_factory.mktemp("stg")), mode="stg", part=3,
                          model=model_dir, epochs=2, lr=TINY_LR, micro_batch=2, grad_accum=1, seed=0, asr="tiny")
    grader, history = train(cfg, log=None)  # S&I train has no CTM: its words come from the (cached) ASR
    return cfg, grader, history


@pytest.fixture(scope="module", params=["ta", "ao"])
def ctg(request, mini, tmp_path_factory):
    """CTG from CSV manifests (the second input format); a small dev set keeps the test quick."""
    folder = tmp_path_factory.mktemp("ctg")
    data = write_manifest(folder / "train.csv", load_si_split(mini.root, "train"))
    dev = write_manifest(folder / "dev.csv", load_si_split(mini.root, "dev")[:2])
    cfg = MllmTrainConfig(data=str(data), dev_data=str(dev), out=str(folder / "out"), mode="ctg",
                          inputs=request.param, tiny=True, epochs=2, lr=TINY_LR, micro_batch=2, grad_accum=1,
                          max_per_level=2, gradient_checkpointing=False, seed=0)
    grader, history = train(cfg, log=None)
    return cfg, grader, history


def _dev(mini, parts=(3,)) -> list[Example]:
    return examples(load_si_split(mini.root, "dev", parts=parts), parts)


def _probs(grader, items, variant, adapter):
    """(N, 8) label distributions of `items` under `adapter`, as the grader's one-forward scorer reads them."""
    return grader.distributions([prompt(ex, variant) for ex in items], [_audio(ex, variant) for ex in items],
                                [adapter] * len(items))


def _audio(ex, variant):
    return load_clips(ex, variant, 0.0)


# ---------------------------------------------------------------------------------------------- STG


@pytest.mark.slow
def test_stg_training_loss_falls(stg, mini):
    _, grader, history = stg
    losses = [h["train_loss"] for h in history]
    assert [h["epoch"] for h in history] == [1, 2] and losses[-1] < losses[0]
    # the trained adapter fits the training set better than the speech adapter it started from
    from sla_core.research.transcripts import fill_transcripts as asr_fill, load_asr

    subs = asr_fill(load_si_split(mini.root, "train", parts=(3,)), load_asr("tiny"))  # the cached training words
    train_set = examples(subs, (3,))
    batch, mask = encode_examples(grader, train_set, "TA")
    with torch.no_grad():
        grader.model.set_adapter("part3")
        trained = label_loss(grader.model, batch, mask).item()
        grader.model.set_adapter(SPEECH_ADAPTER)
        start = label_loss(grader.model, batch, mask).item()
    assert trained < start


@pytest.mark.slow
def test_stg_adapter_reloads_trained_and_changes_the_scores(stg, mini, model_dir):
    cfg, grader, _ = stg
    assert (Path(cfg.out) / "part3" / "adapter_config.json").is_file()
    # what `assess --mllm-model DIR --mllm-adapters OUT --mllm-mode stg` loads
    back = load_mllm_grader(model_id=model_dir, adapters=cfg.out, mode="stg", variant="TA", device="cpu")
    untrained = load_mllm_grader(model_id=model_dir, device="cpu")
    assert back.info().state == TRAINED and back.info().parts == (3,) and back.state_for(3) == TRAINED
    assert untrained.state_for(3) == ZERO_SHOT
    dev = _dev(mini)
    after = _probs(back, dev, "TA", back.adapter_for(3))
    torch.testing.assert_close(after, _probs(grader, dev, "TA", "part3"), atol=TOL, rtol=0)  # saved == in memory
    assert (after - _probs(untrained, dev, "TA", untrained.adapter_for(3))).abs().max() > 1e-3
    scores = back.score([_part_input(ex) for ex in dev[:2]])
    assert all(s.state == TRAINED and GRID[0] <= s.score <= GRID[-1] for s in scores)


def _part_input(ex):
    from sla_core.data import PartInput

    return PartInput(ex.part, tuple(_audio(ex, "TA")), ex.questions, ex.transcripts)


@pytest.mark.slow
def test_the_loss_sits_on_exactly_the_label_token_the_scorer_reads(stg, mini):
    _, grader, _ = stg
    items = _dev(mini, parts=PARTS)[:4]  # mixed parts: different lengths, left padding
    batch, mask = encode_examples(grader, items, "TA")
    assert mask.shape == batch["input_ids"].shape and mask.sum(-1).tolist() == [1] * len(items)
    assert mask[:, -2].all()  # right before each row's final <|end|>
    expected = [grader.label_ids[grid_index(ex.mark)] for ex in items]
    assert batch["input_ids"][mask].tolist() == expected
    # softmax over the 8 labels at the loss position == the one-forward scorer's distribution
    grader.model.eval()
    grader.model.set_adapter("part3")
    with torch.no_grad():
        logits = answer_logits(grader.model, batch, mask)  # (B, vocab)
    train_side = logits[:, grader.label_ids].float().softmax(-1)
    torch.testing.assert_close(train_side, _probs(grader, items, "TA", "part3"), atol=TOL, rtol=0)


@pytest.mark.slow
def test_resume_continues_from_the_last_epoch(stg, tmp_path):
    cfg, _, history = stg
    out = tmp_path / "resumed"
    shutil.copytree(cfg.out, out)
    _, resumed = train(replace(cfg, out=str(out), epochs=3), log=None)
    assert [h["epoch"] for h in resumed] == [1, 2, 3]
    assert resumed[:2] == history  # the finished epochs were not trained again
    with pytest.raises(ValueError, match="holds another training run.*--no-resume"):
        train(replace(cfg, out=str(out), inputs="ao"), log=None)


class Interrupted(Exception):
    """Stands in for a crash right after an epoch's checkpoint was written."""


@pytest.mark.slow
def test_an_interrupted_run_with_lora_dropout_resumes_to_the_same_result(mini, tmp_path, monkeypatch):
    cfg = MllmTrainConfig(data=str(mini.root), out=str(tmp_path / "straight"), mode="stg", part=3, tiny=True,
                          init="fresh", lora_r=4, lora_alpha=8, lora_dropout=0.3, epochs=2, lr=TINY_LR,
                          micro_batch=2, grad_accum=1, gradient_checkpointing=False, seed=0)
    _, uninterrupted = train(cfg, log=None)
    save = common.save_checkpoint

    def save_then_stop(out_dir, state):
        save(out_dir, state)
        raise Interrupted

    monkeypatch.setattr(common, "save_checkpoint", save_then_stop)
    stopped = replace(cfg, out=str(tmp_path / "stopped"))
    with pytest.raises(Interrupted):
        train(stopped, log=None)
    monkeypatch.setattr(common, "save_checkpoint", save)
    _, resumed = train(stopped, log=None)
    # same data order, adapter, optimizer, LR and dropout masks as if never stopped
    assert [h["train_loss"] for h in resumed] == pytest.approx([h["train_loss"] for h in uninterrupted], rel=1e-6)
    assert [h["dev_rmse"] for h in resumed] == pytest.approx([h["dev_rmse"] for h in uninterrupted], rel=1e-6)


# ---------------------------------------------------------------------------------------------- CTG


@pytest.mark.slow
def test_ctg_trains_one_adapter_for_all_parts(ctg, mini):
    cfg, grader, history = ctg
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (Path(cfg.out) / "adapter_config.json").is_file()
    back = load_mllm_grader(tiny=True, seed=TINY_BASE_SEED, adapters=cfg.out, mode="ctg")  # variant: as trained
    assert {back.adapter_for(p) for p in PARTS} == {"ctg"}
    assert back.variant == cfg.variant and back.audio_seconds == {"ctg": 30.0}  # what training decided, applied
    other = "TO" if cfg.variant != "TO" else "TA"
    with pytest.raises(ValueError, match=f"trained on {cfg.variant} inputs; variant {other}"):
        load_mllm_grader(tiny=True, seed=TINY_BASE_SEED, adapters=cfg.out, mode="ctg", variant=other)
    untrained = tiny_mllm_grader(seed=TINY_BASE_SEED)
    dev = _dev(mini, parts=PARTS)[:4]
    after = _probs(back, dev, cfg.variant, "ctg")
    torch.testing.assert_close(after, _probs(grader, dev, cfg.variant, "ctg"), atol=TOL, rtol=0)
    assert (after - _probs(untrained, dev, cfg.variant, SPEECH_ADAPTER)).abs().max() > 1e-3


@pytest.mark.slow
def test_ctg_downsampling_keeps_at_most_the_cap_per_level(ctg, mini):
    cfg, _, _ = ctg
    everything = examples(load_si_split(mini.root, "train"), PARTS)
    kept = balance(everything, cfg.max_per_level, cfg.seed)
    state = common.load_checkpoint(Path(cfg.out) / "checkpoints" / "ctg")
    assert state["job"]["n_train"] == len(kept) < len(everything)  # the run trained on the balanced set
    levels = [grid_index(ex.mark) for ex in kept]
    assert max(np.bincount(levels)) <= cfg.max_per_level


def test_balance_is_seeded_keeps_order_and_small_levels_whole():
    items = [Example(f"S{i:03d}", 3, (None,), (None,), ("t",), mark) for i, mark in
             enumerate([2.0] * 10 + [3.5] * 4 + [5.5] * 1)]
    kept = balance(items, 3, seed=1)
    assert [sum(ex.mark == m for ex in kept) for m in (2.0, 3.5, 5.5)] == [3, 3, 1]
    assert kept == sorted(kept, key=items.index)
    assert kept == balance(items, 3, seed=1) and balance(items, 3, seed=2) != kept
    assert balance(items, 0, seed=1) == items


# ---------------------------------------------------------------------------------------------- inputs and flags


def test_missing_transcripts_come_from_the_asr_once(mini):
    class Counting:
        def __init__(self):
            self.calls = []

        def transcribe(self, waveforms):
            self.calls.append(len(waveforms))
            return [f"words {len(w)}" for w in waveforms]

    dev = _dev(mini, parts=(1, 3))[:3]
    items = [replace(dev[0], transcripts=(None, "given")), dev[1], replace(dev[2], transcripts=(None,) * len(dev[2].audio))]
    asr = Counting()
    filled = fill_transcripts(items, asr)
    assert asr.calls == [1 + len(dev[2].audio)]
    assert filled[0].transcripts[1] == "given" and filled[1] == dev[1]
    assert all(t is not None and t.startswith("words ") for t in filled[2].transcripts + filled[0].transcripts[:1])


def test_an_unreadable_recording_is_named_by_its_answer_number(tmp_path):
    class NoAsr:
        def transcribe(self, waveforms):
            raise AssertionError("not reached: the recording cannot be read")

    first_missing = Example("SI000A-00001", 1, (tmp_path / "first.wav", tmp_path / "second.wav"), (None, None),
                            (None, "given"), 3.0)
    with pytest.raises(ValueError, match=r"Part 1, answer 1 \(first\.wav\)"):
        load_clips(first_missing, "TA", 0.0)
    with pytest.raises(ValueError, match=r"Part 1, answer 1 \(first\.wav\)"):
        fill_transcripts([first_missing], NoAsr())


def test_transcripts_missing_without_asr_is_a_clear_error(mini, tmp_path):
    subs = load_si_split(mini.root, "train", parts=(3,))
    data = write_manifest(tmp_path / "train.csv", subs, with_text=False)
    dev = write_manifest(tmp_path / "dev.csv", load_si_split(mini.root, "dev", parts=(3,)))
    cfg = MllmTrainConfig(data=str(data), dev_data=str(dev), out=str(tmp_path / "o"), part=3, tiny=True, asr="none")
    with pytest.raises(ValueError, match=rf"needs transcripts.*learner {subs[0].submission_id} part 3 answer 1.*--asr"):
        train(cfg, log=None)


@pytest.mark.parametrize(("flags", "message"), [
    (["--mode", "ctg", "--inputs", "xx"], "unknown --inputs 'xx'; expected one of ta .*ao .*to "),
    (["--mode", "stg"], r"give --part as one of \(1, 3, 4, 5\), got None"),
    (["--mode", "ctg", "--part", "3"], "drop --part 3"),
    (["--mode", "zz", "--part", "3"], "unknown --mode 'zz'; expected one of stg, ctg"),
])
def test_bad_flags_are_rejected_with_the_allowed_values(flags, message, capsys, tmp_path):
    assert cli_main(["train", "mllm", "--data", str(tmp_path), "--out", str(tmp_path / "o"), *flags]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_recipe_defaults_follow_the_paper():
    stg_cfg = MllmTrainConfig(data="d", out="o", part=1).resolved()
    ctg_cfg = MllmTrainConfig(data="d", out="o", mode="ctg", inputs="AO").resolved()
    assert (stg_cfg.lr, stg_cfg.epochs, stg_cfg.max_per_level, stg_cfg.audio_seconds) == (5e-5, 3, 0, 0.0)
    assert (ctg_cfg.lr, ctg_cfg.epochs, ctg_cfg.max_per_level, ctg_cfg.audio_seconds) == (4e-5, 3, 150, 30.0)
    assert ctg_cfg.micro_batch * ctg_cfg.grad_accum == 32 and ctg_cfg.warmup_ratio == 0.1
    assert (ctg_cfg.init, ctg_cfg.lora_r, ctg_cfg.lora_alpha, ctg_cfg.gradient_checkpointing) == ("speech", 320, 640, True)
    assert ctg_cfg.variant == "AO" and stg_cfg.adapter_dir == Path("o/part1") and ctg_cfg.adapter_dir == Path("o")


@pytest.mark.slow
def test_cli_trains_and_assess_loads_the_adapters_it_names(mini, tmp_path, capsys):
    out = tmp_path / "adapters"
    assert cli_main(["train", "mllm", "--data", str(mini.root), "--out", str(out), "--mode", "stg", "--part", "4",
                     "--tiny", "--epochs", "1", "--lr", "0.03", "--micro-batch", "4", "--grad-accum", "1",
                     "--no-gradient-checkpointing"]) == 0
    printed = capsys.readouterr().out
    hint = printed[printed.index("python -m sla_core assess") + len("python -m sla_core "):].split()
    assert hint == ["assess", "--mllm", "on", "--mllm-adapters", str(out), "--mllm-mode", "stg",
                    "--mllm-variant", "TA", "--tiny"]
    assert (out / "part4" / "adapter_config.json").is_file() and (out / "part4" / "train_log.json").is_file()
    recording = str(load_si_split(mini.root, "eval", parts=(4,))[0].parts[0].responses[0].audio_path)
    assert cli_main([*hint, "--part4", recording, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (mllm,) = [g for g in result["graders"] if g["name"] == "mllm"]
    assert f"STG adapters {out}" in mllm["source"]
    (part,) = [p for p in result["parts"] if p["part"] == 4]
    assert part["mllm"]["variant"] == "TA" and part["mllm"]["transcripts"]


@pytest.mark.parametrize("init", ["speech", "fresh"])
def test_only_the_new_adapter_trains_and_it_starts_where_asked(init):
    grader = tiny_mllm_grader(seed=TINY_BASE_SEED)
    cfg = MllmTrainConfig(data="d", out="o", part=5, tiny=True, init=init, lora_r=4, lora_alpha=8)
    params = new_trainable_adapter(grader, cfg)
    trainable = {n: p for n, p in grader.model.named_parameters() if p.requires_grad}
    assert trainable and all(".part5." in n and "lora_" in n for n in trainable)
    assert len(params) == len(trainable) and all(p.dtype == torch.float32 for p in params)
    assert grader.adapter_for(5) == "part5" and grader.adapter_for(3) == SPEECH_ADAPTER
    config = grader.model.peft_config["part5"]
    b_weights = [p for n, p in trainable.items() if "lora_B" in n]
    if init == "speech":  # a copy of the speech LoRA: same shape, same weights
        assert (config.r, config.lora_alpha) == TINY_LORA
        speech = dict(grader.model.named_parameters())
        assert all(torch.equal(p, speech[n.replace(".part5.", f".{SPEECH_ADAPTER}.")]) for n, p in trainable.items())
    else:  # a plain LoRA of the asked shape, a no-op until trained
        assert (config.r, config.lora_alpha) == (4, 8)
        assert all(bool((w == 0).all()) for w in b_weights)
