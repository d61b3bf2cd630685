"""Class intake: both naming schemes, the manifest, zips; every file placed or listed with a reason."""

import zipfile
from pathlib import Path

import pytest

from sla_core.teacher.classroom import extract_zip, load_class, scan_folder, stage_uploads

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"RIFF")  # intake only places files; the assessor reads them


def test_folder_per_learner_and_learner_in_name_are_both_placed_in_answer_order(tmp_path):
    touch(tmp_path, "maria/part1_2.wav", "maria/part1_1.wav", "maria/part3.wav", "maria/Part5-1.FLAC",
          "tom_part4.wav", "tom_part1_3.wav", "ann lee_part1_1.ogg")
    batch = scan_folder(tmp_path)
    assert batch.learners == ("ann lee", "maria", "tom")
    maria = batch.responses()["maria"]
    assert [p.name for p in maria[1]] == ["part1_1.wav", "part1_2.wav"]
    assert set(maria) == {1, 3, 5} and batch.skipped == ()
    assert set(batch.responses()["tom"]) == {1, 4}


@pytest.mark.parametrize("name, reason", [
    ("notes.txt", "not an audio file"),
    ("maria/answer1.wav", "name does not follow"),
    ("part3.wav", "no learner name"),
    ("maria/part2_1.wav", "part 2 is not assessed"),
    ("maria/part5_6.wav", "takes answers 1 to 5"),
])
def test_files_that_do_not_fit_are_listed_with_the_reason(tmp_path, name, reason):
    touch(tmp_path, "maria/part3.wav", name)
    batch = scan_folder(tmp_path)
    assert [s.path for s in batch.skipped] == [name]
    assert reason in batch.skipped[0].reason
    assert batch.learners == ("maria",)


def test_a_duplicate_answer_is_skipped_naming_the_first(tmp_path):
    touch(tmp_path, "maria/part3.wav", "maria_part3_1.wav")
    batch = scan_folder(tmp_path)
    assert len(batch.skipped) == 1 and "same learner, part and answer as" in batch.skipped[0].reason


def test_os_clutter_is_ignored(tmp_path):
    touch(tmp_path, "maria/part3.wav", "__MACOSX/maria/._part3.wav", ".DS_Store")
    assert scan_folder(tmp_path).skipped == ()


def test_the_example_class_zip_has_three_learners_and_one_skipped_readme():
    batch = load_class(ASSETS / "example_class.zip")
    assert batch.learners == ("amira", "ben", "chloe")
    assert {p: len(v) for p, v in batch.responses()["amira"].items()} == {1: 2, 3: 1, 4: 1, 5: 2}
    assert 4 not in batch.responses()["chloe"]
    assert [s.path.split("/")[-1] for s in batch.skipped] == ["README.txt"]


def test_the_example_manifest_keeps_questions_and_resolves_audio_next_to_it():
    batch = load_class(ASSETS / "example_manifest.csv")
    assert batch.learners == ("alex", "sam") and batch.source == "manifest example_manifest.csv"
    alex = next(s for s in batch.submissions if s.submission_id == "alex")
    assert len(alex.part(1).responses) == 6 and alex.part(1).responses[0].question == "Where do you live?"
    assert all(r.audio_path.is_file() for p in alex.parts for r in p.responses)


def test_manifest_rows_whose_audio_was_not_uploaded_are_skipped(tmp_path):
    (tmp_path / "m.csv").write_text("learner,part,audio\nana,3,ana3.wav\nana,4,gone.wav\n")
    touch(tmp_path, "ana3.wav")
    batch = load_class(tmp_path)
    assert set(batch.responses()["ana"]) == {3}
    assert batch.skipped[0].path == "gone.wav" and "not uploaded" in batch.skipped[0].reason


def test_manifest_audio_uploaded_without_its_folders_is_found_beside_the_csv(tmp_path):
    (tmp_path / "m.csv").write_text("learner,part,audio\nana,3,recordings/ana3.wav\n")
    touch(tmp_path, "ana3.wav")
    assert load_class(tmp_path).responses()["ana"][3] == [tmp_path / "ana3.wav"]


def test_malformed_manifest_rows_are_listed_by_line_and_the_other_learners_kept(tmp_path):
    """One mistyped row (a learner left empty, a part 2, a mark off the grid, a sixth Part 5 answer) costs that row,
    not the class; each is listed with its line and what is wrong."""
    rows = ["ana,3,a.wav,", ",4,b.wav,", "ben,2,c.wav,", "ben,3,d.wav,3.3", "cat,4,e.wav,"]
    rows += [f"dan,5,f{i}.wav," for i in range(6)] + ["dan,3,g.wav,"]
    (tmp_path / "m.csv").write_text("learner,part,audio,score\n" + "\n".join(rows) + "\n")
    touch(tmp_path, "a.wav", "b.wav", "c.wav", "d.wav", "e.wav", "g.wav", *(f"f{i}.wav" for i in range(6)))
    batch = load_class(tmp_path / "m.csv")
    assert batch.learners == ("ana", "cat", "dan")  # ben had no good row; dan keeps Part 3
    assert set(batch.responses()["dan"]) == {3}
    assert [(s.path, s.reason) for s in batch.skipped] == [
        ("m.csv line 3", "learner is empty"),
        ("m.csv line 4", "part '2' is not one of 1, 3, 4, 5"),
        ("m.csv line 5", "score 3.3 is not one of (2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5)"),
        ("m.csv", "learner 'dan' has 6 answers for part 5, at most 5"),
    ]


def test_a_manifest_with_a_bad_header_is_refused_naming_file_and_line(tmp_path):
    (tmp_path / "m.csv").write_text("name,part,audio\nana,3,a.wav\n")
    with pytest.raises(ValueError, match=r"m\.csv:1: header .* lacks \['learner'\]"):
        load_class(tmp_path / "m.csv")


def test_uploads_are_staged_into_one_folder_so_a_manifest_finds_its_audio(tmp_path):
    up = tmp_path / "uploads"
    for k, name in enumerate(["m.csv", "a.wav"]):  # web uploads arrive in separate temp folders
        (up / str(k)).mkdir(parents=True)
    (up / "0" / "m.csv").write_text("learner,part,audio\nana,3,a.wav\n")
    (up / "1" / "a.wav").write_bytes(b"RIFF")
    staged = stage_uploads([up / "0" / "m.csv", up / "1" / "a.wav"], tmp_path / "staged")
    assert load_class(staged).learners == ("ana",)
    with pytest.raises(ValueError, match="both called 'a.wav'"):
        stage_uploads([up / "1" / "a.wav"], tmp_path / "staged")


def test_zip_entries_outside_the_folder_are_never_written(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../escape.wav", b"x")
        zf.writestr("ana/part3.wav", b"x")
    out = extract_zip(z, tmp_path / "out")
    assert not (tmp_path / "escape.wav").exists() and (out / "ana" / "part3.wav").is_file()


def test_bad_uploads_raise_clear_errors(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="x.zip is not a readable .zip"):
        load_class(tmp_path / "x.zip")
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(ValueError, match="folder, a .zip or a .csv"):
        load_class(tmp_path / "x.pdf")
    with pytest.raises(FileNotFoundError):
        load_class(tmp_path / "nothing")


class _NoUtf8Flag(zipfile.ZipInfo):
    """A zip entry written the way Linux `zip` writes it: UTF-8 bytes, but no UTF-8 flag (bit 11)."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("utf-8"), self.flag_bits & ~0x800


class _Cp437(zipfile.ZipInfo):
    """A zip entry as old DOS/Windows tools wrote it: CP437 bytes, no UTF-8 flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def test_accented_names_decode_right_with_or_without_the_utf8_flag(tmp_path):
    wav = (Path(__file__).resolve().parents[2] / "assets" / "example_learner" / "part3.wav").read_bytes()
    path = tmp_path / "class.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(_NoUtf8Flag("Fatima Ö/part3.wav"), wav)  # no flag, as Linux zip makes it
        z.writestr("Zoë/part3.wav", wav)  # Python sets the flag itself
        z.writestr(_Cp437("Jürgen/part3.wav"), wav)  # an old DOS/Windows zip: CP437 bytes, no flag
    raw = {i.filename for i in zipfile.ZipFile(path).infolist()}
    assert "Fatima ├û/part3.wav" in raw  # what Python alone makes of it: the bug a teacher saw
    assert load_class(path).learners == ("Fatima Ö", "Jürgen", "Zoë")
