"""The evidence of a teacher calibration as one small plotly figure (no gradio): for the Calibrate tab.

Left: each held-out response, the teacher's mark against the system's score before (grey open circles) and
after (green diamonds) calibration; on the diagonal they agree. Right: RMSE, Pearson and the share within
half a band, before (hatched) and after. Its text alternative is chart_text.evidence_html, from the same Evidence.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..calibration.profile import Evidence
from ..cefr import GRID, SCORE_MAX, SCORE_MIN
from .charts import message_figure

BEFORE, AFTER = "#94a3b8", "#059669"
# Colour never tells before from after alone: each has its own marker and bar pattern, and its name.
SYMBOLS = {"before": "circle-open", "after": "diamond"}
PATTERNS = {"before": "/", "after": ""}
HEIGHT = 360
TOO_FEW = "Too few graded responses to check a calibration (at least 3 are needed)."
# (label, key in Evidence.overall[...], scale to the bar's unit): the bars and their text alternative.
METRICS = (("RMSE", "rmse", 1.0), ("Pearson", "pcc", 1.0), ("share within 0.5", "within_0_5", 0.01))


def metric_values(evidence: Evidence, name: str) -> list[float]:
    """The METRICS of `name` ("before" or "after") in the bars' units (nan where undefined)."""
    return [evidence.overall[name][key] * scale for _, key, scale in METRICS]


def metric_label(value: float) -> str:
    """A bar's label, and the same number in the chart's text: "n/a" where the metric is undefined."""
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def evidence_figure(evidence: Evidence | None, title: str = "Calibration: held-out check") -> go.Figure:
    """Scatter of marks vs held-out scores and before/after metric bars; a message when there is no evidence."""
    if evidence is None:
        return message_figure(title, TOO_FEW)
    marks = np.asarray(evidence.marks)
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.08, 0.08, marks.size)  # marks sit on a 0.5 grid: spread them so points do not hide
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.12,
                        subplot_titles=("Your mark vs the system's score", "Before (hatched) and after"))
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
                             text=[metric_label(v) for v in values], textposition="outside"),
                      row=1, col=2)
    fig.update_xaxes(title_text="teacher's mark", tickvals=list(GRID), range=line, row=1, col=1)
    fig.update_yaxes(title_text="held-out score", tickvals=list(GRID), range=line, row=1, col=1)
    # Pearson may be undefined (every mark or every score the same): "n/a" bars, and the axis still starts at 0.
    defined = [evidence.overall[n]["pcc"] for n in ("before", "after") if not math.isnan(evidence.overall[n]["pcc"])]
    fig.update_yaxes(range=[min([0.0, *defined]) - 0.2, 1.25], row=1, col=2)
    fig.update_layout(title={"text": title, "x": 0.01}, template="plotly_white", height=HEIGHT, barmode="group",
                      margin={"l": 56, "r": 16, "t": 80, "b": 48},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.06, "x": 0.0})
    return fig
