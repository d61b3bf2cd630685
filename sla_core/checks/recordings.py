"""The same recording handed in twice across a class: found from the fingerprints the answer checks keep.

Within one learner the pipeline already fails the later copy (`answers.AnswerChecker`); across learners
nothing is refused (which learner's answer is the original is for the teacher to find out), but both are
flagged in the class table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..assessment import Assessment


def shared_recordings(assessments: Sequence[Assessment]) -> list[list[str]]:
    """For each learner (same order), one sentence per answer whose recording another learner also gave.

    "Part 3, answer 1 is the same recording as Tom's Part 3, answer 1." Learners without one get [].
    """
    owners: dict[str, list[tuple[int, int, int]]] = defaultdict(list)  # fingerprint -> (learner index, part, answer)
    for k, a in enumerate(assessments):
        for pa in a.parts:
            for c in pa.checks:
                if c.check == "same_recording" and c.fingerprint:
                    owners[c.fingerprint].append((k, pa.part, c.answer))
    found: list[list[str]] = [[] for _ in assessments]
    for places in owners.values():
        for k, part, answer in places:
            others = [f"{_name(assessments[j], j)}'s Part {p}, answer {n}" for j, p, n in places if j != k]
            if others:
                found[k].append(f"Part {part}, answer {answer} is the same recording as {', '.join(others)}.")
    return found


def _name(a: Assessment, k: int) -> str:
    return a.learner or f"learner {k + 1}"


__all__ = ["shared_recordings"]
