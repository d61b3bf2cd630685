"""Deleting a learner or a session everywhere: the store, and every copy made from their recordings.

The store (`ResultStore.delete_*`) removes the rows - results, the plan's name and file hashes, the
source's file names - and its own copies of the recordings, then compacts the database. What lies outside
the store is found from `DeletionTargets`, read before the rows go:

* copies of the recordings in work folders (unpacked uploads, gradio's upload cache): any file with the
  same content hash (sha256) as one of theirs;
* the transcript cache, keyed by the decoded waveform (`asr.audio_digest`): the digests are computed from
  the store's copies before they are deleted;
* the calibration listening cache, keyed by the files' content (`EmbeddingCache.forget`);
* the session's downloads (CSV, JSON, recordings) in every run folder (`workfolders.session_download_dir`);
* calibration profiles fitted on the learner's marks: their name leaves the profile's evidence and the
  profile is flagged "fitted partly on a deleted learner's marks" (it cannot be refitted without the
  other learners' recordings; `calibration.profile.forget_learners`).

The app (`teacher` handlers) and `python -m sla_core delete` both call `erase`; they differ only in the
`Places` they pass.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .store import DeletionTargets, ResultStore, file_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Places:
    """Where copies of a learner's data may lie besides the store."""

    folders: tuple[Path, ...] = ()  # searched by content hash (work folders, gradio's upload cache)
    transcript_cache: Path | None = None  # asr.TranscriptCache root; None: none
    calibration_cache: Path | None = None  # calibration EmbeddingCache root; None: none
    profiles: tuple[Path, ...] = ()  # calibration profile folders (a teacher's root) to scrub and flag
    downloads: tuple[Path, ...] = ()  # folders holding per-session download folders (workfolders.DOWNLOADS)
    extra: tuple[Callable[[DeletionTargets], int], ...] = field(default=())  # more copies (the app's upload ledger)


@dataclass(frozen=True)
class ErasureReport:
    """What one deletion removed, for the message and the log."""

    learners: tuple[str, ...]
    results: int
    copies: int  # files outside the store found by content and removed
    transcripts: int
    cache_entries: int
    downloads: int
    profiles_flagged: tuple[str, ...]


def erase(store: ResultStore, session_id: int, *, learner: str | None = None, result_id: int | None = None,
          places: Places = Places()) -> ErasureReport:
    """Delete one result (`result_id`), every result and plan row of a `learner`, or (neither) the whole
    session, and every copy of theirs in `places`. KeyError when it is not `store`'s owner's."""
    targets = store.deletion_targets(session_id, learner=learner, result_id=result_id)
    audio_keys = _audio_keys(targets.kept) if places.transcript_cache is not None else set()
    if result_id is not None:
        store.delete_result(result_id)
        results = 1
    elif learner is not None:
        results = store.delete_learner(session_id, learner)
    else:
        results = store.session(session_id).n_results
        store.delete_session(session_id)
    copies = sum(_remove_copies(folder, targets.sha256) for folder in places.folders)
    copies += sum(extra(targets) for extra in places.extra)
    transcripts = _forget_transcripts(places.transcript_cache, audio_keys)
    entries = _forget_calibration(places.calibration_cache, targets.sha256)
    downloads = _remove_downloads(places.downloads, store.path, session_id)
    flagged = _flag_profiles(places.profiles, targets.learners)
    report = ErasureReport(targets.learners, results, copies, transcripts, entries, downloads, flagged)
    log.info("deleted %d result(s) of session %d with their copies: %d file(s) by content, %d transcript(s), "
             "%d calibration cache entr(ies), %d download(s); %d profile(s) flagged", results, session_id, copies,
             transcripts, entries, downloads, len(flagged))
    return report


def remove_copies(folder: Path, sha256: Iterable[str]) -> int:
    """Delete every file under `folder` whose content hash is in `sha256`; returns how many."""
    return _remove_copies(folder, frozenset(sha256))


def _remove_copies(folder: Path, sha256: frozenset[str]) -> int:
    folder = Path(folder)
    if not sha256 or not folder.is_dir():
        return 0
    removed = 0
    for path in list(folder.rglob("*")):  # listed first: emptied folders go as we pass
        try:
            if path.is_file() and not path.is_symlink() and file_sha256(path) in sha256:
                path.unlink()
                removed += 1
                if path.parent != folder and not any(path.parent.iterdir()):
                    path.parent.rmdir()  # gradio keeps one folder per upload
        except OSError as e:  # a file being written or gone: it is not one of theirs yet
            log.debug("erasure: %s left (%s)", path, e)
    return removed


def _audio_keys(paths: Sequence[Path]) -> set[str]:
    """The transcript cache's keys of these recordings (the waveform the transcriber heard)."""
    from ..asr import audio_digest  # lazy: the store does not need the models
    from ..audio import AudioIssue, load_audio

    keys = set()
    for path in paths:
        try:
            keys.add(audio_digest(load_audio(path)))
        except AudioIssue:  # never transcribed: an unreadable file has no transcript
            continue
    return keys


def _forget_transcripts(root: Path | None, keys: set[str]) -> int:
    if root is None or not keys:
        return 0
    from ..asr import TranscriptCache

    return TranscriptCache(root).forget(keys)


def _forget_calibration(root: Path | None, sha256: frozenset[str]) -> int:
    if root is None or not sha256:
        return 0
    from ..calibration.features import EmbeddingCache

    return EmbeddingCache(root).forget(sha256)


def _remove_downloads(roots: Sequence[Path], db_path: Path, session_id: int) -> int:
    from .workfolders import session_download_dir

    removed = 0
    for root in roots:
        folder = session_download_dir(root, db_path, session_id)
        if folder.is_dir():
            removed += sum(1 for p in folder.rglob("*") if p.is_file())
            shutil.rmtree(folder, ignore_errors=True)
    return removed


def _flag_profiles(roots: Sequence[Path], learners: Sequence[str]) -> tuple[str, ...]:
    from ..calibration.profile import forget_learners

    flagged: list[str] = []
    for root in roots:
        flagged += forget_learners(root, [n for n in learners if n])
    return tuple(flagged)


__all__ = ["ErasureReport", "Places", "erase", "remove_copies"]
