"""The multimodal grader: Phi-4-multimodal-instruct with one LoRA adapter per part (STG) or one for
all parts (CTG), scoring every part from one forward pass.

The score of a part is read at the answer position: the probabilities of the 8 single-token labels
(prompts.SCORE_LABELS, one per grid point 2.0..5.5), renormalised, and their expected value (the
Bayes-optimal estimate under squared error). The parts of a learner go through one batched forward,
each row with its own adapter (peft `adapter_names`). A part without a trained adapter is scored
zero-shot by the model's own speech adapter and labelled so ("zero-shot, uncalibrated").

Batch invariance (issue 18): a part gets the same score, distribution and transcripts (within 1e-5 in
fp32) alone, with the learner's other parts, or in any batch of any order. Text rows are left padded with
position ids that count real tokens only (exact); the audio conformer never sees padding
(`phi4.UnpaddedAudioEncoder` encodes each group of equally long clips unpadded), and the language model
still scores every row in one forward. In bf16 on a GPU exact invariance is not promised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..assessment import TRAINED, UNTRAINED, ZERO_SHOT, GraderInfo, PartScore
from ..audio import SAMPLE_RATE
from ..cefr import GRID
from ..data import PartInput
from ..parts import PARTS, part_info
from . import phi4
from .phi4 import DEFAULT_MODEL, DEFAULT_REVISION, SPEECH_ADAPTER, SPEECH_LORA_FOLDER
from .prompts import build_prompt, check_variant, uses_audio, uses_transcript

CTG_ADAPTER = "ctg"
MODES = ("stg", "ctg")  # single-task (one adapter per part) / cross-task (one for all parts)
ZERO_SHOT_NOTE = "zero-shot, uncalibrated"
TINY_LORA = (8, 16)  # (r, alpha) of the tiny model's random speech adapter; the real one is (320, 640)
# Written by `train mllm` beside each adapter: the input variant ("inputs") and the audio cut
# ("audio_seconds") it was trained with, which inference must apply too.
TRAIN_CONFIG_FILE = "train_config.json"


def part_adapter_name(part: int) -> str:
    return f"part{part}"


@dataclass(frozen=True)
class _Row:
    """One part ready for the model."""

    prompt: str
    clips: list[np.ndarray]  # the recordings the prompt's placeholders stand for
    adapter: str
    transcripts: tuple[str, ...] | None  # what the prompt shows (None for AO)


class MllmGrader:
    """Phi-4-multimodal grader; implements the Grader protocol (`info`, `score`)."""

    name = "mllm"

    def __init__(
        self,
        model,
        tokenizer,
        feature_extractor,
        *,
        source: str,
        part_adapters: Mapping[int, str] | None = None,
        variant: str = "TA",
        random_base: bool = False,
        transcriber=None,
        batch_size: int = 4,
    ):
        """
        Args:
            model: a peft PeftModel over (AudioOnly)Phi4MultimodalForCausalLM holding SPEECH_ADAPTER.
            part_adapters: part -> adapter name for the parts with a trained adapter; others go zero-shot.
            variant: default input variant, "TA" / "AO" / "TO".
            random_base: True for randomly initialised weights (tiny tests, benchmarks): scores are
                then labelled UNTRAINED, never passed off as grades.
            transcriber: makes missing transcripts (an asr.Transcriber, e.g. `Phi4Transcriber.for_grader(grader)`,
                handed in by the loader); None -> every answer the variant reads as text must bring its transcript.
            batch_size: parts per forward pass (4 = one learner).
        """
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.feature_extractor = feature_extractor
        self.source = source
        self.part_adapters = dict(part_adapters or {})
        # Adapters known to be trained: given here or loaded from disk. One made by `new_adapter` joins only
        # when the training command has finished training it (`mark_trained`).
        self.trained_adapters = set(self.part_adapters.values())
        self.variant = check_variant(variant)
        self.random_base = random_base
        self.batch_size = batch_size
        self.transcriber = transcriber  # handed in by whoever loads the models (load_assessor)
        # adapter name -> seconds each recording is cut to, as in its training (CTG: 30); absent = whole
        self.audio_seconds: dict[str, float] = {}
        self.label_ids = phi4.label_token_ids(tokenizer)
        for name in {SPEECH_ADAPTER, *self.part_adapters.values()}:
            if name not in model.peft_config:
                raise ValueError(f"adapter {name!r} is not loaded; adapters: {sorted(model.peft_config)}")
        self._grid = torch.tensor(GRID, dtype=torch.float32)

    # ----- what the grader is -----------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def adapter_for(self, part: int) -> str:
        return self.part_adapters.get(part, SPEECH_ADAPTER)

    def state_for(self, part: int) -> str:
        """TRAINED with a trained adapter for the part (trained on this very base, random or not). Otherwise
        the speech adapter scores zero-shot, which on random base weights is no model at all (UNTRAINED);
        an adapter still being trained is not a grade either (UNTRAINED)."""
        name = self.part_adapters.get(part)
        if name in self.trained_adapters:
            return TRAINED
        return UNTRAINED if self.random_base or name is not None else ZERO_SHOT

    def info(self) -> GraderInfo:
        trained = tuple(p for p in PARTS if self.state_for(p) == TRAINED)
        rest = ", ".join(str(p) for p in PARTS if p not in trained)
        why = "random Phi-4-multimodal weights: scores are not grades" if self.random_base else ZERO_SHOT_NOTE
        if trained:
            return GraderInfo(self.name, self.source, TRAINED, trained, f"parts {rest}: {why}" if rest else "")
        if self.random_base:
            return GraderInfo(self.name, self.source, UNTRAINED, (), why)
        return GraderInfo(self.name, self.source, ZERO_SHOT, (), f"{ZERO_SHOT_NOTE} (speech adapter, no part adapter)")

    def mark_trained(self, name: str) -> None:
        """Declare the adapter `name` trained (the training command, once its best epoch is restored)."""
        if name not in self.part_adapters.values():
            raise ValueError(f"adapter {name!r} scores no part; part adapters: {self.part_adapters}")
        self.trained_adapters.add(name)

    # ----- adapters ---------------------------------------------------------------------------

    def load_adapter(self, folder: str | Path, parts: Sequence[int], name: str | None = None) -> str:
        """Load a trained PEFT adapter for `parts` (it then scores them; the state becomes TRAINED)."""
        for part in parts:
            part_info(part)
        name = name or (part_adapter_name(parts[0]) if len(parts) == 1 else CTG_ADAPTER)
        phi4.attach_adapter(self.model, name, folder)
        self.model.eval()
        self.part_adapters.update({part: name for part in parts})
        self.trained_adapters.add(name)
        return name

    def new_adapter(self, parts: Sequence[int], name: str | None = None) -> str:
        """A new adapter for `parts`, starting as a copy of the speech adapter (the paper's starting
        point), registered to score those parts: for the training command, which then trains it."""
        for part in parts:
            part_info(part)
        name = name or (part_adapter_name(parts[0]) if len(parts) == 1 else CTG_ADAPTER)
        phi4.copy_adapter(self.model, SPEECH_ADAPTER, name)
        self.part_adapters.update({part: name for part in parts})
        self.trained_adapters.discard(name)
        return name

    def save_adapter(self, name: str, folder: str | Path) -> Path:
        return phi4.save_adapter(self.model, name, folder)

    def save_adapters(self, root: str | Path) -> Path:
        """Write the trained adapters in the layout `load_mllm_grader(adapters=root)` reads:
        STG `root/part{p}/`, CTG `root/` itself."""
        root = Path(root)
        names = set(self.part_adapters.values())
        if names == {CTG_ADAPTER}:
            return self.save_adapter(CTG_ADAPTER, root)
        for part, name in self.part_adapters.items():
            self.save_adapter(name, root / part_adapter_name(part))
        return root

    # ----- scoring ----------------------------------------------------------------------------

    @torch.inference_mode()
    def distributions(self, prompts: Sequence[str], audios: Sequence[Sequence[np.ndarray]], adapters: Sequence[str]) -> torch.Tensor:
        """One forward pass: P(label) at the answer position of each prompt, renormalised over the labels.

        Args:
            prompts: B prompts from `build_prompt`; audios: B lists of recordings; adapters: B adapter names.
        Returns:
            (B, 8) float32 on CPU, rows sum to 1, column j = GRID[j].
        """
        batch = phi4.encode(self.tokenizer, self.feature_extractor, prompts, audios).to(self.device)
        logits = self.model(**batch, adapter_names=list(adapters), logits_to_keep=1).logits[:, -1]  # (B, vocab)
        return logits[:, self.label_ids].float().softmax(-1).cpu()

    def score(self, parts: Sequence[PartInput], variant: str | None = None) -> list[PartScore]:
        """Score each part (one PartScore per input, same order); missing transcripts are made by ASR."""
        variant = check_variant(variant or self.variant)
        rows = self.prepare(parts, variant)
        scores: list[PartScore] = []
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            probs = self.distributions([r.prompt for r in chunk], [r.clips for r in chunk], [r.adapter for r in chunk])
            expected = probs @ self._grid  # (b,)
            for part, row, p, s in zip(parts[start : start + self.batch_size], chunk, probs, expected):
                scores.append(
                    PartScore(
                        grader=self.name,
                        part=part.part,
                        score=float(s),
                        state=self.state_for(part.part),
                        distribution=tuple(float(x) for x in p),
                        variant=variant,
                        transcripts=row.transcripts,
                    )
                )
        return scores

    def prepare(self, parts: Sequence[PartInput], variant: str) -> list[_Row]:
        """Check every answer, transcribe what the variant needs (one batched ASR call), build prompts."""
        variant = check_variant(variant)
        need_asr: list[np.ndarray] = []
        for part in parts:
            info = part_info(part.part)
            if part.n_answers > info.max_answers:
                raise ValueError(f"part {part.part} takes at most {info.max_answers} answers, got {part.n_answers}")
            for i, (wav, text) in enumerate(zip(part.waveforms, part.transcripts)):
                where = f"part {part.part} answer {i + 1}"
                if wav is None and text is None:
                    raise ValueError(f"{where}: the multimodal grader needs the audio or a transcript (at least one)")
                if wav is not None and (np.ndim(wav) != 1 or np.size(wav) == 0):
                    raise ValueError(f"{where}: waveform must be a non-empty 1-D array, got shape {np.shape(wav)}")
                if uses_audio(variant) and wav is None:
                    raise ValueError(f"{where}: variant {variant} needs audio; pass the recording or use variant 'TO'")
                if uses_transcript(variant) and text is None:
                    need_asr.append(wav)
        if need_asr and self.transcriber is None:
            raise ValueError(f"{len(need_asr)} answer(s) have no transcript and no transcriber is attached: "
                             f"give transcripts, attach one (asr.load_transcriber) or use variant 'AO'")
        made = iter(self.transcriber.transcribe(need_asr) if need_asr else [])
        rows = []
        for part in parts:
            texts = None
            if uses_transcript(variant):
                texts = tuple(t if t is not None else next(made) for t in part.transcripts)
            adapter = self.adapter_for(part.part)
            cut = int(self.audio_seconds.get(adapter, 0.0) * SAMPLE_RATE)  # samples; 0 = whole
            clips = [w[:cut] if cut > 0 else w for w in part.waveforms if w is not None] if uses_audio(variant) else []
            prompt = build_prompt(part.part, part.questions, texts, variant)
            rows.append(_Row(prompt, clips, adapter, texts))
        return rows


# ----- loading ---------------------------------------------------------------------------------


def _local_folder(source: str | Path, what: str, revision: str | None = None, ignore: Sequence[str] = ()) -> Path:
    """A local folder as is; otherwise a hub repo id, downloaded (or found in the cache)."""
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return Path(snapshot_download(str(source), revision=revision, ignore_patterns=list(ignore) or None))
    except (OSError, ValueError, HfHubHTTPError) as e:
        raise FileNotFoundError(f"{what} {str(source)!r} is neither a local folder nor a reachable hub repo ({e})") from e


def _find_adapters(root: Path, mode: str) -> list[tuple[str, Path, tuple[int, ...]]]:
    """(adapter name, folder, parts) for an STG root (`part1/ part3/ part4/ part5/`) or a CTG folder."""
    if mode == "ctg":
        if not (root / "adapter_config.json").is_file():
            raise FileNotFoundError(f"CTG adapter folder {root} has no adapter_config.json")
        return [(CTG_ADAPTER, root, PARTS)]
    found = [(part_adapter_name(p), root / part_adapter_name(p), (p,)) for p in PARTS]
    found = [f for f in found if (f[1] / "adapter_config.json").is_file()]
    if not found:
        hint = " (it holds one adapter: use mode='ctg')" if (root / "adapter_config.json").is_file() else ""
        raise FileNotFoundError(f"STG adapter root {root} has none of part1/ part3/ part4/ part5/ with an adapter{hint}")
    return found


def adapter_settings(folder: str | Path) -> tuple[str | None, float]:
    """(input variant, audio cut in seconds) an adapter was trained with, from its TRAIN_CONFIG_FILE;
    (None, 0.0) for an adapter without one (made elsewhere: nothing to apply)."""
    import json

    path = Path(folder) / TRAIN_CONFIG_FILE
    if not path.is_file():
        return None, 0.0
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        inputs, seconds = data.get("inputs"), float(data.get("audio_seconds") or 0.0)
    except (ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"{path}: not a training config ({e})") from e
    return (check_variant(inputs) if inputs else None), seconds


def load_mllm_grader(
    model_id: str | Path = DEFAULT_MODEL,
    revision: str | None = DEFAULT_REVISION,
    adapters: str | Path | None = None,
    mode: str = "stg",
    variant: str | None = None,
    device: str | torch.device | None = None,
    tiny: bool = False,
    seed: int = 0,
    transcriber=None,
    batch_size: int = 4,
) -> MllmGrader:
    """Load the multimodal grader.

    Args:
        model_id: hub id or local folder of the native-transformers Phi-4-multimodal (with `speech-lora/`).
        revision: hub revision; the default `refs/pr/70` is the native layout.
        adapters: trained part adapters, a local folder or hub repo id: STG `part1/ part3/ part4/ part5/`
            (any subset; missing parts go zero-shot), CTG one PEFT folder. None: all parts zero-shot.
        mode: "stg" or "ctg".
        variant: "TA", "AO" or "TO"; None -> the variant the adapters were trained on (else "TA"). A
            variant other than the adapters' is refused: they never saw such inputs. Each adapter's
            training audio cut (CTG: 30 s) is applied too.
        device: None -> CUDA if present (bf16, FlashAttention-2/SDPA), else CPU (float32, SDPA).
        tiny: a tiny random model built in code (tests, offline demo); model_id/revision are ignored.
        seed: initialises the tiny model and its random speech adapter.
    """
    if mode not in MODES:
        raise ValueError(f"unknown adapter mode {mode!r}; expected one of {MODES}")
    asked = None if variant is None else check_variant(variant)
    device = phi4.pick_device(device)
    if tiny:
        tokenizer, feature_extractor = phi4.tiny_tokenizer(), phi4.tiny_feature_extractor()
        torch.manual_seed(seed)
        base = phi4.AudioOnlyPhi4(phi4.tiny_config(tokenizer))
        model = phi4.add_random_adapter(base.to(device), SPEECH_ADAPTER, *TINY_LORA, seed=seed)
        source = phi4.TINY_SOURCE
    else:
        from transformers import AutoTokenizer, Phi4MultimodalFeatureExtractor

        folder = _local_folder(model_id, "Phi-4-multimodal model", revision, ignore=("vision-lora/*", "*.py"))
        tokenizer = AutoTokenizer.from_pretrained(folder)
        feature_extractor = Phi4MultimodalFeatureExtractor.from_pretrained(folder)
        base = phi4.AudioOnlyPhi4.from_pretrained(
            folder, dtype=phi4.pick_dtype(device), attn_implementation=phi4.pick_attention(device), device_map=str(device)
        )
        model = phi4.attach_adapter(base, SPEECH_ADAPTER, folder / SPEECH_LORA_FOLDER)
        source = f"{model_id}@{revision}" if revision and not Path(model_id).is_dir() else str(model_id)
    grader = MllmGrader(
        model, tokenizer, feature_extractor, source=source, variant=asked or "TA", random_base=tiny,
        transcriber=transcriber, batch_size=batch_size,
    )  # fmt: skip
    if adapters is not None:
        root = _local_folder(adapters, f"{mode.upper()} adapters")
        trained: dict[str, str] = {}  # folder -> variant it was trained on
        for name, folder, parts in _find_adapters(root, mode):
            grader.load_adapter(folder, parts, name=name)
            trained_variant, seconds = adapter_settings(folder)
            if seconds > 0:
                grader.audio_seconds[name] = seconds
            if trained_variant:
                trained[str(folder)] = trained_variant
        if len(set(trained.values())) > 1:
            raise ValueError(f"the adapters in {root} were trained on different inputs {trained}; "
                             "one grader reads one variant: keep adapters of one variant together")
        if trained:
            was = next(iter(trained.values()))
            if asked is not None and asked != was:
                raise ValueError(f"the adapters in {root} were trained on {was} inputs; variant {asked} would feed "
                                 f"them inputs they never saw (use variant {was}, or leave it unset)")
            grader.variant = was
        grader.source = f"{source} + {mode.upper()} adapters {adapters}"
    return grader


__all__ = ["CTG_ADAPTER", "MODES", "TRAIN_CONFIG_FILE", "adapter_settings", "SPEECH_ADAPTER", "ZERO_SHOT_NOTE", "MllmGrader", "load_mllm_grader", "part_adapter_name"]
