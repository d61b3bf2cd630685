"""Is an answer about the question it was given? Cosine similarity of sentence embeddings.

Model: sentence-transformers/all-MiniLM-L6-v2 (22.7 M parameters, Apache-2.0), run through transformers as
its model card describes (BERT, mean of the token embeddings under the attention mask, L2-normalised), so
no extra package. It was trained on a billion sentence pairs (question-answer pairs among them) for exactly
this kind of semantic similarity, embeds an answer in milliseconds on a CPU, and works on a CPU laptop where
the multimodal grader is not loaded; the Phi-4 zero-shot judge would need the 12 GiB model on a GPU and a
prompt per answer, and would tie the check to the grader being present.

The threshold (`DEFAULT_MIN_SIMILARITY`) and its false-alarm and detection rates were measured on the
committed set `assets/checks/topic_set.json` by `bench/measure_checks.py` (README, "Answer checks").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..assessment import UNTRAINED, ZERO_SHOT, GraderInfo

DEFAULT_TOPIC_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Below this cosine similarity between answer and question, the answer is off-topic (measured: see module doc).
DEFAULT_MIN_SIMILARITY = 0.15
MAX_TOKENS = 256  # the model's training length (word pieces); a minute of speech is ~150-200


class SentenceEmbedder:
    """Sentence embeddings: a BERT-style encoder, mean pooling over real tokens, unit length."""

    name = "topic"

    def __init__(self, model, tokenizer, *, source: str, random: bool = False, batch_size: int = 16):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.source = source
        self.random = random  # a random test model: its similarities are noise, and the pipeline does not act on them
        self.batch_size = batch_size

    @classmethod
    def load(cls, model_id: str = DEFAULT_TOPIC_MODEL, device: str | torch.device | None = None) -> "SentenceEmbedder":
        from transformers import AutoModel, AutoTokenizer

        from ..graders.phi4 import pick_device

        tokenizer = AutoTokenizer.from_pretrained(model_id)
        model = AutoModel.from_pretrained(model_id).to(pick_device(device))
        return cls(model, tokenizer, source=str(model_id))

    @property
    def trusted(self) -> bool:
        return not self.random

    def info(self) -> GraderInfo:
        return GraderInfo(self.name, self.source, UNTRAINED if self.random else ZERO_SHOT,
                          note="off-topic check: sentence-embedding similarity of answer and question")

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors."""
        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                                   max_length=MAX_TOKENS, return_tensors="pt").to(self.model.device)
            hidden = self.model(**batch).last_hidden_state  # (b, tokens, dim)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (b, tokens, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (b, dim)
            out.append(torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def similarities(self, answers: Sequence[str], questions: Sequence[str]) -> list[float]:
        """Cosine similarity of each answer with its question (aligned lists), in one batched pass."""
        if len(answers) != len(questions):
            raise ValueError(f"{len(answers)} answers but {len(questions)} questions")
        if not answers:
            return []
        vectors = self.embed(list(answers) + list(questions))
        a, q = vectors[: len(answers)], vectors[len(answers):]
        return [float(x) for x in (a * q).sum(-1)]


def tiny_sentence_embedder(seed: int = 0) -> SentenceEmbedder:
    """A 1-layer random BERT over a word-level vocabulary built in code: real plumbing, noise similarities."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    words = ("the a i you is are to of and in it that what do think people live city phone book school "
             "learn time work friend like because my year new place free").split()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(specials + words)}, unk_token="[UNK]"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="[PAD]", unk_token="[UNK]",
                                        cls_token="[CLS]", sep_token="[SEP]")
    torch.manual_seed(seed)
    model = BertModel(BertConfig(vocab_size=len(specials) + len(words), hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=64, max_position_embeddings=MAX_TOKENS),
                      add_pooling_layer=False)
    return SentenceEmbedder(model, tokenizer, source=f"tiny sentence embedder (random seed {seed}, offline)", random=True)


__all__ = ["DEFAULT_MIN_SIMILARITY", "DEFAULT_TOPIC_MODEL", "SentenceEmbedder", "tiny_sentence_embedder"]
