"""Phi-4-multimodal as our graders and ASR use it: audio + text only, inputs encoded without the
processor, and LoRA adapters kept on one resident base model. Its tiny offline twin (a 2-layer random
model with a byte-level tokenizer built in code, audiocraft's 'debug' model) is built here too, by
`load_mllm_grader(tiny=True)`.

Why not `AutoProcessor`: in transformers 5.x it wants torchvision for the image processor, which we
never use; `encode` does what the processor does for audio (features, then one `<|audio|>` token per
audio embedding) with the tokenizer and the feature extractor alone.
Why a subclass: the vision tower (0.44 B parameters) is dropped before the weights are read, so its
weights are never loaded; its checkpoint keys are ignored.
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from peft import LoraConfig, PeftConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from peft.utils import (
    get_peft_model_state_dict,
    load_peft_weights,
    set_peft_model_state_dict,
)
from safetensors.torch import save_file
from torch import nn
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    BatchFeature,
    Phi4MultimodalAudioConfig,
    Phi4MultimodalConfig,
    Phi4MultimodalFeatureExtractor,
    Phi4MultimodalForCausalLM,
    Phi4MultimodalProcessor,
    Phi4MultimodalVisionConfig,
    PreTrainedTokenizerFast,
)
from transformers.image_processing_utils import BaseImageProcessor
from transformers.models.phi4_multimodal.modeling_phi4_multimodal import Phi4MultimodalAudioModel

from .prompts import ASSISTANT, AUDIO_PLACEHOLDER, SCORE_LABELS

DEFAULT_MODEL = "microsoft/Phi-4-multimodal-instruct"
DEFAULT_REVISION = "refs/pr/70"  # the native-transformers layout; hub `main` is the remote-code one
SPEECH_ADAPTER = "speech"  # the model's speech LoRA, by its adapter name: zero-shot grading and ASR
SPEECH_LORA_FOLDER = "speech-lora"  # the model's own speech LoRA (r=320, alpha=640), a PEFT folder
# LoRA on the language model only: plain names (`o_proj`, ...) would also wrap the audio conformer.
LM_TARGETS = r"model\.layers\.\d+\.(self_attn\.(qkv_proj|o_proj)|mlp\.(gate_up_proj|down_proj))"


class _NoVision(nn.Module):
    """Takes the vision tower's place: fails loudly if anything ever sends an image."""

    def forward(self, *args, **kwargs):
        raise ValueError("this Phi-4-multimodal was loaded without its vision tower; images are not supported")


class UnpaddedAudioEncoder(Phi4MultimodalAudioModel):
    """The audio conformer, run on unpadded clips: each group of equally long clips is one batch.

    Why: a recording must get the same embeddings alone or beside longer ones (batch invariance). In
    transformers 5.x the conformer does not keep padded frames out: its boolean frame mask is *added* to
    the attention bias (0/1, not -inf), so every frame attends to the padding, and the subsampling
    convolution reads padded feature values at a clip's end. A clip padded to a longer batchmate shifted
    the tiny model's score distribution by up to 8e-3. Grouping by exact length removes padding from the
    encoder; the language model still scores all rows in one forward.

    Clips longer than `UNFOLD_FRAMES` (40 s) go through one at a time: past 500 subsampled frames the
    conformer unfolds a clip into 500-frame chunks with a `view` that fails on a batch of more than one
    (transformers 5.x `unfold_tensor`: "view size is not compatible"), e.g. two 60 s answers of one length.
    """

    UNFOLD_FRAMES = 500 * 8  # feature frames (10 ms) past which the conformer unfolds: 500 positions x 8 subsampling

    def forward(self, hidden_states: torch.Tensor, mask: torch.Tensor | None, **kwargs) -> torch.Tensor:
        # hidden_states: (N, T, 80) log-mel features, right padded; mask: (N, T) True on real frames, or None
        if mask is None:
            mask = torch.ones(hidden_states.shape[:2], dtype=torch.bool, device=hidden_states.device)
        lengths = mask.sum(-1).tolist()
        encoded: dict[int, torch.Tensor] = {}  # clip index -> (T_i', H)
        for length in sorted(set(lengths)):
            rows = [i for i, n in enumerate(lengths) if n == length]
            groups = [rows] if length <= self.UNFOLD_FRAMES else [[i] for i in rows]
            for group in groups:
                out = super().forward(hidden_states[group, :length], None, **kwargs)  # (n, T', H): no padding seen
                encoded.update(zip(group, out))
        return nn.utils.rnn.pad_sequence([encoded[i] for i in range(len(lengths))], batch_first=True)  # (N, T', H)


class AudioOnlyPhi4(Phi4MultimodalForCausalLM):
    """Phi4MultimodalForCausalLM without the vision tower and the vision-speech projections, and with an
    audio encoder that never sees padding (UnpaddedAudioEncoder)."""

    # the checkpoint's vision weights are expected to be left unread: no warning for them
    _keys_to_ignore_on_load_unexpected: ClassVar[list[str]] = [r"image_embed\.", r"_for_vision_speech\."]

    def __init__(self, config):
        super().__init__(config)
        features = self.model.embed_tokens_extend
        features.image_embed = _NoVision()
        del features.audio_embed.up_proj_for_vision_speech, features.audio_embed.down_proj_for_vision_speech
        # Swap the class, not the module: same weights and state-dict keys, no second initialisation.
        features.audio_embed.encoder.__class__ = UnpaddedAudioEncoder


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """`device`, or CUDA when present, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(device: torch.device) -> torch.dtype:
    """bf16 on GPU (the model's training precision); float32 on CPU, where bf16 matmuls are slow."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def pick_attention(device: torch.device) -> str:
    """FlashAttention-2 when installed on a GPU, else PyTorch SDPA."""
    if device.type == "cuda":
        try:
            import flash_attn  # noqa: F401
        except ImportError:
            return "sdpa"
        return "flash_attention_2"
    return "sdpa"


def label_token_ids(tokenizer) -> list[int]:
    """Token id of each SCORE_LABEL, checking that each is one token, also right after `<|assistant|>`."""
    ids = []
    for label in SCORE_LABELS:
        alone = tokenizer(label, add_special_tokens=False).input_ids
        after = tokenizer(ASSISTANT + label, add_special_tokens=False).input_ids
        if len(alone) != 1 or after[-1:] != alone:
            raise ValueError(
                f"score label {label!r} is not a single token for this tokenizer (ids {alone}, after "
                f"{ASSISTANT} {after}); one-forward scoring needs SCORE_LABELS={SCORE_LABELS} to be one token each"
            )
        ids.append(alone[0])
    return ids


def encode(tokenizer, feature_extractor, prompts: Sequence[str], audios: Sequence[Sequence[np.ndarray]]) -> BatchFeature:
    """Model inputs for a batch of prompts, each with its own recordings.

    Args:
        prompts: B strings; prompt i holds len(audios[i]) AUDIO_PLACEHOLDERs, in recording order.
        audios: B lists of (samples,) float32 waveforms at the feature extractor's rate (16 kHz).
    Returns:
        input_ids, attention_mask, position_ids: (B, L), left padded (the answer position is the last);
        with any audio also audio_input_features (N, T, 80), audio_embed_sizes (N,) and, for N > 1,
        audio_attention_mask (N, T), N = all recordings of the batch.
    """
    if len(prompts) != len(audios):
        raise ValueError(f"{len(prompts)} prompts but {len(audios)} lists of recordings")
    flat: list[np.ndarray] = []
    for i, (prompt, clips) in enumerate(zip(prompts, audios)):
        if prompt.count(AUDIO_PLACEHOLDER) != len(clips):
            raise ValueError(f"prompt {i} has {prompt.count(AUDIO_PLACEHOLDER)} {AUDIO_PLACEHOLDER} but {len(clips)} recordings")
        flat.extend(np.asarray(clip, dtype=np.float32) for clip in clips)
    data: dict[str, torch.Tensor] = {}
    sizes: list[int] = []
    if flat:
        features = feature_extractor(flat, sampling_rate=feature_extractor.sampling_rate, return_tensors="pt")
        data.update(features)
        sizes = features["audio_embed_sizes"].tolist()
    # Expand each placeholder, in order, into as many audio tokens as its clip has embeddings.
    expand = iter(sizes)
    texts = [
        re.sub(re.escape(AUDIO_PLACEHOLDER), lambda _: tokenizer.audio_token * next(expand), prompt) for prompt in prompts
    ]
    tokens = tokenizer(texts, padding=True, padding_side="left", add_special_tokens=False, return_tensors="pt")
    mask = tokens["attention_mask"]
    # Positions count real tokens only, so a padded row sees the same positions as alone.
    data.update(tokens, position_ids=(mask.cumsum(-1) - 1).clamp(min=0))
    return BatchFeature(data)


# ----- LoRA adapters ---------------------------------------------------------------------------


def _lora_modules(model: nn.Module, name: str) -> dict[str, LoraLayer]:
    return {n: m for n, m in model.named_modules() if isinstance(m, LoraLayer) and name in m.lora_A}


def check_adapter(model: PeftModel, name: str) -> None:
    """Guard against the known adapter pitfalls: LoRA in the audio encoder, weights that did not load."""
    modules = _lora_modules(model, name)
    if not modules:
        raise ValueError(f"adapter {name!r} wraps no module; expected the language-model layers ({LM_TARGETS})")
    in_audio = [n for n in modules if "audio_embed" in n]
    if in_audio:
        raise ValueError(f"adapter {name!r} has LoRA inside the audio encoder (e.g. {in_audio[0]}); it must target {LM_TARGETS}")
    if all(bool((m.lora_B[name].weight == 0).all()) for m in modules.values()):
        raise ValueError(f"adapter {name!r}: every lora_B weight is zero, so its weights did not load (key prefix mismatch?)")


def _attach(model: nn.Module, name: str, config: LoraConfig) -> PeftModel:
    """Add an adapter slot `name` (on the base model's device and dtype: no float32 up-cast)."""
    if isinstance(model, PeftModel):
        model.add_adapter(name, config, autocast_adapter_dtype=False)
        return model
    with warnings.catch_warnings():  # peft 0.21 reads a property transformers 5 deprecates; not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, config, adapter_name=name, autocast_adapter_dtype=False)


def attach_adapter(model: nn.Module, name: str, folder: str | Path) -> PeftModel:
    """Load the PEFT LoRA folder `folder` as adapter `name` on `model` (a base model or a PeftModel).

    The folder's own target list is replaced by LM_TARGETS (the speech LoRA's hub config was written
    for another layout); every LoRA tensor in the file must then land in the model, or this fails.
    """
    folder = Path(folder)
    if not (folder / "adapter_config.json").is_file():
        raise FileNotFoundError(f"adapter {name!r}: {folder} has no adapter_config.json (not a PEFT adapter folder)")
    config = PeftConfig.from_pretrained(str(folder))
    if not isinstance(config, LoraConfig):
        raise TypeError(f"adapter {name!r} in {folder} is a {type(config).__name__}; expected a LoRA adapter")
    config.target_modules, config.inference_mode = LM_TARGETS, True
    model = _attach(model, name, config)
    device = next(model.parameters()).device
    weights = load_peft_weights(str(folder), device=str(device))
    result = set_peft_model_state_dict(model, weights, adapter_name=name)
    unexpected = [k for k in result.unexpected_keys if "lora_" in k]
    missing = [k for k in result.missing_keys if "lora_" in k and f".{name}." in k]
    if unexpected or missing:
        raise ValueError(
            f"adapter {name!r} from {folder} does not fit the model: {len(unexpected)} unexpected LoRA tensors "
            f"(e.g. {unexpected[:2]}), {len(missing)} missing (e.g. {missing[:2]})"
        )
    check_adapter(model, name)
    return model


def add_random_adapter(model: nn.Module, name: str, r: int, alpha: int, seed: int = 0) -> PeftModel:
    """A randomly initialised LoRA (lora_B non-zero, so it changes the output): tiny and benchmark models."""
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=LM_TARGETS, init_lora_weights=False)
    torch.manual_seed(seed)
    model = _attach(model, name, config)
    check_adapter(model, name)
    return model


def copy_adapter(model: PeftModel, source: str, name: str) -> None:
    """A new adapter `name` equal to `source` (each part's adapter starts as a copy of the speech LoRA)."""
    if name in model.peft_config:
        raise ValueError(f"adapter {name!r} exists already; adapters: {sorted(model.peft_config)}")
    model.add_adapter(name, copy.deepcopy(model.peft_config[source]), autocast_adapter_dtype=False)
    set_peft_model_state_dict(model, get_peft_model_state_dict(model, adapter_name=source), adapter_name=name)


def save_adapter(model: PeftModel, name: str, folder: str | Path) -> Path:
    """Write adapter `name` as a standard PEFT folder (adapter_config.json + adapter_model.safetensors)."""
    if name not in model.peft_config:
        raise ValueError(f"no adapter {name!r}; adapters: {sorted(model.peft_config)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = get_peft_model_state_dict(model, adapter_name=name)
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(folder / "adapter_model.safetensors"))
    model.peft_config[name].save_pretrained(str(folder))
    return folder



# -- the tiny offline twin ------------------------------------------------------------------------
# A byte-level tokenizer (every byte a token, no merges) plus Phi-4's chat and audio special tokens: any
# text encodes, the score labels are single tokens as in the real o200k tokenizer, and the same input
# always gives the same ids. Sizes follow transformers' own Phi4Multimodal tests.

SPECIAL_TOKENS = ("<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|image|>", "<|audio|>")
TINY_SOURCE = "tiny (random, offline)"
TINY_LORA_RANK = 8  # the real speech adapter has r=320, alpha=640; same ratio here


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level tokenizer with Phi-4's special tokens; left padding (scores are read at the end)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())  # the 256 byte symbols
    vocab = {tok: i for i, tok in enumerate((*SPECIAL_TOKENS, *alphabet))}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens(list(SPECIAL_TOKENS))  # else "<|user|>" would be split into bytes
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        extra_special_tokens={"image_token": "<|image|>", "audio_token": "<|audio|>"},
    )
    tok.padding_side = "left"
    return tok


def tiny_config(tokenizer: PreTrainedTokenizerFast | None = None) -> Phi4MultimodalConfig:
    """A 2-layer Phi-4-multimodal config (~0.2 M parameters) matching `tokenizer`'s special ids."""
    tok = tokenizer or tiny_tokenizer()
    return Phi4MultimodalConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        # byte-level prompts of Part 1 (six answers) run to ~2k tokens plus audio tokens
        max_position_embeddings=8192,
        original_max_position_embeddings=8192,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        audio_config=Phi4MultimodalAudioConfig(
            num_blocks=2,
            hidden_size=32,
            num_attention_heads=8,
            intermediate_size=48,
            depthwise_separable_out_channel=32,
            ext_pw_out_channel=32,
            nemo_conv_channels=32,
            audio_token_id=tok.audio_token_id,
        ),
        vision_config=Phi4MultimodalVisionConfig(
            num_hidden_layers=1,
            hidden_size=16,
            intermediate_size=32,
            num_attention_heads=2,
            image_size=16,
            crop_size=16,
            image_token_id=tok.convert_tokens_to_ids("<|image|>"),
        ),
    )


def tiny_feature_extractor() -> Phi4MultimodalFeatureExtractor:
    """The real feature extractor (80 mel, 10 ms hop, 8x compression): it has no weights."""
    return Phi4MultimodalFeatureExtractor()


class _NoImages(BaseImageProcessor):
    """Stand-in image processor: the real one needs torchvision, and we never send images."""


def tiny_processor(tokenizer: PreTrainedTokenizerFast | None = None) -> Phi4MultimodalProcessor:
    """transformers' own processor, built without torchvision (used to cross-check `mllm.encode`)."""
    return Phi4MultimodalProcessor(
        image_processor=_NoImages(), audio_processor=tiny_feature_extractor(), tokenizer=tokenizer or tiny_tokenizer()
    )

__all__ = [
    "SPEECH_ADAPTER",
    "SPECIAL_TOKENS",
    "TINY_SOURCE",
    "tiny_config",
    "tiny_feature_extractor",
    "tiny_processor",
    "tiny_tokenizer",
    "DEFAULT_MODEL",
    "DEFAULT_REVISION",
    "LM_TARGETS",
    "AudioOnlyPhi4",
    "UnpaddedAudioEncoder",
    "add_random_adapter",
    "attach_adapter",
    "check_adapter",
    "copy_adapter",
    "encode",
    "label_token_ids",
    "pick_attention",
    "pick_device",
    "pick_dtype",
    "save_adapter",
]
