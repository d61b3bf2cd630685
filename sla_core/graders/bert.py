"""The official S&I 2025 baseline grader: BERT over a part's ASR words, one model per part.

Architecture (the baseline's): bert-base-uncased -> four self-attention pooling heads (score_t =
tanh(h_t . W_k h_t), masked softmax over tokens, weighted sum) -> concat (4H) -> 600 -> 20 -> 1 with
ReLUs. The raw score is then calibrated per part on dev, y = m * x + b, and the overall (mean of the
calibrated parts) is calibrated again. It reads text only, so it needs transcripts (corpus CTM or ASR).

Artifact folder: `bert_grader.json` (config, parts, calibration), `encoder_config.json`, `tokenizer/`,
`part{p}.safetensors` (encoder + heads of part p). Rebuilt from the config: no hub access to load.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, PreTrainedTokenizerFast

from ..assessment import TRAINED, UNTRAINED, GraderInfo, PartScore
from ..cefr import clip_score
from ..data import PartInput
from ..parts import PARTS, part_info

DEFAULT_ENCODER = "bert-base-uncased"
TINY = "tiny"  # the debug model by name: tiny random BERT + WordPiece tokenizer built in code
ARTIFACT_FILE = "bert_grader.json"


@dataclass(frozen=True)
class BertGraderConfig:
    encoder: str = field(default=DEFAULT_ENCODER, metadata={"help": "BERT hub id or local path, or 'tiny' (random, offline)"})
    n_heads: int = field(default=4, metadata={"help": "attention pooling heads (the baseline uses 4)"})
    h1_dim: int = field(default=600, metadata={"help": "first MLP layer width (baseline: 600)"})
    h2_dim: int = field(default=20, metadata={"help": "second MLP layer width (baseline: 20)"})
    max_length: int = field(default=512, metadata={"help": "tokens per part; BERT's position limit is 512"})


class AttentionPoolHead(nn.Module):
    """One baseline pooling head: bilinear self-score per token, masked softmax, weighted sum."""

    def __init__(self, hidden: int):
        super().__init__()
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # h: (B, T, H); mask: (B, T) 1 for real tokens -> (B, H)
        score = torch.tanh((h * self.proj(h)).sum(-1))  # (B, T)
        score = score.masked_fill(mask == 0, float("-inf"))
        return torch.einsum("bt,bth->bh", score.softmax(-1), h)


class BertPartModel(nn.Module):
    """Encoder + pooling heads + MLP for one part; forward gives the raw (uncalibrated) score."""

    def __init__(self, encoder: nn.Module, config: BertGraderConfig):
        super().__init__()
        hidden = encoder.config.hidden_size
        self.encoder = encoder
        self.heads = nn.ModuleList(AttentionPoolHead(hidden) for _ in range(config.n_heads))
        self.mlp = nn.Sequential(
            nn.Linear(hidden * config.n_heads, config.h1_dim), nn.ReLU(),
            nn.Linear(config.h1_dim, config.h2_dim), nn.ReLU(),
            nn.Linear(config.h2_dim, 1),
        )

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # input_ids, attention_mask: (B, T) -> (B,)
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        pooled = torch.cat([head(h, attention_mask) for head in self.heads], dim=-1)  # (B, n_heads * H)
        return self.mlp(pooled).squeeze(-1)


def fit_linear(raw: Sequence[float], ref: Sequence[float]) -> tuple[float, float]:
    """Least-squares (m, b) with ref ~ m * raw + b: the baseline's calibration on dev.

    With constant `raw` (an untrained model) the slope is undefined; then m = 0, b = mean(ref).
    """
    x, y = np.asarray(raw, dtype=float), np.asarray(ref, dtype=float)
    if len(x) == 0 or len(x) != len(y):
        raise ValueError(f"calibration needs equally long, non-empty arrays, got {len(x)} and {len(y)}")
    if len(x) < 2 or np.ptp(x) < 1e-12:
        return 0.0, float(y.mean())
    m, b = np.polyfit(x, y, 1)
    return float(m), float(b)


# -- the baseline's text normalisation (applied to CTM words and our ASR alike, before tokenising) ------

# Hesitations and their spellings (er, erm, um, uh, mm, hmm, ah, eh; "errm", "umm", "uhm", "hmmm", "ahh", "ehm").
_HESITATION = re.compile(r"^(?:e+r+m*|u+m+|u+h+m*|m{2,}|h+m+|a+h+|e+h+m*)$")
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}
_EDGE_PUNCTUATION = string.punctuation + "‘’“”«»…–—¿¡"


def number_words(n: int) -> str:
    """A non-negative integer in British English words: 1990 -> "one thousand nine hundred and ninety"."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else f" {_ONES[n % 10]}")
    if n < 1000:
        rest = n % 100
        return f"{_ONES[n // 100]} hundred" + ("" if rest == 0 else f" and {number_words(rest)}")
    for size, name in _SCALES:
        if n >= size:
            head, rest = divmod(n, size)
            tail = "" if rest == 0 else (" and " if rest < 100 else " ") + number_words(rest)
            return f"{number_words(head)} {name}{tail}"
    raise AssertionError(n)  # unreachable: every n >= 1000 meets a scale


def ordinal_words(n: int) -> str:
    """21 -> "twenty first", 12 -> "twelfth"."""
    words = number_words(n).split()
    last = words[-1]
    words[-1] = _ORDINAL_WORDS.get(last) or (last[:-1] + "ieth" if last.endswith("y") else last + "th")
    return " ".join(words)


def _spell(token: str) -> str:
    digits = token.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", token) else token
    if digits.isdigit() and len(digits) <= 12:
        return number_words(int(digits))
    if m := re.fullmatch(r"(\d{1,12})(st|nd|rd|th)", token):
        return ordinal_words(int(m.group(1)))
    if m := re.fullmatch(r"(\d{1,12})\.(\d+)", token):
        return f"{number_words(int(m.group(1)))} point " + " ".join(_ONES[int(d)] for d in m.group(2))
    return token


def normalise_text(text: str) -> str:
    """The S&I baseline's normalisation of ASR words before its text grader.

    Lower-case; accents transliterated to ASCII (café -> cafe); punctuation stripped from word edges
    (inner apostrophes and hyphens stay: "don't", "well-known"); hesitations dropped (er, erm, um, uh,
    mm, hmm, ah, eh and their spellings); numbers and ordinals spelled out ("3rd" -> "third").
    """
    import unicodedata

    text = text.replace("’", "'").replace("‘", "'")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = []
    for raw in ascii_text.lower().split():
        token = raw.strip(_EDGE_PUNCTUATION)
        if not token or _HESITATION.match(token):
            continue
        words.append(_spell(token))
    return " ".join(words)


def part_text(transcripts: Sequence[str | None], part: int) -> str:
    """A part's answers as one normalised text, in answer order (the baseline reads the part as one sequence)."""
    if any(t is None for t in transcripts):
        missing = [i + 1 for i, t in enumerate(transcripts) if t is None]
        raise ValueError(f"part {part}: the BERT grader reads transcripts, but answer(s) {missing} have none; "
                         "give the corpus CTM or run ASR first")
    return " ".join(w for w in (normalise_text(t) for t in transcripts) if w)


class BertGrader:
    """Per-part BERT graders behind the Grader protocol (name "bert")."""

    name = "bert"

    def __init__(self, models: Mapping[int, BertPartModel], tokenizer, config: BertGraderConfig,
                 calibration: Mapping[int, tuple[float, float]] | None = None,
                 overall_calibration: tuple[float, float] = (1.0, 0.0), source: str = "", state: str = UNTRAINED):
        self.models = {int(p): m for p, m in models.items()}
        self.tokenizer = tokenizer
        self.config = config
        self.calibration = {int(p): tuple(mb) for p, mb in (calibration or {}).items()}
        self.overall_calibration = tuple(overall_calibration)
        self.source, self.state = source, state

    @property
    def parts(self) -> tuple[int, ...]:
        return tuple(sorted(self.models))

    def info(self) -> GraderInfo:
        trained = self.parts if self.state == TRAINED else ()
        return GraderInfo(name=self.name, source=self.source, state=self.state, parts=trained,
                          note="text-only baseline: reads the ASR transcript")

    def to(self, device: torch.device | str) -> "BertGrader":
        for m in self.models.values():
            m.to(device)
        return self

    @property
    def device(self) -> torch.device:
        return next(next(iter(self.models.values())).parameters()).device

    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Texts -> padded `input_ids`, `attention_mask` (B, T) on the grader's device."""
        # BERT has a fixed number of positions: a long part (Part 4's minute of talk) keeps its first ones
        positions = next(iter(self.models.values())).encoder.config.max_position_embeddings
        batch = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt",
                               max_length=min(self.config.max_length, positions))
        return {k: batch[k].to(self.device) for k in ("input_ids", "attention_mask")}

    @torch.inference_mode()
    def raw_scores(self, part: int, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Uncalibrated model outputs for one part's texts, (N,)."""
        model = self._model(part)
        model.eval()
        out = [model(**self.encode(texts[i:i + batch_size])).float().cpu() for i in range(0, len(texts), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros(0)

    def calibrate(self, part: int, raw: np.ndarray | float) -> np.ndarray | float:
        m, b = self.calibration.get(part, (1.0, 0.0))
        return m * raw + b

    def overall(self, part_scores: Mapping[int, float]) -> float:
        """The baseline's overall: mean of the calibrated part scores, calibrated again."""
        m, b = self.overall_calibration
        return clip_score(m * float(np.mean(list(part_scores.values()))) + b)

    def score(self, parts: Sequence[PartInput]) -> list[PartScore]:
        """One PartScore per part, in order; each part number's texts go through its model in batches.

        Batching never changes a score: rows are right padded, BERT's attention masks the padding and
        the pooling heads give it no weight (the same number alone or in a class, within 1e-5 in fp32).
        """
        texts = [part_text(p.transcripts, p.part) for p in parts]
        raw = [0.0] * len(parts)
        for number in sorted({p.part for p in parts}):
            indices = [i for i, p in enumerate(parts) if p.part == number]
            for i, r in zip(indices, self.raw_scores(number, [texts[i] for i in indices])):
                raw[i] = float(r)
        return [PartScore(grader=self.name, part=p.part, score=clip_score(float(self.calibrate(p.part, r))),
                          state=self.state, transcripts=tuple(t or "" for t in p.transcripts))
                for p, r in zip(parts, raw)]

    def _model(self, part: int) -> BertPartModel:
        part_info(part)
        if part not in self.models:
            raise ValueError(f"this BERT grader ({self.source}) has no model for part {part}; it has parts {self.parts}")
        return self.models[part]

    # ------------------------------------------------------------------------------------------ persistence

    def save_pretrained(self, out_dir: Path | str) -> Path:
        from safetensors.torch import save_file

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        encoder_config = next(iter(self.models.values())).encoder.config
        encoder_config.to_json_file(out_dir / "encoder_config.json")
        self.tokenizer.save_pretrained(out_dir / "tokenizer")
        for p, model in self.models.items():
            state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
            save_file(state, out_dir / f"part{p}.safetensors")
        meta = {
            "config": dataclasses.asdict(self.config),
            "parts": list(self.parts),
            "calibration": {str(p): list(mb) for p, mb in self.calibration.items()},
            "overall_calibration": list(self.overall_calibration),
            "encoder_source": self.source,
        }
        (out_dir / ARTIFACT_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return out_dir

    @classmethod
    def from_pretrained(cls, path: Path | str, device: str | torch.device = "cpu") -> "BertGrader":
        from safetensors.torch import load_file
        from transformers import AutoTokenizer, BertConfig, BertModel

        path = Path(path)
        meta_file = path / ARTIFACT_FILE
        if not meta_file.exists():
            raise FileNotFoundError(f"{path} is not a BERT grader folder: {ARTIFACT_FILE} is missing "
                                    f"(train one with `python -m sla_core train bert`)")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        config = BertGraderConfig(**meta["config"])
        encoder_config = BertConfig.from_json_file(path / "encoder_config.json")
        models = {}
        for p in meta["parts"]:
            model = BertPartModel(BertModel(encoder_config, add_pooling_layer=False), config)
            model.load_state_dict(load_file(path / f"part{p}.safetensors"))
            models[int(p)] = model.eval()
        tokenizer = AutoTokenizer.from_pretrained(path / "tokenizer")
        return cls(models, tokenizer, config, calibration={int(p): mb for p, mb in meta["calibration"].items()},
                   overall_calibration=tuple(meta["overall_calibration"]), source=str(path), state=TRAINED).to(device)


# -- the tiny offline twin (audiocraft's 'debug' model), built by `build_bert_grader(encoder="tiny")` -----

TINY_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Everyday words a learner says at A2..C1 (the miniature test corpus draws from them too); anything
# else spells out in letter pieces, so every text tokenises.
TINY_WORDS: tuple[str, ...] = (
    "a", "about", "acknowledge", "although", "an", "and", "at", "be", "because", "big", "but", "city",
    "community", "consequently", "considerable", "decision", "did", "do", "environment", "experience", "for",
    "friends", "fundamental", "furthermore", "go", "good", "has", "have", "he", "here", "home", "how",
    "however", "i", "important", "improve", "in", "is", "it", "like", "my", "nevertheless", "no", "not", "of",
    "often", "on", "opportunity", "or", "particularly", "people", "perspective", "probably", "really",
    "remarkable", "school", "she", "so", "sustainable", "that", "the", "then", "there", "they", "think",
    "this", "to", "travel", "usually", "very", "was", "we", "weekend", "were", "what", "when", "where", "why",
    "with", "work", "yes", "you",
)


def word_piece_tokenizer(words: Sequence[str] = TINY_WORDS) -> PreTrainedTokenizerFast:
    """An uncased WordPiece tokenizer (BERT's scheme) over `words`, single letters and `##` letters."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    letters = list(string.ascii_lowercase + string.digits)
    vocab = list(TINY_SPECIALS) + letters + [f"##{c}" for c in letters] + list(string.punctuation)
    vocab += [w for w in words if w not in vocab]
    ids = {tok: i for i, tok in enumerate(vocab)}
    tk = Tokenizer(models.WordPiece(ids, unk_token="[UNK]"))
    tk.normalizer = normalizers.BertNormalizer(lowercase=True)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)


def tiny_bert_config(vocab_size: int) -> BertConfig:
    """Two layers of width 32: ~0.1 M parameters, a forward pass in milliseconds on CPU; BERT's 512
    positions, so real-length transcripts fit as they do in bert-base."""
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=512, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0)


def build_bert_grader(config: BertGraderConfig = BertGraderConfig(), parts: Sequence[int] = PARTS,
                      seed: int = 0) -> BertGrader:
    """A grader to train: pretrained encoder (or the tiny random one) + fresh heads, one per part."""
    from transformers import AutoTokenizer, BertModel

    torch.manual_seed(seed)
    if config.encoder == TINY:
        tokenizer = word_piece_tokenizer()
        encoder_config = tiny_bert_config(len(tokenizer))
        make = lambda: BertModel(encoder_config, add_pooling_layer=False)  # noqa: E731
        source = "tiny (random, offline)"
    else:
        tokenizer = AutoTokenizer.from_pretrained(config.encoder)
        make = lambda: BertModel.from_pretrained(config.encoder, add_pooling_layer=False)  # noqa: E731
        source = config.encoder
    models = {int(p): BertPartModel(make(), config) for p in parts}
    return BertGrader(models, tokenizer, config, source=source, state=UNTRAINED)


def load_bert_grader(source: str | Path, device: str | torch.device = "cpu") -> BertGrader:
    """A trained grader from its folder, or `"tiny"` for the random offline debug grader (UNTRAINED)."""
    if str(source) == TINY:
        return build_bert_grader(BertGraderConfig(encoder=TINY)).to(device)
    return BertGrader.from_pretrained(source, device=device)


__all__ = ["BertGraderConfig", "BertPartModel", "BertGrader", "build_bert_grader", "load_bert_grader",
           "fit_linear", "part_text", "normalise_text", "number_words", "tiny_bert_config", "word_piece_tokenizer", "DEFAULT_ENCODER", "TINY"]
