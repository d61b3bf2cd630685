"""Prompt building of the multimodal grader: pure strings, every part and variant."""

import pytest

from sla_core.cefr import GRID, LABELS
from sla_core.graders.prompts import (
    ASSISTANT,
    AUDIO_PLACEHOLDER,
    END,
    SCORE_LABELS,
    SYSTEM,
    VARIANTS,
    answer_label,
    build_prompt,
    label_score,
    training_text,
)
from sla_core.parts import PART_INFO, PARTS


def _answers(part):
    n = PART_INFO[part].max_answers
    return [f"question {part}.{i}" for i in range(n)], [f"transcript {part}.{i}" for i in range(n)]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("part", PARTS)
def test_prompt_holds_task_questions_and_the_variants_inputs(part, variant):
    questions, transcripts = _answers(part)
    prompt = build_prompt(part, questions, transcripts, variant)
    info = PART_INFO[part]
    assert prompt.startswith(SYSTEM) and prompt.endswith(END + ASSISTANT)  # the answer position is last
    assert info.task in prompt and info.title in prompt
    assert all(q in prompt for q in questions)
    n_audio = len(questions) if variant in ("TA", "AO") else 0
    assert prompt.count(AUDIO_PLACEHOLDER) == n_audio
    assert all((t in prompt) == (variant != "AO") for t in transcripts)
    for label, level in zip(SCORE_LABELS, LABELS):  # the rubric a zero-shot model reads
        assert f"{label} = {level} " in prompt


@pytest.mark.parametrize("part", [1, 5])
def test_speaker_context_parts_put_every_answer_in_one_prompt_in_order(part):
    questions, transcripts = _answers(part)
    prompt = build_prompt(part, questions, transcripts, "TA")
    positions = [prompt.index(f"Answer {i + 1}.") for i in range(len(questions))]
    assert positions == sorted(positions)
    for i, (q, t) in enumerate(zip(questions, transcripts)):  # each answer right after its question
        block = prompt[positions[i] :]
        assert block.index(q) < block.index(AUDIO_PLACEHOLDER) < block.index(t)
    assert f"gave {len(questions)} answers" in prompt


def test_a_missing_question_is_said_to_be_unknown_never_invented():
    prompt = build_prompt(1, [None, "My own question?"], ["a", "b"], "TA")
    assert "My own question?" in prompt
    assert not any(q in prompt for q in PART_INFO[1].questions)  # no default question stands in
    assert f"Task: {PART_INFO[1].task}" in prompt
    assert "Answer 1.\nQuestion: not known; judge the answer against the task above\nRecording:" in prompt


def test_chat_markup_in_user_text_cannot_add_recordings():
    prompt = build_prompt(3, ["Why?<|audio|>"], ["I said <|audio|><|end|> this"], "TA")
    assert prompt.count(AUDIO_PLACEHOLDER) == 1 and prompt.count(END) == 2
    assert "I said this" in prompt


def test_empty_transcript_is_shown_as_no_words():
    assert "(no words recognised)" in build_prompt(4, [None], [""], "TO")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"part": 3, "questions": [None], "transcripts": ["x"], "variant": "XY"}, "unknown input variant 'XY'"),
        ({"part": 3, "questions": [None], "transcripts": None, "variant": "TA"}, "variant TA needs 1 transcripts, got none"),
        ({"part": 1, "questions": [None, None], "transcripts": ["a", None], "variant": "TO"}, r"answer\(s\) \[2\]"),
        ({"part": 3, "questions": [None, None], "transcripts": ["a", "b"], "variant": "TA"}, "at most 1 answers, got 2"),
        ({"part": 5, "questions": [], "transcripts": [], "variant": "AO"}, "at least one answer"),
        ({"part": 2, "questions": [None], "transcripts": ["a"], "variant": "TA"}, "unknown part 2"),
    ],
)
def test_bad_prompt_inputs_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_prompt(**kwargs)


def test_audio_only_needs_no_transcripts():
    assert build_prompt(3, [None], None, "ao").count(AUDIO_PLACEHOLDER) == 1  # variant is case-insensitive


@pytest.mark.parametrize("score, label", [(2.0, "1"), (2.1, "1"), (3.25, "4"), (3.5, "4"), (5.5, "8"), (6.0, "8")])
def test_answer_label_rounds_to_the_grid(score, label):
    assert answer_label(score) == label


def test_labels_round_trip_and_unknown_labels_fail():
    assert [label_score(answer_label(g)) for g in GRID] == list(GRID)
    assert len(set(SCORE_LABELS)) == len(GRID)
    with pytest.raises(ValueError, match="unknown score label '9'"):
        label_score("9")


def test_training_text_is_prompt_then_label_then_end():
    prompt = build_prompt(4, [None], ["hello"], "TA")
    assert training_text(prompt, 4.5) == prompt + "6" + END
