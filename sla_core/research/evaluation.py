"""The evaluation report: the paper's Table 1 (and Figure 3's per-part RMSE) from predictions files.

Input: predictions (see `predictions.py`) of any systems for one split (BERT, W2V, Phi4-STG,
Phi4-CTG-TA/-AO/-TO side by side: one row each), and optionally fitted fusion weights, which add the
fused row named after the two systems it fuses ("W2V + Phi4-STG (fused)"). Output: per system, per part and overall,
RMSE / PCC / SRC / % |err| <= 0.5 / <= 1.0 (the paper's "<="), plus the official scorer's strict
"<" variant; written as markdown, JSON and a per-part RMSE bar chart (HTML, and PNG when kaleido and
a Chrome/Chromium are installed). The paper's own rows (eval set) sit beside ours for comparison.

When the fusion weights carry interval widths (`fit-fusion`), a second table beside Table 1 gives each
system's empirical coverage and mean interval width on the evaluated split, per part and overall: the
check that the stated coverage (e.g. 90%) holds on data the widths never saw.

The protocol that tells a real gain from noise (`protocol.py`): every system's overall RMSE per CEFR
band of the reference mark and their macro mean (always), several runs (seeds) of one system
summarised (`add_runs`), and paired bootstraps of the difference between two systems on the same
submissions (`add_comparison`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..parts import PARTS
from .predictions import OVERALL, Prediction, align, grader_names
from .protocol import (BAND_NAMES, DEFAULT_RESAMPLES, DEFAULT_SEED, BootstrapResult, RunSummary, band_rmse,
                       paired_bootstrap, summarise_runs)

# The paper's Table 1/2 (S&I 2025 eval set), copied from DESIGN.md: (RMSE, PCC, SRC, <=0.5 %, <=1.0 %).
PAPER_ROWS: dict[str, tuple[float | None, ...]] = {
    "BERT baseline": (0.445, 0.727, 0.729, 76.0, 96.3),
    "W2V": (0.394, 0.790, 0.797, 81.3, 99.3),
    "Phi4-CTG-TA": (0.412, 0.796, 0.797, 74.7, 98.0),
    "Phi4-STG": (0.389, 0.808, 0.810, 78.3, 98.0),
    "W2V + Phi4-STG (fused)": (0.375, 0.820, 0.827, 82.7, 99.3),
    "challenge winner": (0.364, 0.826, 0.830, 83.0, 99.7),
    # issue 25's figures for the session-level frontier (eval set); "–" where the issue gives none
    "session-level MTL (arXiv 2509.16025)": (0.360, 0.827, None, 85.7, None),
    "CASA (arXiv 2608.13101; 10 runs: 0.363, 95% CI 0.359-0.367)": (0.358, None, None, None, None),
}
# Row labels as the paper's Table 1 writes them; other systems are labelled by their own name. The
# names of files written before systems were named (speech / mllm / bert) still get a readable label.
SYSTEM_LABELS = {"BERT": "BERT baseline", "bert": "BERT baseline", "speech": "W2V (speech grader)",
                 "mllm": "Phi4 (multimodal grader)"}
# Table 1's order; other systems follow in the order they were read.
TABLE_ORDER = ("BERT", "W2V", "Phi4-CTG-TA", "Phi4-CTG-AO", "Phi4-CTG-TO", "Phi4-STG", "Phi4-MTL")
DEFAULT_SPEECH, DEFAULT_MLLM = "W2V", "Phi4-STG"  # the paper's fused pair
COLUMNS = ("rmse", "pcc", "src", "within_0_5", "within_1_0")
STRICT_COLUMNS = ("rmse", "pcc", "src", "strict_within_0_5", "strict_within_1_0")
ROWS: tuple[int | str, ...] = (*PARTS, OVERALL)


@dataclass
class EvalReport:
    split: str | None
    systems: dict[str, dict[int | str, dict[str, float] | None]]  # system -> part/overall -> score_report
    states: dict[str, str] = field(default_factory=dict)  # system -> grader state(s)
    fusion: dict[str, Any] | None = None  # the weights used, when the fused system is included
    notes: list[str] = field(default_factory=list)
    # system -> part/overall -> {"coverage" (percent), "mean_width", "n", "no_width"}; empty without widths
    intervals: dict[str, dict[int | str, dict[str, float] | None]] = field(default_factory=dict)
    nominal_coverage: float | None = None
    # system -> its overall rows as scored: (submission ids, scores, reference marks); what the protocol reads
    overall: dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    bands: dict[str, dict[str, Any]] = field(default_factory=dict)  # system -> protocol.band_rmse
    runs: list[dict[str, Any]] = field(default_factory=list)  # protocol.RunSummary.to_dict(), one per system
    comparisons: list[dict[str, Any]] = field(default_factory=list)  # protocol.BootstrapResult.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return _finite({
            "split": self.split,
            "within": "within_*: paper, |err| <= tol; strict_within_*: official scorer, |err| < tol (percent)",
            "systems": {name: {"label": label(name), "state": self.states.get(name, ""),
                               "parts": {str(k): v for k, v in rows.items()}}
                        for name, rows in self.systems.items()},
            "paper_eval_rows": {k: dict(zip(COLUMNS, v)) for k, v in PAPER_ROWS.items()},
            "fusion": self.fusion,
            "notes": self.notes,
            "intervals": {"nominal_coverage": self.nominal_coverage,
                          "systems": {name: {str(k): v for k, v in rows.items()} for name, rows in self.intervals.items()}},
            "cefr_bands": {"edges": "A2 < 3.0 <= B1 < 4.0 <= B2 < 5.0 <= C1, on the reference overall mark",
                           "systems": self.bands},
            "runs": self.runs,
            "paired_bootstrap": self.comparisons,
        })


def label(system: str) -> str:
    return SYSTEM_LABELS.get(system, system)


def fused_name(speech: str, mllm: str) -> str:
    """The fused row's name: the two systems it fuses, e.g. "W2V + Phi4-STG (fused)"."""
    return f"{label(speech)} + {label(mllm)} (fused)"


def _report(pred: np.ndarray, ref: np.ndarray) -> dict[str, float] | None:
    from ..metrics import score_report

    return score_report(pred, ref) if len(pred) >= 2 else None  # correlations need two items


def build_report(predictions: Sequence[Prediction], split: str | None = None, fusion_weights=None,
                 speech: str = DEFAULT_SPEECH, mllm: str = DEFAULT_MLLM) -> EvalReport:
    """Metrics of every grader in `predictions` (and the fusion), per part and overall.

    A grader's overall row uses its own "overall" prediction rows (mean of its four parts, or the
    BERT baseline's calibrated mean) against the overall marks. The fused overall is the mean of the
    four fused part scores of each complete submission.
    """
    preds = [p for p in predictions if not p.per_response and (split is None or p.split == split)]
    if not preds:
        raise ValueError(f"no part predictions{f' for split {split!r}' if split else ''} to evaluate")
    systems: dict[str, dict[int | str, dict[str, float] | None]] = {}
    states: dict[str, str] = {}
    found = grader_names(preds)
    ordered = [s for s in TABLE_ORDER if s in found] + [s for s in found if s not in TABLE_ORDER]
    overall: dict[str, tuple[tuple[str, ...], np.ndarray, np.ndarray]] = {}
    for grader in ordered:
        states[grader] = "/".join(sorted({p.state for p in preds if p.grader == grader and p.state}))
        systems[grader] = {}
        for row in ROWS:
            a = align(preds, [grader], row)
            systems[grader][row] = _report(a.scores[grader], a.reference)
        a = align(preds, [grader], OVERALL)
        overall[grader] = (a.submission_ids, a.scores[grader], a.reference)
    report = EvalReport(split=split, systems=systems, states=states, overall=overall)
    if fusion_weights is not None:
        if speech in systems and mllm in systems:
            inputs_trained = states[speech] == "trained" and states[mllm] == "trained"
            name = fused_name(speech, mllm)
            systems[name], overall[name] = _fused(preds, fusion_weights, speech, mllm)
            states[name] = "fused" if inputs_trained else "fused from untrained/zero-shot graders"
            report.fusion = {"weights": list(fusion_weights.weights), "source": fusion_weights.source,
                             "fitted": fusion_weights.fitted}
        else:
            report.notes.append(f"fusion weights given, but the predictions lack {speech!r} or {mllm!r}: no fused row")
    widths = getattr(fusion_weights, "intervals", None)
    if widths is not None:
        report.nominal_coverage = widths.coverage
        names = {"fused": fused_name(speech, mllm), "speech": speech, "mllm": mllm}
        system_of = {name: system for system, name in names.items()}
        for name in systems:  # Table 1's order
            if name in system_of and system_of[name] in widths.table:
                report.intervals[name] = _interval_rows(preds, widths, system_of[name], speech, mllm, fusion_weights)
        fitted_on = ", ".join(f"{g} {s}" for g, s in widths.states.items())
        if any(states.get(names[g]) != s for g, s in widths.states.items()):
            report.notes.append(f"the interval widths were fitted on predictions of other states ({fitted_on}): "
                                "the pipeline would not apply them to these graders")
    if not any(p.reference is not None for p in preds):
        raise ValueError(f"no predictions{f' of split {split!r}' if split else ''} have a reference mark: a split "
                         "without marks (eval as released) is evaluated with --marks <folder of the released marks>")
    if any(s != "trained" for s in states.values() if s != "fused"):
        report.notes.append("rows from untrained or zero-shot graders are not grades: read them as smoke tests")
    report.bands = {name: band_rmse(pred, ref) for name, (_, pred, ref) in overall.items() if len(ref)}
    return report


def run_rmse(predictions: Sequence[Prediction], split: str | None = None) -> tuple[str, float, int]:
    """(system, overall RMSE, submissions) of one run's predictions file (one system per file)."""
    from ..metrics import rmse

    preds = [p for p in predictions if not p.per_response and (split is None or p.split == split)]
    names = grader_names(preds)
    if len(names) != 1:
        raise ValueError(f"a run's predictions must hold one system, got {names or 'none'}")
    a = align(preds, names, OVERALL)
    if len(a) == 0:
        raise ValueError(f"{names[0]}: no overall rows with a reference mark{f' in split {split!r}' if split else ''}")
    return names[0], rmse(a.scores[names[0]], a.reference), len(a)


def add_runs(report: EvalReport, runs: Sequence[Sequence[Prediction]], split: str | None = None) -> RunSummary:
    """Summarise several runs (seeds) of one system: each element of `runs` is one run's predictions."""
    found = [run_rmse(r, split) for r in runs]
    names = {name for name, _, _ in found}
    if len(names) != 1:
        raise ValueError(f"the runs of one summary must be of one system, got {sorted(names)}")
    sizes = {n for _, _, n in found}
    summary = summarise_runs(names.pop(), [value for _, value, _ in found])
    report.runs.append({**summary.to_dict(), "submissions": sorted(sizes)})
    if len(sizes) > 1:
        report.notes.append(f"the runs of {summary.system} cover different numbers of submissions {sorted(sizes)}")
    return summary


def add_comparison(report: EvalReport, a: str, b: str, resamples: int = DEFAULT_RESAMPLES,
                   seed: int = DEFAULT_SEED) -> BootstrapResult:
    """Paired bootstrap of overall RMSE(a) - RMSE(b) on the submissions both systems scored (a or b may
    name a fused row, e.g. "W2V + Phi4-STG (fused)")."""
    missing = [s for s in (a, b) if s not in report.overall]
    if missing:
        raise ValueError(f"cannot compare {missing}: the report's systems are {sorted(report.overall)}")
    (ids_a, pa, ya), (ids_b, pb, yb) = report.overall[a], report.overall[b]
    common = sorted(set(ids_a) & set(ids_b))
    ia, ib = {s: i for i, s in enumerate(ids_a)}, {s: i for i, s in enumerate(ids_b)}
    ref_a, ref_b = np.array([ya[ia[s]] for s in common]), np.array([yb[ib[s]] for s in common])
    if not np.allclose(ref_a, ref_b):
        raise ValueError(f"{a} and {b} disagree on the reference overall marks: not the same data")
    result = paired_bootstrap(np.array([pa[ia[s]] for s in common]), np.array([pb[ib[s]] for s in common]), ref_a,
                              a=a, b=b, resamples=resamples, seed=seed)
    report.comparisons.append(result.to_dict())
    return result


def _fused(preds: Sequence[Prediction], weights, speech: str, mllm: str
           ) -> tuple[dict[int | str, dict[str, float] | None], tuple[tuple[str, ...], np.ndarray, np.ndarray]]:
    from ..fusion import fuse

    rows: dict[int | str, dict[str, float] | None] = {}
    fused_by_sub: dict[str, dict[int, float]] = {}  # submission -> part -> fused score
    for part in PARTS:
        a = align(preds, [speech, mllm], part)
        fused = fuse(a.scores[speech], a.scores[mllm], weights)[0] if len(a) else np.zeros(0)
        rows[part] = _report(np.asarray(fused), a.reference)
        for sub_id, f in zip(a.submission_ids, np.atleast_1d(fused)):
            fused_by_sub.setdefault(sub_id, {})[part] = float(f)
    overall_ref = {p.submission_id: p.reference for p in preds
                   if p.part == OVERALL and p.grader == speech and p.reference is not None}
    # like each system's own overall: the mean of the parts scored (an incomplete train submission's
    # reference is its holistic overall mark)
    ids = [s for s in sorted(fused_by_sub) if s in overall_ref]
    pred, ref = np.array([np.mean(list(fused_by_sub[s].values())) for s in ids]), np.array([overall_ref[s] for s in ids])
    rows[OVERALL] = _report(pred, ref)
    return rows, (tuple(ids), pred, ref)


def _interval_rows(preds: Sequence[Prediction], widths, system: str, speech: str, mllm: str, weights
                   ) -> dict[int | str, dict[str, float] | None]:
    """Empirical coverage and mean width of one system's intervals, per part and for complete submissions' overall.

    Each score is clipped to the scale and given the half-width the pipeline would give it (its region's,
    or the part's global one); the interval is clipped to the scale as the app shows it.
    """
    from ..cefr import SCORE_MAX, SCORE_MIN
    from ..fusion import fuse
    from ..intervals import overall_key, part_key

    rows: dict[int | str, dict[str, float] | None] = {}
    by_sub: dict[str, dict[int, tuple[float, float]]] = {}  # submission -> part -> (score, mark)
    for part in PARTS:
        a = align(preds, [speech, mllm], part)
        if system == "fused":
            score = fuse(a.scores[speech], a.scores[mllm], weights)[0] if len(a) else np.zeros(0)
        else:
            score = a.scores[speech if system == "speech" else mllm]
        score = np.clip(np.atleast_1d(score), SCORE_MIN, SCORE_MAX)
        rows[part] = _coverage(score, a.reference, widths.table[system].get(part_key(part)))
        for sub_id, v, y in zip(a.submission_ids, score, a.reference):
            by_sub.setdefault(sub_id, {})[part] = (float(v), float(y))
    complete = [s for s in sorted(by_sub) if set(by_sub[s]) == set(PARTS)]
    overall = np.array([np.mean([by_sub[s][p][0] for p in PARTS]) for s in complete])
    marks = np.array([np.mean([by_sub[s][p][1] for p in PARTS]) for s in complete])
    rows[OVERALL] = _coverage(overall, marks, widths.table[system].get(overall_key(PARTS)))
    return rows


def _coverage(score: np.ndarray, ref: np.ndarray, w) -> dict[str, float] | None:
    from ..cefr import SCORE_MAX, SCORE_MIN

    if w is None or len(score) == 0:
        return None
    q = np.array([w.at(v)[0] if w.at(v)[0] is not None else np.nan for v in score])  # (n,)
    has = np.isfinite(q)
    if not has.any():
        return {"coverage": None, "mean_width": None, "n": int(len(score)), "no_width": int(len(score))}
    s, y, q = score[has], np.asarray(ref)[has], q[has]
    width = np.minimum(s + q, SCORE_MAX) - np.maximum(s - q, SCORE_MIN)  # (n,) as shown on the scale
    return {"coverage": float(100 * np.mean(np.abs(s - y) <= q + 1e-9)), "mean_width": float(width.mean()),
            "n": int(has.sum()), "no_width": int((~has).sum())}


# ---------------------------------------------------------------------------------------------- rendering


def _cell(value: float | None, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1f}" if "within" in column else f"{value:.3f}"


def _table(report: EvalReport, row: int | str, columns: Sequence[str], with_paper: bool) -> list[str]:
    heads = ["RMSE", "PCC", "SRC", "<0.5" if "strict" in columns[-1] else "<=0.5",
             "<1.0" if "strict" in columns[-1] else "<=1.0"]
    lines = ["| system | " + " | ".join(heads) + " | n |", "|---|" + "---|" * (len(heads) + 1)]
    for name, rows in report.systems.items():
        r = rows.get(row)
        state = report.states.get(name, "")
        tag = f" ({state})" if state and state not in ("trained", "fused") else ""
        if r is None:
            lines.append(f"| {label(name)}{tag} | " + " | ".join("–" for _ in heads) + " | <2 |")
        else:
            lines.append(f"| {label(name)}{tag} | " + " | ".join(_cell(r[c], c) for c in columns) + f" | {r['n']} |")
    if with_paper:
        for name, values in PAPER_ROWS.items():
            lines.append(f"| *paper: {name}* | " + " | ".join(_cell(v, c) for v, c in zip(values, COLUMNS)) + " | eval |")
    return lines


def _interval_table(report: EvalReport) -> list[str]:
    """Beside Table 1: each system's empirical coverage and mean width of its intervals."""
    if not report.intervals:
        return []
    nominal = f"{report.nominal_coverage:.0%}"
    lines = [f"## Score intervals: empirical coverage (nominal {nominal}) / mean width", "",
             "Share of marks inside their interval, and the interval's mean width on the 2.0-5.5 scale, on this "
             "split; the widths were fitted on dev (`fit-fusion`).", "",
             "| system | " + " | ".join(f"Part {p}" for p in PARTS) + " | Overall |", "|---|" + "---|" * (len(PARTS) + 1)]
    for name, rows in report.intervals.items():
        cells = []
        for r in ROWS:
            c = rows.get(r)
            if c is None or c["coverage"] is None:
                cells.append("–" if c is None else f"no width (n={c['n']})")
            else:
                cells.append(f"{c['coverage']:.1f}% / {c['mean_width']:.2f} (n={c['n']})")
        lines.append(f"| {label(name)} | " + " | ".join(cells) + " |")
    return lines + [""]


def to_markdown(report: EvalReport) -> str:
    """The report as markdown: Table 1 (overall), per-part RMSE (Figure 3), per-part tables, strict variant."""
    split = report.split or "all splits"
    out = [f"# Evaluation on {split}", "",
           "Metrics: RMSE (primary), Pearson (PCC), Spearman (SRC), % of parts with |error| <= 0.5 and <= 1.0 "
           "(the paper's convention). The official scorer counts strictly (< 0.5, < 1.0): see the last table. "
           "Rows in italics are the paper's figures on the S&I eval set, for comparison.", ""]
    out += [f"> {n}" for n in report.notes] + ([""] if report.notes else [])
    out += ["## Overall (as the paper's Table 1)", ""] + _table(report, OVERALL, COLUMNS, with_paper=True) + [""]
    out += _interval_table(report)
    out += ["## RMSE per part (as the paper's Figure 3)", "",
            "| system | " + " | ".join(f"Part {p}" for p in PARTS) + " | Overall |",
            "|---|" + "---|" * (len(PARTS) + 1)]
    for name, rows in report.systems.items():
        out.append(f"| {label(name)} | " + " | ".join(_cell((rows.get(r) or {}).get("rmse"), "rmse") for r in ROWS) + " |")
    out.append("")
    for part in PARTS:
        out += [f"## Part {part}", ""] + _table(report, part, COLUMNS, with_paper=False) + [""]
    out += ["## Overall, official scorer's strict variant (|err| < 0.5, < 1.0)", ""]
    out += _table(report, OVERALL, STRICT_COLUMNS, with_paper=False) + [""]
    out += _protocol_sections(report)
    if report.fusion:
        w = ", ".join(f"{x:.2f}" for x in report.fusion["weights"])
        out += ["## Fusion weights", "", f"w_k on the multimodal score per interval: {w} ({report.fusion['source']})", ""]
    return "\n".join(out)


def _protocol_sections(report: EvalReport) -> list[str]:
    """Per-band RMSE (always), runs over seeds and paired bootstraps (when asked for)."""
    out = ["## Overall RMSE per CEFR band (as CASA reports it)", "",
           "Bands on the reference overall mark: A2 < 3.0 <= B1 < 4.0 <= B2 < 5.0 <= C1; the macro mean is over "
           "the bands present (n per band in brackets).", "",
           "| system | " + " | ".join(BAND_NAMES) + " | macro | n |", "|---|" + "---|" * (len(BAND_NAMES) + 2)]
    for name, b in report.bands.items():
        cells = [f"{b['bands'][k]['rmse']:.3f} ({b['bands'][k]['n']})" if k in b["bands"] else "–" for k in BAND_NAMES]
        out.append(f"| {label(name)} | " + " | ".join(cells) + f" | {_cell(b['macro_rmse'], 'rmse')} | {b['n']} |")
    out.append("")
    if report.runs:
        out += ["## Runs (seeds) of one system: overall RMSE", "",
                "95% CI of the mean over runs: mean +- t(0.975, n-1) x sd / sqrt(n); sd with n-1.", "",
                "| system | runs | mean | median | min-max | sd | 95% CI |", "|---|---|---|---|---|---|---|"]
        for r in report.runs:
            sd = "–" if r["sd"] is None else f"{r['sd']:.4f}"
            ci = "–" if r["ci_low"] is None else f"{r['ci_low']:.3f}-{r['ci_high']:.3f}"
            out.append(f"| {label(r['system'])} | {r['n']} | {r['mean']:.3f} | {r['median']:.3f} | "
                       f"{r['min']:.3f}-{r['max']:.3f} | {sd} | {ci} |")
        out.append("")
    if report.comparisons:
        first = report.comparisons[0]
        out += ["## Paired bootstrap: overall RMSE(A) - RMSE(B) on the same submissions", "",
                f"{first['resamples']:,} resamples of submissions with replacement, seed {first['seed']}; 95% "
                "percentile interval; p two-sided = 2 x min(P(d <= 0), P(d >= 0)).", "",
                "| A | B | n | RMSE A | RMSE B | A - B | 95% CI | A better in | p | resamples | seed |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in report.comparisons:
            out.append(f"| {label(c['a'])} | {label(c['b'])} | {c['n']} | {c['rmse_a']:.3f} | {c['rmse_b']:.3f} | "
                       f"{c['difference']:+.4f} | {c['ci_low']:+.4f} to {c['ci_high']:+.4f} | "
                       f"{100 * c['share_a_better']:.1f}% | {_p_cell(c)} | {c['resamples']} | {c['seed']} |")
        out.append("")
    return out


def _p_cell(c: dict) -> str:
    """p as printed: below the resolution of the resamples (no resample crossed 0) it says so."""
    return f"< {2 / c['resamples']:.2g}" if c["p_value"] == 0 else f"{c['p_value']:.4f}"


def rmse_figure(report: EvalReport):
    """Grouped bars: RMSE per part and overall, one bar per system (lower is better)."""
    import plotly.graph_objects as go

    x = [f"Part {p}" for p in PARTS] + ["Overall"]
    fig = go.Figure()
    for name, rows in report.systems.items():
        y = [(rows.get(r) or {}).get("rmse") for r in ROWS]
        state = report.states.get(name, "")
        name_shown = label(name) + ("" if state in ("trained", "fused") else " *")
        fig.add_bar(name=name_shown, x=x, y=y, text=[None if v is None else f"{v:.3f}" for v in y],
                    textposition="outside", textangle=0, textfont_size=10)
    untrained = any(s not in ("trained", "fused") for s in report.states.values())
    title = f"RMSE per part ({report.split or 'all splits'}); lower is better"
    fig.update_layout(barmode="group", title=title + ("<br><sup>* untrained or zero-shot: not grades</sup>" if untrained else ""),
                      yaxis_title="RMSE", template="plotly_white", width=900, height=450)
    return fig


def write_report(report: EvalReport, out_dir: Path | str, png: bool = True) -> dict[str, Path | str]:
    """Write report.md, report.json, rmse_per_part.html and (if possible) rmse_per_part.png.

    Returns:
        {"markdown", "json", "html", "png"} -> path; "png" holds the reason instead when none was written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path | str] = {
        "markdown": out_dir / "report.md", "json": out_dir / "report.json", "html": out_dir / "rmse_per_part.html"}
    written["markdown"].write_text(to_markdown(report) + "\n", encoding="utf-8")
    written["json"].write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    fig = rmse_figure(report)
    fig.write_html(written["html"], include_plotlyjs=True, full_html=True)  # self-contained: opens offline
    written["png"] = _write_png(fig, out_dir / "rmse_per_part.png") if png else "not requested (--no-png)"
    return written


def _write_png(fig, path: Path) -> Path | str:
    try:
        import kaleido  # noqa: F401  (plotly's static-image engine)
    except ImportError:
        return "not written: PNG export needs `pip install kaleido` (>=1.0) and a Chrome/Chromium on the machine"
    try:
        fig.write_image(path, scale=2)
    except Exception as e:  # kaleido fails in many ways without a browser; say why, keep the HTML
        return f"not written: kaleido could not render ({type(e).__name__}: {e}); it needs a Chrome/Chromium"
    return path


def _finite(obj: Any) -> Any:
    """NaN (an undefined correlation) -> None, so the JSON is standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


__all__ = ["PAPER_ROWS", "TABLE_ORDER", "fused_name", "EvalReport", "build_report", "to_markdown", "rmse_figure",
           "write_report", "label", "add_runs", "add_comparison", "run_rmse"]
