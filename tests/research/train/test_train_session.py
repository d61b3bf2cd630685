"""`train session` (the session grader, Phi4-MTL) on the miniature corpus with the tiny random Phi-4-multimodal:
it learns, resumes, its prior is out-of-fold, and `predict` / `fit-fusion` / `evaluate` / `assess` take it."""

import json
import math
import re
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sla_core.__main__ import main as cli_main
from sla_core.assess import AssessorConfig, load_assessor
from sla_core.assessment import TRAINED, Assessment
from sla_core.cli._format import format_assessment
from sla_core.fusion import FusionWeights, load_fusion, save_fusion
from sla_core.graders.session import load_session_grader
from sla_core.intervals import OWN_OVERALL_KEY, IntervalWidths, Widths, overall_key, part_key
from sla_core.parts import PARTS
from sla_core.research import prior as prior_mod
from sla_core.research.corpus import load_si_split
from sla_core.research.predictions import OWN_OVERALL_NOTE, Prediction, read_predictions, write_predictions
from sla_core.research.train.session import SessionTrainConfig, part_inputs, session_examples, train

pytestmark = pytest.mark.slow  # trains the tiny Phi-4-multimodal on the mini corpus (tens of seconds on 2 cores)
TOL = 1e-5


def _prior_files(mini, folder: Path) -> tuple[Path, Path]:
    """A stand-in for a trained speech grader that marks everyone half a point low (plus a little noise), written
    as the trainer reads priors: out-of-fold rows for train, plain W2V rows for dev. A calibration a session grader
    must learn; the real cross-fitting is tested below on its own (its tiny speech graders learn little in a test)."""
    rng = np.random.default_rng(0)
    paths = []
    for split, note in (("train", prior_mod.OUT_OF_FOLD + ": test stand-in"), ("dev", "")):
        rows = [Prediction(split, s.submission_id, pr.part, "W2V", pr.mark - 0.5 + rng.normal(0, 0.1), pr.mark,
                           "trained", note=note) for s in load_si_split(mini.root, split) for pr in s.parts]
        paths.append(write_predictions(folder / f"{split}-prior.tsv", rows))
    return paths[0], paths[1]


@pytest.fixture(scope="module")
def trained(mini, tmp_path_factory):
    folder = tmp_path_factory.mktemp("session")
    train_prior, dev_prior = _prior_files(mini, folder)
    cfg = SessionTrainConfig(data=str(mini.root), out=str(folder / "mtl"), tiny=True, prior="file",
                             prior_train=str(train_prior), prior_dev=str(dev_prior), epochs=2, lr=3e-3, head_lr=3e-2,
                             micro_batch=1, grad_accum=1, gradient_checkpointing=False, seed=0, device="cpu",
                             prior_dropout=0.0)  # 16 sessions seen in all: every one must teach the calibration
    grader, history = train(cfg, log=None)
    return cfg, grader, history


def test_dev_rmse_falls_from_the_speech_graders_start(trained):
    cfg, grader, history = trained
    assert [h["epoch"] for h in history] == [0, 1, 2] and history[0]["train_loss"] is None
    start = history[0]["dev_rmse"]  # epoch 0: the head passes the prior through (half a point low)
    best = min(history, key=lambda h: h["dev_rmse"])
    assert best["epoch"] > 0 and best["dev_rmse"] < 0.6 * start
    assert history[2]["train_loss"] < history[1]["train_loss"]
    assert grader.state == TRAINED and json.loads((Path(cfg.out) / "train_log.json").read_text()) == history


def test_targets_are_masked_and_the_holistic_mark_is_the_overalls_only(mini):
    examples = {ex.submission_id: ex for ex in session_examples(load_si_split(mini.root, "train"))}
    assert set(examples) == set(mini.marks["train"])
    for sub_id, marks in mini.marks["train"].items():
        targets = examples[sub_id].targets
        assert [targets[PARTS.index(p)] if p in marks else None for p in PARTS] == [marks.get(p) for p in PARTS]
        assert all(math.isnan(targets[PARTS.index(p)]) for p in PARTS if p not in marks)
        assert targets[-1] == pytest.approx(mini.overall["train"][sub_id])  # holistic 1.875 / 5.625 kept as released
    assert {s for s, ex in examples.items() if np.isnan(ex.targets[:4]).any()} == mini.holistic["train"]


def test_prior_dropout_hides_a_fixed_share_of_priors_the_same_way_on_every_run():
    from sla_core.research.train.session import SessionExample, _drop_prior

    cfg = SessionTrainConfig(data="d", out="o", prior_dropout=0.3, seed=5)
    items = [SessionExample(f"SI100T-{i:05d}", ((3, (Path("a.flac"),), (None,)),), (math.nan,) * 4 + (3.0,), {3: 3.0})
             for i in range(500)]
    first = [_drop_prior(cfg, 1, ex) for ex in items]
    assert np.mean(first) == pytest.approx(0.3, abs=0.06) and first == [_drop_prior(cfg, 1, ex) for ex in items]
    assert first != [_drop_prior(cfg, 2, ex) for ex in items]  # another epoch, other sessions
    assert _drop_prior(cfg, 1, replace(items[0], prior=None))  # no prior: nothing to show


def test_resume_continues_from_the_last_epoch(trained, tmp_path):
    cfg, _, history = trained
    out = tmp_path / "resumed"
    shutil.copytree(cfg.out, out)
    _, resumed = train(replace(cfg, out=str(out), epochs=3), log=None)
    assert [h["epoch"] for h in resumed] == [0, 1, 2, 3] and resumed[:3] == history
    with pytest.raises(ValueError, match="holds another training run.*--no-resume"):
        train(replace(cfg, out=str(out), micro_batch=2), log=None)


def test_a_train_prior_that_is_not_out_of_fold_is_refused_before_any_model_loads(mini, trained, tmp_path):
    cfg, _, _ = trained
    in_sample = tmp_path / "in-sample.tsv"
    write_predictions(in_sample, [replace(p, note="") for p in read_predictions(cfg.prior_train)])
    with pytest.raises(ValueError, match=r"not out-of-fold: the train prior must come from speech graders that never"):
        train(replace(cfg, out=str(tmp_path / "o"), prior_train=str(in_sample)), log=None)


def test_bad_flags_are_rejected_with_the_allowed_values(tmp_path, capsys):
    assert cli_main(["train", "session", "--data", str(tmp_path), "--out", str(tmp_path / "o"), "--prior", "x"]) == 2
    assert "unknown --prior 'x'; expected one of cross-fit, file, none" in capsys.readouterr().err
    assert cli_main(["train", "session", "--data", str(tmp_path), "--out", str(tmp_path / "o"), "--prior", "file"]) == 2
    assert "--prior file needs --prior-train" in capsys.readouterr().err


def test_cross_fitting_never_lets_a_speech_grader_see_its_folds_marks(mini, tmp_path, monkeypatch):
    from sla_core.research.train import speech
    from sla_core.research.train.speech import SpeechTrainConfig

    seen = []
    real = speech.train_part

    def spy(part, train_subs, dev_subs, cfg, device, **kwargs):
        seen.append((Path(cfg.out).name, {s.submission_id for s in train_subs}))
        return real(part, train_subs, dev_subs, cfg, device, **kwargs)

    monkeypatch.setattr(speech, "train_part", spy)
    train_subs, dev_subs = load_si_split(mini.root, "train", parts=(3,)), load_si_split(mini.root, "dev", parts=(3,))
    cfg = SpeechTrainConfig(data=str(mini.root), out="-", part="3", tiny=True, epochs=1, warmup_steps=0, batch_size=2,
                            grad_accum=1, lr=3e-3, seed=0, device="cpu")
    path = prior_mod.cross_fit(train_subs, dev_subs, 2, cfg, tmp_path / "prior", seed=0, device="cpu", log=lambda _: None)
    folds = json.loads((tmp_path / "prior" / "folds.json").read_text())
    assert sorted(folds) == sorted(s.submission_id for s in train_subs) and set(folds.values()) == {0, 1}
    assert [name for name, _ in seen] == ["speech-fold1", "speech-fold2"]
    for k, (_, ids) in enumerate(seen):
        held = {s for s, f in folds.items() if f == k}
        assert ids == set(folds) - held  # fold k's grader trained on the other fold only
    rows = read_predictions(path)
    assert sorted(p.submission_id for p in rows) == sorted(folds) and all(p.part == 3 for p in rows)
    assert all(p.note.startswith(prior_mod.OUT_OF_FOLD) and p.state == TRAINED for p in rows)
    assert prior_mod.read_prior(path, out_of_fold=True).keys() == folds.keys()
    again = prior_mod.cross_fit(train_subs, dev_subs, 2, cfg, tmp_path / "prior", seed=0, device="cpu", log=lambda _: None)
    assert len(seen) == 2 and read_predictions(again) == rows  # resumed: no fold trained twice
    with pytest.raises(ValueError, match="another fold assignment"):
        prior_mod.cross_fit(train_subs, dev_subs, 3, cfg, tmp_path / "prior", seed=0, device="cpu")


def test_predict_fit_fusion_and_evaluate_take_phi4_mtl_beside_w2v(trained, mini, tmp_path, capsys):
    cfg, grader, _ = trained
    mtl, w2v = tmp_path / "Phi4-MTL.tsv", tmp_path / "W2V.tsv"
    assert cli_main(["predict", "--grader", "session", "--checkpoint", cfg.out, "--data", str(mini.root), "--split",
                     "dev", "--prior", cfg.prior_dev, "--tiny", "--out", str(mtl)]) == 0
    assert cli_main(["predict", "--grader", "speech", "--data", str(mini.root), "--split", "dev", "--tiny",
                     "--out", str(w2v)]) == 0
    rows = read_predictions(mtl)
    assert {p.grader for p in rows} == {"Phi4-MTL"} and {p.state for p in rows} == {TRAINED}
    overall = {p.submission_id: p for p in rows if p.part == "overall"}
    assert set(overall) == set(mini.marks["dev"]) and all(p.note == OWN_OVERALL_NOTE for p in overall.values())
    # the rows are the trained grader's own outputs (what was saved is what runs), with the dev prior
    priors = prior_mod.read_prior(cfg.prior_dev)
    examples = session_examples(load_si_split(mini.root, "dev"))
    raw = grader.predict([part_inputs(ex) for ex in examples], [priors[ex.submission_id] for ex in examples])
    assert [overall[ex.submission_id].score for ex in examples] == pytest.approx(np.clip(raw[:, -1], 2, 5.5), abs=TOL)

    fusion = tmp_path / "fusion.json"
    assert cli_main(["fit-fusion", "--predictions", str(w2v), str(mtl), "--mllm", "Phi4-MTL", "--out", str(fusion),
                     "--min-region-count", "9"]) == 0
    assert OWN_OVERALL_KEY in load_fusion(fusion).intervals.table["mllm"]  # its own overall gets its own width
    out = tmp_path / "report"
    assert cli_main(["evaluate", "--predictions", str(w2v), str(mtl), "--fusion", str(fusion), "--mllm", "Phi4-MTL",
                     "--out-dir", str(out), "--no-png"]) == 0
    doc = json.loads((out / "report.json").read_text())
    assert list(doc["systems"]) == ["W2V", "Phi4-MTL", "W2V + Phi4-MTL (fused)"]
    truth = np.array([mini.overall["dev"][ex.submission_id] for ex in examples])
    own = np.array([overall[ex.submission_id].score for ex in examples])
    assert doc["systems"]["Phi4-MTL"]["parts"]["overall"]["rmse"] == pytest.approx(np.sqrt(np.mean((own - truth) ** 2)))
    # the fused overall is the mean of the fused parts
    w = load_fusion(fusion)
    from sla_core.fusion import fuse

    score = {(p.grader, p.submission_id, p.part): p.score for p in read_predictions(w2v, mtl)}
    fused = [np.mean([float(fuse(np.array([score["W2V", ex.submission_id, q]]), np.array([score["Phi4-MTL", ex.submission_id, q]]),
                                 w)[0][0]) for q in PARTS]) for ex in examples]
    assert doc["systems"]["W2V + Phi4-MTL (fused)"]["parts"]["overall"]["rmse"] == pytest.approx(
        np.sqrt(np.mean((np.array(fused) - truth) ** 2)))
    assert "| Phi4-MTL |" in capsys.readouterr().out


def test_assess_shows_the_five_outputs_with_intervals_and_review_flags(trained, mini, tmp_path, monkeypatch):
    cfg, _, _ = trained
    w = lambda q: Widths(half_width=q, n=20)  # noqa: E731
    table = {"mllm": {**{part_key(p): w(0.3) for p in PARTS}, overall_key(PARTS): w(0.2), OWN_OVERALL_KEY: w(0.6)}}
    widths = IntervalWidths(coverage=0.9, method="test", n_submissions=20, states={"mllm": TRAINED}, table=table)
    fusion = save_fusion(FusionWeights((0.5,) * 8, source="test", fitted=True, intervals=widths), tmp_path / "f.json")
    assessor = load_assessor(AssessorConfig(tiny=True, mllm="on", mllm_mode="session", mllm_adapters=cfg.out,
                                            asr="none", fusion=str(fusion)))
    assessor.speech.states = {p: TRAINED for p in assessor.speech.states}  # as if loaded from trained checkpoints
    given = []
    score_session = assessor.mllm.score_session
    monkeypatch.setattr(assessor.mllm, "score_session", lambda inputs, prior: given.append(prior) or
                        score_session(inputs, prior))
    sub = load_si_split(mini.root, "eval")[0]
    a = assessor.assess({pr.part: [r.audio_path for r in pr.responses] for pr in sub.parts}, learner="L1")
    assert given == [{p.part: p.speech.score for p in a.parts}]  # the trained speech scores are the prior
    assert all(p.mllm.grader == "mllm" and p.mllm.state == TRAINED and p.mllm.variant == "AO" for p in a.parts)
    own = a.holistic
    assert own.grader == "Phi4-MTL" and own.state == TRAINED and own.covered_parts == PARTS
    assert own.interval.half_width == 0.6 and own.interval.low == pytest.approx(max(2.0, own.score - 0.6), abs=1e-4)
    assert any(re.search(r"Phi4-MTL overall's 90% interval is 1\.20 wide", r) for r in a.review)
    assert Assessment.from_json(a.to_json()) == a
    text = format_assessment(a)
    assert f"Phi4-MTL overall (its own output, trained): {own.score:.2f} {own.cefr} (90% interval" in text
    from sla_core.teacher.result_view import summary_html

    card = summary_html(a)  # the app's result card shows it beside the overall, with its interval
    assert f"The Phi4-MTL grader&#x27;s own overall, from the whole test at once: {own.cefr} {own.score:.2f}; 90%" in card
    reloaded = load_session_grader(tiny=True, adapter=cfg.out)
    assert reloaded.config.prior_head and reloaded.state == TRAINED
