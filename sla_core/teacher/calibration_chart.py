"""The evidence of a teacher calibration as one small plotly figure (no gradio): for the Calibrate tab.

Left: each held-out response, the teacher's mark against the system's score before (grey) and
after (green) calibration; on the diagonal they agree. Right: RMSE, Pearson and the share within
half a band, before and after.
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
HEIGHT = 360


def evidence_figure(evidence: Evidence | None, title: str = "Calibration: held-out check") -> go.Figure:
    """Scatter of marks vs held-out scores and before/after metric bars; a message when there is no evidence."""
    if evidence is None:
        return message_figure(title, "Too few graded responses to check a calibration (at least 3 are needed).")
    marks = np.asarray(evidence.marks)
    rng = np.random.default_rng(0)
    jitter = rng.uniform(-0.08, 0.08, marks.size)  # marks sit on a 0.5 grid: spread them so points do not hide
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.12,
                        subplot_titles=("Your mark vs the system's score", "Before and after"))
    hover = [f"{who}, part {p}" for who, p in zip(evidence.learners, evidence.parts)]
    for name, scores, color in (("before", evidence.before, BEFORE), ("after", evidence.after, AFTER)):
        fig.add_trace(go.Scatter(x=marks + jitter, y=scores, mode="markers", name=f"{name} calibration",
                                 marker={"color": color, "size": 8, "opacity": 0.85}, text=hover,
                                 hovertemplate="%{text}<br>mark %{x:.1f}, score %{y:.2f}<extra></extra>"),
                      row=1, col=1)
    line = [SCORE_MIN - 0.25, SCORE_MAX + 0.25]
    fig.add_trace(go.Scatter(x=line, y=line, mode="lines", line={"color": "#cbd5e1", "dash": "dot"},
                             showlegend=False, hoverinfo="skip"), row=1, col=1)
    metrics = (("RMSE", "rmse", 1.0), ("Pearson", "pcc", 1.0), ("share within 0.5", "within_0_5", 0.01))
    for name, color in (("before", BEFORE), ("after", AFTER)):
        row = evidence.overall[name]
        values = [row[key] * scale for _, key, scale in metrics]
        fig.add_trace(go.Bar(x=[m[0] for m in metrics], y=[0 if math.isnan(v) else v for v in values],
                             marker_color=color, showlegend=False, name=name,
                             text=["n/a" if math.isnan(v) else f"{v:.2f}" for v in values], textposition="outside"),
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
