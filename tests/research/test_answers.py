"""One rule for answers with too little speech, in training and in prediction (research.answers)."""

import dataclasses

import numpy as np
import pytest

from sla_core.cli.predict import predict
from sla_core.graders.speech import load_speech_graders
from sla_core.research.answers import NO_SPEECH_NOTE, NO_SPEECH_SCORE, gate_submissions
from sla_core.research.corpus import load_si_split
from sla_core.research.predictions import OVERALL
from sla_core.testing.audio import write_wav

pytestmark = pytest.mark.slow  # the module's fixture assesses the mini corpus's dev split


@pytest.fixture(scope="module")
def quiet_dev(mini, tmp_path_factory):
    """Two dev submissions: the first's Part 1 answer 1 silent, the second's Part 3 with too little speech."""
    folder = tmp_path_factory.mktemp("quiet")
    silent = write_wav(folder / "silent.wav", np.zeros(32000, dtype=np.float32))
    blip = np.zeros(48000, dtype=np.float32)
    blip[:4000] = 0.3 * np.sin(np.arange(4000) / 5.0)  # a quarter second of sound in 3 s
    short = write_wav(folder / "blip.wav", blip)
    subs = load_si_split(mini.root, "dev")[:2]

    def swap(sub, part, answer, path):
        pr = sub.part(part)
        rs = list(pr.responses)
        rs[answer] = dataclasses.replace(rs[answer], audio_path=path)
        parts = tuple(dataclasses.replace(p, responses=tuple(rs)) if p.part == part else p for p in sub.parts)
        return dataclasses.replace(sub, parts=parts)

    return [swap(subs[0], 1, 0, silent), swap(subs[1], 3, 0, short)]


def test_prediction_leaves_such_answers_out_and_still_scores_every_part(quiet_dev):
    grader = load_speech_graders(None, tiny=True, device="cpu")
    preds, problems = predict(grader, quiet_dev, "dev", system="W2V")
    assert any("Part 1, answer 1 (silent.wav): the recording is silent" in p for p in problems)
    assert any("Part 3, answer 1 (blip.wav): no speech detected" in p for p in problems)  # a tone is no speech to the VAD
    rows = {(p.submission_id, p.part): p for p in preds}
    first, second = (s.submission_id for s in quiet_dev)
    # Part 1 keeps its other answer: the same score as that answer alone
    alone = dataclasses.replace(quiet_dev[0], parts=tuple(
        dataclasses.replace(p, responses=p.responses[1:]) if p.part == 1 else p for p in quiet_dev[0].parts))
    again, _ = predict(grader, [alone], "dev", system="W2V")
    assert rows[(first, 1)].score == pytest.approx(next(p.score for p in again if p.part == 1), abs=1e-5)
    # Part 3 had one answer: no gradable speech -> the bottom of the scale, said in the row
    assert (rows[(second, 3)].score, rows[(second, 3)].note) == (NO_SPEECH_SCORE, NO_SPEECH_NOTE)
    assert rows[(second, OVERALL)].note == "includes part(s) [3] with no gradable speech"
    assert all((s.submission_id, p) in rows for s in quiet_dev for p in (1, 3, 4, 5, OVERALL))


def test_training_drops_the_same_answers(quiet_dev):
    gated, problems = gate_submissions(quiet_dev)
    assert len(gated[0].part(1).responses) == len(quiet_dev[0].part(1).responses) - 1
    assert gated[1].part(3) is None  # nothing left to learn from
    assert len(problems) == 2
