"""Feedback a learner can act on, built only from the measured facts of their own answers.

At most three short sentences per part, in this order of use to a learner: how much of the time they
spoke, their long pauses (how many, the longest and where, to find it in the recording), and a late
start (or, when they started promptly, their speech rate). No CEFR norm is given for any measure: we
know of no published norm per level for these acoustic measures on this task, so a number is never
called "good" or "too slow". A grader's score never enters these sentences.

`class_standing` places a learner among classmates ("slower than 3 of 4 classmates"); it is for the
class view and its CSV only, never stored in the learner's Assessment, which must not depend on who
else is in the class.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence

from .measures import LONG_PAUSE_SECONDS, PartDelivery

LATE_START_SECONDS = 2.0  # s of silence before the first word worth pointing out (a listener notices it)


def clock(seconds: float) -> str:
    """0:31 for 31.2 s: how a teacher finds a moment in a recording."""
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def _s(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def part_feedback(delivery: PartDelivery | None) -> tuple[str, ...]:
    """One to three sentences about one part's delivery (empty without measures)."""
    if delivery is None or not delivery.answers or delivery.span_s <= 0:
        return ()
    n = len(delivery.answers)
    answers = f" over {n} answers" if n > 1 else ""
    said = [f"You spoke for {delivery.speaking_s:.0f} s of {delivery.duration_s:.0f} s of recording{answers}."]
    longest = delivery.longest_pause
    if delivery.n_long_pauses:
        where = f"in answer {longest[0] + 1} at {clock(longest[1])}" if n > 1 else f"at {clock(longest[1])}"
        said.append(f"{_s(delivery.n_long_pauses, 'pause')} longer than {LONG_PAUSE_SECONDS:g} s; "
                    f"the longest, {longest[2]:.1f} s, {where}.")
    else:
        said.append(f"No pause was longer than {LONG_PAUSE_SECONDS:g} s.")
    late = [(i, a.start_s) for i, a in enumerate(delivery.answers) if a.start_s >= LATE_START_SECONDS]
    if late:
        i, start = max(late, key=lambda x: x[1])
        which = f" in answer {i + 1}" if n > 1 else ""
        said.append(f"You took {start:.1f} s to start speaking{which}.")
    elif delivery.speech_rate is not None:
        said.append(f"You said about {delivery.speech_rate:.1f} syllables per second, "
                    f"{delivery.mean_length_of_run:.0f} between pauses on average.")
    return tuple(said)


def class_standing(rates: Mapping[str, float | None]) -> dict[str, str]:
    """Where each learner's speech rate stands among classmates', in words.

    Args:
        rates: learner -> speech rate (syllables per second), None when not measured.
    Returns:
        learner -> e.g. "faster than 3 of 4 classmates" ("" without classmates to compare with).
    """
    measured = sorted(v for v in rates.values() if v is not None)
    return {learner: standing_among(rate, measured) for learner, rate in rates.items()}


def standing_among(rate: float | None, class_rates: Sequence[float]) -> str:
    """class_standing for one learner, from the whole class's measured rates sorted (theirs among them):
    a class of any size is a sorted list of numbers, not its assessments, and each learner costs log n."""
    others = len(class_rates) - 1
    if rate is None or others < 1:
        return ""
    slower, faster = bisect_left(class_rates, rate), len(class_rates) - bisect_right(class_rates, rate)
    if slower >= faster:
        return f"faster than {slower} of {_s(others, 'classmate')}"
    return f"slower than {faster} of {_s(others, 'classmate')}"
