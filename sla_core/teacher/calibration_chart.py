"""The evidence of a teacher calibration as one small plotly figure (no gradio): for the Calibrate tab.

Above: each held-out response, the teacher's mark against the system's score before (grey open circles) and
after (green diamonds) calibration; on the diagonal they agree. Below: RMSE, Pearson and the share within
half a band, before (hatched) and after. Its text alternative is chart_text.evidence_html, from the same Evidence.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..calibration.profile import Evidence
from ..calibration.fit import MIN_EXEMPLARS
from ..cefr import GRID, SCORE_MAX, SCORE_MIN
from .charts import lay_out, message_figure

BEFORE, AFTER = "#94a3b8", "#059669"
# Colour never tells before from after alone: each has its own marker and bar pattern, and its name.
SYMBOLS = {"before": "circle-open", "after": "diamond"}
PATTERNS = {"before": "/", "after": ""}
TOO_FEW = (f"Too few graded responses to check a calibration: at least 3 for a check, {MIN_EXEMPLARS} for a profile "
           "that can apply.")
SCATTER_NOTE = ("Above: your mark against the system's score for each response, scored by a calibration fitted "
                "without it; on the dotted line they agree. Below: the errors before (hatched) and after.")
# (label, key in Evidence.overall[...], scale to the bar's unit): the bars and their text alternative.
METRICS = (("RMSE", "rmse", 1.0), ("Pearson", "pcc", 1.0), ("share within 0.5", "within_0_5", 0.01))


def metric_values(evidence: Evidence, name: str) -> list[float]:
    """The METRICS of `name` ("before" or "after") in the bars' units (nan where undefined)."""
    return [evidence.overall[name][key] * scale for _, key, scale in METRICS]


def metric_label(value: float) -> str:
    """A bar's label, and the same number in the chart's text: "n/a" where the metric is undefined."""
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def evidence_figure(evidence: Evidence | None, title: str = "Calibration: held-out check") -> go.Figure:
    """Scatter of marks vs held-out scores above the before/after metric bars; a message when there is no
    evidence. One above the other, never side by side: half a phone is too narrow for either, and their two
    titles ran into each other."""
    if evidence is None:
        return message_figure(title, TOO_FEW)
    marks = np.asarray(evidence.marks)
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.08, 0.08, marks.size)  # marks sit on a 0.5 grid: spread them so points do not hide
    scatter_h, gap, bars_h = 260, 96, 170  # px: the scatter, its x axis + the bars' title, the bars
    plot_h = scatter_h + gap + bars_h
    fig = make_subplots(rows=2, cols=1, row_heights=[scatter_h, bars_h], vertical_spacing=gap / plot_h,
                        subplot_titles=("", "Before (hatched) and after"))  # the scatter's title is the note
    hover = [f"{who}, part {p}" for who, p in zip(evidence.learners, evidence.parts)]
    for name, scores, color in (("before", evidence.before, BEFORE), ("after", evidence.after, AFTER)):
        fig.add_trace(go.Scatter(x=marks + jitter, y=scores, mode="markers", name=f"{name} calibration",
                                 marker={"color": color, "size": 8, "opacity": 0.85, "symbol": SYMBOLS[name],
                                         "line": {"width": 1.5, "color": color}}, text=hover,
                                 hovertemplate="%{text}<br>mark %{x:.1f}, score %{y:.2f}<extra></extra>"),
                      row=1, col=1)
    line = [SCORE_MIN - 0.25, SCORE_MAX + 0.25]
    fig.add_trace(go.Scatter(x=line, y=line, mode="lines", line={"color": "#cbd5e1", "dash": "dot"},
                             showlegend=False, hoverinfo="skip"), row=1, col=1)
    for name, color in (("before", BEFORE), ("after", AFTER)):
        values = metric_values(evidence, name)
        fig.add_trace(go.Bar(x=[m[0] for m in METRICS], y=[0 if math.isnan(v) else v for v in values],
                             marker={"color": color, "pattern": {"shape": PATTERNS[name]}}, showlegend=False, name=name,
                             text=[metric_label(v) for v in values], textposition="outside", cliponaxis=False),
                      row=2, col=1)
    fig.update_xaxes(title_text="teacher's mark", tickvals=list(GRID), range=line, tickangle=0, row=1, col=1)
    fig.update_yaxes(title_text="held-out score", tickvals=list(GRID), range=line, row=1, col=1)
    fig.update_xaxes(tickangle=0, row=2, col=1)
    # Pearson may be undefined (every mark or every score the same): "n/a" bars, and the axis still starts at 0.
    # Room above 1 and below the lowest bar for the value labels outside the bars.
    defined = [evidence.overall[n]["pcc"] for n in ("before", "after") if not math.isnan(evidence.overall[n]["pcc"])]
    fig.update_yaxes(range=[min([0.0, *defined]) - 0.3, 1.3], row=2, col=1)
    fig.update_layout(barmode="group", uniformtext={"minsize": 10, "mode": "hide"})
    return lay_out(fig, title, height=plot_h, note=SCATTER_NOTE)
