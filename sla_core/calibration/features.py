"""What calibration learns from: each graded part's mark, the graders' scores, the speech embedding,
and the part's delivery measures (speech rate, pauses, runs: calibration.delivery_fit).

The expensive step is listening: the speech grader's encoder (and the multimodal model) run once per
graded part. Their outputs are cached on disk, keyed by the audio files' content, the part and a
fingerprint of the model weights, so fitting again (another name, one more recording) is instant. The
delivery measures depend on the audio alone, so their key is the audio's content only.

What the cache keeps is independent of calibration: the speech grader's pooled vector x is computed
before the prototypes, and the multimodal score is mapped only after the grader. So exemplars can
be collected even from an Assessor that already has a profile applied; the "before" numbers are
always those of the uncalibrated system (loaded prototypes, loaded fusion weights).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..assessment import GraderInfo
from ..audio import AudioIssue, load_checked
from ..cefr import GRID, clip_score, round_to_grid
from ..data import PartInput, PartResponses, Response, Submission
from ..fusion import FusionWeights
from ..delivery.analyse import measure_part
from ..parts import PARTS, part_info
from ..paths import CACHE, default_folder
from .delivery_fit import MEASURES, delivery_values

Progress = Callable[[float, str], None]
CACHE_FORMAT = "v1"  # part of every cache key: bump it when what is cached changes meaning
DELIVERY_CACHE = "delivery-v1"  # part of the delivery measures' key: bump it when their definitions change


@dataclass(frozen=True)
class Exemplar:
    """One part the teacher graded: the mark, and what the loaded graders make of it uncalibrated."""

    learner: str
    part: int
    mark: float  # the teacher's mark, on the grid 2.0..5.5
    scores: Mapping[str, float]  # grader slot ("speech", "mllm") -> its score now, on the scale 2.0..5.5
    states: Mapping[str, str]  # grader slot -> TRAINED / ZERO_SHOT / UNTRAINED for this part
    embedding: np.ndarray | None = None  # (H,) the speech grader's pooled vector x; None without one
    delivery: Mapping[str, float | None] | None = None  # delivery_fit.delivery_values of the part; None: not measured


@dataclass(frozen=True)
class SpeechPart:
    """One part's speech grader as calibration sees it: re-scores embeddings under other prototypes."""

    part: int
    grader: object  # graders.speech.SpeechGrader (its encoder is never run here)
    state: str  # TRAINED: calibrate its head's score; otherwise its head is random (see fit.py)
    prototypes: np.ndarray  # (K, H) as loaded, before any teacher calibration
    space: str  # fingerprint of the encoder: parts with the same one embed into the same space

    @property
    def levels(self) -> tuple[float, ...]:
        return tuple(self.grader.prototype_levels)

    def score(self, embeddings: np.ndarray, prototypes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(N, H) -> (head scores (N,) unclipped, similarities (N, K)) under `prototypes` (K, H), default as loaded."""
        return self.grader.score_embeddings(embeddings, self.prototypes if prototypes is None else prototypes)


@dataclass
class ExemplarData:
    """Everything fitting needs, collected once (see `collect_exemplars`)."""

    exemplars: list[Exemplar]
    speech_parts: dict[int, SpeechPart]  # part -> speech grader; empty when the speech grader is not a SpeechGraders
    graders: dict[str, dict]  # grader slot ("speech", "mllm") -> identity (source, states, weight fingerprints)
    fusion: FusionWeights  # the weights the uncalibrated system fuses with
    skipped: list[str] = field(default_factory=list)  # graded parts left out, each with its reason in words

    @property
    def marks(self) -> np.ndarray:
        return np.array([e.mark for e in self.exemplars], dtype=np.float64)  # (n,)


# -- the cache ---------------------------------------------------------------------------------------


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """$SLA_DATA_DIR/cache/calibration, else $XDG_CACHE_HOME/sla-demo/calibration (~/.cache/...)."""
    return default_folder(CACHE, "calibration", env)


class EmbeddingCache:
    """Small npz files on disk, one per graded part and model: root/ab/abcdef....npz."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    @staticmethod
    def key(*fields: str) -> str:
        """One hex digest of the fields that decide the cached value."""
        return hashlib.sha256("\x1f".join((CACHE_FORMAT, *fields)).encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError):  # a half-written or foreign file: compute it again
            return None

    def put(self, key: str, **arrays: np.ndarray) -> None:
        """Write atomically (temp file + rename), so a crash never leaves a broken entry."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# -- fingerprints ------------------------------------------------------------------------------------


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes: the same recording under another name hits the cache."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _digest_tensors(named: Sequence[tuple[str, torch.Tensor]]) -> str:
    h = hashlib.sha256()
    for name, t in named:
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def speech_fingerprints(grader, memo: dict[int, str] | None = None) -> dict[str, str]:
    """Fingerprints of one SpeechGrader's weights.

    memo: id(encoder) -> its digest, shared across one call's graders (untrained parts share one
    encoder; hashing wav2vec2-base takes ~0.25 s).
    Returns:
        {"space": encoder (+ layer mix): which embedding space x lives in,
         "embed": space + attention pooling: decides x (the cache key),
         "grader": every weight, prototypes as loaded: decides the score (the profile's identity check)}.
    """
    memo = {} if memo is None else memo
    if id(grader.encoder) not in memo:
        memo[id(grader.encoder)] = _digest_tensors(list(grader.encoder.named_parameters()))
    space = memo[id(grader.encoder)]
    if grader.layer_logits is not None:
        space = _chain(space, _digest_tensors([("layer_logits", grader.layer_logits)]))
    embed = _chain(space, _digest_tensors(list(grader.attention.named_parameters())))
    rest = [(n, p) for n, p in grader.named_parameters() if not n.startswith("encoder.") and n != "prototypes"]
    whole = _chain(embed, _digest_tensors(rest + [("prototypes", grader.original_prototypes)]))
    return {"space": space, "embed": embed, "grader": whole}


def _chain(*digests: str) -> str:
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:16]


def _is_speech_graders(grader) -> bool:
    return hasattr(grader, "graders") and all(hasattr(g, "embed") for g in getattr(grader, "graders", {}).values())


def grader_identity(grader, fingerprints: Mapping[int, dict[str, str]] | None = None) -> dict:
    """What a profile records about a grader, and checks again before it is applied: JSON-ready."""
    info: GraderInfo = grader.info()
    identity = {"name": info.name, "source": info.source, "state": info.state, "trained_parts": list(info.parts),
                "variant": getattr(grader, "variant", None)}
    if fingerprints is not None:
        identity["parts"] = {str(p): {"state": grader.states[p], "fingerprint": fp["grader"]}
                             for p, fp in sorted(fingerprints.items())}
    return identity


def assessor_identities(assessor, speech_prints: Mapping[int, dict[str, str]] | None = None) -> dict[str, dict]:
    """Grader slot ("speech", "mllm") -> identity, for the graders the Assessor fuses (what a profile must match).

    speech_prints: the speech graders' fingerprints when already computed (hashing takes a moment).
    """
    out = {}
    for slot, grader in (("speech", assessor.speech), ("mllm", assessor.mllm)):
        if grader is None:
            continue
        prints = None
        if _is_speech_graders(grader):
            memo: dict[int, str] = {}
            prints = speech_prints or {p: speech_fingerprints(g, memo) for p, g in grader.graders.items()}
        out[slot] = grader_identity(grader, prints)
    return out


# -- collecting --------------------------------------------------------------------------------------


def graded_submissions(rows: Iterable[tuple[str, int, Sequence[str | Path] | str | Path, float]]) -> list[Submission]:
    """(learner, part, audio file(s), mark) rows -> Submissions: the app's upload table, without a CSV.

    Rows of the same learner and part must agree on the mark; their files become that part's answers.
    Raises:
        ValueError: naming the row (1-based) and the bad part, mark or empty file list.
    """
    answers: dict[str, dict[int, list[Response]]] = {}
    marks: dict[tuple[str, int], float] = {}
    for n, (learner, part, audio, mark) in enumerate(rows, start=1):
        learner = str(learner).strip()
        if not learner:
            raise ValueError(f"row {n}: the learner is empty")
        if part not in PARTS:
            raise ValueError(f"row {n} ({learner}): part {part!r} is not one of {PARTS}")
        try:
            mark = float(mark)
        except (TypeError, ValueError) as e:
            raise ValueError(f"row {n} ({learner}, part {part}): mark {mark!r} is not a number") from e
        if not any(abs(mark - g) < 1e-6 for g in GRID):
            raise ValueError(f"row {n} ({learner}, part {part}): mark {mark} is not one of {GRID}")
        if marks.setdefault((learner, part), mark) != mark:
            raise ValueError(f"row {n} ({learner}, part {part}): mark {mark} disagrees with "
                             f"{marks[(learner, part)]} given earlier for the same part")
        files = [audio] if isinstance(audio, (str, Path)) else list(audio or [])
        if not files:
            raise ValueError(f"row {n} ({learner}, part {part}): no audio file")
        answers.setdefault(learner, {}).setdefault(part, []).extend(Response(audio_path=Path(f)) for f in files)
    return [Submission(submission_id=learner,
                       parts=tuple(PartResponses(part=p, responses=tuple(r), mark=marks[(learner, p)])
                                   for p, r in sorted(parts.items())))
            for learner, parts in answers.items()]


def collect_exemplars(assessor, submissions: Sequence[Submission], cache: EmbeddingCache | None = None,
                      progress: Progress | None = None) -> ExemplarData:
    """Listen to every graded part once (or read it from the cache) and keep what fitting needs.

    Args:
        assessor: a loaded `assess.Assessor`; its graders, transcriber and audio limits are used.
        submissions: the teacher's graded recordings (e.g. `manifest.read_manifest(path)`); parts without a
            mark are not used.
        cache: where embeddings and scores are kept; None = `default_cache_dir()`.
        progress: called with (fraction 0..1, message) after each graded part.
    Returns:
        ExemplarData; parts whose audio is unusable are in `skipped`, with the reason.
    Raises:
        ValueError: no part of any submission has a mark.
    """
    cache = cache if cache is not None else EmbeddingCache()
    report = progress or (lambda fraction, message: None)
    graded = [(s, pr) for s in submissions for pr in s.parts if pr.mark is not None]
    if not graded:
        raise ValueError(f"none of the {len(submissions)} learner(s) has a mark: give each graded part a score "
                         "(the manifest's score column, 2.0..5.5)")
    # Graders are named by their slot in the Assessor ("speech", "mllm"): the slot decides how they are fused.
    speech = assessor.speech if assessor.speech is not None and _is_speech_graders(assessor.speech) else None
    others = [(slot, g) for slot, g in (("speech", assessor.speech), ("mllm", assessor.mllm))
              if g is not None and g is not speech]
    memo: dict[int, str] = {}
    prints = {p: speech_fingerprints(g, memo) for p, g in speech.graders.items()} if speech is not None else {}
    speech_parts = {}
    for p, g in (speech.graders.items() if speech is not None else ()):
        loaded = g.original_prototypes.float().cpu().numpy()  # (K, H)
        speech_parts[p] = SpeechPart(p, g, speech.states[p], loaded, prints[p]["space"])
    identities = assessor_identities(assessor, prints)
    calibration = getattr(assessor, "calibration", None)
    fusion = calibration.base_fusion if calibration is not None else assessor.fusion

    exemplars, skipped = [], []
    for k, (sub, part) in enumerate(graded):
        who = f"learner {sub.submission_id!r} part {part.part}"
        report(k / len(graded), f"Listening to {who} ({k + 1} of {len(graded)})")
        loaded = _load_part(assessor, sub, part, who)
        if isinstance(loaded, str):
            skipped.append(loaded)
            continue
        part_input, digests, segments = loaded
        delivery = _delivery(part_input, digests, segments, cache)
        scores, states, embedding = {}, {}, None
        if speech is not None:
            p = part.part
            if p not in speech.graders:
                skipped.append(f"{who}: no speech grader is loaded for part {p}")
                continue
            key = EmbeddingCache.key("embedding", prints[p]["embed"], str(p), *digests)
            hit = cache.get(key)
            if hit is None:
                embedding = speech.graders[p].embed([list(part_input.waveforms)])[0]  # (H,)
                cache.put(key, embedding=embedding)
            else:
                embedding = hit["embedding"]
            raw, _ = speech_parts[p].score(embedding[None])  # (1,) under the loaded prototypes
            scores["speech"], states["speech"] = clip_score(float(raw[0])), speech.states[p]
        for slot, grader in others:
            scores[slot], states[slot] = _generic_score(assessor, grader, identities[slot], part_input, digests, cache)
        exemplars.append(Exemplar(learner=sub.submission_id, part=part.part, mark=round_to_grid(float(part.mark)),
                                  scores=scores, states=states, embedding=embedding, delivery=delivery))
    report(1.0, f"Listened to {len(exemplars)} graded part(s)" + (f"; {len(skipped)} left out" if skipped else ""))
    return ExemplarData(exemplars=exemplars, speech_parts=speech_parts, graders=identities, fusion=fusion,
                        skipped=skipped)


def _load_part(assessor, sub: Submission, part, who: str) -> tuple[PartInput, list[str], list] | str:
    """The part's checked audio, file digests and speech segments, or why it cannot be used (one bad answer
    spoils the mark)."""
    limit = part_info(part.part).max_answers
    if not part.responses:
        return f"{who}: no recording"
    if len(part.responses) > limit:
        return f"{who}: {len(part.responses)} recordings, but this part takes at most {limit}"
    waves, digests, segments = [], [], []
    for i, response in enumerate(part.responses):
        if response.audio_path is None:
            return f"{who}, answer {i + 1}: no audio file"
        try:
            wav, stats = load_checked(response.audio_path, part=part.part, answer=i, max_seconds=assessor.max_seconds)
        except AudioIssue as issue:
            return f"{who}: {issue}"
        waves.append(wav)
        digests.append(file_digest(response.audio_path))
        segments.append(stats.segments)
    part_input = PartInput(part=part.part, waveforms=tuple(waves),
                           questions=tuple(r.question for r in part.responses),
                           transcripts=tuple(r.transcript for r in part.responses), submission_id=sub.submission_id)
    return part_input, digests, segments


def _delivery(part_input: PartInput, digests: list[str], segments: list, cache: EmbeddingCache
              ) -> dict[str, float | None]:
    """The part's delivery measures by the pipeline's own code (delivery.analyse.measure_part), cached by the
    audio's content: they depend on nothing else (no grader, no transcript: words per minute is not used)."""
    key = EmbeddingCache.key("delivery", DELIVERY_CACHE, *digests)
    hit = cache.get(key)
    if hit is not None:
        return {m: None if np.isnan(v) else float(v) for m, v in zip(MEASURES, hit["values"])}
    values = delivery_values(measure_part(part_input.waveforms, segments))
    cache.put(key, values=np.array([np.nan if values[m] is None else values[m] for m in MEASURES], dtype=np.float64))
    return values


def _generic_score(assessor, grader, identity: dict, part_input: PartInput, digests: list[str],
                   cache: EmbeddingCache) -> tuple[float, str]:
    """Any Grader's score for one part (the multimodal one: transcribed first, as the Assessor does)."""
    transcriber = assessor.transcriber if grader is assessor.mllm else None
    asr = f"{type(transcriber).__name__}:{getattr(transcriber, 'model_id', '')}" if transcriber is not None else ""
    key = EmbeddingCache.key("score", grader.name, json.dumps(identity, sort_keys=True), str(part_input.part),
                             *digests, json.dumps(part_input.questions), json.dumps(part_input.transcripts), asr)
    hit = cache.get(key)
    if hit is not None:
        return float(hit["score"]), str(hit["state"])
    if transcriber is not None and any(t is None for t in part_input.transcripts):
        todo = [i for i, t in enumerate(part_input.transcripts) if t is None]
        texts = iter(transcriber.transcribe([part_input.waveforms[i] for i in todo]))
        filled = tuple(next(texts) if t is None else t for t in part_input.transcripts)
        part_input = PartInput(part=part_input.part, waveforms=part_input.waveforms, questions=part_input.questions,
                               transcripts=filled, submission_id=part_input.submission_id)
    result = grader.score([part_input])[0]
    cache.put(key, score=np.float64(result.score), state=np.array(result.state))
    return float(result.score), result.state
