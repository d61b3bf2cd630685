"""The CSV export of a class's results: one writer for the app's download, the CLI and the batch job.

Column names are stable identifiers (no spaces) so a spreadsheet or a script can rely on them.

A row is built by the COLUMN_PROVIDERS in order: each is a function (assessment, context) -> {column: value}.
To add columns, append a provider (or pass `providers=`) - never write a second CSV writer. Every cell goes
through `safe_cell` on the way out, so a learner named `=HYPERLINK(...)` is text in Excel, not a formula.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath

from ..assessment import Assessment
from ..delivery.feedback import part_feedback, standing_among
from ..language.feedback import language_feedback
from ..parts import PARTS

# A spreadsheet runs a cell as a formula when it starts with one of these (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


@dataclass(frozen=True)
class ExportContext:
    """What a reader of the file needs beside the numbers: which session, and on what models."""

    session: str = ""  # the session's name as the teacher typed it
    classmates: tuple[Assessment, ...] = ()  # the whole class, for columns that compare (csv_rows fills it in)
    # part -> the whole class's measured speech rates, sorted: what the comparing columns read (class_speech_rates;
    # filled in from classmates when None; a streamed export passes it instead of holding the class in memory)
    speech_rates: Mapping[int, tuple[float, ...]] | None = None


Provider = Callable[[Assessment, ExportContext], Mapping[str, object]]


def _num(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def transcript_text(transcripts: Sequence[str | None]) -> str:
    """The answers' transcripts joined with ' / '; undecodable bytes (U+FFFD) dropped, as they carry no words."""
    cleaned = (" ".join((t or "").replace("\ufffd", " ").split()) for t in transcripts)
    return " / ".join(t for t in cleaned if t)


def safe_cell(value: object) -> object:
    """A cell a spreadsheet shows as text: a string starting like a formula gets a leading apostrophe.

    Numbers stay numbers (a negative score is not text a formula could hide in).
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def learner_columns(a: Assessment, context: ExportContext) -> dict[str, object]:
    """Who, the overall score, and whether it is a grade (False: a model without trained weights made it);
    beside it, a session-level grader's own overall and its state (empty without one)."""
    own = a.holistic
    return {
        "learner": a.learner or "",
        "overall": _num(a.overall, 3),
        "overall_cefr": a.overall_cefr or "",
        "covered_parts": " ".join(map(str, a.covered_parts)),
        "graded": a.graded,
        "assessed_at": a.created,
        "holistic_grader": own.grader if own else "",
        "holistic_overall": _num(own.score, 3) if own else None,
        "holistic_cefr": own.cefr if own else "",
        "holistic_state": own.state if own else "",
    }


def part_columns(a: Assessment, context: ExportContext) -> dict[str, object]:
    """Every grader's number per part, its status and problem, and the transcript."""
    row: dict[str, object] = {}
    for p in PARTS:
        pa = a.part(p)
        row.update({
            f"part{p}_status": pa.status if pa else "missing",
            f"part{p}_score": _num(pa.score, 3) if pa else None,
            f"part{p}_cefr": (pa.cefr or "") if pa else "",
            f"part{p}_speech": _num(pa.speech.score, 3) if pa and pa.speech else None,
            f"part{p}_mllm": _num(pa.mllm.score, 3) if pa and pa.mllm else None,
            f"part{p}_fusion_weight": _num(pa.fusion_weight, 3) if pa else None,
            f"part{p}_problem": (pa.problem or "") if pa else "",
            f"part{p}_transcript": transcript_text(pa.transcripts) if pa else "",
        })
    return row


def review_columns(a: Assessment, context: ExportContext) -> dict[str, object]:
    """How sure each score is (interval bounds, empty when none was fitted) and whether a teacher should listen."""

    def bounds(prefix: str, iv) -> dict[str, object]:
        ok = iv is not None and iv.available
        return {f"{prefix}_low": _num(iv.low, 3) if ok else None, f"{prefix}_high": _num(iv.high, 3) if ok else None}

    row: dict[str, object] = {"review": a.flagged, "review_reasons": " | ".join(a.review)}
    row |= bounds("overall", a.overall_interval)
    ivs = [iv for iv in [a.overall_interval] + [pa.interval for pa in a.parts] if iv is not None]
    row["interval_coverage"] = _num(ivs[0].coverage, 3) if ivs else None
    for p in PARTS:
        pa = a.part(p)
        row |= bounds(f"part{p}", pa.interval if pa else None)
        row[f"part{p}_review"] = " | ".join(pa.review) if pa else ""
    return row


def source_label(source: str) -> str:
    """A model's source as a reader may see it: a hub id as it is, a local path as its last name only
    (a server's folders are nobody's business outside it)."""
    text = str(source)
    if text.startswith(("/", "~", "./", "../", "\\")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return f"local: {PurePath(text.rstrip('/')).name}"
    return text


DELIVERY_COLUMNS = ("speaking_s", "phonation_ratio", "speech_rate", "articulation_rate", "pauses", "long_pauses",
                    "mean_pause_s", "longest_pause_s", "mean_length_of_run", "words_per_minute")


def delivery_columns(a: Assessment, context: ExportContext) -> dict[str, object]:
    """The main delivery measures per part, the learner's feedback, and where their speech rate stands
    in this class (computed here from the classmates, never stored in the learner's Assessment)."""
    row: dict[str, object] = {}
    rates = context.speech_rates
    if rates is None:  # a provider called on its own: the class from classmates
        rates = class_speech_rates(context.classmates or (a,))
    for p in PARTS:
        pa = a.part(p)
        summary = pa.delivery.summary() if pa is not None and pa.delivery is not None else {}
        row |= {f"part{p}_{name}": summary.get(name) for name in DELIVERY_COLUMNS}
        row[f"part{p}_delivery_feedback"] = " ".join(part_feedback(pa.delivery if pa else None))
        row[f"part{p}_speech_rate_in_class"] = standing_among(_part_rate(a, p), rates.get(p, ()))
    return row


def class_speech_rates(assessments: Iterable[Assessment]) -> dict[int, tuple[float, ...]]:
    """part -> every measured speech rate of the class, sorted (ExportContext.speech_rates)."""
    rates: dict[int, list[float]] = {p: [] for p in PARTS}
    for a in assessments:
        for p in PARTS:
            if (rate := _part_rate(a, p)) is not None:
                rates[p].append(rate)
    return {p: tuple(sorted(v)) for p, v in rates.items()}


def _part_rate(a: Assessment, part: int) -> float | None:
    pa = a.part(part)
    return pa.delivery.speech_rate if pa is not None and pa.ok and pa.delivery is not None else None


LANGUAGE_COLUMNS = ("words", "mtld", "b1_or_above", "filled_pauses_per_100", "repetitions_per_100", "share_a1",
                    "share_a2", "share_b1", "share_b2", "share_c1_plus", "not_in_list")


def language_columns(a: Assessment, context: ExportContext) -> dict[str, object]:
    """Language use per part (empty where no trusted transcript was measured), where its words came from, and
    the learner's feedback sentences."""
    row: dict[str, object] = {}
    for p in PARTS:
        pa = a.part(p)
        lang = pa.language if pa is not None else None
        summary = lang.summary() if lang is not None else {}
        row |= {f"part{p}_{name}": summary.get(name) for name in LANGUAGE_COLUMNS}
        row[f"part{p}_words_from"] = summary.get("source", "")
        row[f"part{p}_language_feedback"] = " ".join(language_feedback(lang))
    return row


def context_columns(a: Assessment, context: ExportContext) -> dict[str, object]:
    """What the numbers rest on: the session, the calibration profile, each model's source and state."""
    sources = "; ".join(f"{g.name}={source_label(g.source)} ({g.state})" for g in a.graders)
    return {"session": context.session, "calibration_profile": a.calibration or "", "model_sources": sources}


COLUMN_PROVIDERS: list[Provider] = [learner_columns, part_columns, review_columns, delivery_columns, language_columns,
                                    context_columns]


def csv_rows(assessments: Sequence[Assessment], context: ExportContext = ExportContext(),
             providers: Sequence[Provider] | None = None) -> list[dict[str, object]]:
    """Flat rows for the CSV download: one per learner, the providers' columns in order (values unescaped)."""
    context = _with_class(assessments, context)
    return [_row(a, context, providers) for a in assessments]


def _with_class(assessments: Iterable[Assessment], context: ExportContext) -> ExportContext:
    """The context with the class filled in: the assessments themselves, and their speech rates computed once."""
    if not context.classmates and context.speech_rates is None:
        if not isinstance(assessments, Sequence):
            raise ValueError("a streamed export needs the class's speech rates: pass ExportContext(speech_rates=...)")
        context = replace(context, classmates=tuple(assessments))
    if context.speech_rates is None:
        context = replace(context, speech_rates=class_speech_rates(context.classmates))
    return context


def _row(a: Assessment, context: ExportContext, providers: Sequence[Provider] | None) -> dict[str, object]:
    row: dict[str, object] = {}
    for provide in (COLUMN_PROVIDERS if providers is None else providers):
        row.update(provide(a, context))
    return row


def write_csv(assessments: Iterable[Assessment], path: str | Path, context: ExportContext = ExportContext(),
              providers: Sequence[Provider] | None = None) -> Path:
    """Write the csv_rows of `assessments` to `path` (UTF-8 with BOM so Excel reads accents), cells escaped.

    Row by row as `assessments` yields them: a generator over a cohort of any size needs memory for one
    learner, given the class's `context.speech_rates` (class_speech_rates) instead of the class itself.
    Returns the path.
    """
    path = Path(path)
    context = _with_class(assessments, context)
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = None
        for a in assessments:
            row = _row(a, context, providers)
            if writer is None:
                writer = csv.DictWriter(f, fieldnames=list(row))
                writer.writeheader()
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
        if writer is None:  # the header alone, still from the providers, so an empty session has the same columns
            probe = Assessment(parts=(), overall=None, overall_cefr=None, covered_parts=(), graded=False)
            csv.DictWriter(f, fieldnames=list(_row(probe, context, providers))).writeheader()
    return path


__all__ = ["COLUMN_PROVIDERS", "DELIVERY_COLUMNS", "LANGUAGE_COLUMNS", "ExportContext", "FORMULA_STARTS", "Provider",
           "class_speech_rates", "context_columns", "csv_rows", "delivery_columns", "language_columns",
           "learner_columns", "part_columns", "review_columns", "safe_cell", "source_label", "transcript_text",
           "write_csv"]
