"""The session grader's prompt: the whole test as one conversation. Pure strings.

One prompt per learner: a header per part (1, 3, 4, 5, in test order) with its task description, the
acoustic prior (our speech grader's estimate for that part, or "not available"), and each answer's
question ("not known; ..." where the corpus has none, as `prompts.QUESTION_NOT_KNOWN`) followed by its
recording (`AUDIO_PLACEHOLDER`, expanded by `phi4.encode` into 12.5 audio tokens per second). A part
the learner did not record says so: the model still reads the other parts and gives all five outputs.

The answer is read by a regression head at the prompt's last position (after `<|assistant|>`), so
the prompt ends there and no output format is asked for: the instruction names the five quantities
the head is trained to return, in the head's order (`TARGETS`).

Audio-token budget (the session grader, `SessionConfig`): each answer is cut to its part's cap
(`ANSWER_CAP_SECONDS`: 1.5x the part's speaking time, 30 s for Parts 1 and 5, 90 s for Parts 3 and 4),
so the longest possible session is 6 x 30 + 90 + 90 + 5 x 30 = 510 s = 6,375 audio tokens; a typical
4-5 minute test is 3,000-3,750. The text around them is ~900 tokens with the real tokenizer (~3,500
bytes: the tiny test tokenizer is byte-level). Both fit Phi-4-multimodal's 131,072-token context; the
grader refuses a session longer than `SessionConfig.max_tokens` (8,192) with the learner named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..cefr import cefr_label
from ..parts import PARTS, part_info
from .prompts import ASSISTANT, AUDIO_PLACEHOLDER, END, QUESTION_NOT_KNOWN, SYSTEM, SYSTEM_TEXT, USER, clean_text

OVERALL = "overall"
TARGETS: tuple[int | str, ...] = (*PARTS, OVERALL)  # the regression head's outputs, in this order
# Cut per answer, seconds: 1.5x each part's speaking time (parts.PartInfo.answer_seconds), so a learner who
# overruns keeps most of an answer while one session stays within the token budget above.
ANSWER_CAP_SECONDS: dict[int, float] = {p: 1.5 * part_info(p).answer_seconds for p in PARTS}
PRIOR_NOT_AVAILABLE = "not available"
NOT_RECORDED = "Not recorded: this part is missing from the test."


def prior_text(score: float | None) -> str:
    """The acoustic prior as the prompt gives it: one decimal and the CEFR label ("3.4 (B1+)").

    One decimal: the speech grader's RMSE is ~0.4, so a second digit is noise that costs tokens.
    """
    return PRIOR_NOT_AVAILABLE if score is None else f"{score:.1f} ({cefr_label(score)})"


def build_session_prompt(questions: Mapping[int, Sequence[str | None]],
                         prior: Mapping[int, float | None] | None = None) -> str:
    """The chat prompt for one learner's whole test, ending at the answer position.

    Args:
        questions: part -> one entry per recorded answer (None: question not known); parts absent here
            were not recorded. Each answer gets one AUDIO_PLACEHOLDER, in part then answer order.
        prior: part -> the speech grader's estimate for that part; absent or None: "not available".
    Returns:
        The prompt; `prompt.count(AUDIO_PLACEHOLDER)` recordings go with it, in the same order.
    """
    prior = prior or {}
    unknown = sorted(set(questions) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown part(s) {unknown}: the test has parts {list(PARTS)}")
    if not any(questions.values()):
        raise ValueError("a session needs at least one recorded answer")
    recorded = [p for p in PARTS if questions.get(p)]
    lines = ["Speaking test: the whole session, one part after another "
             f"(recorded: Parts {', '.join(map(str, recorded))})."]
    for p in PARTS:
        info = part_info(p)
        lines += ["", f"{info.title}.", f"Task: {clean_text(info.task)}"]
        answers = questions.get(p) or ()
        if not answers:
            lines.append(NOT_RECORDED)
            continue
        if len(answers) > info.max_answers:
            raise ValueError(f"part {p} takes at most {info.max_answers} answers, got {len(answers)}")
        lines.append(f"Acoustic estimate for this part (a speech-only grader): {prior_text(prior.get(p))}")
        for i, question in enumerate(answers):
            head = f"Answer {i + 1}. " if len(answers) > 1 else "Answer. "
            lines.append(head + f"Question: {clean_text(question) if question is not None else QUESTION_NOT_KNOWN}")
            lines.append(f"Recording: {AUDIO_PLACEHOLDER}")
    lines += ["", "Rate the learner's spoken English from the recordings: each part (1, 3, 4, 5) and overall, "
                  "on the CEFR scale 2.0 (A2) to 5.5 (C1+)."]
    return f"{SYSTEM}{SYSTEM_TEXT}{END}{USER}" + "\n".join(lines) + f"{END}{ASSISTANT}"


__all__ = ["ANSWER_CAP_SECONDS", "NOT_RECORDED", "OVERALL", "PRIOR_NOT_AVAILABLE", "TARGETS", "build_session_prompt",
           "prior_text"]
