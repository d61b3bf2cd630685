"""The pipeline as a teacher meets it: real files in, one Assessment out, bad parts reported."""

import numpy as np
import pytest

from sla_core.assess import Assessor, AssessorConfig, load_assessor
from sla_core.assessment import TRAINED, UNTRAINED, ZERO_SHOT, Assessment, GraderInfo, PartScore
from sla_core.cefr import cefr_label, interval_index
from sla_core.fusion import FusionWeights
from sla_core.testing.audio import espeak_wav, write_wav

SENTENCES = {
    1: ["I live in a small town near the sea.", "I work in an office in the city centre."],
    3: ["I think living in a city is better because there are more jobs and more things to do."],
    4: ["Last year I learned to cook. My grandmother showed me how to make bread every weekend."],
    5: ["Yes, I think people use their phones too much.", "Because it is faster and it is free."],
}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    files = {p: [espeak_wav(root / f"part{p}_{i}.wav", text) for i, text in enumerate(texts)]
             for p, texts in SENTENCES.items()}
    silent = root / "silent.wav"
    write_wav(silent, np.zeros(16000 * 3, dtype=np.float32), 16000)
    empty = root / "empty.wav"
    empty.write_bytes(b"")
    return files, silent, empty


@pytest.fixture(scope="module")
def tiny_assessor():
    return load_assessor(AssessorConfig(tiny=True, mllm="off"))


def test_bad_and_missing_parts_do_not_stop_the_others(tiny_assessor, recordings):
    files, silent, _ = recordings
    stages = []
    result = tiny_assessor.assess({1: files[1], 3: files[3], 5: [silent]}, learner="Ana",
                                  progress=lambda fraction, message: stages.append(message))
    # each stage named for what it does (the delivery measures are taken while the scores are combined)
    assert stages == ["Checking the recordings", "Transcribing", "Checking the answers",
                      "Scoring how it is said (speech grader)",
                      "Measuring delivery (pauses, speech rate) and combining the scores", "Done"]

    assert [p.status for p in result.parts] == ["assessed", "assessed", "missing", "rejected"]
    rejected = result.part(5)
    assert "Part 5" in rejected.problem and "silent" in rejected.problem
    assert "Part 4" in result.part(4).problem
    assert result.covered_parts == (1, 3)
    assert result.overall == pytest.approx(np.mean([result.part(1).score, result.part(3).score]), abs=1e-4)
    assert result.overall_cefr == cefr_label(result.overall)
    assert result.learner == "Ana"


def test_untrained_models_never_pass_as_grades(tiny_assessor, recordings):
    files, _, _ = recordings
    result = tiny_assessor.assess({3: files[3]})
    part = result.part(3)
    assert part.speech.state == UNTRAINED
    assert not part.graded and not result.graded
    assert "not a grade" in part.basis
    assert any(g.name == "speech" and g.state == UNTRAINED for g in result.graders)
    assert any(g.name == "mllm" and "not loaded" in g.note for g in result.graders)


def test_speech_grader_explanations_reach_the_result(tiny_assessor, recordings):
    files, _, _ = recordings
    part = tiny_assessor.assess({1: files[1]}).part(1)
    assert part.durations and len(part.durations) == 2
    assert len(part.speech.similarities) == len(part.speech.prototype_levels)
    assert sum(part.speech.similarities) == pytest.approx(1.0, abs=1e-4)
    assert len(part.speech.pooling_weights) == 2  # one row of frame weights per answer
    total = sum(sum(w) for w in part.speech.pooling_weights)
    assert total == pytest.approx(1.0, abs=1e-3)


def test_one_bad_answer_in_a_multi_answer_part_is_reported_and_the_rest_scored(tiny_assessor, recordings):
    files, _, empty = recordings
    part = tiny_assessor.assess({1: [files[1][0], empty, files[1][1]]}).part(1)
    assert part.status == "assessed"
    assert "answer 2" in part.problem and "other 2 answer" in part.problem
    assert len(part.durations) == 2


def test_too_many_answers_is_rejected_with_the_limit(tiny_assessor, recordings):
    files, _, _ = recordings
    part = tiny_assessor.assess({3: files[3] * 2}).part(3)
    assert part.status == "rejected" and "at most 1" in part.problem


def test_nothing_assessable_gives_no_overall(tiny_assessor, recordings):
    _, silent, empty = recordings
    result = tiny_assessor.assess({3: [silent], 4: [empty]})
    assert result.overall is None and result.covered_parts == ()
    assert not result.graded


def test_json_round_trip_of_a_real_assessment(tiny_assessor, recordings):
    files, silent, _ = recordings
    result = tiny_assessor.assess({p: files[p] for p in (1, 3, 4, 5)} | {5: [silent]})
    assert Assessment.from_json(result.to_json()) == result


def test_unknown_part_is_a_usage_error(tiny_assessor, recordings):
    files, _, _ = recordings
    with pytest.raises(ValueError, match="unknown part"):
        tiny_assessor.assess({2: files[3]})


def test_graders_are_loaded_once_and_reused(monkeypatch, recordings):
    import sla_core.graders.speech as speech_module

    calls = []
    real = speech_module.load_speech_graders

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(speech_module, "load_speech_graders", counting)
    assessor = load_assessor(AssessorConfig(tiny=True, mllm="off"))
    files, _, _ = recordings
    first = assessor.assess({3: files[3]})
    second = assessor.assess({3: files[3]})
    assert len(calls) == 1
    assert first.part(3).score == second.part(3).score  # same loaded model, same answer


class _FixedGrader:
    """A test double of the Grader protocol: a known score per part."""

    def __init__(self, name, scores, state):
        self.name, self.scores, self.state = name, scores, state

    def info(self):
        return GraderInfo(name=self.name, source="test", state=self.state)

    def score(self, parts):
        return [PartScore(grader=self.name, part=p.part, score=self.scores[p.part], state=self.state) for p in parts]


FITTED = FusionWeights(weights=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), source="test.json", fitted=True,
                       counts=(10,) * 8, dev_rmse=None)


def test_fusion_uses_the_weight_of_the_multimodal_scores_interval(recordings):
    files, _, _ = recordings
    speech = _FixedGrader("speech", {1: 3.0, 3: 4.0, 4: 2.5, 5: 5.0}, TRAINED)
    mllm = _FixedGrader("mllm", {1: 3.5, 3: 4.9, 4: 2.0, 5: 5.5}, TRAINED)
    result = Assessor(speech=speech, mllm=mllm, fusion=FITTED).assess(files)
    for p in (1, 3, 4, 5):
        part = result.part(p)
        k = interval_index(mllm.scores[p])
        w = FITTED.weights[k]
        assert part.fusion_interval == k and part.fusion_weight == pytest.approx(w)
        assert part.score == pytest.approx((1 - w) * speech.scores[p] + w * mllm.scores[p], abs=1e-4)
    assert result.graded
    assert result.overall == pytest.approx(np.mean([result.part(p).score for p in (1, 3, 4, 5)]), abs=1e-4)
    assert any(g.name == "fusion" and g.state == TRAINED for g in result.graders)


def test_an_untrained_grader_does_not_dilute_a_real_one(recordings):
    files, _, _ = recordings
    speech = _FixedGrader("speech", {3: 2.0}, UNTRAINED)
    mllm = _FixedGrader("mllm", {3: 4.5}, ZERO_SHOT)
    part = Assessor(speech=speech, mllm=mllm, fusion=FITTED).assess({3: files[3]}).part(3)
    assert part.score == pytest.approx(4.5)
    assert part.fusion_weight is None
    assert "zero-shot, uncalibrated" in part.basis and "speech grader untrained" in part.basis
    assert not part.graded


def test_config_from_environment():
    config = AssessorConfig.from_env({"SLA_TINY": "1", "SLA_MAX_SECONDS": "30", "SLA_MLLM": "off"}, mllm="on")
    assert config.tiny and config.max_seconds == 30.0 and config.mllm == "on"
    with pytest.raises(ValueError, match="SLA_MAX_SECONDS"):
        AssessorConfig.from_env({"SLA_MAX_SECONDS": "long"})
    with pytest.raises(ValueError, match="mllm_variant"):
        AssessorConfig(mllm_variant="XX")


def test_a_distorted_recording_is_scored_with_a_warning(tiny_assessor, recordings, tmp_path):
    from sla_core.audio import load_audio

    files, _, _ = recordings
    loud = np.clip(load_audio(files[3][0]) * 50, -1.0, 1.0)  # clipped: flat tops everywhere it speaks
    path = write_wav(tmp_path / "loud.wav", loud, 16000)
    part = tiny_assessor.assess({3: [path]}).part(3)
    assert part.status == "assessed"
    assert "distorted" in part.problem and "Part 3, answer 1" in part.problem


def _widths(states):
    from sla_core.intervals import HeldOut, fit_intervals

    rng = np.random.default_rng(0)
    marks = np.round(rng.uniform(2.0, 5.5, (200, 4)) * 2) / 2
    def held(noise):
        return HeldOut(marks + rng.normal(0, noise, marks.shape), marks)
    return fit_intervals({"fused": held(0.3), "speech": held(0.4), "mllm": held(0.35)}, states, "test")


def test_parts_and_overall_carry_the_fitted_intervals(recordings):
    from dataclasses import replace

    files, _, _ = recordings
    widths = _widths({"speech": TRAINED, "mllm": TRAINED})
    speech = _FixedGrader("speech", {1: 3.0, 3: 4.0, 4: 2.5, 5: 5.0}, TRAINED)
    mllm = _FixedGrader("mllm", {1: 3.5, 3: 4.9, 4: 2.0, 5: 5.5}, TRAINED)
    assessor = Assessor(speech=speech, mllm=mllm, fusion=replace(FITTED, intervals=widths))
    full = assessor.assess(files)
    for p in (1, 3, 4, 5):
        iv = full.part(p).interval
        assert iv.available and iv.method == "conformal" and iv.low <= full.part(p).score <= iv.high
        assert iv == widths.part_interval("fused", p, full.part(p).score)
    assert full.overall_interval == widths.overall_interval("fused", (1, 3, 4, 5), full.overall)

    partial = assessor.assess({1: files[1], 3: files[3]})
    assert partial.overall_interval.half_width > full.overall_interval.half_width  # two parts: less sure
    assert any("covers 2 of 4 parts" in r for r in partial.review) and partial.flagged
    assert any("Part 4 is missing" in r for r in partial.review)
    assert Assessment.from_json(partial.to_json()) == partial

    speech_only = Assessor(speech=speech, fusion=replace(FITTED, intervals=widths)).assess({3: files[3]})
    assert speech_only.part(3).interval == widths.part_interval("speech", 3, speech_only.part(3).score)


def test_no_interval_is_invented_for_untrained_graders(tiny_assessor, recordings):
    from dataclasses import replace

    files, _, _ = recordings
    assessor = Assessor(speech=tiny_assessor.speech,
                        fusion=replace(FITTED, intervals=_widths({"speech": UNTRAINED, "mllm": UNTRAINED})))
    result = assessor.assess({3: files[3]})
    assert result.part(3).interval is None and result.overall_interval is None


def test_graders_that_disagree_flag_the_part(recordings):
    files, _, _ = recordings
    speech = _FixedGrader("speech", {3: 2.5}, TRAINED)
    mllm = _FixedGrader("mllm", {3: 4.0}, TRAINED)
    result = Assessor(speech=speech, mllm=mllm, fusion=FITTED).assess({3: files[3]})
    assert any("disagree by 1.50" in r for r in result.part(3).review)
    assert any("disagree by 1.50" in r for r in result.review)  # the learner is flagged for it too


# -- issue 18: same recording, same score, whichever path assesses it ---------------------------------

TOL_SAME = 1e-5  # fp32 on CPU: float rounding only


def _comparable(data, path=""):
    """An Assessment's JSON as {path: value}, without what legitimately differs between paths: when it was
    made, the learner's name, the calibration profile."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if not path and key in ("created", "learner", "calibration"):
                continue
            out.update(_comparable(value, f"{path}/{key}"))
        return out
    if isinstance(data, (list, tuple)):
        out = {}
        for i, value in enumerate(data):
            out.update(_comparable(value, f"{path}/{i}"))
        return out
    return {path: data}


def _assert_same_json(got: dict, want: dict, where: str):
    got, want = _comparable(got), _comparable(want)
    assert got.keys() == want.keys(), where
    for key, value in want.items():
        if isinstance(value, float) and not isinstance(got[key], bool):
            assert got[key] == pytest.approx(value, abs=TOL_SAME), f"{where}: {key}"
        else:
            assert got[key] == value, f"{where}: {key}"


@pytest.fixture(scope="module")
def full_assessor():
    return load_assessor(AssessorConfig(tiny=True))  # what `assess --tiny` loads: speech + multimodal + Phi-4 ASR


@pytest.mark.slow
def test_a_part_scores_the_same_alone_or_inside_the_full_test(full_assessor, recordings):
    """The reported case: Part 3 alone vs with the other three parts (different lengths, one batch)."""
    files, _, _ = recordings
    full = full_assessor.assess(files)
    for p in (3, 5):
        alone = full_assessor.assess({p: files[p]}).part(p)
        in_test = full.part(p)
        assert alone.transcripts == in_test.transcripts
        for grader in ("speech", "mllm"):
            a, b = getattr(alone, grader), getattr(in_test, grader)
            assert a.score == pytest.approx(b.score, abs=TOL_SAME)
            np.testing.assert_allclose(a.distribution or a.similarities, b.distribution or b.similarities,
                                       atol=TOL_SAME, rtol=0)  # fmt: skip
        assert alone.score == pytest.approx(in_test.score, abs=2e-4)  # rounded to 4 decimals


@pytest.mark.slow
def test_the_cli_the_app_and_the_classroom_give_the_same_json(full_assessor, recordings, tmp_path):
    """One learner through `python -m sla_core assess --tiny --json` (a fresh process: repeat runs are
    deterministic), the Assess tab's handler and the Classroom batch (beside another learner)."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from sla_core.results.store import ResultStore
    from sla_core.teacher.handlers import SLOTS, Handlers
    from sla_core.testing.uploads import as_uploads

    files, _, _ = recordings
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "sla_core", "assess", "--tiny", "--json", "--learner", "Ana"]
    command += [arg for p, paths in files.items() for path in paths for arg in (f"--part{p}", str(path))]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)

    handlers = Handlers(full_assessor.assess_submission, full_assessor.status, ResultStore(tmp_path / "r.sqlite"),
                        workdir=tmp_path / "work",
                        uploads=as_uploads(tmp_path, files[1][0].parent))  # fmt: skip
    slots = {slot: None for slot in SLOTS}
    for p, paths in files.items():
        slots.update({(p, i): str(path) for i, path in enumerate(paths)})
    outputs = handlers.assess_one("Ana B.", *slots.values())
    app_one = next(o for o in outputs if isinstance(o, dict) and "parts" in o)  # the raw JSON panel

    upload = tmp_path / "upload"
    upload.mkdir()
    class_files = []
    for p, paths in files.items():
        for i, path in enumerate(paths):
            class_files.append(shutil.copy(path, upload / f"ana_part{p}_{i + 1}.wav"))
    class_files.append(shutil.copy(files[4][0], upload / "ben_part3.wav"))  # a classmate, assessed first
    class_files.append(shutil.copy(files[1][1], upload / "ben_part1_1.wav"))
    for _ in handlers.assess_class(sorted(class_files, reverse=True), "Class 1"):
        pass
    session = next(s for s in handlers.store.sessions() if s.kind == "class")
    in_class = next(a for a in handlers.store.load(session.id) if a.learner == "ana").to_dict()

    _assert_same_json(app_one, cli, "app vs CLI")
    _assert_same_json(in_class, cli, "classroom vs CLI")
    assert cli["parts"][1]["mllm"]["transcripts"]  # the Phi-4 ASR ran: transcripts are compared too
