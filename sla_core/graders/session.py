"""The session grader (Phi4-MTL): the whole test in one prompt, five scores from one forward pass.

After NTNU's session-level follow-up of our paper (arXiv 2509.16025): Phi-4-multimodal with a LoRA
adapter reads one learner's complete test as one conversation (`session_prompt`: part headers, each
answer's question and recording in place, our speech grader's per-part estimate as an acoustic prior),
and a regression head on the hidden state at the prompt's last position returns P1, P3, P4, P5 and
the overall (`session_prompt.TARGETS`). Training: `research/train/session.py` (masked MSE).

Choices the papers leave open, and why (README, "The session grader", lists them all):
- Backbone and LoRA as our other multimodal graders (`phi4`, `mllm`): native Phi-4-multimodal without
  the vision tower, LoRA on the language-model layers only (`phi4.LM_TARGETS`), the adapter starting
  as a copy of the model's speech LoRA (r=320, alpha=640): without it the base largely ignores audio.
- Head (`SessionHead`, float32): a readout Linear(H, 5) of the final-norm hidden state at the last prompt
  position (the causal model's only position that has seen the whole session), scaled by 1/sqrt(H) so
  one optimizer step moves the outputs about as much at H=64 (tiny) as at H=3072; plus a calibration
  Linear(8, 5) of the prior itself (the four estimates and whether each is known). The follow-up calls
  its prior "acoustic-aware calibration" without saying how it enters the score; in the prompt alone the
  language model must learn to read "3.4" from digit tokens, and a fresh head would start from nothing.
  So training starts the calibration at the identity (each part's output = its prior, the overall = the
  mean of the priors; a missing prior -> the training mean) and the readout at zero: epoch 0 is the speech
  grader, and training learns what the whole session adds. `SessionConfig.prior_head=False` (train
  `--no-prior-head`) keeps the prior in the prompt only, the paper's reading, for the ablation.
  No lm_head and no label tokens: five real numbers from one forward, where the label-token read-out of
  `mllm` would need five answer positions.
- Audio only (the follow-up is end to end, no ASR cascade): no transcripts in the prompt, which also
  keeps a 5-minute test near 4,500 tokens.
- LongRoPE: Phi-4's language model switches from its short to its long RoPE factors when a *batch's*
  longest row passes 4,096 positions (`original_max_position_embeddings`), which is where whole tests
  sit (4-5 minutes = 3,000-3,750 audio tokens + ~900 text). A session would then be encoded differently
  alone and beside a longer one, and a 4,000-token test differently from a 4,200-token one. The grader
  pins the long factors for every forward (`long_rope`), in training and inference alike; the shared
  base model is left as it was after each forward (the ASR on the same model keeps its own behaviour).
- The acoustic prior is given only from a *trained* speech grader; otherwise the prompt says "not
  available" (training shows the model that case too: `prior_dropout`).

Batch invariance (as `mllm`): text rows are left padded with position ids that count real tokens only,
the audio conformer sees no padding, the head reads each row's own last position: a session's five
outputs are the same alone or in any batch (within 1e-5 in float32).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..assessment import TRAINED, UNTRAINED, GraderInfo, OverallScore, PartScore
from ..audio import SAMPLE_RATE
from ..cefr import cefr_label, clip_score
from ..data import PartInput
from ..parts import PARTS, part_info
from . import phi4
from .phi4 import DEFAULT_MODEL, DEFAULT_REVISION, SPEECH_ADAPTER
from .session_prompt import ANSWER_CAP_SECONDS, OVERALL, TARGETS, build_session_prompt

SYSTEM = "Phi4-MTL"  # the predictions files' and the report's name for this grader (multi-target learning)
ADAPTER = "session"  # the LoRA adapter's name on the shared base model
CONFIG_FILE = "session_config.json"  # SessionConfig, beside the PEFT adapter files
HEAD_FILE = "head.safetensors"  # the regression head's weight (5, H) and bias (5,)
VARIANT = "AO"  # what the grader reads: audio (and the questions), no transcripts


@dataclass(frozen=True)
class SessionConfig:
    """What a trained session adapter was trained with, which inference must apply too (saved beside it)."""

    answer_cap_seconds: dict[int, float] = field(default_factory=lambda: dict(ANSWER_CAP_SECONDS))  # per part
    max_tokens: int = 8192  # a longer session is refused (memory); the longest capped test is ~7,300
    prior: str = "speech"  # "speech": the prompt carries the speech grader's estimates; "none": never
    prior_source: str | None = None  # which speech grader gave the dev prior (training) = what inference should load
    long_rope: bool = True  # pin LongRoPE's long factors (module docstring)
    prior_head: bool = True  # the head also reads the prior's numbers (SessionHead); False: the prompt only
    targets: tuple[str, ...] = tuple(str(t) for t in TARGETS)  # the head's outputs, in order

    def __post_init__(self) -> None:
        object.__setattr__(self, "answer_cap_seconds", {int(p): float(s) for p, s in self.answer_cap_seconds.items()})
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.prior not in ("speech", "none"):
            raise ValueError(f"prior must be 'speech' or 'none', got {self.prior!r}")
        if self.targets != tuple(str(t) for t in TARGETS):
            raise ValueError(f"this grader's head returns {TARGETS}; the adapter was saved for {self.targets}")

    @classmethod
    def read(cls, folder: str | Path) -> "SessionConfig":
        path = Path(folder) / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder} has no {CONFIG_FILE}: not a session adapter folder (train session writes one)")
        data = json.loads(path.read_text(encoding="utf-8"))
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{path}: unknown fields {sorted(unknown)}")
        return cls(**data)

    def write(self, folder: str | Path) -> Path:
        path = Path(folder) / CONFIG_FILE
        path.write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")
        return path


@dataclass(frozen=True)
class SessionOutput:
    """One learner's five outputs: a PartScore per scored part (input order) and the grader's own overall."""

    parts: tuple[PartScore, ...]
    overall: OverallScore
    raw: tuple[float, ...]  # (5,) the head's outputs in TARGETS order, before clipping (absent parts included)
    prior: dict[int, float]  # the acoustic prior the prompt carried (empty: not available)


@contextmanager
def long_rope(model: nn.Module, enabled: bool = True):
    """Within the block, every LongRoPE rotary embedding of `model` uses its long factors, whatever the
    sequence length (see the module docstring); restored afterwards. A no-op for other RoPE types."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    saved = []
    if enabled:
        for module in model.modules():
            if getattr(module, "rope_type", None) == "longrope" and hasattr(module, "original_inv_freq"):
                config = module.config
                original = config.rope_parameters["original_max_position_embeddings"]
                long_freq, _ = ROPE_INIT_FUNCTIONS["longrope"](config, module.original_inv_freq.device, seq_len=original + 1)
                saved.append((module, module.original_inv_freq.clone()))
                module.original_inv_freq.copy_(long_freq)
    try:
        yield
    finally:
        for module, freq in saved:
            module.original_inv_freq.copy_(freq)
            module.inv_freq.copy_(freq)


class SessionHead(nn.Module):
    """outputs (B, 5) = readout(h / sqrt(H)) + calibration([prior; known]) (module docstring); float32."""

    def __init__(self, hidden: int, prior_head: bool = True):
        super().__init__()
        self.hidden = hidden
        self.readout = nn.Linear(hidden, len(TARGETS))
        self.calibration = nn.Linear(2 * len(PARTS), len(TARGETS), bias=False) if prior_head else None

    def forward(self, h: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        # h: (B, H) hidden state at the last position; prior: (B, 8) four estimates (0 when unknown), four 0/1 flags
        out = self.readout(h.float() / self.hidden ** 0.5)
        return out if self.calibration is None else out + self.calibration(prior.float())


def prior_features(priors: Sequence[Mapping[int, float] | None], device=None) -> torch.Tensor:
    """(B, 8): each part's prior (0 when unknown), then 1/0 whether it is known; PARTS order."""
    rows = []
    for prior in priors:
        prior = prior or {}
        rows.append([float(prior.get(p, 0.0)) for p in PARTS] + [float(p in prior) for p in PARTS])
    return torch.tensor(rows, dtype=torch.float32, device=device)


class SessionGrader:
    """Phi-4-multimodal + session LoRA + regression head; fills the pipeline's multimodal slot.

    `score(parts)` takes one learner's parts (the Grader protocol); `score_session` also takes the
    acoustic prior and returns the overall output; `outputs` is the differentiable forward for training.
    """

    name = "mllm"  # the pipeline's multimodal slot: fusion, intervals and views treat it as that grader
    variant = VARIANT

    def __init__(self, base, head: SessionHead, config: SessionConfig, *, trained: bool, source: str):
        """
        Args:
            base: a loaded `mllm.MllmGrader` whose model holds SPEECH_ADAPTER and ADAPTER (its tokenizer,
                feature extractor and transcriber are reused).
            head: SessionHead (float32) on the model's device.
            trained: True when `head` and ADAPTER come from `train session` (else their numbers are not grades).
        """
        for name in (SPEECH_ADAPTER, ADAPTER):
            if name not in base.model.peft_config:
                raise ValueError(f"adapter {name!r} is not loaded; adapters: {sorted(base.model.peft_config)}")
        self.model = base.model
        self.tokenizer, self.feature_extractor = base.tokenizer, base.feature_extractor
        self.random_base = base.random_base
        self.transcriber = base.transcriber
        self.head = head
        self.config = config
        self.trained = trained
        self.source = source
        self.model.set_adapter(ADAPTER)  # the session forward runs the inner model: the active adapter applies
        self.model.eval()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def state(self) -> str:
        """TRAINED with an adapter and head from `train session` (on this very base, random or not, as `mllm`'s
        part adapters); otherwise the head is random and nothing it says is a grade."""
        return TRAINED if self.trained else UNTRAINED

    def info(self) -> GraderInfo:
        if self.state == TRAINED:
            prior = "acoustic prior from a trained speech grader" if self.config.prior == "speech" else "no acoustic prior"
            return GraderInfo(self.name, self.source, TRAINED, PARTS, f"session-level grader ({SYSTEM}): whole test in "
                              f"one prompt, 5 outputs from one forward; {prior}")
        why = ("random Phi-4-multimodal weights: scores are not grades" if self.random_base else
               "no trained session adapter: the regression head is random, scores are not grades")
        return GraderInfo(self.name, self.source, UNTRAINED, (), f"session-level grader ({SYSTEM}): {why}")

    # ----- inputs ---------------------------------------------------------------------------------

    def prompt_and_clips(self, parts: Sequence[PartInput], prior: Mapping[int, float] | None
                         ) -> tuple[str, list[np.ndarray]]:
        """One session's prompt and its recordings (each cut to its part's cap), in placeholder order."""
        seen = [p.part for p in parts]
        if len(set(seen)) != len(seen):
            raise ValueError(f"a session has each part at most once, got parts {seen}")
        by_part = {p.part: p for p in parts}
        clips: list[np.ndarray] = []
        for p in PARTS:
            if p not in by_part:
                continue
            info, part = part_info(p), by_part[p]
            if part.n_answers > info.max_answers:
                raise ValueError(f"part {p} takes at most {info.max_answers} answers, got {part.n_answers}")
            cut = int(self.config.answer_cap_seconds[p] * SAMPLE_RATE)
            for i, wav in enumerate(part.waveforms):
                if wav is None or np.ndim(wav) != 1 or np.size(wav) == 0:
                    raise ValueError(f"part {p} answer {i + 1}: the session grader needs each answer's recording "
                                     f"(a non-empty 1-D waveform), got {None if wav is None else np.shape(wav)}")
                clips.append(np.asarray(wav, dtype=np.float32)[:cut])
        use_prior = prior if self.config.prior == "speech" else None
        prompt = build_session_prompt({p: part.questions for p, part in by_part.items()}, use_prior)
        return prompt, clips

    def encode(self, sessions: Sequence[Sequence[PartInput]], priors: Sequence[Mapping[int, float] | None]):
        """Model inputs for a batch of sessions (phi4.encode: left padded, audio unpadded per length group)."""
        if len(sessions) != len(priors):
            raise ValueError(f"{len(sessions)} sessions but {len(priors)} priors")
        prompts, audios = zip(*(self.prompt_and_clips(s, p) for s, p in zip(sessions, priors)))
        batch = phi4.encode(self.tokenizer, self.feature_extractor, list(prompts), list(audios))
        lengths = batch["attention_mask"].sum(-1).tolist()
        for i, n in enumerate(lengths):
            if n > self.config.max_tokens:
                who = next((p.submission_id for p in sessions[i] if p.submission_id), None) or f"session {i + 1}"
                raise ValueError(f"{who}: {n} tokens, more than the session grader's limit of {self.config.max_tokens} "
                                 f"(answers are cut to {self.config.answer_cap_seconds} s per part)")
        return batch

    # ----- the forward ----------------------------------------------------------------------------

    def outputs(self, batch, priors: Sequence[Mapping[int, float] | None]) -> torch.Tensor:
        """(B, 5) head outputs in TARGETS order, differentiable (training) or under inference_mode.

        priors: what each row's prompt was given (None: not available), for the head's calibration part.
        """
        inner = self.model.get_base_model().model  # Phi4MultimodalModel: the LoRA layers sit inside it
        with long_rope(inner, self.config.long_rope):
            hidden = inner(**batch, use_cache=False).last_hidden_state  # (B, L, H), after the final norm
        shown = [p if self.config.prior == "speech" else None for p in priors]
        # left padding: every row's prompt ends at the last position
        return self.head(hidden[:, -1], prior_features(shown, hidden.device))

    @torch.inference_mode()
    def predict(self, sessions: Sequence[Sequence[PartInput]], priors: Sequence[Mapping[int, float] | None]
                ) -> np.ndarray:
        """(B, 5) raw outputs (float64) of a batch of sessions in one forward."""
        self.model.eval()
        return self.outputs(self.encode(sessions, priors).to(self.device), priors).double().cpu().numpy()

    def score_sessions(self, sessions: Sequence[Sequence[PartInput]],
                       priors: Sequence[Mapping[int, float] | None]) -> list[SessionOutput]:
        """Several learners in one forward: per learner a PartScore per part (input order) and its own overall."""
        raws = self.predict(sessions, [dict(p or {}) for p in priors])  # (B, 5)
        return [self._output(parts, raw, dict(prior or {})) for parts, raw, prior in zip(sessions, raws, priors)]

    def score_session(self, parts: Sequence[PartInput], prior: Mapping[int, float] | None = None) -> SessionOutput:
        """One learner's parts (and the acoustic prior: part -> the speech grader's score) -> its five outputs."""
        return self.score_sessions([parts], [prior])[0]

    def _output(self, parts: Sequence[PartInput], raw: np.ndarray, prior: dict[int, float]) -> SessionOutput:
        state = self.state
        scores = tuple(PartScore(grader=self.name, part=p.part, score=clip_score(float(raw[TARGETS.index(p.part)])),
                                 state=state, variant=VARIANT) for p in parts)
        overall = clip_score(float(raw[TARGETS.index(OVERALL)]))
        covered = tuple(p for p in PARTS if any(x.part == p for x in parts))
        used = prior if self.config.prior == "speech" else {}
        return SessionOutput(scores, OverallScore(SYSTEM, overall, state, cefr_label(overall), covered),
                             tuple(float(x) for x in raw), used)

    def score(self, parts: Sequence[PartInput]) -> list[PartScore]:
        """The Grader protocol: `parts` are one learner's (one session), scored without an acoustic prior."""
        return list(self.score_session(parts).parts)

    # ----- saving ---------------------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """The adapter (PEFT files), the head and the config: what `load_session_grader(adapter=folder)` reads."""
        from safetensors.torch import save_file

        folder = phi4.save_adapter(self.model, ADAPTER, folder)
        save_file({k: v.detach().float().cpu().contiguous() for k, v in self.head.state_dict().items()},
                  str(folder / HEAD_FILE))
        self.config.write(folder)
        return folder


# ----- building and loading ------------------------------------------------------------------------


def build_head(hidden: int, seed: int = 0, device: str | torch.device = "cpu", prior_head: bool = True) -> SessionHead:
    """A random head (readout weights N(0, 1), bias 3.5, no calibration): an untrained grader's outputs vary,
    as random models' do, so nothing can pass for a constant grade. Training re-initialises it (`init_head`)."""
    g = torch.Generator().manual_seed(seed)
    head = SessionHead(hidden, prior_head)
    with torch.no_grad():
        head.readout.weight.copy_(torch.randn(head.readout.weight.shape, generator=g))
        head.readout.bias.fill_(3.5)
        if head.calibration is not None:
            head.calibration.weight.zero_()
    return head.to(device)


def init_head(head: SessionHead, means: Sequence[float]) -> None:
    """Training's start (module docstring): readout 0 with each output's bias at its training mean; the
    calibration passes each part's prior through (the overall: their mean) and falls back to the mean."""
    n = len(PARTS)
    with torch.no_grad():
        head.readout.weight.zero_()
        head.readout.bias.copy_(torch.as_tensor(list(means), dtype=head.readout.bias.dtype))
        if head.calibration is not None:
            w = torch.zeros_like(head.calibration.weight)  # (5, 8)
            for j in range(n):
                w[j, j], w[j, n + j] = 1.0, -means[j]  # known: mean + prior - mean = prior; unknown: mean
                w[n, j], w[n, n + j] = 1.0 / n, -means[n] / n  # overall: the mean of the known priors' share
            head.calibration.weight.copy_(w)


def load_session_grader(
    model_id: str | Path = DEFAULT_MODEL,
    revision: str | None = DEFAULT_REVISION,
    adapter: str | Path | None = None,
    device: str | torch.device | None = None,
    tiny: bool = False,
    seed: int = 0,
    transcriber=None,
) -> SessionGrader:
    """Load the session grader.

    Args:
        model_id, revision, device, tiny, seed: the base model, as `mllm.load_mllm_grader` loads it.
        adapter: a folder from `train session` (adapter + head + session_config.json), or a hub repo id
            with the same files. None: a new adapter (a copy of the speech LoRA) and a random head,
            labelled untrained.
    """
    from .mllm import _local_folder, load_mllm_grader

    base = load_mllm_grader(model_id=model_id, revision=revision, device=device, tiny=tiny, seed=seed,
                            transcriber=transcriber)
    hidden = base.model.get_base_model().config.hidden_size
    if adapter is None:
        phi4.copy_adapter(base.model, SPEECH_ADAPTER, ADAPTER)
        return SessionGrader(base, build_head(hidden, seed, base.device), SessionConfig(), trained=False,
                             source=f"{base.source} + new session adapter (untrained)")
    folder = _local_folder(adapter, "session adapter")
    config = SessionConfig.read(folder)
    phi4.attach_adapter(base.model, ADAPTER, folder)
    from safetensors.torch import load_file

    head = SessionHead(hidden, config.prior_head)
    try:
        head.load_state_dict(load_file(str(folder / HEAD_FILE)))
    except (OSError, RuntimeError) as e:
        raise ValueError(f"{folder / HEAD_FILE}: not a session head for hidden size {hidden} ({e})") from e
    return SessionGrader(base, head.to(base.device), config, trained=True,
                         source=f"{base.source} + session adapter {adapter}")


__all__ = ["ADAPTER", "CONFIG_FILE", "HEAD_FILE", "SYSTEM", "SessionConfig", "SessionGrader", "SessionHead",
           "SessionOutput", "build_head", "init_head", "load_session_grader", "long_rope", "prior_features"]
