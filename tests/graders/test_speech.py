"""The wav2vec 2.0 speech grader: shapes, pooling, prototypes, checkpoints, exact batching, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sla_core.assessment import TRAINED, UNTRAINED, PartScore
from sla_core.cefr import GRID
from sla_core.data import PartInput
from sla_core.graders import Grader
from sla_core.graders.speech import (
    SpeechGrader,
    SpeechGraderConfig,
    build_speech_grader,
    load_speech_graders,
)
from sla_core.testing.audio import dummy_waveform
from sla_core.testing.batching import TOL_BATCH, random_groupings, score_grouped
from sla_core.graders.speech import tiny_speech_grader, tiny_wav2vec2_config


@pytest.fixture(scope="module")
def grader() -> SpeechGrader:
    return tiny_speech_grader(part=1)


@pytest.fixture(scope="module")
def waves() -> list[np.ndarray]:
    return [dummy_waveform(s, seed=i) for i, s in enumerate((1.0, 1.5, 2.0, 1.26, 2.5))]


def test_one_output_per_part_with_documented_shapes(grader, waves):
    two_answers, one_answer = [waves[0], waves[1]], waves[2]
    outs = grader.predict([two_answers, one_answer])
    assert len(outs) == 2
    # One weight per 20 ms frame, per answer: 1.0 s -> 49 frames, 1.5 s -> 74, 2.0 s -> 99.
    assert [len(w) for w in outs[0].pooling_weights] == [49, 74]
    assert [len(w) for w in outs[1].pooling_weights] == [99]
    for out in outs:
        assert out.similarities.shape == (len(GRID),)
        assert out.prototype_levels == GRID
        assert out.embedding.shape == (32,)
        assert out.similarities.sum() == pytest.approx(1.0, abs=1e-5)
        assert 2.0 <= out.score <= 5.5
        assert out.score == min(max(out.raw_score, 2.0), 5.5)
    assert grader.embed([two_answers, one_answer]).shape == (2, 32)


def test_pooling_spans_all_answers_of_a_part_and_skips_padding(grader, waves):
    with torch.inference_mode():
        out = grader([[waves[0], waves[1]], waves[2], [waves[3]]])
    w = out.pooling_weights  # (B, T)
    n_frames = [sum(c) for c in out.answer_frames]
    assert n_frames == [49 + 74, 99, 62]
    for b, n in enumerate(n_frames):
        assert w[b, :n].sum().item() == pytest.approx(1.0, abs=1e-5)  # one softmax over the part's frames
        assert (w[b, :n] > 0).all()
        assert (w[b, n:] == 0).all()  # padding gets exactly no weight


def test_prototypes_start_at_each_levels_mean():
    grader = tiny_speech_grader(part=3, prototype_levels=(3.0, 3.5, 4.0))
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((7, 32)).astype(np.float32)
    scores = [3.0, 3.0, 3.5, 4.0, 4.0, 4.0, 3.5]
    grader.init_prototypes(emb, scores, noise=0.0)
    expected = np.stack([emb[[0, 1]].mean(0), emb[[2, 6]].mean(0), emb[[3, 4, 5]].mean(0)])
    np.testing.assert_allclose(grader.prototypes.detach().numpy(), expected, atol=1e-6)

    grader.init_prototypes(emb, scores, noise=0.05, seed=1)
    noisy = grader.prototypes.detach().numpy().copy()
    assert not np.allclose(noisy, expected, atol=1e-4)
    assert np.abs(noisy - expected).max() < 1.0  # small: 5% of the prototypes' variance
    grader.init_prototypes(emb, scores, noise=0.05, seed=1)
    np.testing.assert_array_equal(grader.prototypes.detach().numpy(), noisy)  # seeded: repeatable

    with pytest.raises(ValueError, match=r"no training example at levels \[3\.5\]"):
        grader.init_prototypes(emb[:2], [3.0, 4.0])


@pytest.mark.parametrize("weighted", [False, True], ids=["last-layer", "layer-weighted-sum"])
def test_save_and_load_give_identical_scores(tmp_path, waves, weighted):
    config = SpeechGraderConfig(part=5, encoder_config=tiny_wav2vec2_config().to_dict(),
                                prototype_levels=(2.5, 3.5, 4.5), layer_weighted_sum=weighted)
    torch.manual_seed(0)
    grader = build_speech_grader(config).eval()
    grader.init_prototypes(np.random.default_rng(0).standard_normal((3, 32)), [2.5, 3.5, 4.5])
    parts = [[waves[0], waves[3]], waves[4]]
    before = grader.predict(parts)

    folder = grader.save_pretrained(tmp_path / "part5")
    saved = json.loads((folder / "config.json").read_text())
    assert saved["encoder_config"]["hidden_size"] == 32  # rebuilds offline
    loaded = SpeechGrader.from_pretrained(folder, device="cpu")
    assert loaded.config == grader.config
    for a, b in zip(before, loaded.predict(parts)):
        assert a.raw_score == b.raw_score
        np.testing.assert_array_equal(a.similarities, b.similarities)
        np.testing.assert_array_equal(a.embedding, b.embedding)


def test_from_pretrained_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        SpeechGrader.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match=r"half.*missing model\.safetensors"):
        SpeechGrader.from_pretrained(tmp_path / "half")
    (tmp_path / "half" / "model.safetensors").write_bytes(b"")
    (tmp_path / "half" / "config.json").write_text('{"part": 3, "colour": "blue"}')
    with pytest.raises(ValueError, match=r"config\.json.*unknown SpeechGraderConfig fields \['colour'\]"):
        SpeechGrader.from_pretrained(tmp_path / "half")


CHECKPOINTS = Path(__file__).parent / "data" / "speech_checkpoints"  # saved by older code; see make_checkpoint.py


@pytest.mark.parametrize("commit", ["fbe64e4", "878d97b"], ids=["first-format", "before-the-split"])
def test_checkpoints_saved_by_older_code_load_and_score_the_same(commit):
    """fbe64e4 saved before attention_gelu existed (its config says dropout 0.1, no GELU); 878d97b is the last
    commit before speech.py became a package. Both must rebuild offline and score as they did when saved."""
    folder = CHECKPOINTS / commit
    expected = json.loads((folder / "expected.json").read_text())
    grader = SpeechGrader.from_pretrained(folder, device="cpu")
    assert grader.config.attention_gelu is (commit != "fbe64e4")
    assert grader.layer_logits is not None  # the learned layer mix is in both files
    rng = np.random.default_rng(1)
    answers = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (8000, 12000)]
    [out] = grader.predict([answers])
    assert out.raw_score == pytest.approx(expected["raw_score"], abs=1e-5)
    np.testing.assert_allclose(out.similarities, expected["similarities"], atol=1e-5)


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_batched_scores_equal_one_at_a_time(waves, norm):
    grader = tiny_speech_grader(part=1, norm=norm, seed=3)
    parts = [[waves[0], waves[1]], waves[2], [waves[3], waves[4], waves[0]], waves[0]]
    batched = grader.predict(parts)
    single = [grader.predict([p])[0] for p in parts]
    for a, b in zip(batched, single):
        assert a.raw_score == pytest.approx(b.raw_score, abs=1e-5)
        np.testing.assert_allclose(a.similarities, b.similarities, atol=1e-5)
        for wa, wb in zip(a.pooling_weights, b.pooling_weights, strict=True):
            np.testing.assert_allclose(wa, wb, atol=1e-5)
    if norm == "group":  # the reason for encoding per length: naive padding would change the features
        padded = torch.zeros(2, len(waves[2]))
        padded[0, : len(waves[0])] = torch.from_numpy(waves[0])
        padded[1] = torch.from_numpy(waves[2])
        with torch.inference_mode():
            alone = grader.encoder(padded[:1, : len(waves[0])]).last_hidden_state[0]
            in_batch = grader.encoder(padded).last_hidden_state[0, : len(alone)]
        assert (alone - in_batch).abs().max() > 1e-3


@pytest.mark.slow
def test_a_part_scores_the_same_alone_or_in_any_batch(waves):
    """Issue 18: the Grader-protocol path (learner, class, cohort) with random groupings and orders, fp32."""
    graders = load_speech_graders(None, parts=(1, 3), tiny=True, device="cpu")
    parts = [PartInput(1, (waves[0], waves[1])), PartInput(3, (waves[2],)), PartInput(1, (waves[3], waves[4], waves[0])),
             PartInput(3, (waves[4],)), PartInput(1, (waves[1],)), PartInput(3, (waves[0],))]  # fmt: skip
    alone = [graders.score([p])[0] for p in parts]
    for groups in random_groupings(len(parts), seed=5)[1:]:
        for a, b in zip(score_grouped(graders.score, parts, groups), alone):
            assert a.score == pytest.approx(b.score, abs=TOL_BATCH)
            np.testing.assert_allclose(a.similarities, b.similarities, atol=TOL_BATCH, rtol=0)
            for wa, wb in zip(a.pooling_weights, b.pooling_weights, strict=True):
                np.testing.assert_allclose(wa, wb, atol=TOL_BATCH, rtol=0)


def test_speech_graders_label_untrained_and_trained_parts(tmp_path, waves):
    untrained = load_speech_graders(None, parts=(1, 3), tiny=True, device="cpu")
    assert isinstance(untrained, Grader)
    info = untrained.info()
    assert (info.name, info.state, info.parts) == ("speech", UNTRAINED, ())
    inputs = [PartInput(part=3, waveforms=(waves[2],)), PartInput(part=1, waveforms=(waves[0], waves[1]))]
    scores = untrained.score(inputs)
    assert [s.part for s in scores] == [3, 1]  # input order
    assert all(isinstance(s, PartScore) and s.grader == "speech" and s.state == UNTRAINED for s in scores)
    assert [len(w) for w in scores[1].pooling_weights] == [49, 74]
    assert len(scores[1].similarities) == len(scores[1].prototype_levels) == len(GRID)

    trained = tiny_speech_grader(part=3, seed=7, prototype_levels=(3.0, 4.0))
    trained.save_pretrained(tmp_path / "part3")
    graders = load_speech_graders(tmp_path, parts=(1, 3), tiny=True, device="cpu")
    info = graders.info()
    assert (info.state, info.parts, info.source) == (TRAINED, (3,), str(tmp_path))
    assert "part(s) 1" in info.note
    scores = graders.score(inputs)
    assert [s.state for s in scores] == [TRAINED, UNTRAINED]
    assert scores[0].prototype_levels == (3.0, 4.0)
    assert scores[0].score == pytest.approx(trained.predict([waves[2]])[0].score, abs=1e-6)

    with pytest.raises(ValueError, match=r"no speech grader for part 4; loaded parts: \[1, 3\]"):
        graders.score([PartInput(part=4, waveforms=(waves[0],))])
    with pytest.raises(ValueError, match="part 1, answer 2: no audio"):
        graders.score([PartInput(part=1, waveforms=(waves[0], None))])
    with pytest.raises(FileNotFoundError, match="expected subfolders part4, part5"):
        load_speech_graders(tmp_path, parts=(4, 5), tiny=True)


@pytest.mark.slow
def test_a_few_optimiser_steps_reduce_the_loss(waves):
    grader = tiny_speech_grader(part=3, seed=1)
    cnn_before = [p.detach().clone() for p in grader.encoder.feature_extractor.parameters()]
    parts, labels = [waves[0], waves[1], waves[2], waves[3]], torch.tensor([2.5, 3.5, 4.5, 5.0])

    def eval_loss() -> float:  # without dropout, so before and after compare like with like
        grader.eval()
        with torch.no_grad():
            return grader(parts, labels=labels).loss.item()

    before = eval_loss()
    grader.train()
    torch.manual_seed(0)  # dropout masks
    optimiser = torch.optim.AdamW([p for p in grader.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(6):
        loss = grader(parts, labels=labels).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert eval_loss() < 0.5 * before
    for before_p, after_p in zip(cnn_before, grader.encoder.feature_extractor.parameters()):
        assert not after_p.requires_grad and torch.equal(before_p, after_p)  # the CNN stays frozen
