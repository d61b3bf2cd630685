"""The batch job's final tables without Ray: the CSV of a cohort is streamed, never held in memory."""

import csv
import weakref

from sla_core.assessment import Assessment
from sla_core.research import batch_store
from sla_core.results.export import ExportContext, write_csv
from sla_core.testing.assessments import sample_assessment, with_delivery


def _write_cohort(out, learners: int, per_batch: int) -> list[Assessment]:
    cohort = [with_delivery(sample_assessment(f"L{i:03d}"), speech_rate=2.0 + (i * 7 % 11) / 4)
              for i in range(learners)]
    for start in range(0, learners, per_batch):
        batch = cohort[start:start + per_batch]
        batch_store.write_batch(out, 1, {"learner": [a.learner for a in batch], "status": ["complete"] * len(batch),
                                         "error": [None] * len(batch), "assessment_json": [a.to_json() for a in batch],
                                         "worker": ["w:1"] * len(batch), "seconds": [0.1] * len(batch)})
    return cohort


def test_the_cohort_csv_is_written_as_results_are_read_with_a_few_learners_in_memory(tmp_path, monkeypatch):
    """finalise reads results.parquet CHUNK rows at a time and writes each learner's row before reading on:
    the assessments it makes for the CSV are freed as it goes (at most 2 alive at once here, of 60; the
    writer before held all of them, ~1 GB at 100,000 learners). The file is the one the in-memory writer
    makes, the speech rate compared with the whole cohort."""
    monkeypatch.setattr(batch_store, "CHUNK", 8)
    cohort = _write_cohort(tmp_path, 60, 7)
    alive, most = weakref.WeakSet(), [0]
    light = batch_store._without_frames

    def counted(a: Assessment) -> Assessment:
        made = light(a)
        alive.add(made)
        most[0] = max(most[0], len(alive))
        return made

    monkeypatch.setattr(batch_store, "_without_frames", counted)
    summary = batch_store.finalise(tmp_path, session="cohort")
    assert summary.learners == 60 and 1 <= most[0] <= 2

    in_memory = [light(Assessment.from_json(a.to_json())) for a in sorted(cohort, key=lambda a: a.learner)]
    order = [r["learner"] for r in csv.DictReader(open(tmp_path / batch_store.CSV_FILE, encoding="utf-8-sig"))]
    in_memory.sort(key=lambda a: order.index(a.learner))
    expected = write_csv(in_memory, tmp_path / "expected.csv", ExportContext(session="cohort"))
    assert (tmp_path / batch_store.CSV_FILE).read_bytes() == expected.read_bytes()
    rows = list(csv.DictReader(open(expected, encoding="utf-8-sig")))
    assert {r["part3_speech_rate_in_class"] for r in rows} >= {"faster than 54 of 59 classmates"}


def test_a_session_graders_own_overall_reaches_the_cohort_tables(tmp_path):
    from dataclasses import replace

    import pyarrow.parquet as pq

    from sla_core.assessment import TRAINED, OverallScore

    own = OverallScore(grader="Phi4-MTL", score=4.125, state=TRAINED, cefr="B2", covered_parts=(1, 3, 4, 5))
    learners = [replace(sample_assessment("L0"), holistic=own), sample_assessment("L1")]
    batch_store.write_batch(tmp_path, 1, {"learner": ["L0", "L1"], "status": ["complete"] * 2, "error": [None] * 2,
                                          "assessment_json": [a.to_json() for a in learners], "worker": ["w:1"] * 2,
                                          "seconds": [0.1] * 2})
    batch_store.finalise(tmp_path)
    table = pq.read_table(tmp_path / batch_store.RESULTS_FILE).to_pydict()
    assert dict(zip(table["learner"], zip(table["holistic_overall"], table["holistic_cefr"]))) == {
        "L0": (4.125, "B2"), "L1": (None, None)}
    rows = {r["learner"]: r for r in csv.DictReader(open(tmp_path / batch_store.CSV_FILE, encoding="utf-8-sig"))}
    assert (rows["L0"]["holistic_overall"], rows["L1"]["holistic_overall"]) == ("4.125", "")
