"""The assessment pipeline: a learner's four parts in, one `Assessment` out.

Data flows one way: audio files -> `audio.load_checked` -> transcripts (if a grader reads text) ->
graders (speech, multimodal; each scores all parts in one call) -> `fusion.fuse` -> `Assessment`,
with an interval around each score (`intervals`: widths saved with the fusion weights, or a
teacher's profile) and review flags saying why a teacher should listen.
Each assessed part also gets its delivery measures (sla_core.delivery) from the same loaded audio.
Before grading, every answer is checked (sla_core.checks: spoken language, topic, read-aloud, repeat, same
recording): an answer that fails is not graded, and a part whose every answer fails is "not assessable".
Graders are loaded once by `load_assessor` and reused for every learner.

A bad or missing part never stops the others: it becomes a `PartAssessment` with status
"rejected"/"missing" and a plain-words problem, and the overall says which parts it covers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from .assessment import (NOT_ASSESSABLE, TRAINED, UNTRAINED, ZERO_SHOT, AnswerCheck, Assessment, GraderInfo,
                         OverallScore, PartAssessment, PartScore, ScoreInterval)
from .audio import DEFAULT_MAX_SECONDS, SAMPLE_RATE, AudioIssue, load_checked
from .cefr import cefr_label, clip_score
from .checks.answers import Answer, check_reasons
from .data import PartInput, PartResponses, Response, Submission
from .delivery.analyse import measure_part
from .language import language_use
from .fusion import DEFAULT_WEIGHTS, FusionWeights, fuse, load_fusion
from .intervals import bound_interval, overall_review, own_overall_review, part_key, part_review
from .parts import PARTS, part_info

Progress = Callable[[float, str], None]

DEFAULT_SPEECH_ENCODER = "facebook/wav2vec2-base"
DEFAULT_MLLM_MODEL = "microsoft/Phi-4-multimodal-instruct"
DEFAULT_MLLM_REVISION = "refs/pr/70"  # the native-transformers weights; `main` is the remote-code layout


@dataclass(frozen=True)
class AssessorConfig:
    """Which models the pipeline loads and how strictly it checks audio.

    Every field can be set from the environment as SLA_<FIELD NAME IN CAPITALS> (see `from_env`),
    which is how a Hugging Face Space or a classroom laptop is configured without code.
    """

    tiny: bool = False  # tiny randomly initialised models: no hub, no GPU; numbers are NOT grades
    speech_checkpoints: str | None = None  # folder or hub repo with part1/ part3/ part4/ part5/ graders
    speech_encoder: str = DEFAULT_SPEECH_ENCODER  # encoder of parts without a trained checkpoint
    speech_precision: str = "auto"  # "auto" (the fastest path within the drift bound, timed once per CPU and model:
    #                                graders.precision) | "fp32" | "bf16" | "onnx" | "int8"
    mllm: str = "auto"  # "on" | "off" | "auto" (= on when a CUDA GPU is present: Phi-4 needs ~12 GiB)
    mllm_model: str = DEFAULT_MLLM_MODEL  # hub id or local folder of the base model
    mllm_revision: str = DEFAULT_MLLM_REVISION
    mllm_adapters: str | None = None  # folder or hub repo of trained LoRA adapters (STG: part folders; session: `train session --out`)
    mllm_mode: str = "stg"  # "stg" (one adapter per part) | "ctg" (one adapter for all parts) | "session" (the whole
    #                         test in one prompt, Phi4-MTL: five outputs, the speech grader's scores as its prior)
    mllm_variant: str = "TA"  # "TA" transcript+audio | "AO" audio only | "TO" transcript only
    asr: str = "phi4"  # "phi4" (reuse the multimodal model) | "whisper" | "none"; without the multimodal grader
    #                    anything but "none" means Whisper, so a CPU laptop still shows what the learner said
    asr_model: str | None = None  # Whisper checkpoint (default: asr.DEFAULT_WHISPER, or asr.DEFAULT_CPU_WHISPER on a CPU)
    asr_runtime: str = "auto"  # Whisper through "ctranslate2" (int8) | "transformers" | "auto" (CTranslate2 on a CPU)
    transcript_cache: str | None = None  # folder of the shared transcript cache (None: its default); "off": none.
    #                                      Re-assessing or calibrating on the same recordings then transcribes nothing
    fusion: str | None = None  # fusion-weights JSON from `fit-fusion`; None -> 0.5 everywhere, labelled
    calibration: str | None = None  # teacher calibration profile: a name in the profiles folder or a folder
    max_seconds: float = DEFAULT_MAX_SECONDS  # longest accepted answer, seconds
    device: str | None = None  # "cuda", "cpu", ...; None picks CUDA when available
    # Answer checks (sla_core.checks): an answer that fails one is not graded. Each can be turned off.
    check_language: bool = True  # spoken language by Whisper language ID on each answer's first 30 s
    language_model: str | None = None  # multilingual Whisper for it (None: checks.language.DEFAULT_LANGUAGE_MODEL;
    #                                    a multilingual Whisper transcriber lends its own model)
    check_topic: bool = True  # answer vs its question (where known) by sentence-embedding similarity
    topic_model: str | None = None  # sentence-embedding model (None: checks.topic.DEFAULT_TOPIC_MODEL)
    check_overlap: bool = True  # the question read aloud, or another answer repeated (word-trigram overlap)
    check_same_recording: bool = True  # one recording given for two answers (content hash)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "AssessorConfig":
        """Read SLA_* variables (e.g. SLA_TINY=1, SLA_SPEECH_CHECKPOINTS=/models/w2v); `overrides` win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"SLA_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            if f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif f.type in ("float", float):
                try:
                    values[f.name] = float(raw)
                except ValueError as e:
                    raise ValueError(f"SLA_{f.name.upper()}={raw!r} is not a number") from e
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __post_init__(self) -> None:
        choices = {"mllm": ("on", "off", "auto"), "mllm_mode": ("stg", "ctg", "session"),
                   "mllm_variant": ("TA", "AO", "TO"), "asr": ("phi4", "whisper", "none"),
                   "asr_runtime": ("auto", "ctranslate2", "transformers"),
                   "speech_precision": ("auto", "fp32", "bf16", "onnx", "int8")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} is not one of {allowed}")
        if self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be positive, got {self.max_seconds}")


KEEP_CALIBRATION = object()  # assess_submission's default: whatever profile use_calibration bound


class Assessor:
    """Loaded graders plus the fusion: call `assess` once per learner."""

    def __init__(
        self,
        speech=None,  # Grader | None
        mllm=None,  # Grader | None
        transcriber=None,  # asr.Transcriber | None: fills in missing transcripts (shown, read by the multimodal grader)
        fusion: FusionWeights = DEFAULT_WEIGHTS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        extra_status: Sequence[GraderInfo] = (),
        checker=None,  # checks.AnswerChecker | None: the answer checks (None: none run)
    ) -> None:
        if speech is None and mllm is None:
            raise ValueError("an Assessor needs at least one grader (speech or multimodal)")
        self.speech = speech
        self.mllm = mllm
        self.transcriber = transcriber
        self.checker = checker
        self.fusion = fusion
        self.max_seconds = max_seconds
        self._extra_status = tuple(extra_status)
        self.calibration = None  # a teacher's profile, set by sla_core.calibration.use_calibration
        self._lock = threading.RLock()  # one call at a time may bind a profile to the shared graders
        self._prefetched: dict[int, dict] = {}  # id(submission) -> (part, answer) -> load_checked's result or AudioIssue

    def status(self) -> tuple[GraderInfo, ...]:
        """What is loaded and from where: the app's model-status panel and every Assessment."""
        infos = [g.info() for g in (self.speech, self.mllm, self.transcriber) if g is not None]
        infos.extend(self.checker.info() if self.checker is not None else ())
        infos.extend(self._extra_status)
        if self.calibration is not None:
            infos.append(self.calibration.info())
        if self.speech is not None and self.mllm is not None:
            infos.append(GraderInfo(
                name="fusion",
                source=self.fusion.source,
                state=TRAINED if self.fusion.fitted else UNTRAINED,
                note=("interval weights fitted on graded data" if self.fusion.fitted else "not fitted: 0.5 on each grader")
                + ("" if self.fusion.intervals is None else
                   f"; {self.fusion.intervals.coverage:.0%} score intervals from dev residuals"),
            ))
        return tuple(infos)

    def assess(
        self,
        responses: Mapping[int, Sequence[str | os.PathLike] | str | os.PathLike | None],
        learner: str | None = None,
        progress: Progress | None = None,
    ) -> Assessment:
        """Assess audio files: {part: [answer files]} for any subset of the parts.

        Args:
            responses: part number -> audio path(s); a part may be absent, None or empty (reported as missing).
            learner: a name or id kept in the result.
            progress: called with (fraction 0..1, message) as the work proceeds.
        Returns:
            The Assessment; bad parts are described in it, never raised.
        """
        unknown = [p for p in responses if p not in PARTS]
        if unknown:
            raise ValueError(f"unknown part(s) {unknown}: the test has parts {list(PARTS)}")
        parts = []
        for p, paths in responses.items():
            if paths is None:
                continue
            if isinstance(paths, (str, os.PathLike)):
                paths = [paths]
            answers = tuple(Response(audio_path=Path(path)) for path in paths if path)
            if answers:
                parts.append(PartResponses(part=p, responses=answers))
        return self.assess_submission(Submission(submission_id=learner or "", parts=tuple(parts)), progress)

    def assess_submission(self, submission: Submission, progress: Progress | None = None,
                          calibration=KEEP_CALIBRATION) -> Assessment:
        """Assess a Submission (corpus record or manifest row group); its questions/transcripts are used.

        Args:
            calibration: a `calibration.Calibration` (see `load_calibration`) or None for this call only;
                by default the profile bound with `use_calibration` (if any). On a shared server each
                teacher's call names their own profile, so one teacher's choice never changes another's.
        """
        if calibration is KEEP_CALIBRATION:
            with self._lock:
                return self._assess_submission(submission, progress)
        from .calibration.apply import calibrated  # lazy: the core does not need calibration to load

        with self._lock, calibrated(self, calibration):
            return self._assess_submission(submission, progress)

    def _assess_submission(self, submission: Submission, progress: Progress | None) -> Assessment:
        report = progress or (lambda fraction, message: None)
        report(0.0, "Checking the recordings")
        inputs, intake, warnings, dropped, segments, numbers = self._load_parts(submission)

        given = {i.part: i.transcripts for i in inputs}  # the learner's own transcripts, before any ASR
        if inputs and self.transcriber is not None:
            report(0.2, "Transcribing")
            inputs = self._transcribe(inputs)
        checks: dict[int, tuple[AnswerCheck, ...]] = {}
        if inputs and self.checker is not None:
            report(0.35, "Checking the answers")
            inputs, checks = self._check_answers(inputs, given, numbers, intake, warnings, dropped, segments)

        speech_scores: dict[int, PartScore] = {}
        mllm_scores: dict[int, PartScore] = {}
        session = None  # a session grader's five outputs (graders.session), when it fills the multimodal slot
        if inputs and self.speech is not None:
            report(0.45, "Scoring how it is said (speech grader)")
            speech_scores = {s.part: s for s in self.speech.score(inputs)}
        if inputs and self.mllm is not None:
            report(0.7, "Scoring what is said and how (multimodal grader)")
            if hasattr(self.mllm, "score_session"):  # the whole test in one prompt, the speech scores as its prior
                prior = {p: s.score for p, s in speech_scores.items() if s.state == TRAINED}
                session = self.mllm.score_session(inputs, prior)
                mllm_scores = {s.part: s for s in session.parts}
            else:
                mllm_scores = {s.part: s for s in self.mllm.score(inputs)}

        report(0.9, "Measuring delivery (pauses, speech rate) and combining the scores")
        part_results, systems = [], {}
        for p in PARTS:
            if p in intake:
                part_results.append(replace(intake[p], review=part_review(intake[p])))
                continue
            part_input = next(i for i in inputs if i.part == p)
            speech, mllm, calibrated = speech_scores.get(p), mllm_scores.get(p), None
            # A grader's NaN or inf is this part's problem, said in words; the other grader and parts go on.
            broken = [s.grader for s in (speech, mllm) if s is not None and not np.isfinite(s.score)]
            if broken:
                speech, mllm = (s if s is None or np.isfinite(s.score) else None for s in (speech, mllm))
                said = (f"Part {p}: the {' and '.join(broken)} grader could not score this recording (its score was "
                        "not a number); check that the file is an ordinary recording of the answer.")
                if speech is None and mllm is None:
                    rejected = PartAssessment(part=p, status="rejected", problem=said)
                    part_results.append(replace(rejected, review=part_review(rejected)))
                    continue
                warnings[p] = f"{warnings[p]} {said}" if warnings.get(p) else said
            if self.calibration is not None:  # the teacher's profile maps each grader's score (sla_core.calibration)
                speech, mllm, calibrated = self.calibration.apply(p, speech, mllm)
            result, systems[p] = self._combine(part_input, speech, mllm, warnings.get(p))
            # Words per minute only from words someone can trust: given ones, or a real (not random) ASR's.
            words = result.transcripts if self._asr_trusted() else given[p]
            result = replace(result, delivery=measure_part(part_input.waveforms, segments[p], words),
                             language=language_use(words, _words_source(given[p], words)))
            if calibrated is not None:  # a profile that uses delivery measures corrects the combined score by them
                shift, said = self.calibration.delivery_correction(p, result.delivery)
                if shift:
                    score = clip_score(result.score + shift)
                    result = replace(result, score=round(score, 4), cefr=cefr_label(score))
                calibrated = calibrated if said is None else f"{calibrated}; {said}"
                result = replace(result, basis=f"{result.basis}; {calibrated}")
            result = replace(result, interval=self._part_interval(result, *systems[p]), checks=checks.get(p, ()))
            part_results.append(replace(result, review=part_review(result, answers_dropped=p in dropped)))
        report(1.0, "Done")
        assessment = _summarise(part_results, self.status(), submission.submission_id or None)
        interval = self._overall_interval(assessment, systems)
        assessment = replace(assessment, overall_interval=interval,
                             review=overall_review(assessment.parts, assessment.covered_parts, interval))
        if session is not None:
            assessment = self._with_own_overall(assessment, session.overall)
        return assessment if self.calibration is None else replace(assessment, calibration=self.calibration.name)

    def _fusion_for(self, part: int) -> FusionWeights:
        """The fusion weights for one part: a teacher's profile refits them only for the parts it covers."""
        return self.fusion if self.calibration is None else self.calibration.fusion_for(part)

    # -- how sure ----------------------------------------------------------------------------------

    def _part_interval(self, part: PartAssessment, system: str | None, states: dict[str, str]
                       ) -> ScoreInterval | None:
        """Fitted widths only: the teacher's profile when one is in use (its scores are mapped, so dev
        widths do not describe them), else the widths saved with the fusion weights, for graders in the
        states they were fitted on. None otherwise: no interval is invented."""
        if self.calibration is not None and self.calibration.covers(part.part):
            return self.calibration.part_interval(part.part, part.score)
        widths = self._fusion_for(part.part).intervals
        if widths is None or system is None or not widths.applies_to(states):
            return None
        return widths.part_interval(system, part.part, part.score)

    def _overall_interval(self, assessment: Assessment, systems: dict[int, tuple[str | None, dict[str, str]]]
                          ) -> ScoreInterval | None:
        """The overall's own width when every covered part came from one system; else a conservative bound."""
        covered = assessment.covered_parts
        if not covered or assessment.overall is None:
            return None
        if self.calibration is not None:
            return self.calibration.overall_interval(covered, assessment.overall)
        widths = self.fusion.intervals
        used = [systems[p] for p in covered]
        if widths is None or not all(system is not None and widths.applies_to(states) for system, states in used):
            return None
        names = {system for system, _ in used}
        if len(names) == 1:
            return widths.overall_interval(names.pop(), covered, assessment.overall)
        k = len(covered)
        basis = (f"conservative {widths.coverage:.0%} bound for the mean of the {k} covered parts' marks (parts scored "
                 f"by different systems: mean of each part's width at {1 - (1 - widths.coverage) / k:.1%})")
        return bound_interval(assessment.overall, [widths.bonferroni(systems[p][0], p, k) for p in covered],
                              widths.coverage, min(widths.table[systems[p][0]][part_key(p)].n for p in covered), basis)

    def _with_own_overall(self, assessment: Assessment, own: OverallScore) -> Assessment:
        """The session grader's own overall beside the overall, with its interval (fitted on its own dev
        residuals, for a grader in the state it was fitted on) and its review reasons."""
        widths = self.fusion.intervals
        interval = None
        if widths is not None and widths.applies_to({"mllm": own.state}):
            interval = widths.own_overall_interval("mllm", own.score)
        reasons = () if own.state == UNTRAINED else own_overall_review(own.score, interval, assessment.overall, own.grader)
        own = replace(own, interval=interval, review=reasons)
        return replace(assessment, holistic=own, review=assessment.review + reasons)

    def _asr_trusted(self) -> bool:
        """Whether the transcripts the graders made come from a real model (a random tiny ASR's do not)."""
        asr = self.transcriber or getattr(self.mllm, "transcriber", None)
        return asr is not None and asr.info().state != UNTRAINED

    # -- steps -------------------------------------------------------------------------------------

    def _load_parts(
        self, submission: Submission
    ) -> tuple[list[PartInput], dict[int, PartAssessment], dict[int, str], set[int], dict[int, list], dict[int, list]]:
        """Load and check every answer.

        Returns the parts to grade, the parts already settled (missing / rejected), a warning per
        part that lost some but not all of its answers (or was distorted), the parts that lost answers,
        each graded answer's speech segments (for the delivery measures) and its number in the part (1 = first given).
        """
        inputs: list[PartInput] = []
        segments: dict[int, list] = {}
        numbers: dict[int, list[int]] = {}
        settled: dict[int, PartAssessment] = {}
        warnings: dict[int, str] = {}
        dropped: set[int] = set()
        for p in PARTS:
            part = submission.part(p)
            if part is None or not part.responses:
                settled[p] = PartAssessment(part=p, status="missing", problem=f"Part {p}: no recording was given.")
                continue
            limit = part_info(p).max_answers
            if len(part.responses) > limit:
                settled[p] = PartAssessment(part=p, status="rejected", problem=(
                    f"Part {p}: {len(part.responses)} recordings were given; this part takes at most {limit}."))
                continue
            waves, questions, transcripts, problems, notes = [], [], [], [], []
            for i, response in enumerate(part.responses):
                if response.audio_path is None:
                    problems.append(f"Part {p}, answer {i + 1}: no audio file was given.")
                    continue
                try:
                    wav, stats = self._checked(submission, response.audio_path, p, i)
                except AudioIssue as issue:
                    problems.append(str(issue))
                    continue
                if stats.heavily_clipped:
                    notes.append(f"Part {p}, answer {i + 1}: the recording is distorted (too loud); "
                                 "the score may be lower than the learner deserves.")
                waves.append(wav)
                segments.setdefault(p, []).append(stats.segments)
                numbers.setdefault(p, []).append(i + 1)
                questions.append(response.question)
                transcripts.append(response.transcript)
            if not waves:
                settled[p] = PartAssessment(part=p, status="rejected", problem=" ".join(problems))
                continue
            if problems:
                dropped.add(p)
                problems.append(f"Scored on the other {len(waves)} answer(s).")
            if problems or notes:
                warnings[p] = " ".join(problems + notes)
            inputs.append(PartInput(part=p, waveforms=tuple(waves), questions=tuple(questions),
                                    transcripts=tuple(transcripts), submission_id=submission.submission_id))
        return inputs, settled, warnings, dropped, segments, numbers

    def _check_answers(self, inputs: list[PartInput], given: dict[int, tuple], numbers: dict[int, list[int]],
                       settled: dict[int, PartAssessment], warnings: dict[int, str], dropped: set[int],
                       segments: dict[int, list]) -> tuple[list[PartInput], dict[int, tuple[AnswerCheck, ...]]]:
        """Run the answer checks; keep each part's passing answers (the aligned `given` and `segments` too).

        A part whose every answer failed is settled as NOT_ASSESSABLE with the reasons; one that lost some
        gets them as its warning and is scored on the rest. Returns the parts to grade and every part's checks.
        """
        trusted = self._asr_trusted()
        answers = [Answer(part.part, numbers[part.part][i], w, part.transcripts[i], part.questions[i],
                          text_trusted=given[part.part][i] is not None or trusted)
                   for part in inputs for i, w in enumerate(part.waveforms)]
        found = self.checker.check(answers)
        kept_inputs, checks = [], {}
        for part in inputs:
            p = part.part
            checks[p] = tuple(c for n in numbers[p] for c in found[(p, n)])
            keep = [i for i, n in enumerate(numbers[p]) if not any(c.failed for c in found[(p, n)])]
            reasons = check_reasons(checks[p], p)
            if not keep:
                settled[p] = PartAssessment(part=p, status=NOT_ASSESSABLE, problem=" ".join(reasons), checks=checks[p],
                                            durations=tuple(round(len(w) / SAMPLE_RATE, 2) for w in part.waveforms),
                                            transcripts=part.transcripts)
                continue
            if reasons:
                dropped.add(p)
                left_out = f"{' '.join(reasons)} Not graded; scored on the other {len(keep)} answer(s)."
                warnings[p] = f"{warnings[p]} {left_out}" if p in warnings else left_out
                pick = lambda values: tuple(values[i] for i in keep)  # noqa: E731
                part = replace(part, waveforms=pick(part.waveforms), questions=pick(part.questions),
                               transcripts=pick(part.transcripts))
                given[p], segments[p] = pick(given[p]), list(pick(segments[p]))
            kept_inputs.append(part)
        return kept_inputs, checks

    def prefetch(self, submission: Submission) -> None:
        """Decode and check a learner's answers ahead of `assess_submission` (see `assess_in_turn`): the next
        learner's audio is read while this one is graded. What `_load_parts` finds here it does not read again."""
        read: dict[tuple[int, int], tuple] = {}
        for part in submission.parts:
            for i, response in enumerate(part.responses):
                if response.audio_path is None:
                    continue
                try:
                    read[part.part, i] = load_checked(response.audio_path, part=part.part, answer=i,
                                                      max_seconds=self.max_seconds)
                except AudioIssue as issue:
                    read[part.part, i] = (issue,)
        self._prefetched[id(submission)] = read

    def prefetch_done(self, submission: Submission) -> None:
        """Forget what was read ahead for `submission` and not used (its assessment failed early)."""
        self._prefetched.pop(id(submission), None)

    def _checked(self, submission: Submission, path, part: int, answer: int):
        """load_checked's (wav, stats), from the prefetch when it read this answer; raises its AudioIssue."""
        got = self._prefetched.get(id(submission), {}).pop((part, answer), None)
        if got is None:
            return load_checked(path, part=part, answer=answer, max_seconds=self.max_seconds)
        if len(got) == 1:
            raise got[0]
        return got

    def _transcribe(self, inputs: list[PartInput]) -> list[PartInput]:
        """Fill in missing transcripts with one batched ASR call over all parts' answers."""
        todo = [(k, i) for k, part in enumerate(inputs) for i, t in enumerate(part.transcripts) if t is None]
        if not todo:
            return inputs
        texts = self.transcriber.transcribe([inputs[k].waveforms[i] for k, i in todo])
        filled = [list(part.transcripts) for part in inputs]
        for (k, i), text in zip(todo, texts):
            filled[k][i] = text
        return [replace(part, transcripts=tuple(t)) for part, t in zip(inputs, filled)]

    def _combine(self, part: PartInput, speech: PartScore | None, mllm: PartScore | None,
                 warning: str | None) -> tuple[PartAssessment, tuple[str | None, dict[str, str]]]:
        """Fuse the graders' scores for one part, never letting an untrained grader dilute a real one.

        Returns the part's result and which system made its score ("fused", "speech", "mllm") with the
        states of the graders behind it (what decides which interval widths apply).
        """
        durations = tuple(round(len(w) / SAMPLE_RATE, 2) for w in part.waveforms if w is not None)
        transcripts = mllm.transcripts if mllm is not None and mllm.transcripts else part.transcripts
        usable = [s for s in (speech, mllm) if s is not None]
        real = [s for s in usable if s.state != UNTRAINED]
        contributing = real or usable  # all-untrained: still shown, flagged as not a grade
        weight = interval = None
        system = "fused" if len(contributing) == 2 else {"speech": "speech", "mllm": "mllm"}.get(contributing[0].grader)
        if len(contributing) == 2:
            fusion = self._fusion_for(part.part)
            fused, weight, interval = fuse(speech.score, mllm.score, fusion)
            fused, weight, interval = float(fused), float(weight), int(interval)
            how = f"fused: {1 - weight:.2f} x speech + {weight:.2f} x multimodal"
            if not fusion.fitted:
                how += " (fusion weights not fitted)"
        else:
            only = contributing[0]
            fused = only.score
            how = {"speech": "speech grader only", "mllm": "multimodal grader only"}.get(only.grader, only.grader)
            dropped = [s.grader for s in usable if s not in contributing]
            if dropped:
                how += f" ({', '.join(dropped)} grader untrained: left out)"
        states = {s.state for s in contributing}
        if UNTRAINED in states:
            how += " - untrained model, not a grade"
        elif ZERO_SHOT in states:
            how += " - zero-shot" + ("" if self.calibration is not None else ", uncalibrated")
        score = clip_score(fused)
        return PartAssessment(
            part=part.part, status="assessed", problem=warning, durations=durations,
            transcripts=tuple(transcripts), speech=speech, mllm=mllm, fusion_weight=weight,
            fusion_interval=interval, score=round(score, 4), cefr=cefr_label(score),
            graded=states == {TRAINED}, basis=how,
        ), (system, {s.grader: s.state for s in contributing})


def _words_source(given: Sequence[str | None], words: Sequence[str | None]) -> str:
    """"given" when every measured transcript is the learner's own, else "asr" (a real transcriber filled some in)."""
    return "given" if all(g is not None for g, w in zip(given, words) if w is not None) else "asr"


def assess_in_turn(assessor: Assessor, submissions: Sequence[Submission], pipelined: bool = True,
                   progress: Callable[[int, Submission], Progress | None] | None = None, **kwargs
                   ) -> Iterator[tuple[Submission, Assessment]]:
    """Assess learners one after another, yielding each (submission, Assessment) as soon as it is done.

    pipelined: decode and check the next learner's answers in a second thread while this one is graded
    (Assessor.prefetch). `progress(k, submission)` gives each learner's progress callback; `kwargs` go to
    `assess_submission` (e.g. calibration=...). An exception in one learner's assessment propagates.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sla-prefetch") as pool:
        ahead = pool.submit(assessor.prefetch, submissions[0]) if pipelined and submissions else None
        for k, submission in enumerate(submissions):
            if ahead is not None:
                try:
                    ahead.result()
                except Exception:  # noqa: BLE001  its answers are read again, and any problem reported, below
                    pass
                ahead = pool.submit(assessor.prefetch, submissions[k + 1]) if k + 1 < len(submissions) else None
            report = progress(k, submission) if progress is not None else None
            try:
                result = assessor.assess_submission(submission, report, **kwargs)
            finally:
                assessor.prefetch_done(submission)
            yield submission, result


def _summarise(parts: list[PartAssessment], graders: tuple[GraderInfo, ...], learner: str | None) -> Assessment:
    """Overall = mean of the parts that were assessed, saying which they are."""
    covered = tuple(p.part for p in parts if p.ok)
    overall = float(np.mean([p.score for p in parts if p.ok])) if covered else None
    return Assessment(
        parts=tuple(parts),
        overall=None if overall is None else round(overall, 4),
        overall_cefr=None if overall is None else cefr_label(overall),
        covered_parts=covered,
        graded=bool(covered) and all(p.graded for p in parts if p.ok),
        graders=graders,
        learner=learner,
    )


def load_assessor(config: AssessorConfig | None = None) -> Assessor:
    """Load every grader named by `config` once; the returned Assessor is reused for all learners."""
    config = config or AssessorConfig()
    from .graders.speech import load_speech_graders

    speech = load_speech_graders(
        config.speech_checkpoints, encoder=config.speech_encoder, tiny=config.tiny, device=config.device,
        precision=config.speech_precision,
    )
    mllm = transcriber = None
    extra: list[GraderInfo] = []
    if _want_mllm(config):
        from .asr import load_transcriber
        from .graders.mllm import load_mllm_grader

        if config.mllm_mode == "session":  # Phi4-MTL in the multimodal slot (graders/session.py)
            from .graders.session import load_session_grader

            mllm = load_session_grader(model_id=config.mllm_model, revision=config.mllm_revision,
                                       adapter=config.mllm_adapters, device=config.device, tiny=config.tiny)
        else:
            mllm = load_mllm_grader(
                model_id=config.mllm_model, revision=config.mllm_revision, adapters=config.mllm_adapters,
                mode=config.mllm_mode, variant=config.mllm_variant, device=config.device, tiny=config.tiny,
            )
        if config.asr != "none" and config.mllm_variant != "AO":
            transcriber = load_transcriber(config.asr, grader=mllm, model_id=config.asr_model, device=config.device,
                                           runtime=config.asr_runtime)
        # The grader never builds its own transcriber: it gets the pipeline's, or (asr "none": no ASR step in
        # the pipeline) the Phi-4 one over its own model for the answers it must read as text.
        mllm.transcriber = transcriber or load_transcriber("phi4", grader=mllm)
    else:
        why = "off by configuration" if config.mllm == "off" else "no CUDA GPU (set SLA_MLLM=on / --mllm on to force)"
        extra.append(GraderInfo(name="mllm", source=config.mllm_model, state=UNTRAINED, note=f"not loaded: {why}"))
        if config.asr != "none":  # no Phi-4 to transcribe with: Whisper, so the teacher still reads the answers
            transcriber = _load_whisper(config, extra)
    fusion = load_fusion(config.fusion) if config.fusion else DEFAULT_WEIGHTS
    from .checks import load_answer_checker

    checker = load_answer_checker(config, transcriber or getattr(mllm, "transcriber", None), extra)
    assessor = Assessor(speech=speech, mllm=mllm, transcriber=transcriber, fusion=fusion,
                        max_seconds=config.max_seconds, extra_status=extra, checker=checker)
    if config.calibration:  # a teacher's calibration profile: checked against these graders, then applied
        from .calibration import use_calibration

        use_calibration(assessor, config.calibration)
    return assessor


def _load_whisper(config: AssessorConfig, extra: list[GraderInfo]):
    """The Whisper transcriber used without the multimodal grader, or None (said in the status) when it cannot load.

    A transcript is an extra here (the speech grader does not read it), so a checkpoint that cannot be
    fetched leaves the assessment running without transcripts instead of stopping the app.
    """
    import torch

    from .asr import (DEFAULT_CPU_WHISPER, DEFAULT_WHISPER, CachedTranscriber, TranscriptCache, load_transcriber,
                      tiny_whisper_transcriber)  # fmt: skip

    if config.tiny and config.asr_model is None:
        transcriber = tiny_whisper_transcriber()
    else:
        on_gpu = (config.device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
        model_id = config.asr_model or (DEFAULT_WHISPER if on_gpu else DEFAULT_CPU_WHISPER)
        try:
            transcriber = load_transcriber("whisper", model_id=model_id, device=config.device, runtime=config.asr_runtime)
        except (OSError, ValueError, RuntimeError) as e:  # offline, unknown id, bad path (from_pretrained), a
            #                                                 conversion or model CTranslate2 refuses
            extra.append(GraderInfo(name="asr", source=model_id, state=UNTRAINED, note=f"not loaded: {e}"[:300]))
            return None
    if config.transcript_cache == "off":
        return transcriber
    return CachedTranscriber(transcriber, TranscriptCache(config.transcript_cache))


def _want_mllm(config: AssessorConfig) -> bool:
    if config.mllm != "auto":
        return config.mllm == "on"
    if config.tiny:
        return True  # the tiny multimodal grader is cheap on a CPU
    import torch

    return torch.cuda.is_available()
