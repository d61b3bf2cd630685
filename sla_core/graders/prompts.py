"""Prompts of the multimodal grader: pure strings, shared by scoring and by the training command.

One prompt per part p combines the task description D_p, the question(s) Q_p, the transcript(s) R_T
and the audio R_A (one `AUDIO_PLACEHOLDER` per recording) in Phi-4's chat format. Parts 1 and 5 put
all of the part's answers into one prompt (the paper's speaker context).

The model answers with one *single-token* label per grid point (`SCORE_LABELS`), so the whole score
distribution is read from one forward pass at the answer position. The rubric in the prompt maps the
labels to CEFR levels, so an instruction model without a trained adapter (zero-shot) reads it too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..cefr import GRID, LABELS, grid_index
from ..parts import PartInfo, part_info

# Phi-4's chat markup (special tokens of its o200k-based tokenizer).
SYSTEM, USER, ASSISTANT, END = "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"
# Stands for one recording; `mllm.encode` expands it into that clip's audio tokens (12.5 per second).
AUDIO_PLACEHOLDER = "<|audio|>"

VARIANTS: tuple[str, ...] = ("TA", "AO", "TO")  # transcript+audio, audio only, transcript only
VARIANT_NAMES = {"TA": "transcript + audio", "AO": "audio only", "TO": "transcript only"}

# One label per GRID point (2.0 .. 5.5). Digits 1-8: each is one token in the real o200k tokenizer
# (its pre-tokenizer splits digit runs into groups of 1-3, so a lone digit is one token) and in the
# tiny test tokenizer (byte level); they are ordinal, so a zero-shot model reads them as a rising
# scale. `mllm` asserts at load time that each encodes to exactly one id.
SCORE_LABELS: tuple[str, ...] = ("1", "2", "3", "4", "5", "6", "7", "8")
assert len(SCORE_LABELS) == len(GRID)

# What the prompt says where an answer's question is not known (most S&I answers: questions exist only for
# the annotated subset). Never a default question in its place: a real answer paired with an invented
# question would tell the model the learner went off topic.
QUESTION_NOT_KNOWN = "not known; judge the answer against the task above"
SYSTEM_TEXT = "You are an experienced examiner of spoken English who rates adult learners on the CEFR scale."
_SPECIAL = re.compile(r"<\|[^|<>]*\|>")  # chat/audio markup must never come from user text


def check_variant(variant: str) -> str:
    """`variant` upper-cased, or an error naming the allowed variants."""
    v = str(variant).upper()
    if v not in VARIANTS:
        raise ValueError(f"unknown input variant {variant!r}; expected one of {VARIANTS} ({VARIANT_NAMES})")
    return v


def uses_audio(variant: str) -> bool:
    return check_variant(variant) in ("TA", "AO")


def uses_transcript(variant: str) -> bool:
    return check_variant(variant) in ("TA", "TO")


def answer_label(score: float) -> str:
    """The label the model is trained to answer for a mark, e.g. 3.5 -> "4" (rounded to the grid)."""
    return SCORE_LABELS[grid_index(score)]


def label_score(label: str) -> float:
    """Inverse of `answer_label`: "4" -> 3.5."""
    try:
        return GRID[SCORE_LABELS.index(label.strip())]
    except ValueError as e:
        raise ValueError(f"unknown score label {label!r}; expected one of {SCORE_LABELS}") from e


def rubric() -> str:
    """The label -> level key the prompt ends with, e.g. "1 = A2 (2.0), 2 = A2+ (2.5), ..."."""
    return ", ".join(f"{lab} = {lvl} ({g:.1f})" for lab, lvl, g in zip(SCORE_LABELS, LABELS, GRID))


def clean_text(text: str) -> str:
    """User text (question, transcript) with chat markup removed and whitespace collapsed."""
    return " ".join(_SPECIAL.sub(" ", text).split())


def build_prompt(
    part: int | PartInfo,
    questions: Sequence[str | None],
    transcripts: Sequence[str | None] | None = None,
    variant: str = "TA",
) -> str:
    """The chat prompt for one part, ending at the answer position (after `<|assistant|>`).

    Args:
        part: part number (1, 3, 4, 5) or its PartInfo; gives D_p and the default questions.
        questions: one entry per answer; None means the question is not known: the prompt says so
            (QUESTION_NOT_KNOWN) and the task description D_p stands for it.
        transcripts: one per answer; required (not None) for the TA and TO variants, ignored for AO.
        variant: "TA", "AO" or "TO". TA and AO put one AUDIO_PLACEHOLDER per answer, in answer order.
    Returns:
        The prompt string; `prompt.count(AUDIO_PLACEHOLDER)` recordings must go with it.
    """
    info = part if isinstance(part, PartInfo) else part_info(part)
    variant = check_variant(variant)
    n = len(questions)
    if n == 0:
        raise ValueError(f"part {info.number}: a prompt needs at least one answer")
    if n > info.max_answers:
        raise ValueError(f"part {info.number} takes at most {info.max_answers} answers, got {n}")
    if uses_transcript(variant):
        if transcripts is None or len(transcripts) != n:
            got = "none" if transcripts is None else len(transcripts)
            raise ValueError(f"part {info.number}: variant {variant} needs {n} transcripts, got {got}")
        missing = [i + 1 for i, t in enumerate(transcripts) if t is None]
        if missing:
            raise ValueError(f"part {info.number}: variant {variant} needs a transcript for answer(s) {missing}")

    lines = [f"Speaking test, {info.title}.", f"Task: {clean_text(info.task)}"]
    if n > 1:
        lines.append(f"The learner gave {n} answers; rate them together.")
    for i, question in enumerate(questions):
        lines.append(f"Answer {i + 1}." if n > 1 else "Answer.")
        lines.append(f"Question: {clean_text(question) if question is not None else QUESTION_NOT_KNOWN}")
        if uses_audio(variant):
            lines.append(f"Recording: {AUDIO_PLACEHOLDER}")
        if uses_transcript(variant):
            text = clean_text(transcripts[i])  # type: ignore[index]  # checked above
            lines.append(f"Transcript (speech recognition): {text or '(no words recognised)'}")
    source = {"TA": "the recordings and transcripts", "AO": "the recordings", "TO": "the transcripts"}[variant]
    lines.append(
        f"Rate the learner's spoken English in this part from {source}. "
        f"Answer with one digit only: {rubric()}."
    )
    return f"{SYSTEM}{SYSTEM_TEXT}{END}{USER}" + "\n".join(lines) + f"{END}{ASSISTANT}"


def training_text(prompt: str, score: float) -> str:
    """Prompt plus the target answer for a mark: what an adapter is fine-tuned on (loss on the label)."""
    return prompt + answer_label(score) + END


__all__ = [
    "AUDIO_PLACEHOLDER",
    "QUESTION_NOT_KNOWN",
    "SCORE_LABELS",
    "VARIANTS",
    "answer_label",
    "build_prompt",
    "check_variant",
    "label_score",
    "rubric",
    "training_text",
    "uses_audio",
    "uses_transcript",
]
