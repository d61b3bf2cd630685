"""Attacks on the class upload, driven through the app's real handlers: nothing outside the upload is read
or kept, every dropped zip entry is listed with its reason, bombs and lying zips are refused by name."""

import contextlib
import importlib
import io
import os
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
app = importlib.import_module("app")

from sla_core.assess import AssessorConfig, load_assessor  # noqa: E402
from sla_core.results.store import ResultStore  # noqa: E402
from sla_core.testing.uploads import as_uploads  # noqa: E402
from sla_core.teacher import classroom  # noqa: E402

EXAMPLE = ROOT / "assets" / "example_learner"
_OPENED: list[str] | None = None


def _audit(event, args):  # records every file the process opens while a test is watching
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)


@contextlib.contextmanager
def opened_files():
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


@pytest.fixture(scope="module")
def assessor():
    return load_assessor(AssessorConfig(tiny=True, mllm="off"))


@pytest.fixture
def handlers(assessor, tmp_path):
    return app.Handlers(assessor.assess_submission, assessor.status, ResultStore(tmp_path / "data" / "r.sqlite"),
                        workdir=tmp_path / "work", uploads=as_uploads(tmp_path))


def upload(tmp_path: Path, name: str, data: bytes | str) -> str:
    """A file as a web upload arrives: alone in its own temp folder."""
    folder = tmp_path / "uploads" / str(len(list((tmp_path / "uploads").glob("*"))) if (tmp_path / "uploads").exists() else 0)
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)
    return str(folder / name)


def kept_files(store: ResultStore) -> list[Path]:
    return sorted(p for p in store.audio_dir.rglob("*") if p.is_file()) if store.audio_dir.exists() else []


@pytest.mark.slow
def test_a_manifest_cannot_make_the_server_read_or_keep_a_file_outside_the_upload(handlers, tmp_path):
    secret = tmp_path / "elsewhere" / "secret.wav"  # a real recording the attacker wants scored and copied
    secret.parent.mkdir()
    shutil.copy(EXAMPLE / "part3.wav", secret)
    # Another session's kept recording, on the same server.
    earlier = list(handlers.assess_class([str(ROOT / "assets" / "example_class.zip")], "earlier"))[-1]
    other_recording = kept_files(handlers.store)[0]
    relative_secret = Path("..") / ".." / ".." / ".." / secret.relative_to(tmp_path.parents[0])
    manifest = ("learner,part,audio\n"
                f"eve,3,{secret}\n"
                f"eve,4,/etc/passwd\n"
                f"eve,5,/proc/self/environ\n"
                f"eve,1,{relative_secret}\n"
                f"mal,3,{other_recording}\n"
                f"mal,4,/no/such/file.wav\n"
                f"ana,3,part3.wav\n")
    files = [upload(tmp_path, "class.csv", manifest), upload(tmp_path, "part3.wav", (EXAMPLE / "part3.wav").read_bytes())]
    before = set(kept_files(handlers.store))
    with opened_files() as opened:
        status, table, csv_update, *_ = list(handlers.assess_class(files, "attack"))[-1]
    outside = [secret, Path("/etc/passwd"), Path("/proc/self/environ"), other_recording, Path("/no/such/file.wav")]
    assert not {os.path.normpath(f) for f in opened} & {str(o) for o in outside}  # Python never opened them (libsndfile would not either: nothing of eve or mal was scored)
    assert list(table["Learner"]) == ["ana"]  # eve and mal had nothing inside the upload
    new = set(kept_files(handlers.store)) - before
    assert len(new) == 1 and next(iter(new)).read_bytes() == (EXAMPLE / "part3.wav").read_bytes()
    # Each row is listed with the same reason, whether the outside file exists or not.
    for path in ("/etc/passwd", "/proc/self/environ", "/no/such/file.wav", str(secret)):
        assert f"<code>{path}</code>" in status
    assert status.count("leads outside the upload") == 6
    assert "not uploaded" not in status and "not found" not in status


def test_a_link_inside_an_upload_that_leads_outside_is_skipped(tmp_path):
    up = tmp_path / "upload"
    up.mkdir()
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    (up / "ana_part3.wav").symlink_to(tmp_path / "secret.wav")
    (up / "m.csv").write_text("learner,part,audio\nben,3,ana_part3.wav\n")
    batch = classroom.load_class(up, confine_to=up)
    assert batch.submissions == () and "leads outside the upload" in batch.skipped[0].reason
    assert classroom.load_class(up).learners == ("ben",)  # the CLI (the machine's own user) follows it


def _zip(entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_every_dropped_zip_entry_is_listed_and_the_unpacked_files_are_removed(handlers, tmp_path):
    good = (EXAMPLE / "part3.wav").read_bytes()
    data = _zip({"../escape.wav": good, "/abs/part3.wav": good, "C:/win/part3.wav": good,
                 "class/ana/part3.wav": good})
    status, table, *_ = list(handlers.assess_class([upload(tmp_path, "class.zip", data)], "zip"))[-1]
    assert list(table["Learner"]) == ["ana"]
    for entry in ("../escape.wav", "/abs/part3.wav", "C:/win/part3.wav"):
        assert f"<code>class.zip: {entry}</code>" in status and "leads outside the zip" in status
    assert not (tmp_path / "escape.wav").exists() and not any((tmp_path / "uploads").parent.rglob("escape.wav"))
    assert not list((tmp_path / "work").glob("class-*"))  # the unpacked upload is gone once assessed


def test_a_zip_bomb_is_refused_by_name_and_leaves_nothing_behind(handlers, tmp_path, monkeypatch):
    monkeypatch.setattr(classroom, "MAX_UNZIPPED_BYTES", 8 * 1024**2)  # the real cap is 1 GiB: same code path
    bomb = _zip({f"ana/part{p}.wav": bytes(4 * 1024**2) for p in (3, 4, 1)})
    assert len(bomb) < 64 * 1024
    with pytest.raises(gr.Error, match=r"bomb\.zip unpacks to more than"):
        list(handlers.assess_class([upload(tmp_path, "bomb.zip", bomb)], "bomb"))
    assert not list((tmp_path / "work").rglob("*.wav"))


def test_too_many_entries_are_refused_by_name(handlers, tmp_path, monkeypatch):
    monkeypatch.setattr(classroom, "MAX_ZIP_ENTRIES", 5)
    data = _zip({f"ana/x{k}.txt": b"x" for k in range(6)})
    with pytest.raises(gr.Error, match=r"many\.zip holds 6 files; the limit is 5"):
        list(handlers.assess_class([upload(tmp_path, "many.zip", data)], "many"))


def _lie_about_size(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite the uncompressed size of `name` in the local and central headers (a forged zip)."""
    out = bytearray(data)
    local = out.find(b"PK\x03\x04" + bytes(0))
    while local != -1:
        n = struct.unpack_from("<H", out, local + 26)[0]
        if out[local + 30: local + 30 + n] == name:
            struct.pack_into("<I", out, local + 22, size)
        local = out.find(b"PK\x03\x04", local + 4)
    central = out.find(b"PK\x01\x02")
    while central != -1:
        n = struct.unpack_from("<H", out, central + 28)[0]
        if out[central + 46: central + 46 + n] == name:
            struct.pack_into("<I", out, central + 24, size)
        central = out.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def test_corrupt_and_lying_zips_get_a_message_naming_the_file(handlers, tmp_path):
    with pytest.raises(gr.Error, match=r"broken\.zip is not a readable \.zip"):
        list(handlers.assess_class([upload(tmp_path, "broken.zip", b"PK\x03\x04 not really a zip")], "x"))
    good = (EXAMPLE / "part3.wav").read_bytes()
    truncated = _zip({"ana/part3.wav": good})[: 2000]
    with pytest.raises(gr.Error, match=r"cut\.zip is not a readable \.zip"):
        list(handlers.assess_class([upload(tmp_path, "cut.zip", truncated)], "x"))
    lying = _lie_about_size(_zip({"ben/part3.wav": good, "ana/part3.wav": good}), b"ben/part3.wav", 100)
    status, table, *_ = list(handlers.assess_class([upload(tmp_path, "lying.zip", lying)], "x"))[-1]
    assert list(table["Learner"]) == ["ana"]
    assert "<code>lying.zip: ben/part3.wav</code>" in status and "damaged or protected" in status


@pytest.mark.slow
def test_a_flac_bomb_in_one_answer_is_refused_and_the_other_parts_are_assessed(handlers, tmp_path):
    from sla_core.testing.audio import forge_flac

    bomb = forge_flac(tmp_path / "bomb.flac", 3, 60 * 60 * 96_000)  # says: 60 min, 96 kHz, 6 channels
    slots = [None] * len(app.SLOTS)
    slots[app.SLOTS.index((3, 0))] = str(bomb)
    slots[app.SLOTS.index((4, 0))] = str(EXAMPLE / "part4.wav")
    summary, table, *_ = handlers.assess_one("Ana", *slots)
    assert "Part 3, answer 1 (bomb.flac): the recording is too long (3600 s; the limit is 180 s)" in summary
    assert list(table["Status"])[1:3] == ["could not be assessed", "assessed"]
