"""The speech grader's model: wav2vec 2.0 -> attention pooling -> CEFR prototypes -> score, one per part.

Follows the first author group's prototype grader where the paper is silent: repository
teinhonglo/multi-aspect-grader at commit 9f4eb2cba4391de9730b27dea752ad6981791f4b, its S&I
configuration conf/train_slate_prototype_reg_wav2vec2_sb_npred_llr_ep30.json and the model it names
("prototype_reg" -> models/prototypes.py AutoGraderPrototypeRegModel). Frame features h (T, H) ->
attention pooling (Linear(H, 1) then GELU, masked softmax; modules/net_models.py:33-54) -> utterance
vector x (H,) -> scaled cosine w*cos + b (w=10, b=-5; prototypes.py:353-355) to one prototype per level,
softmax (use_softmax defaults to True, prototypes.py:350, 618-620) -> s (K,) -> [x; s] -> LayerNorm ->
Dropout (final_dropout = 0.0, config line 33) -> Linear -> score ("norm_head", prototypes.py:364).

Where we differ, and why:
- prototypes only for the levels seen in training (K <= 8); the reference always makes 8 and leaves an
  unseen level's prototype at eps / eps = 1.0 per dimension (prototypes.py:407, 436-444), a vector no
  answer resembles; with K = 8 the head would also see a meaningless similarity.
- wav2vec2 gets no attention mask (DESIGN.md: wav2vec2-base was trained without one); the reference
  passes it (prototypes.py:580-586). Padded frames are kept out of the pooling in both.
- Parts 1 and 5 have several answers and one mark: each answer is encoded alone and one softmax pools
  over all frames of all the part's answers (the reference reads one recording per item).
- model selection: best dev macro-F1 (the paper); the reference keeps the best dev RMSE
  (config line 15, "metric_for_best_model": "rmse"). The paper wins.

Loading the per-part graders and choosing the encoder's precision live in `loading.py`; the Grader
protocol over them in `scoring.py`.

Legend: B parts in a batch, T frames (one per 20 ms), H encoder width, K prototypes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import Wav2Vec2Config, Wav2Vec2Model

from ...cefr import GRID, clip_score, round_to_grid
from ...parts import part_info
from ..onnx_encoder import OnnxEncoder
from ..precision import BF16, FP32

DEFAULT_ENCODER = "facebook/wav2vec2-base"
CONFIG_FILE = "config.json"  # SpeechGraderConfig + the encoder's config: a folder rebuilds offline
WEIGHTS_FILE = "model.safetensors"  # the whole model: the encoder is fine-tuned too
MIN_SAMPLES = 400  # wav2vec2's CNN needs 25 ms at 16 kHz to emit its first frame

Waveform = np.ndarray | torch.Tensor  # (samples,) float at 16 kHz
PartAudio = Waveform | Sequence[Waveform]  # one part: one answer, or all of its answers


@dataclass(frozen=True)
class SpeechGraderConfig:
    """Everything needed to rebuild a speech grader; saved beside its weights."""

    part: int  # one model per part (the paper): the tasks differ too much to share a head
    encoder: str = DEFAULT_ENCODER  # hub id or local path of the pretrained wav2vec2 (provenance once saved)
    encoder_config: dict[str, Any] | None = None  # Wav2Vec2Config.to_dict(): set -> build without the hub
    prototype_levels: tuple[float, ...] = GRID  # grid scores seen in training: one prototype each (K <= 8)
    dropout: float = 0.0  # before the head's Linear: 0.0 as the reference's final_dropout (S&I config line 33)
    freeze_feature_encoder: bool = True  # usual for wav2vec2 fine-tuning: low-level features transfer; saves memory
    similarity_scale: float = 10.0  # init of the learnable cosine scale: sharp enough for the softmax
    similarity_bias: float = -5.0  # init of the learnable bias (reference); it cancels in the softmax
    layer_weighted_sum: bool = False  # learn a softmax mix of all hidden states; off = last layer only
    attention_gelu: bool = True  # GELU after the pooling's Linear(H, 1), as the reference's AttentionPooling

    def __post_init__(self) -> None:
        part_info(self.part)
        levels = tuple(float(v) for v in self.prototype_levels)
        bad = [v for v in levels if v not in GRID]
        if not levels or bad or len(set(levels)) != len(levels):
            raise ValueError(f"prototype_levels {levels} must be distinct values from the grid {GRID}")
        object.__setattr__(self, "prototype_levels", tuple(sorted(levels)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeechGraderConfig":
        names = {f.name for f in fields(cls)}
        if unknown := set(data) - names:
            raise ValueError(f"unknown SpeechGraderConfig fields {sorted(unknown)}; expected {sorted(names)}")
        data = {"attention_gelu": False, "dropout": 0.1, **data}  # checkpoints saved before these fields
        return cls(**data)


@dataclass(frozen=True)
class SpeechOutput:
    """The grader's answer for one part, with what explains it."""

    score: float  # clipped to the scale 2.0..5.5: what PartScore.score carries
    raw_score: float  # the head's output before clipping (a trained head may extrapolate a little)
    similarities: np.ndarray  # (K,) softmax over prototypes
    prototype_levels: tuple[float, ...]  # (K,) the level of each prototype
    pooling_weights: tuple[np.ndarray, ...]  # per answer (T_i,), one weight per 20 ms; all sum to 1
    embedding: np.ndarray  # (H,) pooled vector x: what the prototypes are compared with


@dataclass
class SpeechBatch:
    """forward()'s tensors for a batch of parts (kept on device, with gradients when training)."""

    scores: torch.Tensor  # (B,)
    similarities: torch.Tensor  # (B, K)
    embeddings: torch.Tensor  # (B, H)
    pooling_weights: torch.Tensor  # (B, T) over the concatenated frames of each part; 0 on padding
    answer_frames: list[list[int]]  # per part, frames per answer: splits pooling_weights back
    loss: torch.Tensor | None = None  # MSE against labels, when given


class SpeechGrader(nn.Module):
    """One part's grader. Build with build_speech_grader / from_pretrained, train with forward(..., labels)."""

    def __init__(self, config: SpeechGraderConfig, encoder: Wav2Vec2Model) -> None:
        super().__init__()
        self.config = replace(config, encoder_config=encoder.config.to_dict())
        self.encoder = encoder
        self.precision = FP32  # BF16: inference under bf16 autocast; ONNX: through self.onnx (set_speech_precision)
        self.onnx: OnnxEncoder | None = None  # the encoder's ONNX Runtime session, used at inference only
        if config.freeze_feature_encoder:
            encoder.freeze_feature_encoder()
        hidden, k = encoder.config.hidden_size, len(config.prototype_levels)
        n_states = encoder.config.num_hidden_layers + 1  # embeddings output + each layer
        self.layer_logits = nn.Parameter(torch.zeros(n_states)) if config.layer_weighted_sum else None
        self.attention = nn.Linear(hidden, 1)  # one relevance logit per frame
        self.prototypes = nn.Parameter(torch.randn(k, hidden))  # (K, H); init_prototypes sets real ones
        self.sim_scale = nn.Parameter(torch.tensor(config.similarity_scale))
        self.sim_bias = nn.Parameter(torch.tensor(config.similarity_bias))
        self.head = nn.Sequential(nn.LayerNorm(hidden + k), nn.Dropout(config.dropout), nn.Linear(hidden + k, 1))
        # Start at the scale's centre so early training fits the spread, not a 3.75 offset.
        nn.init.constant_(self.head[-1].bias, float(np.mean(GRID)))

    @property
    def device(self) -> torch.device:
        return self.prototypes.device

    @property
    def prototype_levels(self) -> tuple[float, ...]:
        return self.config.prototype_levels

    # -- encoder -------------------------------------------------------------------------------

    def encode(self, waveforms: Sequence[Waveform]) -> list[torch.Tensor]:
        """Frame features of each answer: a list of (T_i, H), exactly as if encoded one at a time.

        Batching must not change scores. Layer-norm encoders (feat_extract_norm == "layer") honour an
        attention mask, so all answers go in one padded batch. Group-norm encoders (wav2vec2-base) were
        trained without a mask and normalise each CNN channel over the whole clip, and the positional
        conv sees the padding: padding an answer changes its features (checked: by ~1 on a tiny model).
        So they run only equal-length answers together, with no mask and no padding.
        """
        wavs = [_normalise(w, self.device, f"answer {i + 1}") for i, w in enumerate(waveforms)]  # each (samples,)
        masked = self.encoder.config.feat_extract_norm == "layer"
        if masked:
            groups = [list(range(len(wavs)))]
        else:
            by_length: dict[int, list[int]] = {}
            for i, w in enumerate(wavs):
                by_length.setdefault(len(w), []).append(i)
            groups = list(by_length.values())
        frames: list[torch.Tensor] = [torch.empty(0)] * len(wavs)
        for group in groups:
            batch = nn.utils.rnn.pad_sequence([wavs[i] for i in group], batch_first=True)  # (b, samples)
            lengths = torch.tensor([len(wavs[i]) for i in group], device=self.device)
            mask = (torch.arange(batch.shape[1], device=self.device) < lengths[:, None]).long() if masked else None
            hidden = self._hidden_states(batch, mask)  # (b, T, H)
            n_frames = self.encoder._get_feat_extract_output_lengths(lengths).tolist()
            for row, i in enumerate(group):
                frames[i] = hidden[row, : int(n_frames[row])]
        return frames

    def _hidden_states(self, batch: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """(b, samples) -> (b, T, H) float32: the last layer, or the learned mix of all layers.

        At inference the encoder may run elsewhere: in bf16 precision its matrix products run in bfloat16
        under autocast; in ONNX precision the whole encoder runs in ONNX Runtime (fp32). The layer mix,
        pooling, prototypes and head always stay torch float32. Training always runs torch fp32 (autograd).
        """
        if self.onnx is not None and not self.training:
            states = self.onnx(batch, mask).to(self.device)  # (b, T, H), or (L+1, b, T, H) when mixing layers
        else:
            bf16 = self.precision == BF16 and not self.training
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
                out = self.encoder(batch, attention_mask=mask, output_hidden_states=self.layer_logits is not None)
            states = out.last_hidden_state if self.layer_logits is None else torch.stack(out.hidden_states)
        if self.layer_logits is None:
            return states.float()
        weights = self.layer_logits.softmax(-1)  # (L+1,)
        return torch.einsum("l,lbth->bth", weights, states.float())

    def train(self, mode: bool = True) -> "SpeechGrader":
        """As nn.Module.train; training also leaves ONNX Runtime for good: the weights are about to change
        and the exported graph would no longer match them."""
        if mode and self.onnx is not None:
            self.onnx, self.precision = None, FP32
        return super().train(mode)

    # -- head ----------------------------------------------------------------------------------

    def forward(self, parts: Sequence[PartAudio], labels: torch.Tensor | None = None) -> SpeechBatch:
        """Score a batch of parts. parts: B items, each one waveform or a sequence of a part's answers.

        labels: (B,) human marks; when given, SpeechBatch.loss is their MSE.
        """
        answers = [_as_answers(p, i) for i, p in enumerate(parts)]
        frames = self.encode([w for a in answers for w in a])  # answers of all parts, flattened
        per_part, answer_frames, start = [], [], 0
        for a in answers:
            mine = frames[start : start + len(a)]
            start += len(a)
            per_part.append(torch.cat(mine))  # (sum T_i, H): all the part's frames in one sequence
            answer_frames.append([len(f) for f in mine])
        hidden = nn.utils.rnn.pad_sequence(per_part, batch_first=True)  # (B, T, H)
        lengths = torch.tensor([len(h) for h in per_part], device=hidden.device)
        frame_mask = torch.arange(hidden.shape[1], device=hidden.device) < lengths[:, None]  # (B, T)

        logits = self.attention(hidden).squeeze(-1)  # (B, T)
        if self.config.attention_gelu:
            logits = F.gelu(logits)
        logits = logits.masked_fill(~frame_mask, float("-inf"))
        weights = logits.softmax(-1)  # exactly 0 on padded frames
        x = torch.einsum("bt,bth->bh", weights, hidden)  # (B, H)
        s = self.similarities(x)  # (B, K)
        scores = self.head(torch.cat([x, s], dim=-1)).squeeze(-1)  # (B,)
        loss = None
        if labels is not None:
            loss = F.mse_loss(scores, torch.as_tensor(labels, dtype=scores.dtype, device=scores.device))
        return SpeechBatch(scores, s, x, weights, answer_frames, loss)

    def similarities(self, x: torch.Tensor, prototypes: torch.Tensor | None = None) -> torch.Tensor:
        """(B, H) -> (B, K): softmax of the scaled cosine to each prototype.

        The reference does the same in its S&I configuration: `use_softmax` is not set there and
        defaults to True (models/prototypes.py:350), so the head reads softmax(w * cos + b)
        (prototypes.py:618-620). A shared bias cancels under the softmax; it is kept, as there, so a
        checkpoint maps one to one.
        prototypes: (K, H) to compare with instead of the grader's own (teacher calibration tries candidates).
        """
        prototypes = self.prototypes if prototypes is None else prototypes
        cosine = F.normalize(x, dim=-1) @ F.normalize(prototypes, dim=-1).T  # (B, K)
        return (self.sim_scale.clamp(min=1e-3) * cosine + self.sim_bias).softmax(-1)

    # -- inference -----------------------------------------------------------------------------

    def predict(self, parts: Sequence[PartAudio], batch_size: int = 8) -> list[SpeechOutput]:
        """Score parts for people: one SpeechOutput per part, in order (no gradients, eval mode)."""
        outputs = []
        with self._evaluating():
            for lo in range(0, len(parts), batch_size):
                out = self(parts[lo : lo + batch_size])
                for b, counts in enumerate(out.answer_frames):
                    raw = float(out.scores[b])
                    w = out.pooling_weights[b, : sum(counts)].float().cpu().numpy()
                    outputs.append(SpeechOutput(
                        score=clip_score(raw),
                        raw_score=raw,
                        similarities=out.similarities[b].float().cpu().numpy(),
                        prototype_levels=self.prototype_levels,
                        pooling_weights=tuple(np.split(w, np.cumsum(counts)[:-1])),
                        embedding=out.embeddings[b].float().cpu().numpy(),
                    ))
        return outputs

    def embed(self, parts: Sequence[PartAudio], batch_size: int = 8) -> np.ndarray:
        """Pooled vectors x of parts: (N, H). For teacher calibration."""
        return np.stack([o.embedding for o in self.predict(parts, batch_size=batch_size)])

    def mean_embed(self, parts: Sequence[PartAudio]) -> np.ndarray:
        """Mean of the encoder's frame features over all a part's frames: (N, H).

        What the reference initialises the prototypes from (models/prototypes.py:417-421: the mean of
        the pretrained encoder's last hidden states), before any head or pooling is trained.
        """
        out = []
        with self._evaluating():
            for p in parts:
                frames = torch.cat(self.encode(_as_answers(p, 0)))  # (sum T_i, H)
                out.append(frames.mean(0).float().cpu().numpy())
        return np.stack(out)

    def score_embeddings(self, embeddings: np.ndarray | torch.Tensor,
                         prototypes: np.ndarray | torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Score pooled vectors (from embed()) without the encoder, as predict() would.

        Teacher calibration re-scores cached embeddings under candidate prototypes in milliseconds.
        Args:
            embeddings: (N, H) pooled vectors x.
            prototypes: (K, H) to use instead of the grader's current ones.
        Returns:
            (raw scores (N,) before clipping, similarities (N, K)) as float32 numpy arrays.
        """
        with self._evaluating():
            x = torch.as_tensor(embeddings, dtype=torch.float32, device=self.device)  # (N, H)
            p = None if prototypes is None else torch.as_tensor(prototypes, dtype=torch.float32, device=self.device)
            bad_p = p is not None and p.shape != self.prototypes.shape
            if x.ndim != 2 or x.shape[1] != self.prototypes.shape[1] or bad_p:
                raise ValueError(f"embeddings {tuple(x.shape)} / prototypes {None if p is None else tuple(p.shape)} "
                                 f"must be (N, {self.prototypes.shape[1]}) / {tuple(self.prototypes.shape)}")
            s = self.similarities(x, p)  # (N, K)
            scores = self.head(torch.cat([x, s], dim=-1)).squeeze(-1)  # (N,)
            return scores.float().cpu().numpy(), s.float().cpu().numpy()

    @property
    def original_prototypes(self) -> torch.Tensor:
        """(K, H) the prototypes as loaded (trained or initial), before any set_prototypes()."""
        saved = getattr(self, "_original_prototypes", None)
        return (saved if saved is not None else self.prototypes).detach().clone()

    @torch.no_grad()
    def set_prototypes(self, levels: Sequence[float], vectors: np.ndarray | torch.Tensor) -> None:
        """Move the prototypes of `levels` to `vectors` (L, H); other levels keep theirs (teacher calibration).

        The loaded prototypes are remembered once, so reset_prototypes() and original_prototypes undo it.
        """
        levels = [float(v) for v in levels]
        vectors = torch.as_tensor(vectors, dtype=torch.float32)  # (L, H)
        unknown = [v for v in levels if v not in self.prototype_levels]
        if unknown:
            raise ValueError(f"part {self.config.part}: no prototype for level(s) {unknown}; "
                             f"this grader has prototypes for {self.prototype_levels}")
        if vectors.shape != (len(levels), self.prototypes.shape[1]):
            raise ValueError(f"vectors {tuple(vectors.shape)} do not match {len(levels)} levels x "
                             f"{self.prototypes.shape[1]} (the embedding width)")
        if getattr(self, "_original_prototypes", None) is None:
            self._original_prototypes = self.prototypes.detach().clone()
        index = [self.prototype_levels.index(v) for v in levels]
        self.prototypes[index] = vectors.to(self.prototypes)

    @torch.no_grad()
    def reset_prototypes(self) -> None:
        """Undo set_prototypes(): back to the prototypes as loaded."""
        saved = getattr(self, "_original_prototypes", None)
        if saved is not None:
            self.prototypes.copy_(saved.to(self.prototypes))
            self._original_prototypes = None

    @contextmanager
    def _evaluating(self):
        was_training = self.training
        self.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            self.train(was_training)

    @torch.no_grad()
    def init_prototypes(self, embeddings: np.ndarray | torch.Tensor, scores: Sequence[float],
                        noise: float = 0.05, seed: int | None = 0) -> None:
        """Set each prototype to the mean embedding of its level, plus a little Gaussian noise.

        Args:
            embeddings: (N, H) pooled vectors of training parts, e.g. from embed().
            scores: (N,) their marks; rounded to the grid to find each one's level.
            noise: noise variance as a fraction of the prototypes' variance (the reference uses 5%);
                0 puts each prototype exactly at its level's mean.
            seed: seeds the noise, so a training run is repeatable.
        """
        emb = torch.as_tensor(np.asarray(embeddings), dtype=torch.float32)  # (N, H)
        levels = np.array([round_to_grid(float(s)) for s in scores])  # (N,)
        if emb.ndim != 2 or len(emb) != len(levels) or emb.shape[1] != self.prototypes.shape[1]:
            raise ValueError(f"embeddings {tuple(emb.shape)} and {len(levels)} scores do not match "
                             f"(N, {self.prototypes.shape[1]}) and (N,)")
        missing = [v for v in self.prototype_levels if not (levels == v).any()]
        if missing:
            raise ValueError(f"no training example at levels {missing}; set prototype_levels to the levels "
                             f"seen: {tuple(sorted(set(levels.tolist())))}")
        means = torch.stack([emb[torch.from_numpy(levels == v)].mean(0) for v in self.prototype_levels])
        if noise > 0:
            generator = torch.Generator().manual_seed(seed) if seed is not None else None
            std = math.sqrt(noise * means.var().item())
            means = means + std * torch.randn(means.shape, generator=generator)
        self.prototypes.copy_(means.to(self.prototypes))

    # -- checkpoints ---------------------------------------------------------------------------

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write config.json (with the encoder's config) and model.safetensors into `folder`."""
        from safetensors.torch import save_model

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        save_model(self, str(folder / WEIGHTS_FILE))
        return folder

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, device: str | torch.device | None = None) -> "SpeechGrader":
        """Load a save_pretrained folder, or a hub repo id holding one; in eval mode on `device`."""
        from safetensors.torch import load_model

        folder = resolve_folder(name_or_path)
        missing = [f for f in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{folder} is not a speech-grader checkpoint: missing {', '.join(missing)} "
                                    f"(SpeechGrader.save_pretrained writes {CONFIG_FILE} and {WEIGHTS_FILE})")
        try:
            data = json.loads((folder / CONFIG_FILE).read_text())
            config = SpeechGraderConfig.from_dict(data)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{folder / CONFIG_FILE} is not a valid speech-grader config: {e}") from e
        if config.encoder_config is None:
            raise ValueError(f"{folder / CONFIG_FILE} has no encoder_config; it cannot be rebuilt offline")
        model = build_speech_grader(config)
        try:
            load_model(model, str(folder / WEIGHTS_FILE))
        except RuntimeError as e:
            raise ValueError(f"{folder / WEIGHTS_FILE} does not match {folder / CONFIG_FILE}: {e}") from e
        return model.to(device or default_device()).eval()


def build_speech_grader(config: SpeechGraderConfig) -> SpeechGrader:
    """A grader from its config: random encoder when encoder_config is set, else pretrained from the hub/path."""
    if config.encoder_config is not None:
        encoder = Wav2Vec2Model(Wav2Vec2Config.from_dict(config.encoder_config))
    else:
        encoder = Wav2Vec2Model.from_pretrained(config.encoder)
    return SpeechGrader(config, encoder)


def resolve_folder(name_or_path: str | Path) -> Path:
    """A local folder as is; otherwise a hub repo id, downloaded (cached) with snapshot_download."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.exists():
        raise FileNotFoundError(f"speech-grader checkpoint {str(path)!r} is a file; expected a folder")
    if path.is_absolute() or str(name_or_path).startswith(".") or str(name_or_path).count("/") != 1:
        raise FileNotFoundError(f"speech-grader checkpoint folder {str(name_or_path)!r} does not exist")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=str(name_or_path)))
    except Exception as e:  # the hub raises many types (offline, 404, auth); say what was tried
        raise FileNotFoundError(f"{str(name_or_path)!r} is neither a local folder nor a reachable hub repo: {e}") from e


def check_waveform(wav: Waveform | None, where: str) -> None:
    """Fail with where and what when an answer's audio cannot be encoded."""
    if wav is None:
        raise ValueError(f"{where}: no audio; the speech grader needs every answer's audio")
    shape = tuple(wav.shape)
    if len(shape) != 1 or shape[0] < MIN_SAMPLES:
        raise ValueError(f"{where}: audio of shape {shape}; expected mono (samples,) with at least "
                         f"{MIN_SAMPLES} samples (25 ms at 16 kHz)")


def _normalise(wav: Waveform | None, device: torch.device, where: str) -> torch.Tensor:
    """(samples,) -> zero mean, unit variance, as Wav2Vec2FeatureExtractor(do_normalize=True) does."""
    check_waveform(wav, where)
    x = torch.tensor(np.asarray(wav, dtype=np.float32)) if isinstance(wav, np.ndarray) else wav.float()
    x = x.to(device)
    return (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)


def _as_answers(part: PartAudio, index: int) -> list[Waveform]:
    """One waveform (a 1-D array) or a sequence of them -> a list of answers."""
    if isinstance(part, (np.ndarray, torch.Tensor)) and part.ndim == 1:
        answers = [part]
    else:
        answers = list(part)
    if not answers:
        raise ValueError(f"batch item {index + 1} has no answers")
    for j, w in enumerate(answers):
        check_waveform(w, f"batch item {index + 1}, answer {j + 1}")
    return answers


def default_device() -> str:
    """Where a grader loads when no device is named: the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


__all__ = ["SpeechGraderConfig", "SpeechOutput", "SpeechBatch", "SpeechGrader", "build_speech_grader",
           "DEFAULT_ENCODER", "Waveform", "PartAudio"]
