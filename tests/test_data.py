"""Loaders: the S&I layout and the CSV manifest read into Submission records; bad files are named."""

import shutil

import pytest

from sla_core.manifest import CorpusError, read_manifest

from sla_core.research.corpus import load_si_split, load_submissions
from sla_core.parts import PARTS
from sla_core.testing.corpus import ITEMS, write_manifest



@pytest.mark.parametrize("split", ["dev", "train", "eval"])
def test_si_split_matches_the_corpus_truth(mini, split):
    subs = load_si_split(mini.root, split)
    marked, has_ctm = split != "eval", split == "dev"
    assert [s.submission_id for s in subs] == mini.submission_ids(split)
    for s in subs:
        truth = mini.marks[split][s.submission_id]
        assert {p.part: p.mark for p in s.parts} == (truth if marked else dict.fromkeys(truth))
        expected = mini.overall[split].get(s.submission_id) if marked else None
        assert s.overall_mark == (None if expected is None else pytest.approx(expected, abs=1e-3))
        for pr in s.parts:
            assert tuple(r.item for r in pr.responses) == ITEMS[pr.part]
            for r in pr.responses:
                assert r.audio_path.is_file() and r.utt_id == f"{s.submission_id}-{r.item}"
                assert r.transcript == (mini.transcripts[r.utt_id] if has_ctm else None)  # no CTM: our ASR's job
                assert r.question == mini.questions.get(r.utt_id)  # None outside the annotated subset


def test_train_keeps_holistic_and_off_grid_overall_marks_as_released(mini):
    subs = {s.submission_id: s for s in load_si_split(mini.root, "train", require_marks=True)}
    assert len(mini.holistic["train"]) == 2
    for sub_id in mini.holistic["train"]:
        s = subs[sub_id]
        assert len(s.parts) == 3 and s.overall_mark in (1.875, 5.625)  # incomplete, off the grid: kept
        assert s.overall_mark != pytest.approx(sum(p.mark for p in s.parts) / 3)
    assert all(s.overall_mark is not None for s in subs.values())


def test_eval_as_released_has_no_marks_and_a_trainer_says_so(mini):
    subs = load_si_split(mini.root, "eval")
    assert subs and all(s.overall_mark is None and all(p.mark is None for p in s.parts) for s in subs)
    with pytest.raises(CorpusError, match=r"eval-sla-P1\.tsv: file not found \(this split's marks are needed"):
        load_si_split(mini.root, "eval", require_marks=True)


def test_training_targets_follow_one_rule():
    from sla_core.research.corpus import training_target

    assert [training_target(m) for m in (1.875, 3.25, 3.2, 5.625, 5.75)] == [2.0, 3.5, 3.0, 5.5, 5.5]


def test_options_leave_out_transcripts_and_parts(mini):
    subs = load_si_split(mini.root, "dev", parts=(3, 4), ctm=None)
    assert all(s.part_numbers in ((3, 4), (3,), (4,)) for s in subs)
    assert all(r.transcript is None for s in subs for p in s.parts for r in p.responses)


def _copy_reference(mini, tmp_path):
    root = tmp_path / "corpus"
    shutil.copytree(mini.root / "reference-materials", root / "reference-materials")
    return root, root / "reference-materials"


def test_missing_annotations_fall_back_to_none(mini, tmp_path):
    root, ref = _copy_reference(mini, tmp_path)
    (ref / "annotations" / "dev-gec-ref.json").unlink()
    subs = load_si_split(root, "dev")
    assert all(r.question is None for s in subs for p in s.parts for r in p.responses)


def test_ctm_words_are_joined_in_time_order(mini, tmp_path):
    root, ref = _copy_reference(mini, tmp_path)
    ctm = ref / "pre-norm" / "dev-sla-P3.ctm"
    ctm.write_text("".join(reversed(ctm.read_text().splitlines(keepends=True))))
    subs = load_si_split(root, "dev", parts=(3,))
    r = subs[0].part(3).responses[0]
    assert r.transcript == mini.transcripts[r.utt_id]


@pytest.mark.parametrize("file, line, bad, message", [
    ("sla-marks/dev-sla-P3.tsv", 2, "SI101D-00002\tabc", "is not a number"),
    ("sla-marks/dev-sla-P3.tsv", 1, "SI101D-00001\t3.250", "is not one of"),
    ("flists.flac/dev-sla-P3.tsv", 2, "SI101D-00002-P40018\tdata/x.flac", "is part 4, but this list is part 3"),
    ("flists.flac/dev-sla-P3.tsv", 1, "not-an-id\tdata/x.flac", "is not <12-char submission>"),
    ("pre-norm/dev-sla-P3.ctm", 3, "SI101D-00001-P30017 1 0.0", "got 3 fields"),
    ("sla-marks/dev-sla-overall.tsv", 2, "SI101D-00002\t7.000", "outside the plausible 1.0..6.0"),
])
def test_malformed_lines_are_named_by_file_and_line(mini, tmp_path, file, line, bad, message):
    root, ref = _copy_reference(mini, tmp_path)
    lines = (ref / file).read_text().splitlines()
    lines[line - 1] = bad
    (ref / file).write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError, match=message) as err:
        load_si_split(root, "dev", parts=(3,))
    assert str(err.value).startswith(f"{ref / file}:{line}:")


def test_missing_files_and_bad_arguments_are_named(mini, tmp_path):
    root, ref = _copy_reference(mini, tmp_path)
    (ref / "sla-marks" / "dev-sla-P4.tsv").unlink()
    with pytest.raises(CorpusError, match=r"dev-sla-P4\.tsv: file not found \(the split has other marks files"):
        load_si_split(root, "dev")  # a broken copy, not an unmarked split
    for f in (ref / "sla-marks").glob("dev-sla-*.tsv"):
        f.unlink()
    assert load_si_split(root, "dev", parts=(4,))[0].part(4).mark is None  # unmarked, as eval is released
    with pytest.raises(ValueError, match="unknown split 'test'"):
        load_si_split(root, "test")
    with pytest.raises(CorpusError, match="not an S&I corpus root"):
        load_si_split(tmp_path, "dev")
    with pytest.raises(ValueError, match="name a split"):
        load_submissions(root)
    bad_json = ref / "annotations" / "dev-gec-ref.json"
    bad_json.write_text("{not json")
    with pytest.raises(CorpusError, match="dev-gec-ref.json:1: not valid JSON"):
        load_si_split(root, "dev")


def test_manifest_round_trip_reads_what_the_corpus_holds(mini, tmp_path):
    subs = load_si_split(mini.root, "dev")
    csv_path = write_manifest(tmp_path / "class" / "manifest.csv", subs)
    back = load_submissions(csv_path)
    assert [s.submission_id for s in back] == [s.submission_id for s in subs]
    for a, b in zip(subs, back):
        assert a.overall_mark == (None if b.overall_mark is None else pytest.approx(b.overall_mark))
        for pa, pb in zip(a.parts, b.parts):
            assert (pa.part, pa.mark) == (pb.part, pb.mark)
            assert [r.audio_path.resolve() for r in pa.responses] == [r.audio_path.resolve() for r in pb.responses]
            assert [(r.question, r.transcript) for r in pa.responses] == [(r.question, r.transcript) for r in pb.responses]


def test_manifest_optional_columns_may_be_absent(tmp_path):
    (tmp_path / "m.csv").write_text("learner,part,audio\nann,3,a.wav\nann,1,b.wav\nann,1,c.wav\nbob,4,/abs/d.wav\n")
    ann, bob = read_manifest(tmp_path / "m.csv")
    assert ann.part_numbers == (1, 3) and [r.audio_path.name for r in ann.part(1).responses] == ["b.wav", "c.wav"]
    assert ann.part(1).responses[0].audio_path == tmp_path / "b.wav" and ann.part(1).mark is None
    assert str(bob.part(4).responses[0].audio_path) == "/abs/d.wav" and bob.overall_mark is None


@pytest.mark.parametrize("text, line, message", [
    ("learner,audio\nann,a.wav\n", 1, r"lacks \['part'\]"),
    ("learner,part,audio,grade\nann,3,a.wav,4\n", 1, r"unknown columns \['grade'\]"),
    ("learner,part,audio\nann,2,a.wav\n", 2, "part '2' is not one of 1, 3, 4, 5"),
    ("learner,part,audio,score\nann,3,a.wav,3.3\n", 2, "score 3.3 is not one of"),
    ("learner,part,audio,score\nann,1,a.wav,3.5\nann,1,b.wav,4.0\n", 3, "disagrees with 3.5 on line 2"),
    ("learner,part,audio\nann,3,\n", 2, "audio is empty"),
])
def test_manifest_errors_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(CorpusError, match=message) as err:
        read_manifest(path)
    assert str(err.value).startswith(f"{path}:{line}:")


def test_manifest_with_too_many_answers_or_missing_file(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("learner,part,audio\n" + "".join(f"ann,3,{i}.wav\n" for i in range(2)))
    with pytest.raises(CorpusError, match="2 answers for part 3, at most 1"):
        read_manifest(path)
    with pytest.raises(CorpusError, match="file not found"):
        read_manifest(tmp_path / "nope.csv")


def test_complete_manifest_learner_gets_the_mean_as_overall(tmp_path):
    rows = "".join(f"ann,{p},{p}.wav,,,{m}\n" for p, m in zip(PARTS, (3.0, 3.5, 4.0, 4.5)))
    (tmp_path / "m.csv").write_text("learner,part,audio,question,transcript,score\n" + rows)
    assert read_manifest(tmp_path / "m.csv")[0].overall_mark == pytest.approx(3.75)
