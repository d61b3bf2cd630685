"""Where the demo keeps its files on disk: one folder the user names, else the XDG base directories.

$SLA_DATA_DIR set: everything lives in that one folder, kept data at its top and caches under cache/, so a
classroom laptop (or a test run) keeps it all in one place and deletes it in one go. Unset: kept data under
$XDG_DATA_HOME/sla-demo (~/.local/share/sla-demo) and caches under $XDG_CACHE_HOME/sla-demo (~/.cache/sla-demo).
The two kinds differ in what deleting them costs: a cache (transcripts, embeddings, exported encoders) is
rebuilt on the next run; data (results, calibration profiles) is what teachers entered and is gone.

Each place that stores something names its own folder through `default_folder` (a new cache is one call,
e.g. `default_folder(CACHE, "precision")`) and keeps its own `default_*` function as its public entry point.
"""

from __future__ import annotations

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


__all__ = ["APP_FOLDER", "CACHE", "DATA", "KINDS", "default_folder"]
