"""The four parts of a Speak & Improve-style speaking test.

Part 2 (read-aloud) is not scored in the S&I Corpus 2025 SLA task, so the test has parts 1, 3, 4, 5.
Everything that needs a part's name, task description or default questions imports it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTS: tuple[int, ...] = (1, 3, 4, 5)


@dataclass(frozen=True)
class PartInfo:
    """What a learner is asked to do in one part (the task description D_p of the paper)."""

    number: int
    name: str
    task: str  # D_p: shown to the learner and given to the multimodal grader
    questions: tuple[str, ...]  # default Q_p, one per expected answer; the corpus may supply its own
    max_answers: int  # Part 1 takes up to 6 short answers, Part 5 takes 5
    answer_seconds: float  # speaking time of one answer in the real test (guidance, not a hard cap)

    @property
    def title(self) -> str:
        return f"Part {self.number}: {self.name}"

    @property
    def speaker_context(self) -> bool:
        """Parts whose answers are graded together in one prompt (the paper's speaker context)."""
        return self.max_answers > 1


PART_INFO: dict[int, PartInfo] = {
    1: PartInfo(
        number=1,
        name="Interview",
        task=(
            "The learner answers short questions about themselves, such as where they live, "
            "their studies or work, and their free time. Each answer should take about 10-20 seconds."
        ),
        questions=(
            "Where do you live?",
            "What do you like about the place where you live?",
            "Do you work or are you a student?",
            "What do you enjoy doing in your free time?",
            "Tell me about a person you admire.",
            "What would you like to do next year?",
        ),
        max_answers=6,
        answer_seconds=20.0,
    ),
    3: PartInfo(
        number=3,
        name="Opinion",
        task=(
            "The learner gives their opinion on a topic and explains their reasons, "
            "speaking for up to one minute."
        ),
        questions=("Some people say that it is better to live in a city than in the countryside. What do you think?",),
        max_answers=1,
        answer_seconds=60.0,
    ),
    4: PartInfo(
        number=4,
        name="Presentation",
        task=(
            "The learner gives a short presentation on a topic, describing an experience or a process "
            "and organising the ideas clearly, speaking for up to one minute."
        ),
        questions=("Talk about a time when you learned something new. What was it, how did you learn it, and how did you feel?",),
        max_answers=1,
        answer_seconds=60.0,
    ),
    5: PartInfo(
        number=5,
        name="Communication Activity",
        task=(
            "The learner answers five questions on one topic, giving and justifying opinions. "
            "Each answer should take about 20 seconds."
        ),
        questions=(
            "Do you think people spend too much time on their phones?",
            "Why do some people prefer to read the news online?",
            "Should children learn to use computers at school?",
            "How has technology changed the way people shop?",
            "Will people still read printed books in the future?",
        ),
        max_answers=5,
        answer_seconds=20.0,
    ),
}


def part_info(part: int) -> PartInfo:
    """The PartInfo of `part`, with an error naming the valid parts otherwise."""
    try:
        return PART_INFO[int(part)]
    except (KeyError, ValueError, TypeError) as e:
        raise ValueError(f"unknown part {part!r}: the test has parts {', '.join(map(str, PARTS))}") from e
