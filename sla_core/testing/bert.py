"""A tiny random BERT and a WordPiece tokenizer built in code, so the BERT grader runs offline in tests."""

from __future__ import annotations

import string

from transformers import BertConfig, PreTrainedTokenizerFast

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def default_words() -> list[str]:
    """The mini corpus' vocabulary plus everyday words; anything else spells out in letter pieces."""
    from .corpus import WORD_BANDS

    common = ("the a an and or but to of in on at for with it this that you he she we they was were be "
              "have has do did not no so very really then there here what when where why how about").split()
    return sorted({w for band in WORD_BANDS for w in band} | set(common))


def word_piece_tokenizer(words: list[str] | None = None) -> PreTrainedTokenizerFast:
    """An uncased WordPiece tokenizer (BERT's scheme) over `words`, single letters and `##` letters."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    letters = list(string.ascii_lowercase + string.digits)
    vocab = list(SPECIALS) + letters + [f"##{c}" for c in letters] + list(string.punctuation)
    vocab += [w for w in (words if words is not None else default_words()) if w not in vocab]
    ids = {tok: i for i, tok in enumerate(vocab)}
    tk = Tokenizer(models.WordPiece(ids, unk_token="[UNK]"))
    tk.normalizer = normalizers.BertNormalizer(lowercase=True)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=128)


def tiny_bert_config(vocab_size: int) -> BertConfig:
    """Two layers of width 32: ~0.1 M parameters, a forward pass in milliseconds on CPU."""
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0)
