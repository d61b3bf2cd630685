"""The BERT baseline grader: tiny offline model, the Grader contract, calibration, save/load."""

import numpy as np
import pytest
import torch

from sla_core.assessment import TRAINED, UNTRAINED
from sla_core.data import PartInput
from sla_core.graders import Grader
from sla_core.graders.bert import (BertGrader, BertGraderConfig, build_bert_grader, fit_linear, load_bert_grader,
                                   part_text)
from sla_core.testing.batching import TOL_BATCH, random_groupings, score_grouped

TEXTS = ("i like my home", "although the environment is important however", "nevertheless perspective")


@pytest.fixture(scope="module")
def grader():
    return build_bert_grader(BertGraderConfig(encoder="tiny"), parts=(1, 3))


def _part(part, *transcripts):
    return PartInput(part=part, waveforms=(None,) * len(transcripts), transcripts=transcripts)


def test_scores_follow_the_grader_contract(grader):
    assert isinstance(grader, Grader) and grader.info().state == UNTRAINED and grader.info().parts == ()
    scores = grader.score([_part(1, TEXTS[0], TEXTS[1]), _part(3, TEXTS[2])])
    assert [(s.grader, s.part, s.state) for s in scores] == [("bert", 1, UNTRAINED), ("bert", 3, UNTRAINED)]
    assert scores[0].transcripts == (TEXTS[0], TEXTS[1])
    assert all(2.0 <= s.score <= 5.5 for s in scores)


def test_a_part_is_read_as_one_text_and_padding_does_not_change_it(grader):
    alone = grader.raw_scores(3, [TEXTS[0]])
    batch = grader.raw_scores(3, [TEXTS[0], " ".join(TEXTS)])  # the second pads the first
    assert alone[0] == pytest.approx(batch[0], abs=1e-5)
    joined = grader.raw_scores(1, [f"{TEXTS[0]} {TEXTS[1]}"])[0]
    assert grader.score([_part(1, TEXTS[0], TEXTS[1])])[0].score == pytest.approx(np.clip(joined, 2.0, 5.5), abs=1e-5)


def test_a_part_scores_the_same_alone_or_in_any_batch(grader):
    """Issue 18: texts of different lengths, both parts' models, random groupings and orders (fp32, 1e-5)."""
    words = " ".join(TEXTS).split()
    parts = [_part(1 + 2 * (k % 2), " ".join(words[k : k + 2 + 3 * k]), TEXTS[k % 3]) for k in range(6)]
    raw = [grader.raw_scores(p.part, [" ".join(p.transcripts)])[0] for p in parts]
    grader.calibration = {1: (1.0, 3.0), 3: (1.0, 3.0)}  # scores inside the scale: clipping hides nothing
    try:
        alone = [grader.score([p])[0] for p in parts]
        assert len({s.score for s in alone}) == len(parts)
        for groups in random_groupings(len(parts), seed=4)[1:]:
            got = score_grouped(grader.score, parts, groups)
            assert [s.score for s in got] == pytest.approx([s.score for s in alone], abs=TOL_BATCH)
            assert [s.transcripts for s in got] == [s.transcripts for s in alone]
    finally:
        grader.calibration = {}
    assert [s.score for s in alone] == pytest.approx([r + 3.0 for r in raw], abs=TOL_BATCH)


def test_missing_transcript_or_part_is_a_clear_error(grader):
    with pytest.raises(ValueError, match=r"part 1: .* answer\(s\) \[2\] have none"):
        grader.score([_part(1, TEXTS[0], None)])
    with pytest.raises(ValueError, match=r"no model for part 5; it has parts \(1, 3\)"):
        grader.score([_part(5, TEXTS[0])])


def test_fit_linear_recovers_the_line_and_survives_a_constant_model():
    x = np.array([0.1, 0.5, 0.9, 1.3])
    assert fit_linear(x, 2.0 * x + 1.5) == pytest.approx((2.0, 1.5))
    assert fit_linear([0.7, 0.7, 0.7], [3.0, 4.0, 5.0]) == (0.0, 4.0)
    with pytest.raises(ValueError, match="equally long"):
        fit_linear([1.0], [1.0, 2.0])


def test_calibration_applies_to_parts_and_overall(grader):
    raw = grader.raw_scores(3, [TEXTS[2]])[0]
    calibrated = BertGrader(grader.models, grader.tokenizer, grader.config, calibration={3: (0.0, 4.5)},
                            overall_calibration=(2.0, -4.0))
    assert calibrated.score([_part(3, TEXTS[2])])[0].score == pytest.approx(4.5)
    assert calibrated.calibrate(3, raw) == pytest.approx(4.5)
    assert calibrated.overall({1: 3.0, 3: 4.0}) == pytest.approx(2.0 * 3.5 - 4.0)


def test_save_and_load_round_trip(grader, tmp_path):
    grader.calibration = {1: (0.5, 2.0), 3: (1.5, 1.0)}
    grader.overall_calibration = (1.1, -0.2)
    grader.save_pretrained(tmp_path / "bert")
    back = load_bert_grader(tmp_path / "bert")
    assert back.parts == (1, 3) and back.state == TRAINED and back.info().parts == (1, 3)
    assert back.calibration == grader.calibration and back.overall_calibration == (1.1, -0.2)
    for part in (1, 3):
        np.testing.assert_allclose(back.raw_scores(part, list(TEXTS)), grader.raw_scores(part, list(TEXTS)), atol=1e-6)
    with pytest.raises(FileNotFoundError, match="bert_grader.json is missing"):
        load_bert_grader(tmp_path)


def test_tiny_by_name_is_untrained_and_has_all_parts():
    g = load_bert_grader("tiny")
    assert g.parts == (1, 3, 4, 5) and g.state == UNTRAINED and "tiny" in g.info().source
    assert sum(p.numel() for p in g.models[1].parameters()) < 500_000
    assert isinstance(g.device, torch.device)


@pytest.mark.parametrize("raw, normalised", [
    ("Erm, I think… the Café was 3rd in 1990, um, it’s WELL-known!", "i think the cafe was third in one thousand "
     "nine hundred and ninety it's well-known"),
    ("uh hmm mm ah eh er errm ummm uhm Hmmm. ahh", ""),
    ("I have 2,500 friends and 21 cats; 3.5 points", "i have two thousand five hundred friends and twenty one cats "
     "three point five points"),
    ("\"Hello,\" she said -- naïve (really)?", "hello she said naive really"),
    ("the 12th and 101st time", "the twelfth and one hundred and first time"),
])
def test_text_is_normalised_as_the_baseline_does(raw, normalised):
    from sla_core.graders.bert import normalise_text

    assert normalise_text(raw) == normalised


def test_part_text_normalises_each_answer():
    assert part_text(["Um, yes.", "Er", "I like 2 dogs!"], 1) == "yes i like two dogs"


def test_tiny_bert_reads_a_real_length_transcript(grader):
    # Part 4 is a minute of talk: ~150 words, more than 512 word pieces in the tiny vocabulary
    long = " ".join(["nevertheless", "the", "community", "xylophone"] * 60)
    assert grader.encode([long])["input_ids"].shape == (1, 512)
    score = grader.score([PartInput(part=3, waveforms=(None,), transcripts=(long,))])[0]
    assert 2.0 <= score.score <= 5.5
