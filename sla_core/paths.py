"""Where the demo keeps its files on disk: one folder the user names, else the XDG base directories.

$SLA_DATA_DIR set: everything lives in that one folder, kept data at its top and caches under cache/, so a
classroom laptop (or a test run) keeps it all in one place and deletes it in one go. Unset: kept data under
$XDG_DATA_HOME/sla-demo (~/.local/share/sla-demo) and caches under $XDG_CACHE_HOME/sla-demo (~/.cache/sla-demo).
The two kinds differ in what deleting them costs: a cache (transcripts, embeddings, exported encoders) is
rebuilt on the next run; data (results, calibration profiles) is what teachers entered and is gone.

`model_revision` names which version of a model's files a folder or hub id holds (for cache keys).

Each place that stores something names its own folder through `default_folder` (a new cache is one call,
e.g. `default_folder(CACHE, "precision")`) and keeps its own `default_*` function as its public entry point.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

APP_FOLDER = "sla-demo"  # our folder inside the XDG base directories
DATA, CACHE = "data", "cache"  # kept (teachers' work) / rebuilt when deleted
KINDS = (DATA, CACHE)
_XDG = {DATA: ("XDG_DATA_HOME", Path(".local", "share")), CACHE: ("XDG_CACHE_HOME", Path(".cache"))}
_UNDER_DATA_DIR = {DATA: Path(), CACHE: Path("cache")}  # where each kind goes below $SLA_DATA_DIR


def default_folder(kind: str, name: str = "", env: Mapping[str, str] | None = None) -> Path:
    """The default folder for `name` of `kind` (nothing is created).

    Args:
        kind: DATA (kept) or CACHE (rebuilt when deleted).
        name: the subfolder, e.g. "profiles" or "transcripts"; "" for the kind's own folder.
        env: the environment to read; None reads os.environ (tests pass their own).
    Returns:
        $SLA_DATA_DIR[/cache]/name, else $XDG_DATA_HOME or $XDG_CACHE_HOME (default ~/.local/share or ~/.cache)
        /sla-demo/name; "~" expanded.
    """
    if kind not in KINDS:
        raise ValueError(f"folder kind {kind!r} is not one of {KINDS}")
    env = os.environ if env is None else env
    if env.get("SLA_DATA_DIR"):
        return Path(env["SLA_DATA_DIR"]).expanduser() / _UNDER_DATA_DIR[kind] / name
    variable, under_home = _XDG[kind]
    base = Path(env[variable]) if env.get(variable) else Path.home() / under_home
    return base.expanduser() / APP_FOLDER / name


def model_revision(source: str | Path) -> str | None:
    """Which version of a model's files `source` names, for a cache key (asr.TranscriptCache's).

    A local folder: a digest of its model files' names, sizes and modification times (retraining into the
    same folder is a new revision). A hub id: the commit of the snapshot in the local hub cache. None when
    unknown (a model built in code: its source names its seed).
    """
    path = Path(source)
    if path.is_dir():
        h = hashlib.sha256()
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix in MODEL_FILE_SUFFIXES:
                st = f.stat()
                h.update(f"{f.relative_to(path)}\x1f{st.st_size}\x1f{st.st_mtime_ns}\n".encode())
        return f"folder-{h.hexdigest()[:12]}"
    if path.is_absolute() or str(source).count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(str(source), "config.json")
    except Exception:  # a malformed id, an unreadable cache: no revision, the id alone keys the cache
        return None
    parts = Path(found).parts if isinstance(found, str) else ()
    return parts[parts.index("snapshots") + 1][:12] if "snapshots" in parts[:-1] else None


MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".pt", ".txt")  # weights, configs, vocabularies


__all__ = ["APP_FOLDER", "CACHE", "DATA", "KINDS", "MODEL_FILE_SUFFIXES", "default_folder",
           "model_revision"]
