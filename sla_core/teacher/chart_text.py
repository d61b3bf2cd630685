"""Text alternatives of the class chart, the calibration chart and the delivery timeline (no gradio).

A screen reader, a printout or a phone too narrow for a chart reads these: a short summary in words and a
small table. Each is built from the very data its chart draws (charts.class_levels, the calibration
Evidence and calibration_chart.metric_values, charts.timeline_rows), so the two can never disagree, and
none says anything by colour. The result charts of one learner are worded by result_view.charts_text_html.
HTML strings with every dynamic value escaped; the app places each one next to its chart.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..assessment import Assessment
from ..calibration.profile import Evidence
from ..cefr import LABELS
from ..delivery.measures import LONG_PAUSE_SECONDS, PAUSE_SECONDS, AnswerDelivery
from . import ui_text
from .calibration_chart import METRICS, TOO_FEW, metric_label, metric_values
from .charts import NO_ANSWER_MEASURED, NO_OVERALL_YET, class_levels, speech_runs, timeline_rows
from .result_view import provisional

MAX_RUNS = 6  # stretches of speech listed per answer; a 60 s answer with 15 pauses is summed up after these


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def _table(caption: str, head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    e = html.escape
    cells = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return (f"<table><caption>{e(caption)}</caption><tr>{''.join(f'<th>{e(h)}</th>' for h in head)}</tr>"
            f"{cells}</table>")


def clock(seconds: float) -> str:
    """Seconds as m:ss ("0:07", "1:02"), the way a teacher finds a moment in a recording."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


# -- the class chart ----------------------------------------------------------------------------------

def _who(a: Assessment) -> str:
    return f"{a.learner or '?'} {a.overall:.2f} ({a.overall_cefr})"


def class_overview_html(assessments: Sequence[Assessment]) -> str:
    """The class chart in words: how many learners at each level (provisional ones said so), the highest and
    lowest, who has no score; then a table per level and a table per learner, highest first."""
    data = class_levels(assessments)
    unscored = ""
    if data.unscored:
        k = len(data.unscored)
        unscored = _p(ui_text.CLASS_TEXT_UNSCORED.format(k=k, s=_s(k), learners=", ".join(data.unscored)))
    if not data.learners:
        return _p(NO_OVERALL_YET) + unscored
    n = len(data.learners)
    levels = [(level, data.count(level), data.count(level, False)) for level in LABELS if data.count(level)]
    spread = ", ".join(f"{k} at {level}" + (f" ({late} provisional)" if late else "") for level, k, late in levels)
    ordered = [a for a, _ in reversed(data.learners)]  # highest first, as the chart reads top down
    text = ui_text.CLASS_TEXT_SPREAD.format(n=n, s=_s(n), spread=spread)
    if n > 1:
        text += " " + ui_text.CLASS_TEXT_RANGE.format(high=_who(ordered[0]), low=_who(ordered[-1]))
    out = _p(text)
    late = sum(1 for _, whole in data.learners if not whole)
    if late:
        out += _p(ui_text.CLASS_TEXT_PROVISIONAL.format(k=late))
    out += unscored
    if not data.graded:
        out += _p(ui_text.CLASS_TEXT_NOT_GRADES)
    out += _table(ui_text.CLASS_TEXT_LEVELS, ("Level", "Learners", "of them provisional"), levels)
    out += _table(ui_text.CLASS_TEXT_LEARNERS, ("Learner", "Overall", "Level", "Coverage"),
                  [(a.learner or "?", f"{a.overall:.2f}", a.overall_cefr, provisional(a) or ui_text.COMPLETE)
                   for a in ordered])
    return out


# -- the calibration chart ----------------------------------------------------------------------------

def evidence_html(evidence: Evidence | None) -> str:
    """The held-out check in words (n, each metric before and after, how many came closer to the mark) and a
    table of every mark with its score before and after, lowest mark first (the chart's x axis)."""
    if evidence is None:
        return _p(TOO_FEW)
    learners, parts = len(set(evidence.learners)), sorted(set(evidence.parts))
    out = _p(ui_text.EVIDENCE_TEXT_N.format(n=evidence.n, learners=learners, s=_s(learners),
                                            parts=("part " if len(parts) == 1 else "parts ")
                                            + ", ".join(str(p) for p in parts)))
    before, after = metric_values(evidence, "before"), metric_values(evidence, "after")
    metrics = [ui_text.EVIDENCE_TEXT_METRIC.format(label=ui_text.EVIDENCE_TEXT_LABELS.get(key, label),
                                                   before=metric_label(b), after=metric_label(a))
               for (label, key, _), b, a in zip(METRICS, before, after)]
    undefined = "n/a" in {metric_label(v) for v in before + after}
    out += _p("; ".join(metrics) + "." + (" " + ui_text.EVIDENCE_TEXT_NA if undefined else ""))
    moved = [abs(a - m) - abs(b - m) for m, b, a in zip(evidence.marks, evidence.before, evidence.after)]
    out += _p(ui_text.EVIDENCE_TEXT_CLOSER.format(
        n=evidence.n, closer=sum(d < -0.005 for d in moved), further=sum(d > 0.005 for d in moved),
        same=sum(abs(d) <= 0.005 for d in moved)))
    rows = sorted(zip(evidence.marks, evidence.learners, evidence.parts, evidence.before, evidence.after),
                  key=lambda r: (r[0], r[1], r[2]))
    return out + _table(ui_text.EVIDENCE_TEXT_TABLE, ("Learner", "Part", "Your mark", "Before", "After"),
                        [(who, p, f"{m:.1f}", f"{b:.2f}", f"{a:.2f}") for m, who, p, b, a in rows])


# -- the delivery timeline ----------------------------------------------------------------------------

def answer_timeline_text(name: str, ans: AnswerDelivery) -> str:
    """One timeline row in words: "P3 Opinion (0:20 recorded): spoke 0:00–0:04, pause 0.6 s, ... . 2 pauses of
    0.25 s or more, 1 of at least 1 s; longest 1.4 s at 0:09. 56 syllables." Long answers list MAX_RUNS
    stretches of speech, then sum up the rest."""
    duration = clock(ans.duration_s)
    if not ans.segments:
        return ui_text.TIMELINE_NO_SPEECH.format(name=name, duration=duration)
    runs = speech_runs(ans)
    shown = runs if len(runs) <= MAX_RUNS else runs[:MAX_RUNS - 1]
    steps = []
    for k, (start, end) in enumerate(shown):
        if k:
            steps.append(ui_text.TIMELINE_PAUSE.format(length=ans.pauses[k - 1][1]))
        steps.append(ui_text.TIMELINE_SPOKE.format(start=clock(start), end=clock(end)))
    if len(shown) < len(runs):
        steps.append(ui_text.TIMELINE_MORE.format(k=len(runs) - len(shown), end=clock(runs[-1][1])))
    summary = ui_text.TIMELINE_NO_PAUSE.format(short=PAUSE_SECONDS) if not ans.pauses else \
        ui_text.TIMELINE_PAUSES.format(n=ans.n_pauses, s=_s(ans.n_pauses), short=PAUSE_SECONDS,
                                       long=len(ans.long_pauses), long_s=LONG_PAUSE_SECONDS)
    if ans.longest_pause:
        at, length = ans.longest_pause
        summary += "; " + ui_text.TIMELINE_LONGEST.format(length=length, at=clock(at))
    return (ui_text.TIMELINE_ANSWER.format(name=name, duration=duration, steps=", ".join(steps)) + " "
            + summary[0].upper() + summary[1:] + ". " + ui_text.TIMELINE_SYLLABLES.format(n=ans.syllables))


def timeline_html(assessment: Assessment, heading: str = ui_text.CHART_DELIVERY) -> str:
    """The delivery timeline in words: one line per answer, in the chart's rows and order."""
    rows = timeline_rows(assessment)
    if not rows:
        return f"<p><b>{html.escape(heading)}</b></p>" + _p(NO_ANSWER_MEASURED)
    items = "".join(f"<li>{html.escape(answer_timeline_text(name, ans))}</li>" for name, ans in rows)
    return f"<p><b>{html.escape(heading)}</b></p><ul>{items}</ul>"
