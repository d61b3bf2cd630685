"""Where the demo keeps its files: $SLA_DATA_DIR first, else the XDG folders, for every place that stores something."""

from __future__ import annotations

import pytest

from sla_core.asr import default_transcript_cache_dir
from sla_core.calibration.features import default_cache_dir
from sla_core.calibration.profile import default_profiles_root
from sla_core.graders.onnx_encoder import default_onnx_cache_dir
from sla_core.paths import default_folder
from sla_core.results.store import default_db_path

# (public entry point, its path under $SLA_DATA_DIR, under the XDG folders, under $HOME when XDG is unset)
FOLDERS = [
    (default_transcript_cache_dir, "cache/transcripts", "xdg-cache/sla-demo/transcripts", ".cache/sla-demo/transcripts"),
    (default_cache_dir, "cache/calibration", "xdg-cache/sla-demo/calibration", ".cache/sla-demo/calibration"),
    (default_onnx_cache_dir, "cache/onnx", "xdg-cache/sla-demo/onnx", ".cache/sla-demo/onnx"),
    (default_db_path, "results.sqlite", "xdg-data/sla-demo/results.sqlite", ".local/share/sla-demo/results.sqlite"),
    (default_profiles_root, "profiles", "xdg-data/sla-demo/profiles", ".local/share/sla-demo/profiles"),
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh $HOME with XDG_DATA_HOME and XDG_CACHE_HOME set inside it, and no $SLA_DATA_DIR or $SLA_DB."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("SLA_DATA_DIR", raising=False)
    monkeypatch.delenv("SLA_DB", raising=False)
    return tmp_path


@pytest.mark.parametrize("folder, in_data_dir, in_xdg, in_home", FOLDERS, ids=[f[0].__name__ for f in FOLDERS])
def test_each_default_folder_follows_sla_data_dir_then_xdg_then_home(home, monkeypatch, folder, in_data_dir,
                                                                     in_xdg, in_home):
    assert folder() == home / in_xdg
    monkeypatch.setenv("SLA_DATA_DIR", "~/class-7b")  # wins over XDG; "~" is the user's home
    assert folder() == home / "class-7b" / in_data_dir
    monkeypatch.setenv("SLA_DATA_DIR", "")  # empty counts as unset
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert folder() == home / in_home
    assert folder({"SLA_DATA_DIR": str(home / "given")}) == home / "given" / in_data_dir  # an explicit env is read instead


def test_a_folder_kind_outside_data_and_cache_is_refused():
    with pytest.raises(ValueError, match=r"folder kind 'tmp' is not one of \('data', 'cache'\)"):
        default_folder("tmp", "x")
