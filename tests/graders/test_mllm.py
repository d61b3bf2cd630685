"""The multimodal grader on a tiny random Phi-4-multimodal (built in code, nothing downloaded)."""

import copy

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import Phi4MultimodalForCausalLM
from transformers.models.phi4_multimodal.modeling_phi4_multimodal import Phi4MultimodalAudioModel

from sla_core.assessment import TRAINED, UNTRAINED, ZERO_SHOT
from sla_core.cefr import GRID
from sla_core.data import PartInput
from sla_core.graders import Grader, phi4
from sla_core.graders.mllm import (
    SPEECH_ADAPTER,
    ZERO_SHOT_NOTE,
    MllmGrader,
    load_mllm_grader,
)
from sla_core.graders.prompts import SCORE_LABELS
from sla_core.parts import PARTS
from sla_core.graders.phi4 import tiny_config, tiny_feature_extractor, tiny_processor, tiny_tokenizer
from sla_core.testing.mllm import tiny_mllm_grader
from sla_core.testing.audio import tiny_waveform
from sla_core.testing.batching import TOL_BATCH, random_groupings, score_grouped

TOL_EXACT = TOL_BATCH  # same inputs, different batch layout (also clips of different lengths): float rounding only


def _perturb(grader, name, seed):
    """Make adapter `name` differ from the speech adapter, as training would."""
    g = torch.Generator().manual_seed(seed)
    for module in phi4._lora_modules(grader.model, name).values():
        w = module.lora_B[name].weight
        w.data += 0.5 * torch.randn(w.shape, generator=g)


def _learner(seconds=(1.0, 1.0, 1.0, 1.0), transcripts=True):
    """Four parts (Part 1: 2 answers, Part 5: 2 answers); clip lengths per part."""
    texts = {1: ("I live in a small town.", "I study biology."), 3: ("Cities are noisy but fun.",),
             4: ("Last year I learned to swim.",), 5: ("Yes, too much time.", "Because it is quick.")}  # fmt: skip
    parts = []
    for k, (part, answers) in enumerate(texts.items()):
        waves = tuple(tiny_waveform(seconds[k], seed=10 * part + i) for i in range(len(answers)))
        parts.append(PartInput(part, waves, transcripts=answers if transcripts else ()))
    return parts


@pytest.fixture(scope="module")
def stg():
    """Tiny grader with a distinct adapter per part (STG)."""
    grader = tiny_mllm_grader()
    for part in PARTS:
        _perturb(grader, grader.new_adapter([part]), seed=part)
    return grader


@pytest.fixture(scope="module")
def zero_shot():
    return tiny_mllm_grader()


def test_grader_honours_the_protocol_and_loads_no_vision_tower(zero_shot):
    assert isinstance(zero_shot, Grader) and zero_shot.name == "mllm"
    names = [n for n, _ in zero_shot.model.named_parameters()]
    assert not [n for n in names if "image_embed" in n or "vision" in n]
    assert any("audio_embed" in n for n in names)


def test_encode_matches_the_transformers_processor():
    tok, fe = tiny_tokenizer(), tiny_feature_extractor()
    clips = [[tiny_waveform(1.0, 1), tiny_waveform(1.7, 2)], [tiny_waveform(1.3, 3)]]
    prompts = ["<|user|>Two: <|audio|> and <|audio|><|end|><|assistant|>", "<|user|>One <|audio|><|end|><|assistant|>"]
    ours = phi4.encode(tok, fe, prompts, clips)
    ref = tiny_processor(tok)(text=prompts, audio=[c for row in clips for c in row], sampling_rate=16000,
                              padding=True, return_tensors="pt")  # fmt: skip
    for key in ("input_ids", "attention_mask", "audio_input_features", "audio_embed_sizes", "audio_attention_mask"):
        assert torch.equal(ours[key], ref[key]), key
    assert (ours["input_ids"] == tok.audio_token_id).sum() == ours["audio_embed_sizes"].sum()


def test_encode_checks_recordings_against_placeholders():
    with pytest.raises(ValueError, match=r"prompt 0 has 1 <\|audio\|> but 2 recordings"):
        phi4.encode(tiny_tokenizer(), tiny_feature_extractor(), ["<|audio|>"], [[tiny_waveform(), tiny_waveform()]])


@pytest.mark.slow
def test_one_forward_equals_scoring_each_candidate_the_slow_way(stg):
    """Batched, left-padded, mixed-adapter one-forward == log P(prompt + label) - log P(prompt) per label."""
    rows = stg.prepare(_learner(), "TA")
    fast = stg.distributions([r.prompt for r in rows], [r.clips for r in rows], [r.adapter for r in rows])
    model64 = copy.deepcopy(stg.model).double()  # sums of ~1k log-probs need float64 to subtract
    for i, row in enumerate(rows):
        batch = phi4.encode(stg.tokenizer, stg.feature_extractor, [row.prompt + lab for lab in SCORE_LABELS],
                            [row.clips] * len(SCORE_LABELS))  # fmt: skip
        ids = batch["input_ids"]  # (8, L + 1): every label is one token, so no padding
        assert batch["attention_mask"].all()
        with torch.no_grad():
            logits = model64(**batch, adapter_names=[row.adapter] * len(SCORE_LABELS)).logits
        token_lp = logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0]  # (8, L)
        log_p_full, log_p_prompt = token_lp.sum(-1), token_lp[:, :-1].sum(-1)
        slow = (log_p_full - log_p_prompt).softmax(-1).float()
        torch.testing.assert_close(fast[i], slow, atol=TOL_EXACT, rtol=0)


def test_scores_are_expected_values_of_their_distributions(stg):
    scores = stg.score(_learner())
    assert [s.part for s in scores] == list(PARTS)
    for s in scores:
        assert s.grader == "mllm" and s.variant == "TA" and s.state == UNTRAINED
        assert len(s.distribution) == len(GRID) and sum(s.distribution) == pytest.approx(1.0, abs=1e-6)
        assert s.score == pytest.approx(float(np.dot(GRID, s.distribution)), abs=1e-5)
        assert GRID[0] <= s.score <= GRID[-1]
    assert scores[0].transcripts == ("I live in a small town.", "I study biology.")


def test_batch_of_four_equals_each_part_alone(stg):
    parts = _learner()
    batched = torch.tensor([s.distribution for s in stg.score(parts)])
    alone = torch.tensor([stg.score([p])[0].distribution for p in parts])
    torch.testing.assert_close(batched, alone, atol=TOL_EXACT, rtol=0)


def _two_learners(transcripts=True):
    """Eight parts with clips of eight different lengths: padding everywhere once batched."""
    return _learner((1.0, 2.0, 1.5, 1.2), transcripts) + _learner((1.7, 0.8, 2.4, 1.1), transcripts)


def _assert_same(got, want):
    for a, b in zip(got, want):
        assert a.part == b.part and a.transcripts == b.transcripts
        assert a.score == pytest.approx(b.score, abs=TOL_EXACT)
        np.testing.assert_allclose(a.distribution, b.distribution, atol=TOL_EXACT, rtol=0)


@pytest.mark.slow
def test_a_part_scores_the_same_alone_or_in_any_batch_of_any_lengths(stg):
    """Issue 18: same recording, same score, whatever it is batched with (fp32, 1e-5)."""
    parts = _two_learners()
    alone = [stg.score([p])[0] for p in parts]
    for groups in random_groupings(len(parts), seed=3)[1:]:
        _assert_same(score_grouped(stg.score, parts, groups), alone)
    _assert_same(stg.score(parts), alone)  # repeat run in the same process: the same numbers


@pytest.mark.slow
def test_transcripts_made_in_the_batch_do_not_depend_on_it(stg):
    """Without transcripts the grader transcribes all answers of its call in one ASR batch."""
    parts = _learner((1.0, 2.0, 1.5, 1.2), transcripts=False)
    alone = [stg.score([p])[0] for p in parts]
    assert len({t for s in alone for t in s.transcripts}) > 3  # real (random-model) texts, mostly different
    _assert_same(stg.score(parts[::-1])[::-1], alone)


def test_the_stock_audio_encoder_would_shift_a_padded_clip(stg):
    """Why the encoder runs unpadded groups: transformers' conformer lets every frame attend to padding."""
    encoder = stg.model.base_model.model.model.embed_tokens_extend.audio_embed.encoder
    assert isinstance(encoder, phi4.UnpaddedAudioEncoder)
    clips = [tiny_waveform(1.0, seed=1), tiny_waveform(2.0, seed=2)]
    batch = stg.feature_extractor(clips, sampling_rate=16000, return_tensors="pt")
    alone = stg.feature_extractor(clips[:1], sampling_rate=16000, return_tensors="pt")["audio_input_features"]
    with torch.no_grad():
        ours = encoder(batch["audio_input_features"], batch["audio_attention_mask"])
        single = encoder(alone, None)[0]
        stock = Phi4MultimodalAudioModel.forward(encoder, batch["audio_input_features"], batch["audio_attention_mask"])
    n = len(single)
    torch.testing.assert_close(ours[0, :n], single, atol=TOL_EXACT, rtol=0)
    assert (ours[0, n:] == 0).all()  # the rows stay aligned with audio_embed_sizes
    assert (stock[0, :n] - single).abs().max() > 1e-3


@pytest.mark.slow
def test_each_row_is_scored_by_its_own_adapter(stg):
    rows = stg.prepare(_learner(), "TA")
    assert [r.adapter for r in rows] == ["part1", "part3", "part4", "part5"]
    prompts, clips = [r.prompt for r in rows], [r.clips for r in rows]
    mixed = stg.distributions(prompts, clips, [r.adapter for r in rows])
    speech = stg.distributions(prompts, clips, [SPEECH_ADAPTER] * 4)
    for i, row in enumerate(rows):
        single = stg.distributions([row.prompt], [row.clips], [row.adapter])[0]
        torch.testing.assert_close(mixed[i], single, atol=TOL_EXACT, rtol=0)
        assert (mixed[i] - speech[i]).abs().max() > 1e-3  # the part adapter really changes the score
        other = stg.distributions([row.prompt], [row.clips], [rows[(i + 1) % 4].adapter])[0]
        assert (mixed[i] - other).abs().max() > 1e-3


def test_variants_change_what_the_model_reads(stg):
    parts = _learner()
    ta, ao, to = (stg.score(parts, variant=v) for v in ("TA", "AO", "TO"))
    assert all(s.transcripts is None for s in ao) and to[1].transcripts == ("Cities are noisy but fun.",)
    assert [r.clips for r in stg.prepare(parts, "TO")] == [[], [], [], []]
    for a, b, c in zip(ta, ao, to):
        assert a.variant == "TA" and b.variant == "AO" and c.variant == "TO"
        assert max(abs(x - y) for x, y in zip(a.distribution, b.distribution)) > 1e-4
        assert max(abs(x - y) for x, y in zip(a.distribution, c.distribution)) > 1e-4


def test_transcript_only_grading_needs_no_audio(stg):
    (score,) = stg.score([PartInput(3, (None,), transcripts=("I think so.",))], variant="TO")
    assert score.transcripts == ("I think so.",) and score.variant == "TO"


class _CountingTranscriber:
    """Delegates to a real transcriber and records what it was asked."""

    name = "counting"

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def info(self):
        return self.inner.info()

    def transcribe(self, waveforms):
        self.calls.append(len(waveforms))
        return self.inner.transcribe(waveforms)


@pytest.mark.slow
def test_missing_transcripts_come_from_one_batched_asr_call(zero_shot):
    counting = _CountingTranscriber(zero_shot.transcriber)
    grader = MllmGrader(zero_shot.model, zero_shot.tokenizer, zero_shot.feature_extractor, source="t",
                        random_base=True, transcriber=counting)  # fmt: skip
    parts = _learner(transcripts=False)
    scores = grader.score(parts)
    assert counting.calls == [6]  # every answer of the four parts, in one call
    clips = [w for p in parts for w in p.waveforms]
    assert [t for s in scores for t in s.transcripts] == counting.inner.transcribe(clips)
    grader.score(parts, variant="AO")
    assert counting.calls == [6]  # audio only reads no transcript: no ASR call


def test_states_say_trained_zero_shot_or_untrained(stg):
    real = MllmGrader(stg.model, stg.tokenizer, stg.feature_extractor, source="hub", part_adapters={3: "part3"})
    assert [real.state_for(p) for p in PARTS] == [ZERO_SHOT, TRAINED, ZERO_SHOT, ZERO_SHOT]
    info = real.info()
    assert info.state == TRAINED and info.parts == (3,) and ZERO_SHOT_NOTE in info.note and "1, 4, 5" in info.note
    none = MllmGrader(stg.model, stg.tokenizer, stg.feature_extractor, source="hub")
    assert none.info().state == ZERO_SHOT and ZERO_SHOT_NOTE in none.info().note
    assert {s.state for s in none.score(_learner()[:1])} == {ZERO_SHOT}
    assert stg.info().state == UNTRAINED and "not grades" in stg.info().note  # new adapters, never trained


def test_a_trained_adapter_is_trained_even_on_a_tiny_random_base(stg, tmp_path):
    stg.save_adapter("part3", tmp_path / "part3")
    grader = tiny_mllm_grader()
    grader.load_adapter(tmp_path / "part3", [3])
    assert [grader.state_for(p) for p in PARTS] == [UNTRAINED, TRAINED, UNTRAINED, UNTRAINED]
    assert grader.info().state == TRAINED and grader.info().parts == (3,) and "1, 4, 5" in grader.info().note
    name = grader.new_adapter([4])  # what the training command starts from: not a grade until trained
    assert grader.state_for(4) == UNTRAINED
    grader.mark_trained(name)
    assert grader.state_for(4) == TRAINED and grader.info().parts == (3, 4)


def test_stg_adapters_save_and_load(stg, tmp_path):
    stg.save_adapters(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part1", "part3", "part4", "part5"]
    loaded = tiny_mllm_grader(adapters=tmp_path)
    assert loaded.part_adapters == {p: f"part{p}" for p in PARTS}
    assert str(tmp_path) in loaded.source
    want = [s.distribution for s in stg.score(_learner())]
    got = [s.distribution for s in loaded.score(_learner())]
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_ctg_adapter_saves_loads_and_scores_every_part(tmp_path):
    grader = tiny_mllm_grader()
    _perturb(grader, grader.new_adapter(PARTS), seed=7)
    grader.save_adapters(tmp_path)
    assert (tmp_path / "adapter_config.json").is_file()
    loaded = tiny_mllm_grader(adapters=tmp_path, mode="ctg")
    assert {loaded.adapter_for(p) for p in PARTS} == {"ctg"}
    np.testing.assert_allclose([s.distribution for s in loaded.score(_learner())],
                               [s.distribution for s in grader.score(_learner())], atol=1e-6, rtol=0)  # fmt: skip
    with pytest.raises(FileNotFoundError, match="use mode='ctg'"):
        tiny_mllm_grader(adapters=tmp_path, mode="stg")


@pytest.mark.slow
def test_real_loading_path_reads_a_local_checkpoint_without_its_vision_tower(tmp_path, stg):
    """The hub layout on disk: full model (vision included) + tokenizer + feature extractor + speech-lora/."""
    tok = tiny_tokenizer()
    torch.manual_seed(3)
    full = Phi4MultimodalForCausalLM(tiny_config(tok)).eval()
    full.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    tiny_feature_extractor().save_pretrained(tmp_path)
    reference = phi4.add_random_adapter(full, SPEECH_ADAPTER, r=8, alpha=16, seed=4)
    phi4.save_adapter(reference, SPEECH_ADAPTER, tmp_path / "speech-lora")
    stg.save_adapters(tmp_path / "stg")

    grader = load_mllm_grader(tmp_path, revision=None, device="cpu")
    assert not [n for n, _ in grader.model.named_parameters() if "image_embed" in n]
    assert grader.info().state == ZERO_SHOT and grader.info().source == str(tmp_path)
    rows = grader.prepare(_learner(), "TA")
    batch = phi4.encode(tok, tiny_feature_extractor(), [r.prompt for r in rows], [r.clips for r in rows])
    with torch.no_grad():
        want = reference(**batch, logits_to_keep=1).logits[:, -1][:, grader.label_ids].softmax(-1)
    got = grader.distributions([r.prompt for r in rows], [r.clips for r in rows], [SPEECH_ADAPTER] * 4)
    torch.testing.assert_close(got, want, atol=TOL_EXACT, rtol=0)

    with_parts = load_mllm_grader(tmp_path, revision=None, adapters=tmp_path / "stg", device="cpu")
    assert with_parts.info().state == TRAINED and with_parts.info().parts == PARTS
    assert {s.state for s in with_parts.score(_learner())} == {TRAINED}


@pytest.mark.parametrize(
    "part, variant, message",
    [
        (PartInput(3, (None,)), "TA", "part 3 answer 1: .*at least one"),
        (PartInput(4, (None,), transcripts=("hi",)), "TA", "part 4 answer 1: variant TA needs audio.*'TO'"),
        (PartInput(3, (tiny_waveform(), tiny_waveform())), "TA", "part 3 takes at most 1 answers, got 2"),
        (PartInput(5, (np.zeros((2, 100), np.float32),)), "AO", r"non-empty 1-D array, got shape \(2, 100\)"),
    ],
)
def test_bad_part_inputs_are_named(zero_shot, part, variant, message):
    with pytest.raises(ValueError, match=message):
        zero_shot.score([part], variant=variant)


def test_bad_loader_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown adapter mode 'both'"):
        tiny_mllm_grader(mode="both")
    with pytest.raises(ValueError, match="unknown input variant 'AT'"):
        tiny_mllm_grader(variant="AT")
    with pytest.raises(FileNotFoundError, match="neither a local folder nor a reachable hub repo"):
        tiny_mllm_grader(adapters=str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="none of part1/ part3/ part4/ part5/"):
        tiny_mllm_grader(adapters=tmp_path)


def test_adapters_that_do_not_fit_are_refused(zero_shot, tmp_path):
    folder = phi4.save_adapter(zero_shot.model, SPEECH_ADAPTER, tmp_path / "a")
    weights = load_file(folder / "adapter_model.safetensors")
    save_file({k.replace("base_model.model.", "model."): v for k, v in weights.items()}, folder / "adapter_model.safetensors")
    grader = tiny_mllm_grader()
    with pytest.raises(ValueError, match="does not fit the model"):  # the silent key-prefix pitfall
        grader.load_adapter(folder, [3])
    save_file({k: torch.zeros_like(v) if "lora_B" in k else v for k, v in weights.items()}, folder / "adapter_model.safetensors")
    with pytest.raises(ValueError, match="every lora_B weight is zero"):
        grader.load_adapter(folder, [3], name="zeros")


def test_lora_inside_the_audio_encoder_is_refused():
    base = phi4.AudioOnlyPhi4(tiny_config())
    plain = get_peft_model(base, LoraConfig(r=2, target_modules=["o_proj", "down_proj"], init_lora_weights=False))
    with pytest.raises(ValueError, match="inside the audio encoder"):
        phi4.check_adapter(plain, "default")


def test_score_labels_must_be_single_tokens(monkeypatch):
    monkeypatch.setattr(phi4, "SCORE_LABELS", ("10", "11"))
    with pytest.raises(ValueError, match="score label '10' is not a single token"):
        phi4.label_token_ids(tiny_tokenizer())


def test_the_training_audio_cut_is_applied_at_inference():
    from sla_core.graders.mllm import SPEECH_ADAPTER
    from sla_core.testing.mllm import tiny_mllm_grader

    grader = tiny_mllm_grader()
    wav = tiny_waveform(2.5, seed=1)
    grader.audio_seconds[SPEECH_ADAPTER] = 1.0  # as load_mllm_grader sets it from a CTG adapter (30 s there)
    row = grader.prepare([PartInput(part=3, waveforms=(wav,), transcripts=("words",))], "TA")[0]
    assert [len(c) for c in row.clips] == [16000]
