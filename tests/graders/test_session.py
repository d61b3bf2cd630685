"""The session grader (graders/session.py) on the tiny random Phi-4-multimodal: prompt, five outputs, batch
invariance, the audio-token budget of a full test, LongRoPE pinning, the head's start, saving and loading."""

import math

import numpy as np
import pytest
import torch

from sla_core.assessment import TRAINED, UNTRAINED
from sla_core.data import PartInput
from sla_core.graders import phi4
from sla_core.graders.mllm import SPEECH_ADAPTER, TINY_LORA, MllmGrader
from sla_core.graders.prompts import AUDIO_PLACEHOLDER, QUESTION_NOT_KNOWN
from sla_core.graders.session import (ADAPTER, SYSTEM, SessionConfig, SessionGrader, build_head, init_head,
                                      load_session_grader)
from sla_core.graders.session_prompt import NOT_RECORDED, build_session_prompt
from sla_core.parts import PART_INFO, PARTS
from sla_core.research.train.session import masked_mse
from sla_core.testing.audio import tiny_waveform

TOL = 1e-5  # fp32 batch invariance, as the multimodal grader's


@pytest.fixture(scope="module")
def grader():
    return load_session_grader(tiny=True)


def _session(parts=PARTS, seconds=1.5, seed=0, answers=None):
    """A learner's parts: Parts 1 and 5 with two answers, the others one, `seconds` each."""
    out = []
    for p in parts:
        n = answers or (2 if PART_INFO[p].max_answers > 1 else 1)
        waves = tuple(tiny_waveform(seconds + 0.1 * i, seed=seed * 100 + 10 * p + i) for i in range(n))
        out.append(PartInput(p, waves, questions=("Where do you live?",) + (None,) * (n - 1)))
    return out


def test_prompt_has_every_part_header_in_test_order_with_its_answers_and_prior():
    prompt = build_session_prompt({4: ["Talk about a trip."], 1: [None, "Do you work?"]}, {1: 3.44})
    heads = [prompt.index(f"Part {p}: {PART_INFO[p].name}.") for p in PARTS]
    assert heads == sorted(heads)  # 1, 3, 4, 5 in order
    part3 = prompt[heads[1]:heads[2]]
    assert NOT_RECORDED in part3 and AUDIO_PLACEHOLDER not in part3  # not recorded: said, no audio
    part1 = prompt[heads[0]:heads[1]]
    assert "Acoustic estimate for this part (a speech-only grader): 3.4 (B1+)" in part1
    assert f"Answer 1. Question: {QUESTION_NOT_KNOWN}" in part1 and "Answer 2. Question: Do you work?" in part1
    assert "Acoustic estimate for this part (a speech-only grader): not available" in prompt[heads[2]:heads[3]]
    assert prompt.count(AUDIO_PLACEHOLDER) == 3 and prompt.endswith("<|assistant|>")
    with pytest.raises(ValueError, match="at least one recorded answer"):
        build_session_prompt({})


def test_five_outputs_from_one_forward_and_the_untrained_label(grader):
    out = grader.score_session(_session(parts=(1, 3, 5)), prior={1: 3.0})
    assert [s.part for s in out.parts] == [1, 3, 5] and len(out.raw) == 5 and all(map(math.isfinite, out.raw))
    assert out.overall.grader == SYSTEM and out.overall.covered_parts == (1, 3, 5)
    assert all(s.state == UNTRAINED for s in out.parts) and out.overall.state == UNTRAINED
    assert grader.info().state == UNTRAINED and "not grades" in grader.info().note
    assert len({round(s.score, 3) for s in out.parts}) > 1  # a random head is not a constant


@pytest.mark.slow  # several forwards of ~2,000-6,600 tokens on the tiny model
def test_batch_invariance_within_1e5(grader):
    # different lengths and parts (so left padding and several audio-length groups), priors given and not
    sessions = [_session(parts=(3, 4), seconds=2.5, seed=2), _session(seed=1), _session(parts=(1, 5), seed=3)]
    priors = [None, {1: 3.5, 3: 4.0}, {5: 2.5}]
    alone = np.concatenate([grader.predict([s], [p]) for s, p in zip(sessions, priors)])  # (3, 5)
    together = grader.predict(sessions, priors)
    assert np.abs(together - alone).max() <= TOL


@pytest.mark.slow  # several forwards of ~2,000-6,600 tokens on the tiny model
def test_a_full_test_fits_the_audio_token_budget(grader):
    # The real test: Part 1 six 20 s answers, Parts 3 and 4 one 60 s answer each, Part 5 five 20 s answers:
    # 340 s = 4,250 audio tokens at 12.5 per second; a 100 s Part 4 answer is cut to its 90 s cap.
    full = [PartInput(p, tuple(tiny_waveform(PART_INFO[p].answer_seconds, seed=10 * p + i)
                               for i in range(PART_INFO[p].max_answers))) for p in PARTS]
    batch = grader.encode([full], [None])
    sizes = batch["audio_embed_sizes"].tolist()
    assert len(sizes) == 13 and sum(sizes) == 4250 and batch["attention_mask"].sum() <= grader.config.max_tokens
    with torch.inference_mode():  # Parts 3 and 4 (60 s each, one length) run the conformer past its 40 s unfolding
        out = grader.outputs(batch, [None])
    assert out.shape == (1, 5) and torch.isfinite(out).all()
    overlong = [PartInput(4, (tiny_waveform(100.0, seed=4),))]
    assert grader.encode([overlong], [None])["audio_embed_sizes"].tolist() == [90 * 12.5]  # cut to the 90 s cap
    with pytest.raises(ValueError, match="tokens, more than the session grader's limit of 1000"):
        SessionGrader(_base(), build_head(64), SessionConfig(max_tokens=1000), trained=False,
                      source="t").encode([_session(parts=(3,))], [None])


def _base(rope: dict | None = None) -> MllmGrader:
    tok = phi4.tiny_tokenizer()
    config = phi4.tiny_config(tok)
    if rope is not None:
        config.rope_parameters, config.original_max_position_embeddings = rope, rope["original_max_position_embeddings"]
    torch.manual_seed(0)
    model = phi4.add_random_adapter(phi4.AudioOnlyPhi4(config), SPEECH_ADAPTER, *TINY_LORA)
    base = MllmGrader(model, tok, phi4.tiny_feature_extractor(), source="tiny", random_base=True)
    phi4.copy_adapter(base.model, SPEECH_ADAPTER, ADAPTER)
    return base


@pytest.mark.slow  # several forwards of ~2,000-6,600 tokens on the tiny model
def test_longrope_is_pinned_so_a_batchmate_past_the_original_context_changes_nothing():
    # LongRoPE switches factors when a batch's longest row passes original_max_position_embeddings (Phi-4: 4,096):
    # here 1,500, between a one-part session (~1,300 tokens) and a full one (~1,900).
    rope = {"rope_type": "longrope", "rope_theta": 10000.0, "short_factor": [1.0] * 8, "long_factor": [8.0] * 8,
            "original_max_position_embeddings": 1500, "partial_rotary_factor": 1.0}
    base = _base(rope)
    short, long = _session(parts=(3,)), _session()
    g = SessionGrader(base, build_head(64), SessionConfig(), trained=False, source="tiny")
    lengths = g.encode([short, long], [None, None])["attention_mask"].sum(-1).tolist()
    assert lengths[0] < 1500 < lengths[1]
    for pinned in (False, True):
        g.config = SessionConfig(long_rope=pinned)
        drift = np.abs(g.predict([short], [None])[0] - g.predict([short, long], [None, None])[0]).max()
        assert (drift <= TOL) if pinned else (drift > 0.01)


def test_training_starts_from_the_prior_by_hand():
    head = build_head(64)
    means = [3.0, 3.5, 4.0, 3.25, 3.4]
    init_head(head, means)
    from sla_core.graders.session import prior_features

    out = head(torch.randn(2, 64), prior_features([{1: 4.0, 3: 2.5}, None]))  # readout is 0 at the start
    expected_overall = 3.4 + (4.0 - 3.4) / 4 + (2.5 - 3.4) / 4  # known priors' quarter each, the mean for the rest
    torch.testing.assert_close(out[0], torch.tensor([4.0, 2.5, 4.0, 3.25, expected_overall]))
    torch.testing.assert_close(out[1], torch.tensor(means))  # no prior: every output at its training mean


def test_masked_mse_counts_only_known_targets_by_hand():
    pred = torch.tensor([[3.0, 3.0, 3.0, 3.0, 3.0], [4.0, 4.0, 4.0, 4.0, 4.0]])
    target = torch.tensor([[3.5, math.nan, 2.0, math.nan, 1.875],  # an incomplete train submission: holistic 1.875
                           [math.nan] * 4 + [5.0]])
    known = [0.25, 1.0, 1.125 ** 2, 1.0]
    assert masked_mse(pred, target).item() == pytest.approx(sum(known) / 4)
    assert masked_mse(pred, target, reduction="sum").item() == pytest.approx(sum(known))


def test_save_and_load_give_the_same_outputs_and_trained_state(grader, tmp_path):
    grader.save(tmp_path / "mtl")
    back = load_session_grader(tiny=True, adapter=tmp_path / "mtl")
    session, prior = _session(parts=(1, 4)), {4: 3.5}
    assert np.abs(back.predict([session], [prior]) - grader.predict([session], [prior])).max() <= TOL
    assert back.state == TRAINED and back.config == SessionConfig()
    with pytest.raises(FileNotFoundError, match="session_config.json"):
        load_session_grader(tiny=True, adapter=tmp_path)
