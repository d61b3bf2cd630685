"""Teacher calibration with delivery measures as extra features: used only when held-out responses say so.

Two kinds of classes where the right answer is known: hand-made exemplars whose measures are pure noise
(the profile must not use them) or explain the marks' residual (it must, and the held-out error must
drop); and synthetic learners whose level is their pauses, scored by a grader that hears no pauses
(sla_core.testing.calibration), so only the delivery measures can follow the teacher.
"""

import json
from dataclasses import replace

import numpy as np
import pytest

from sla_core.assess import Assessor
from sla_core.assessment import Assessment
from sla_core.calibration import (
    Calibration,
    EmbeddingCache,
    ExemplarData,
    collect_exemplars,
    describe,
    fit_calibration,
    leave_one_out,
    list_profiles,
    load_profile,
    save_profile,
    use_calibration,
)
from sla_core.calibration.delivery_fit import MEASURES, delivery_values
from sla_core.cefr import clip_score
from sla_core.fusion import DEFAULT_WEIGHTS
from sla_core.manifest import read_manifest
from sla_core.testing.audio import write_wav
from sla_core.testing.calibration import (
    PAUSE_FRACTION,
    PauseBlindGrader,
    delivery_class,
    paused_waveform,
    write_graded_manifest,
)

LEVELS = (2.5, 3.0, 3.5, 4.0, 4.5)


def _without_delivery(data: ExemplarData) -> ExemplarData:
    return replace(data, exemplars=[replace(e, delivery=None) for e in data.exemplars])


@pytest.mark.slow
def test_measures_unrelated_to_the_marks_are_not_used():
    """Pure noise rarely wins: the choice is checked by a nested leave-one-out and a paired test on the
    per-response errors (delivery_fit and gain docstrings).

    Seen when written, with the paired test (p < 0.05): used in 2 of these 20 seeds (seeds 0 and 5, held-out
    error 0.23 -> 0.20 and 0.21 -> 0.15, p = 0.019 and 0.017); in 2 of 100 classes of 20 and 2 of 100 of 12
    (bench/sim_gain_rule.py). The old rule (a drop >= 0.01) also used 2 of these 20, and 3 and 5 of 100.
    """
    results = [fit_calibration(delivery_class(seed)) for seed in range(20)]
    used = [seed for r, seed in zip(results, range(20)) if r.profile.delivery.used]
    assert len(used) <= 3
    for r, seed in zip(results, range(20)):
        if not r.profile.delivery.used:  # exactly the calibration without measures, and the words say why
            plain = fit_calibration(_without_delivery(delivery_class(seed)))
            assert r.evidence == plain.evidence and r.reason == plain.reason and plain.profile.delivery is None
            fit = r.profile.delivery
            assert fit.words.startswith("delivery measures did not help (held-out error ")
            assert f"smaller for {fit.better} of 20 responses, larger for {fit.worse} (paired test p = " in fit.words
            assert fit.words.endswith(": not used")


def test_measures_that_explain_the_marks_are_used_and_the_held_out_error_drops():
    """Seen when written (n = 20, 0.5 points per sd of speech rate): used in 9 of these 10 seeds, held-out
    error 0.42-0.63 without the measures -> 0.28-0.40 with them, smaller for 10-17 of the 20 responses,
    p 0.001-0.037. Seed 9 is not used: 0.54 -> 0.38, but smaller for 12 and larger for 8, p = 0.066.
    bench/sim_gain_rule.py: used in 86 of 100 classes of 20 and 42 of 100 of 12 (the old rule, a drop
    >= 0.01: 99 and 81, at the price of noise in 3 and 5 of 100)."""
    used = 0
    for seed in range(10):
        data = delivery_class(seed, effect=0.5)
        result = fit_calibration(data)
        fit, without = result.profile.delivery, leave_one_out(data)
        assert fit.n == 20 and fit.measures == MEASURES
        assert fit.rmse_without == pytest.approx(without.overall["after"]["rmse"])
        assert fit.rmse_with <= fit.rmse_without - 0.1  # the nested figure drops, used or not
        if not fit.used:
            assert fit.p_value >= 0.05 and "a drop that chance could give" in fit.words
            continue
        used += 1
        assert fit.p_value < 0.05 and fit.better >= 10  # seed 1: 10 of 20 closer, by more than the 10 others lost
        # the evidence shown is the held-out figure of the model chosen: with the measures
        assert result.evidence.overall["after"]["rmse"] == pytest.approx(fit.rmse_with)
        assert result.evidence.before == without.before and result.applies
        speech_rate = fit.coefficients[0]
        assert speech_rate > 0.25 and speech_rate == max(np.abs(fit.coefficients))
        text = describe(result)
        assert (f"Uses delivery measures (speech rate, articulation rate, phonation-time ratio, mean length of run, "
                f"long pauses per minute): held-out error {fit.rmse_without:.2f} -> {fit.rmse_with:.2f}, smaller for "
                f"{fit.better} of 20 responses, larger for {fit.worse} (paired test p = ") in text
        assert "a correction from delivery measures (speech rate +" in text
    assert used >= 9


def test_too_few_responses_with_measures_are_not_used_and_none_is_not_tried():
    data = delivery_class(0, effect=0.5)
    few = replace(data, exemplars=[e if i < 8 else replace(e, delivery=None) for i, e in enumerate(data.exemplars)])
    fit = fit_calibration(few).profile.delivery
    assert not fit.used and "only 8 of 20 responses have delivery measures, at least 10 needed" in fit.words
    result = fit_calibration(_without_delivery(data))
    assert result.profile.delivery is None and "elivery" not in describe(result)


def test_the_delivery_correction_is_saved_and_read_back_and_old_profiles_load(tmp_path):
    profile = fit_calibration(delivery_class(1, effect=0.5), name="fluency").profile
    assert profile.delivery.used
    folder = save_profile(profile, tmp_path)
    doc = json.loads((folder / "profile.json").read_text())
    assert doc["delivery"]["measures"] == list(MEASURES) and doc["delivery"]["used"] is True
    loaded = load_profile(folder)
    assert loaded.delivery == profile.delivery and loaded.evidence == profile.evidence
    [info] = list_profiles(tmp_path)
    assert info.label.endswith(", uses delivery measures")

    del doc["delivery"]  # a profile saved before delivery measures
    (folder / "profile.json").write_text(json.dumps(doc))
    old = load_profile(folder)
    assert old.delivery is None and old.maps == profile.maps
    assert Calibration(old, DEFAULT_WEIGHTS).delivery_correction(3, None) == (0.0, None)
    assert not list_profiles(tmp_path)[0].label.endswith("uses delivery measures")


def test_a_part_without_measures_gets_no_correction_and_says_so():
    calibration = Calibration(fit_calibration(delivery_class(1, effect=0.5), name="fluency").profile, DEFAULT_WEIGHTS)
    shift, note = calibration.delivery_correction(3, None)
    assert shift == 0.0 and note.startswith("no delivery measures for this part: no delivery correction")
    assert calibration.delivery_correction(1, None) == (0.0, None)  # a part the profile has no marks for


# -- end to end: a grader that hears no pauses, a teacher who marks them ------------------------------


@pytest.fixture(scope="module")
def blind(tmp_path_factory):
    root = tmp_path_factory.mktemp("blind")
    manifest = write_graded_manifest(root / "class", LEVELS * 3)
    assessor = Assessor(mllm=PauseBlindGrader())
    data = collect_exemplars(assessor, read_manifest(manifest), cache=EmbeddingCache(root / "cache"))
    new = {level: write_wav(root / f"new_{level}.wav", paused_waveform(4.0, PAUSE_FRACTION[level], seed=1000 + i))
           for i, level in enumerate(LEVELS)}
    return {"assessor": assessor, "data": data, "result": fit_calibration(data, name="fluency"), "new": new,
            "manifest": manifest, "cache": root / "cache", "root": root}


@pytest.mark.slow
def test_exemplars_carry_the_pipelines_measures_from_the_cache(blind, monkeypatch):
    assessor, data = blind["assessor"], blind["data"]
    part = assessor.assess({3: [blind["manifest"].parent / "learner00_part3.wav"]}, learner="L00").part(3)
    assert data.exemplars[0].delivery == delivery_values(part.delivery)  # the same code as the pipeline
    assert data.exemplars[0].delivery["phonation_ratio"] < data.exemplars[4].delivery["phonation_ratio"]

    import sla_core.calibration.features as features

    monkeypatch.setattr(features, "measure_part", lambda *a: pytest.fail("measured again, not read from the cache"))
    again = collect_exemplars(assessor, read_manifest(blind["manifest"]), cache=EmbeddingCache(blind["cache"]))
    assert [e.delivery for e in again.exemplars] == [e.delivery for e in data.exemplars]


@pytest.mark.slow
def test_a_profile_using_delivery_measures_corrects_each_score_by_its_measures(blind, tmp_path):
    """Seen when written: held-out error 0.77 uncalibrated, 0.76 calibrated without measures, 0.37 with them.
    With the syllable detector tuned on real voices (issue 26: it also counts each answer's last syllable, so
    these 4 s gated clips' speech rates move by about one syllable): 0.32 against the blind map's 0.60."""
    result, assessor = blind["result"], blind["assessor"]
    fit = result.profile.delivery
    assert fit.used and result.applies and fit.rmse_with <= fit.rmse_without - 0.2
    assert result.evidence.overall["after"]["rmse"] == pytest.approx(fit.rmse_with)

    use_calibration(assessor, result.profile)
    try:
        errors = {}
        for level, wav in blind["new"].items():
            assessment = assessor.assess({3: [wav]}, learner="new")
            part = assessment.part(3)
            mapped = part.mllm.score  # the grader's 3.2 through the profile's linear map
            shift = fit.correction(delivery_values(part.delivery))
            assert part.score == pytest.approx(clip_score(mapped + shift), abs=1e-4)
            assert f"delivery measures {shift:+.2f} (speech rate " in part.basis
            assert Assessment.from_json(assessment.to_json()).part(3).score == part.score
            errors[level] = (abs(part.score - level), abs(mapped - level))
        # the measures move the learners towards the teacher's marks: much closer than the blind grader's map
        assert np.mean([e[0] for e in errors.values()]) < 0.6 * np.mean([e[1] for e in errors.values()])
        assert "uses delivery measures (speech rate" in assessor.calibration.info().note

        # the same profile saved before delivery measures existed: exactly the calibration without them
        folder = save_profile(result.profile, tmp_path)
        doc = json.loads((folder / "profile.json").read_text())
        del doc["delivery"]
        (folder / "profile.json").write_text(json.dumps(doc))
        use_calibration(assessor, folder)
        part = assessor.assess({3: [blind["new"][2.5]]}, learner="new").part(3)
        assert part.score == pytest.approx(part.mllm.score, abs=1e-4) and "delivery measures" not in part.basis
    finally:
        use_calibration(assessor, None)

