"""Plotly figures of an Assessment: pure functions of the result (and the fusion weights), no gradio.

Each chart answers one question a teacher or an engineer asks of a result:
  part_scores_figure      how did each grader score each part, what came out of the fusion, how sure is it?
  fusion_weights_figure   which of the eight fusion weights did each part use?
  prototype_figure        which CEFR level did the speech grader hear in each part?
  mllm_distribution_figure how sure was the multimodal grader (probability of each score)?
  class_overview_figure   how does a class spread over the levels?
  delivery_figure         where in each answer did the learner speak, pause, and say syllables?
A grader that did not run gives a figure that says so, never an empty axis.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..assessment import UNTRAINED, Assessment
from ..delivery.measures import LONG_PAUSE_SECONDS, PAUSE_SECONDS, AnswerDelivery
from ..cefr import FUSION_EDGES, GRID, LABELS, N_INTERVALS, SCORE_MAX, SCORE_MIN
from ..parts import PARTS, part_info
from .result_view import provisional

COLORS = {"speech": "#2563eb", "mllm": "#d97706", "fused": "#059669", "part": "#6366f1", "muted": "#94a3b8"}
PART_COLORS = {1: "#2563eb", 3: "#d97706", 4: "#059669", 5: "#db2777"}
# Colour never carries a meaning alone: each part also has its own marker and bar pattern, and its label.
PART_SYMBOLS = {1: "circle", 3: "square", 4: "diamond", 5: "triangle-up"}
PART_PATTERNS = {1: "", 3: "/", 4: ".", 5: "x"}
# The graders' bars in "Scores per part": (trained, untrained) pattern; the part score is solid.
GRADER_PATTERNS = {"speech": (".", "/"), "mllm": ("-", "\\")}
HEIGHT = 340
NOT_LOADED_MLLM = "Multimodal grader not loaded"
_LABEL_SPOTS = ("top center", "bottom center", "middle left", "middle right")
Y_RANGE = (SCORE_MIN - 0.25, SCORE_MAX + 0.25)  # half a step of air around the 2.0..5.5 scale


MESSAGE_CHARS = 40  # a 14 px message line that fits a 390 px phone
TITLE_CHARS = 40  # a 15 px title longer than this is cut off on a 390 px phone: it wraps at its colon
NOTE_CHARS = 50  # a 12 px note line under the title that fits a 390 px phone
# Pixels of the parts above the plot, which stack top down: title lines, note lines, legend entries. The figure
# is drawn without knowing the screen's width, so nothing up there may depend on wrapping: the legend lists one
# entry per line (a horizontal one wraps into more rows on a phone and runs into the title) and the title and
# note are wrapped here, so every chart's header has the same height on a phone and on a laptop.
TOP_PAD, TITLE_LINE, NOTE_LINE, LEGEND_LINE, PLOT_GAP = 8, 20, 16, 19, 10
LEGEND_PAD = 6  # plotly's own padding above and below a legend
BOTTOM = 44  # the x axis's tick labels (one line) and its title


def wrap_title(title: str) -> str:
    """A long title on two lines (plotly never wraps a title; a phone would cut it): an aside in brackets goes
    on the second line ("... per learner<br>(untrained models: not grades)"), else what follows the colon."""
    if len(title) <= TITLE_CHARS:
        return title
    if " (" in title:
        head, _, tail = title.partition(" (")
        return f"{head}<br>({tail}"
    head, sep, tail = title.partition(": ")
    return f"{head}:<br>{tail}" if sep else "<br>".join(textwrap.wrap(title, TITLE_CHARS))


PHONE_LEGEND_WIDTH = 290  # px a legend may take on a 390 px phone (the plot's width)


def legend_names(fig: go.Figure) -> list[str]:
    """The names the legend lists: traces shown in it, one per legend group."""
    names, groups = [], set()
    for trace in fig.data:
        if trace.showlegend is False or trace.type == "heatmap" or not trace.name:
            continue
        group = trace.legendgroup or trace.name
        if group not in groups:
            groups.add(group)
            names.append(trace.name)
    return names


def _legend_grid(names: Sequence[str]) -> tuple[int, int | None]:
    """(rows the legend takes on a phone, the width of each entry in px; None: natural widths on one row).

    An entry takes about 40 px for its symbol and gaps plus 7 px a character. Entries of one fixed width let a
    wider screen put more on a row (fewer rows: a gap under the note), never more rows than reserved here.
    """
    if sum(40 + 7 * len(n) for n in names) <= PHONE_LEGEND_WIDTH:
        return 1, None
    width = 40 + 7 * max(len(n) for n in names)
    per_row = max(1, PHONE_LEGEND_WIDTH // width)
    return -(-len(names) // per_row), width


def lay_out(fig: go.Figure, title: str, height: int = HEIGHT, note: str = "", bottom: int = BOTTOM) -> go.Figure:
    """Title, then a grey note, then the legend (one entry a line), stacked above a plot `height` px tall.

    Every piece has a fixed height, so they never overlap whatever the width (see TOP_PAD...). The legend and
    the note are placed by pixels from the plot's top edge; the title from the figure's top.
    """
    title = wrap_title(title)
    title_lines = title.count("<br>") + 1 if title else 0
    note_lines = textwrap.wrap(note, NOTE_CHARS) if note else []
    names = legend_names(fig)
    rows, entry_width = _legend_grid(names) if len(names) > 1 else (0, None)
    legend_h = LEGEND_LINE * rows + 2 * LEGEND_PAD if rows else 0
    note_h = NOTE_LINE * len(note_lines)
    top = TOP_PAD + TITLE_LINE * title_lines + note_h + legend_h + PLOT_GAP
    total = height + top + bottom
    extra = max(title_lines - 1, 0)
    fig.update_layout(
        # Plotly lifts a title of several lines by part of a line even when it is anchored at its top, so each
        # extra line is placed 14 px lower or the first one is cut off.
        title={"text": title, "x": 0.01, "xanchor": "left", "y": 1 - (TOP_PAD + 14 * extra) / total,
               "yanchor": "top", "font": {"size": 15},
               # The note under the title, from the figure's left edge (an annotation starts at the plot's).
               "subtitle": {"text": "<br>".join(note_lines), "font": {"size": 12, "color": "#475569"}}},
        template="plotly_white",
        height=total,
        margin={"l": 56, "r": 16, "t": top, "b": bottom},
        showlegend=bool(rows),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1, "yref": "paper", "xanchor": "left", "x": 0.0,
                "font": {"size": 12}, "tracegroupgap": 0,
                **({"entrywidth": entry_width, "entrywidthmode": "pixels"} if entry_width else {})},
        font={"family": "Inter, system-ui, sans-serif", "size": 12},
    )
    return fig


def message_figure(title: str, message: str) -> go.Figure:
    """A chart frame that says in words why there is nothing to plot."""
    fig = go.Figure()
    # Plotly never wraps an annotation: in lines short enough for a phone, or it runs off both sides.
    fig.add_annotation(text="<br>".join(textwrap.wrap(message, MESSAGE_CHARS)), x=0.5, y=0.5, xref="paper",
                       yref="paper", showarrow=False,
                       font={"size": 14, "color": "#64748b"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return lay_out(fig, title)


def score_ticks(axis: str = "y") -> dict:
    """The 2.0..5.5 score axis with CEFR labels on its ticks. Across (x), score and level on two lines: eight
    "2.0 A2" labels side by side do not fit a phone, and plotly would turn them on their side."""
    sep = " " if axis == "y" else "<br>"
    return {"tickvals": list(GRID), "ticktext": [f"{g:.1f}{sep}{lab}" for g, lab in zip(GRID, LABELS)],
            "range": list(Y_RANGE), "gridcolor": "#e2e8f0", "tickangle": 0}


def _scale_axis(fig: go.Figure, axis: str = "y") -> None:
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(**score_ticks(axis))


def _part_names(parts: Sequence[int]) -> list[str]:
    """"Part 1"...: the part names ("Communication Activity") do not fit under four bar groups on a phone; the
    hover, the table and the charts' text give them."""
    return [f"Part {p}" for p in parts]


def part_scores_figure(assessment: Assessment, title: str = "Scores per part") -> go.Figure:
    """Grouped bars per part: speech grader (dotted), multimodal grader (lined), part score (solid); untrained
    grader bars hatched diagonally, so neither the grader nor its state is told by colour alone.

    Parts that could not be assessed get a label in place of bars, so a gap is never mistaken for a zero.
    """
    names = _part_names(PARTS)
    fig = go.Figure()
    series = (
        ("speech", "Speech grader", lambda pa: pa.speech),
        ("mllm", "Multimodal grader", lambda pa: pa.mllm),
    )
    for key, label, pick in series:
        scores = [pick(pa).score if (pa := assessment.part(p)) and pa.ok and pick(pa) else None for p in PARTS]
        if all(s is None for s in scores):
            continue
        untrained = [bool((pa := assessment.part(p)) and pick(pa) and pick(pa).state == UNTRAINED) for p in PARTS]
        fig.add_bar(
            # No value label on the graders' bars: three labels side by side run together on a phone and sit
            # on the overall's line; the hover, the table and "The charts as text" give them.
            name=label + (" (untrained)" if any(untrained) else ""), x=names, y=scores,
            marker={"color": COLORS[key], "pattern": {"shape": [GRADER_PATTERNS[key][u] for u in untrained]},
                    "opacity": 0.85},
            hovertemplate="%{x}<br>" + label + ": %{y:.2f}<extra></extra>",
        )
    fused = [pa.score if (pa := assessment.part(p)) and pa.ok else None for p in PARTS]
    intervals = [_shown_interval(assessment.part(p)) for p in PARTS]  # (low, high) or None
    has_interval = any(iv is not None for iv in intervals)
    coverage = next((pa.interval.coverage for p in PARTS if (pa := assessment.part(p)) and pa.interval), None)
    fig.add_bar(
        name="Part score" + ("" if assessment.graded else " (not a grade)")
             + (f" with {coverage:.0%} interval" if has_interval else ""), x=names, y=fused,
        marker={"color": COLORS["fused"] if assessment.graded else COLORS["muted"]},
        # Inside the bar, upright: outside it would sit on the error bar or the overall's line. Too narrow a bar
        # (a phone) hides the label rather than shrinking it past reading or spilling it over its neighbours.
        text=[f"{s:.2f}" if s is not None else "" for s in fused], textposition="inside", textangle=0,
        insidetextanchor="end", insidetextfont={"color": "white"},
        customdata=[f"{iv[0]:.2f}–{iv[1]:.2f}" if iv else "no calibrated interval" for iv in intervals],
        hovertemplate="%{x}<br>part score: %{y:.2f}<br>interval: %{customdata}<extra></extra>",
        error_y=None if not has_interval else {
            "type": "data", "symmetric": False, "color": "#0f172a", "thickness": 2, "width": 8,
            "array": [iv[1] - s if iv else 0 for iv, s in zip(intervals, fused)],
            "arrayminus": [s - iv[0] if iv else 0 for iv, s in zip(intervals, fused)],
        },
    )
    for p, name in zip(PARTS, names):
        pa = assessment.part(p)
        if pa is None or not pa.ok:
            fig.add_annotation(x=name, y=SCORE_MIN + 0.4, text="not assessed", showarrow=False,
                               font={"color": "#b91c1c"})
    if assessment.overall is not None:
        overall_iv = assessment.overall_interval
        label = f"overall<br>{assessment.overall:.2f}"
        if overall_iv is not None and overall_iv.available:
            # The overall's interval as a band across the chart, its bounds in the label.
            fig.add_hrect(y0=overall_iv.low, y1=overall_iv.high, fillcolor="#334155", opacity=0.08, line_width=0,
                          layer="below")
            label += f"<br>{overall_iv.coverage:.0%}: {overall_iv.low:.2f}–{overall_iv.high:.2f}"
        fig.add_hline(y=assessment.overall, line_dash="dot", line_color="#334155",
                      annotation_text=label, annotation_position="right")
    fig.update_layout(barmode="group", bargap=0.25, uniformtext={"minsize": 10, "mode": "hide"})
    _scale_axis(fig)
    fig = lay_out(fig, title)
    if assessment.overall is not None:
        wide = assessment.overall_interval is not None and assessment.overall_interval.available
        fig.update_layout(margin={"r": 96 if wide else 64})  # room for the overall label right of the plot
    return fig


def _shown_interval(pa) -> tuple[float, float] | None:
    """A part's fitted interval as (low, high), None when it has none (never the model's own spread)."""
    if pa is None or not pa.ok or pa.interval is None or not pa.interval.available:
        return None
    return pa.interval.low, pa.interval.high


def fusion_weights_figure(weights: Sequence[float] | None, assessment: Assessment, fitted: bool = True,
                          title: str = "Fusion weight per part") -> go.Figure:
    """The eight-interval weight curve w(multimodal score), with each part placed where it fell.

    Args:
        weights: the N_INTERVALS weights w_k on the multimodal score (None: no fusion configured).
        assessment: its parts give (multimodal score, weight used) points.
        fitted: False marks the curve as the unfitted default.
    """
    assessed = [(p, pa) for p in PARTS if (pa := assessment.part(p)) and pa.ok]
    if not assessed:
        return message_figure(title, "No part was assessed.")
    if weights is None or all(pa.mllm is None for _, pa in assessed):
        return message_figure(title, f"{NOT_LOADED_MLLM}: part scores are the speech grader's; no fusion weight applies.")
    used = [(p, pa) for p, pa in assessed if pa.mllm is not None and pa.fusion_weight is not None]
    if not used:
        return message_figure(title, "Fusion not applied: " + assessed[0][1].basis)
    weights = [float(w) for w in weights]
    if len(weights) != N_INTERVALS:
        raise ValueError(f"{len(weights)} fusion weights; expected {N_INTERVALS}")
    # Draw the step curve over the visible score range; the outer intervals run to the axis ends.
    lo, hi = Y_RANGE
    edges = [max(FUSION_EDGES[0], lo)] + list(FUSION_EDGES[1:-1]) + [min(FUSION_EDGES[-1], hi)]
    xs, ys = [], []
    for k, w in enumerate(weights):
        xs += [edges[k], edges[k + 1], None]
        ys += [w, w, None]
    fig = go.Figure()
    for k in range(N_INTERVALS):
        if k % 2:
            fig.add_vrect(x0=edges[k], x1=edges[k + 1], fillcolor="#f1f5f9", line_width=0, layer="below")
    fig.add_scatter(x=xs, y=ys, mode="lines", name="weight w_k" + ("" if fitted else " (not fitted)"),
                    line={"color": COLORS["mllm"], "width": 3, "dash": "solid" if fitted else "dash"},
                    hoverinfo="skip")
    fig.add_scatter(
        x=[pa.mllm.score for _, pa in used], y=[pa.fusion_weight for _, pa in used], mode="markers+text",
        name="parts", text=[f"P{p}" for p, _ in used],
        textposition=[_LABEL_SPOTS[k % len(_LABEL_SPOTS)] for k in range(len(used))],  # parts often coincide
        marker={"size": 12, "color": [PART_COLORS[p] for p, _ in used], "line": {"width": 1, "color": "white"},
                "symbol": [PART_SYMBOLS[p] for p, _ in used]},
        hovertemplate="%{text}: multimodal %{x:.2f} → w = %{y:.2f}<extra></extra>",
    )
    _scale_axis(fig, "x")
    fig.update_xaxes(title="multimodal score (selects the interval)")
    fig.update_yaxes(title="weight on multimodal", range=[-0.05, 1.1], gridcolor="#e2e8f0")
    return lay_out(fig, title)


PROTOTYPE_NOTE = ("▲ is the speech grader's score. Its head reads the whole recording as well as these "
                  "similarities, so the score need not sit on the most similar level.")


def prototype_figure(assessment: Assessment, title: str = "Speech grader: similarity to each CEFR level") -> go.Figure:
    """Heatmap parts x CEFR levels of the speech grader's prototype similarities (softmax, rows sum to 1), with
    the grader's own score marked in each row (▲): the similarities feed its score, they do not make it."""
    rows = [(p, pa.speech) for p in PARTS if (pa := assessment.part(p)) and pa.ok and pa.speech is not None
            and pa.speech.similarities is not None]
    if not rows:
        return message_figure(title, "No speech-grader result to show.")
    z = np.full((len(rows), len(GRID)), np.nan)  # (parts, levels); levels unseen in training stay blank
    for r, (_, score) in enumerate(rows):
        for level, sim in zip(score.prototype_levels or GRID, score.similarities):
            z[r, GRID.index(float(level))] = sim
    text = [[("" if np.isnan(v) else f"{v:.2f}") for v in row] for row in z]
    # Numeric axes (levels at their scores, rows 0..n-1) so the score can be marked between two levels.
    ys = list(range(len(rows)))
    fig = go.Figure(go.Heatmap(
        # Short row names and the colour bar underneath: the cells keep the width, so the numbers stay
        # readable on a phone (the part names are in the hover and in "The charts as text").
        z=z, x=list(GRID), y=ys, text=text, texttemplate="%{text}",
        customdata=[[part_info(p).title] * len(GRID) for p, _ in rows],
        colorscale="Blues", zmin=0.0, zmax=max(float(np.nanmax(z)), 1e-6),
        colorbar={"title": {"text": "similarity", "side": "top"}, "orientation": "h", "y": -0.2, "yanchor": "top",
                  "thickness": 10, "len": 0.6, "x": 0.0, "xanchor": "left"},
        hovertemplate="%{customdata} · level %{x:.1f}: similarity %{z:.3f}<extra></extra>",
    ))
    # The marker sits in the lower third of its row, under the cell's number.
    fig.add_scatter(x=[score.score for _, score in rows], y=[r + 0.33 for r in ys], mode="markers",
                    name="speech grader's score", showlegend=False,
                    marker={"symbol": "triangle-up", "size": 11, "color": "#f97316", "line": {"width": 1.5, "color": "#0f172a"}},
                    customdata=[part_info(p).title for p, _ in rows],
                    hovertemplate="%{customdata}: speech grader's score %{x:.2f}<extra></extra>")
    fig.update_xaxes(tickvals=list(GRID), ticktext=list(LABELS), range=[GRID[0] - 0.25, GRID[-1] + 0.25],
                     tickangle=0, showgrid=False)
    fig.update_yaxes(tickvals=ys, ticktext=[f"P{p}" for p, _ in rows], autorange="reversed", showgrid=False)
    return lay_out(fig, title, height=60 + 44 * len(rows), note=PROTOTYPE_NOTE, bottom=100)  # colour bar under


def mllm_distribution_figure(assessment: Assessment,
                             title: str = "Multimodal grader: score distribution") -> go.Figure:
    """Probability of each score (2.0..5.5) per part, one bar group per level."""
    rows = [(p, pa.mllm) for p in PARTS if (pa := assessment.part(p)) and pa.ok and pa.mllm is not None
            and pa.mllm.distribution is not None]
    if not rows:
        return message_figure(title, f"{NOT_LOADED_MLLM}.")
    fig = go.Figure()
    for p, score in rows:
        fig.add_bar(name=f"P{p}", x=[f"{g:.1f}<br>{lab}" for g, lab in zip(GRID, LABELS)], y=list(score.distribution),
                    marker={"color": PART_COLORS[p], "pattern": {"shape": PART_PATTERNS[p]}},
                    hovertemplate=f"P{p}" + " · %{x}: %{y:.2f}<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.2)
    fig.update_xaxes(tickangle=0)
    fig.update_yaxes(title="probability", range=[0, 1], gridcolor="#e2e8f0")
    return lay_out(fig, title)


NO_OVERALL_YET = "No learner has an overall score yet."


@dataclass(frozen=True)
class ClassLevels:
    """What the class chart draws, and its text alternative words (chart_text.class_overview_html)."""

    learners: tuple[tuple[Assessment, bool], ...]  # (result, complete?) with an overall, lowest overall first
    unscored: tuple[str, ...]  # learners without an overall score: not in the chart
    graded: bool  # every score drawn comes from trained graders

    def count(self, level: str, complete: bool | None = None) -> int:
        """Learners at an overall CEFR level (complete ones, provisional ones, or both with None)."""
        return sum(1 for a, whole in self.learners if a.overall_cefr == level and complete in (None, whole))


def class_levels(assessments: Sequence[Assessment]) -> ClassLevels:
    """The class's overall scores, sorted, each marked complete or provisional (see result_view.provisional)."""
    done = sorted((a for a in assessments if a.overall is not None), key=lambda a: a.overall)
    return ClassLevels(tuple((a, provisional(a) is None) for a in done),
                       tuple(a.learner or "?" for a in assessments if a.overall is None),
                       all(a.graded for a in done))


def class_overview_figure(assessments: Sequence[Assessment], title: str = "Overall score per learner") -> go.Figure:
    """Each learner's overall score (bars, best first; provisional ones hatched and labelled), and under it
    how many learners reached each overall level: the class's distribution at a glance."""
    data = class_levels(assessments)
    if not data.learners:
        return message_figure(title, NO_OVERALL_YET)
    done = [a for a, _ in data.learners]
    complete = [whole for _, whole in data.learners]  # every part and every answer the test asks for
    color = COLORS["fused"] if data.graded else COLORS["muted"]
    top_h, gap, levels_h = 24 + 40 * len(done), 84, 150  # px: learners' bars, the gap (ticks + title), levels
    plot_h = top_h + gap + levels_h
    fig = make_subplots(rows=2, cols=1, row_heights=[top_h, levels_h], vertical_spacing=gap / plot_h,
                        subplot_titles=("", "Learners per level (hatched: provisional)"))
    # Each bar's name, score and level in its axis label (two lines): a label on or beside the bar ran over the
    # names or off the chart on a phone. Rows by position, so two learners of one name keep two bars.
    rows = list(range(len(done)))
    fig.add_bar(
        x=[a.overall for a in done], y=rows, orientation="h", name="overall",
        marker={"color": color, "pattern": {"shape": ["" if whole else "/" for whole in complete]}},
        customdata=[a.learner or "?" for a in done],
        hovertemplate="%{customdata}: %{x:.2f}<extra></extra>", showlegend=False, row=1, col=1,
    )
    fig.update_yaxes(tickvals=rows, ticktext=[f"{a.learner or '?'}<br>{a.overall:.2f} {a.overall_cefr}"
                                              + ("" if whole else " (provisional)") for a, whole in zip(done, complete)],
                     row=1, col=1)
    for whole, label, shape in ((True, "complete", ""), (False, "provisional", "/")):
        counts = [data.count(level, whole) for level in LABELS]
        fig.add_bar(x=list(LABELS), y=counts, name=label, marker={"color": color, "pattern": {"shape": shape}},
                    text=[str(c) if c else "" for c in counts], textposition="inside",
                    hovertemplate="%{x}: %{y} " + label + "<extra></extra>", showlegend=False, row=2, col=1)
    fig.update_layout(barmode="stack", uniformtext={"minsize": 10, "mode": "hide"})
    fig.update_xaxes(**score_ticks("x"), row=1, col=1)
    fig.update_xaxes(tickangle=0, row=2, col=1)
    fig.update_yaxes(title="learners", dtick=1, gridcolor="#e2e8f0", row=2, col=1)
    if not data.graded:
        title += " (untrained models: not grades)"
    return lay_out(fig, title, height=plot_h, bottom=30)


DELIVERY_COLORS = {"speech": "#10b981", "pause": "#f59e0b", "long": "#dc2626", "nucleus": "#1e293b",
                   "silence": "#e2e8f0"}
NO_ANSWER_MEASURED = "No answer was measured."
DELIVERY_NOTE = (f"Speech includes gaps under {PAUSE_SECONDS:g} s (breaths, stop consonants): they are not pauses. "
                 "Grey: silence before the first word and after the last, not counted as a pause.")


def timeline_rows(assessment: Assessment) -> list[tuple[str, AnswerDelivery]]:
    """(row name, answer) per measured answer, in test order: the rows of the delivery timeline and of its text."""
    return [(f"P{p} answer {i + 1}" if len(pa.delivery.answers) > 1 else f"P{p} {part_info(p).name}", ans)
            for p in PARTS if (pa := assessment.part(p)) and pa.ok and pa.delivery
            for i, ans in enumerate(pa.delivery.answers)]


def speech_runs(ans: AnswerDelivery) -> list[tuple[float, float]]:
    """(start, end) s of each stretch of speech between silent pauses: gaps under PAUSE_SECONDS are speech, as
    the measures count them (delivery.measures), so the timeline and the numbers tell the same story."""
    if not ans.segments:
        return []
    edges = [ans.segments[0][0]] + [x for start, length in ans.pauses for x in (start, start + length)]
    edges.append(ans.segments[-1][1])
    return list(zip(edges[::2], edges[1::2]))


def delivery_figure(assessment: Assessment, title: str = "Delivery: speech, pauses and syllables") -> go.Figure:
    """A timeline per answer: stretches of speech, silent pauses (long ones red and crossed), syllable nuclei, and
    the silence before the first word and after the last (grey), so no part of a recording is unexplained white.

    One row per answer (Part 1 and Part 5 have several), top to bottom in test order; x is seconds into
    that answer's recording, so "the longest pause at 0:31" can be found by ear.
    """
    rows = timeline_rows(assessment)
    if not rows:
        return message_figure(title, NO_ANSWER_MEASURED)
    fig = go.Figure()
    # Short row labels ("P3", "P1 answer 2"): "P5 Communication Activity" took half a phone's width.
    labels = [name if " answer " in name else name.split()[0] for name, _ in rows]
    shown = set()

    def bar(kind: str, label: str, name: str, start: float, length: float, hover: str) -> None:
        # A long pause is crossed as well as red: colour alone never tells it from a short one.
        fig.add_bar(x=[length], base=[start], y=[name], orientation="h", name=label, legendgroup=kind,
                    showlegend=kind not in shown, width=0.5, hovertemplate=hover + "<extra></extra>",
                    marker={"color": DELIVERY_COLORS[kind], "pattern": {"shape": "x" if kind == "long" else ""}})
        shown.add(kind)

    for label, (name, ans) in zip(labels, rows):
        runs = speech_runs(ans)
        silences = [(0.0, runs[0][0]), (runs[-1][1], ans.duration_s)] if runs else [(0.0, ans.duration_s)]
        for a, b in silences:
            if b - a > 0.01:
                bar("silence", "before/after speaking", label, a, b - a, f"{name}<br>silence {a:.1f}–{b:.1f} s")
        for a, b in runs:
            bar("speech", "speech", label, a, b - a, f"{name}<br>speech {a:.1f}–{b:.1f} s")
        for start, length in ans.pauses:
            kind = "long" if length >= LONG_PAUSE_SECONDS else "pause"
            what = f"pause ≥ {LONG_PAUSE_SECONDS:g} s" if kind == "long" else "pause"
            bar(kind, what, label, start, length, f"{name}<br>{what} of {length:.2f} s at {start:.1f} s")
    xs = [t for _, ans in rows for t in ans.nuclei]
    ys = [label for label, (_, ans) in zip(labels, rows) for _ in ans.nuclei]
    fig.add_scatter(x=xs, y=ys, mode="markers", name="syllable", marker={"symbol": "line-ns-open", "size": 14,
                    "color": DELIVERY_COLORS["nucleus"]}, hovertemplate="syllable at %{x:.2f} s<extra></extra>")
    longest = max(ans.duration_s for _, ans in rows)
    fig.update_layout(barmode="overlay", bargap=0.4)
    fig.update_xaxes(title="seconds into the answer", range=[0, longest], gridcolor="#e2e8f0")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(labels)))
    return lay_out(fig, title, height=20 + 30 * len(rows), note=DELIVERY_NOTE, bottom=56)
