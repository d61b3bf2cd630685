"""The batch job's output folder: per-batch files while it runs, the final tables when it ends.

Layout of `--out`:

    job.json              the models and data the results were made with (a resume must match them)
    batches/*.parquet     one file per finished batch, written atomically (temporary name, then rename)
    results.parquet       one row per learner: status, overall, problems, the Assessment JSON (once)
    parts.parquet         one row per learner and part: scores and flags, no JSON
    results.csv           the classroom CSV (sla_core.results.export), one row per assessed learner
    summary.json          counts, speed, score distribution

Why per-batch files: a run killed at any moment leaves only whole batch files behind, so a second run
reads which learners are written and skips them. Ray retries a task whose worker died, so a batch can
arrive twice; `finalise` keeps one row per learner (the newest run's), so nothing is written twice
into the final tables. A learner whose assessment raised (status "error") is tried again on resume.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..assessment import Assessment
from ..parts import PARTS

BATCH_DIR = "batches"
JOB_FILE = "job.json"
RESULTS_FILE = "results.parquet"
PARTS_FILE = "parts.parquet"
CSV_FILE = "results.csv"
SUMMARY_FILE = "summary.json"

# Learner status in the results table, from best to worst.
COMPLETE = "complete"  # all four parts assessed
PARTIAL = "partial"  # some parts assessed; the others are missing or rejected, with reasons
NONE_ASSESSED = "none"  # no part could be assessed (every recording missing or bad), reasons recorded
ERROR = "error"  # the assessment raised; the reason is kept and the learner is retried on resume
STATUSES = (COMPLETE, PARTIAL, NONE_ASSESSED, ERROR)

# Columns of a batch file: what a worker returns for each learner.
BATCH_COLUMNS = ("learner", "status", "error", "assessment_json", "worker", "seconds")
CHUNK = 512  # learners in memory at once while the final tables and the CSV are written


class OutputMismatch(ValueError):
    """`--out` holds results made with other models or data: mixing them would corrupt the cohort."""


def learner_status(assessment: Assessment) -> str:
    if not assessment.covered_parts:
        return NONE_ASSESSED
    return COMPLETE if len(assessment.covered_parts) == len(PARTS) else PARTIAL


# ---------------------------------------------------------------------------------------------- the job record


def check_job(out: Path, job: dict) -> None:
    """Record `job` (models, data) in `out`, or check a resumed run asks for the same models.

    The data source may differ (a corrected manifest, more learners); the models may not.
    """
    path = out / JOB_FILE
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        changed = {k: (old.get("models", {}).get(k), v) for k, v in job["models"].items()
                   if old.get("models", {}).get(k) != v}
        if changed:
            what = ", ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in ((k, *ab) for k, ab in changed.items()))
            raise OutputMismatch(f"{out} holds results made with other models ({what}); "
                                 "resume with the same model flags, or choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, json.dumps(job, indent=2).encode("utf-8"))


# ---------------------------------------------------------------------------------------------- batch files


def batch_files(out: Path) -> list[Path]:
    return sorted((out / BATCH_DIR).glob("run-*.parquet"))


def next_run(out: Path) -> int:
    """1 for a fresh folder; one more than the newest run found in `batches/` otherwise."""
    runs = [int(p.name.split("-")[1]) for p in batch_files(out)]
    return max(runs, default=0) + 1


def written_learners(out: Path) -> set[str]:
    """Learners with a result on disk (errors excluded: they are tried again)."""
    import pyarrow.parquet as pq

    done: set[str] = set()
    for path in batch_files(out):
        table = pq.read_table(path, columns=["learner", "status"]).to_pydict()
        done.update(l for l, s in zip(table["learner"], table["status"]) if s != ERROR)
    return done


def write_batch(out: Path, run: int, rows: dict[str, Sequence]) -> Path:
    """Write one finished batch atomically; the name comes from its learners, so a retried batch
    with the same learners overwrites its first copy instead of adding a second."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    learners = [str(x) for x in rows["learner"]]
    digest = hashlib.sha1("\n".join(sorted(learners)).encode("utf-8")).hexdigest()[:16]
    path = out / BATCH_DIR / f"run-{run:03d}-{digest}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({c: [None if v is None else (float(v) if c == "seconds" else str(v)) for v in rows[c]]
                      for c in BATCH_COLUMNS})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return path


def _latest_rows(out: Path) -> Iterator[dict]:
    """Every learner's newest row across the batch files (newest run first, first copy wins)."""
    import pyarrow.parquet as pq

    seen: set[str] = set()
    for path in sorted(batch_files(out), key=lambda p: (-int(p.name.split("-")[1]), p.name)):
        table = pq.read_table(path).to_pylist()
        for row in table:
            if row["learner"] not in seen:
                seen.add(row["learner"])
                yield row


# ---------------------------------------------------------------------------------------------- final tables


@dataclass
class Summary:
    """What a run did and what the cohort looks like: printed at the end and saved as summary.json."""

    learners: int = 0  # in the results (every run so far)
    by_status: dict[str, int] = field(default_factory=dict)
    assessed_this_run: int = 0
    skipped_already_written: int = 0
    seconds: float = 0.0  # wall-clock time of this run
    learners_per_second: float | None = None  # this run: learners assessed / wall seconds
    first_batch_after_seconds: float | None = None  # this run: Ray start-up + loading the graders + one batch
    worker_seconds_per_learner: dict[str, float] = field(default_factory=dict)  # mean / median / p95, one worker
    workers: int = 0
    graded: bool = False  # every covered part rests on trained graders
    overall_mean: float | None = None
    overall_cefr: dict[str, int] = field(default_factory=dict)  # CEFR label of the overall -> learners
    problems: dict[str, int] = field(default_factory=dict)  # part status ("rejected", "missing") -> parts
    flagged: int = 0  # learners a teacher should listen to (Assessment.review)
    errors: dict[str, str] = field(default_factory=dict)  # learner -> reason (status "error")

    def to_text(self) -> str:
        lines = [f"{self.learners} learners in the results: "
                 + ", ".join(f"{self.by_status.get(s, 0)} {s}" for s in STATUSES)]
        rate = f", {self.learners_per_second:.2f} learners/s" if self.learners_per_second else ""
        lines.append(f"this run: {self.assessed_this_run} assessed, {self.skipped_already_written} already written "
                     f"(skipped), {self.seconds:.1f} s with {self.workers} worker(s){rate}")
        if self.first_batch_after_seconds is not None:
            lines.append(f"first batch written after {self.first_batch_after_seconds:.1f} s "
                         "(Ray start-up, loading the graders)")
        if self.worker_seconds_per_learner:
            w = self.worker_seconds_per_learner
            lines.append(f"one worker's time per learner: mean {w['mean']:.2f} s, median {w['median']:.2f} s, "
                         f"p95 {w['p95']:.2f} s")
        if self.overall_mean is not None:
            bands = ", ".join(f"{k} {v}" for k, v in self.overall_cefr.items())
            lines.append(f"overall: mean {self.overall_mean:.2f}; CEFR {bands}")
        if self.problems:
            lines.append("parts not assessed: " + ", ".join(f"{v} {k}" for k, v in self.problems.items())
                         + f" (reasons in {PARTS_FILE} and {CSV_FILE})")
        if self.flagged:
            lines.append(f"flagged for review: {self.flagged} learners (reasons in the review columns)")
        for learner, reason in list(self.errors.items())[:10]:
            lines.append(f"error: {learner}: {reason}")
        if len(self.errors) > 10:
            lines.append(f"... and {len(self.errors) - 10} more errors (see {RESULTS_FILE})")
        if self.learners and not self.graded:
            lines.append("NOTE: not grades - at least one score comes from an untrained or uncalibrated model.")
        return "\n".join(lines)


def finalise(out: Path, session: str = "") -> Summary:
    """Build results.parquet, parts.parquet, results.csv and summary.json from the batch files.

    `session` names the cohort in the CSV's session column (default: the folder's name).
    Streams: the Parquet tables are written CHUNK learners at a time (one learner's row is kept once);
    the CSV, whose speech-rate columns compare each learner with the whole cohort, is written in a second
    pass over results.parquet, CHUNK rows at a time, once the cohort's speech rates (4 numbers a learner)
    are known. A cohort of 100,000 needs memory for one chunk of JSON, not the cohort's assessments.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ..results.export import ExportContext, class_speech_rates, write_csv

    results_schema, parts_schema = _schemas()
    summary = Summary()
    overalls: list[float] = []
    rates: dict[int, list[float]] = {p: [] for p in PARTS}  # the cohort's measured speech rates, for the CSV
    graded = []
    results_w = parts_w = None
    tmp_results, tmp_parts = out / f".{RESULTS_FILE}.tmp", out / f".{PARTS_FILE}.tmp"
    try:
        for chunk in _chunks(_latest_rows(out), CHUNK):
            results, parts = [], []
            for row in chunk:
                a = Assessment.from_json(row["assessment_json"]) if row["assessment_json"] else None
                results.append(_result_row(row, a))
                parts.extend(_part_rows(row["learner"], a))
                summary.by_status[row["status"]] = summary.by_status.get(row["status"], 0) + 1
                if a is None:
                    summary.errors[row["learner"]] = row["error"] or "unknown error"
                    continue
                for p, rate in class_speech_rates([a]).items():
                    rates[p] += rate
                summary.flagged += a.flagged
                graded.append(a.graded or not a.covered_parts)
                if a.overall is not None:
                    overalls.append(a.overall)
                    summary.overall_cefr[a.overall_cefr] = summary.overall_cefr.get(a.overall_cefr, 0) + 1
                for p in a.parts:
                    if p.status != "assessed":
                        summary.problems[p.status] = summary.problems.get(p.status, 0) + 1
            results_t = pa.Table.from_pylist(results, schema=results_schema)
            parts_t = pa.Table.from_pylist(parts, schema=parts_schema)
            results_w = results_w or pq.ParquetWriter(tmp_results, results_schema)
            parts_w = parts_w or pq.ParquetWriter(tmp_parts, parts_schema)
            results_w.write_table(results_t)
            parts_w.write_table(parts_t)
    finally:
        for w in (results_w, parts_w):
            if w is not None:
                w.close()
    if results_w is None:  # nothing written yet: empty tables with the right columns
        pq.write_table(results_schema.empty_table(), tmp_results)
        pq.write_table(parts_schema.empty_table(), tmp_parts)
    os.replace(tmp_results, out / RESULTS_FILE)
    os.replace(tmp_parts, out / PARTS_FILE)
    context = ExportContext(session=session or out.name, speech_rates={p: tuple(sorted(v)) for p, v in rates.items()})
    tmp_csv = write_csv(_assessments(out / RESULTS_FILE), out / f".{CSV_FILE}.tmp", context)
    os.replace(tmp_csv, out / CSV_FILE)

    summary.learners = sum(summary.by_status.values())
    summary.graded = bool(graded) and all(graded)
    summary.overall_mean = round(statistics.fmean(overalls), 3) if overalls else None
    summary.overall_cefr = dict(sorted(summary.overall_cefr.items()))
    return summary


def save_summary(out: Path, summary: Summary) -> Path:
    path = out / SUMMARY_FILE
    _write_atomic(path, json.dumps(asdict(summary), indent=2).encode("utf-8"))
    return path


def worker_seconds(seconds: Sequence[float]) -> dict[str, float]:
    """Mean / median / 95th percentile of one worker's time per learner (model loading excluded)."""
    if not seconds:
        return {}
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"mean": round(statistics.fmean(ordered), 4), "median": round(statistics.median(ordered), 4),
            "p95": round(p95, 4)}


def _schemas():
    """The final tables' columns (pyarrow is imported here, so `--help` works without Ray Data)."""
    import pyarrow as pa

    results = pa.schema([
        ("learner", pa.string()), ("status", pa.string()), ("overall", pa.float64()), ("overall_cefr", pa.string()),
        ("covered_parts", pa.list_(pa.int8())), ("graded", pa.bool_()), ("holistic_overall", pa.float64()),
        ("holistic_cefr", pa.string()), ("overall_low", pa.float64()),
        ("overall_high", pa.float64()), ("flagged", pa.bool_()), ("review", pa.string()), ("problems", pa.string()),
        ("error", pa.string()), ("worker", pa.string()), ("seconds", pa.float64()), ("assessed_at", pa.string()),
        ("assessment_json", pa.string()),
    ])
    parts = pa.schema([
        ("learner", pa.string()), ("part", pa.int8()), ("status", pa.string()), ("score", pa.float64()),
        ("cefr", pa.string()), ("graded", pa.bool_()), ("speech_score", pa.float64()), ("speech_state", pa.string()),
        ("mllm_score", pa.float64()), ("mllm_state", pa.string()), ("fusion_weight", pa.float64()),
        ("low", pa.float64()), ("high", pa.float64()), ("flagged", pa.bool_()), ("review", pa.string()),
        ("n_answers", pa.int16()), ("audio_seconds", pa.float64()), ("problem", pa.string()),
    ])
    return results, parts


def _result_row(row: dict, a: Assessment | None) -> dict:
    problems = " | ".join(p.problem for p in a.parts if p.problem) if a else ""
    return {
        "learner": row["learner"], "status": row["status"],
        "overall": a.overall if a else None, "overall_cefr": a.overall_cefr if a else None,
        "covered_parts": list(a.covered_parts) if a else [], "graded": a.graded if a else False,
        "holistic_overall": a.holistic.score if a and a.holistic else None,  # a session grader's own overall
        "holistic_cefr": a.holistic.cefr if a and a.holistic else None,
        **_interval("overall_low", "overall_high", a.overall_interval if a else None),
        "flagged": a.flagged if a else False, "review": " | ".join(a.review) if a else "",
        "problems": problems, "error": row["error"], "worker": row["worker"], "seconds": row["seconds"],
        "assessed_at": a.created if a else None, "assessment_json": row["assessment_json"],
    }


def _part_rows(learner: str, a: Assessment | None) -> list[dict]:
    if a is None:
        return []
    return [{
        "learner": learner, "part": p.part, "status": p.status, "score": p.score, "cefr": p.cefr,
        "graded": p.graded, "speech_score": p.speech.score if p.speech else None,
        "speech_state": p.speech.state if p.speech else None, "mllm_score": p.mllm.score if p.mllm else None,
        "mllm_state": p.mllm.state if p.mllm else None, "fusion_weight": p.fusion_weight,
        **_interval("low", "high", p.interval), "flagged": p.flagged, "review": " | ".join(p.review),
        "n_answers": len(p.durations), "audio_seconds": round(sum(p.durations), 2) if p.durations else None,
        "problem": p.problem,
    } for p in a.parts]


def _interval(low: str, high: str, interval) -> dict:
    """The score range's bounds when fitted widths exist (None otherwise: no range is invented)."""
    usable = interval is not None and interval.available
    return {low: interval.low if usable else None, high: interval.high if usable else None}


def _without_frames(a: Assessment) -> Assessment:
    """The assessment minus per-frame pooling weights (kilobytes per answer; the CSV has no use for them)."""
    def strip(score):
        return None if score is None else replace(score, pooling_weights=None)
    return replace(a, parts=tuple(replace(p, speech=strip(p.speech), mllm=strip(p.mllm)) for p in a.parts))


def _assessments(results: Path) -> Iterator[Assessment]:
    """The assessed learners of results.parquet in its order, read CHUNK rows at a time, without per-frame
    pooling weights (the CSV has no use for them)."""
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(results).iter_batches(batch_size=CHUNK, columns=["assessment_json"]):
        for text in batch.column(0).to_pylist():
            if text:
                yield _without_frames(Assessment.from_json(text))


def _chunks(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


__all__ = ["COMPLETE", "PARTIAL", "NONE_ASSESSED", "ERROR", "STATUSES", "BATCH_COLUMNS", "OutputMismatch",
           "Summary", "learner_status", "check_job", "batch_files", "next_run", "written_learners", "write_batch",
           "finalise", "save_summary", "worker_seconds", "RESULTS_FILE", "PARTS_FILE", "CSV_FILE", "SUMMARY_FILE"]
