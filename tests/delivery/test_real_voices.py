"""Delivery measures on real human voices against the timings their packages give (issue 26 item 3).

The recordings (tests/data/real_speech, licences in its README): five LibriVox sentences read by one
reader with pocketsphinx's word alignment, 30 s of a telephone conversation with its utterance times
(pyannote.audio's sample: no word times are shipped), and praatio's two read sentences with word tiers.
Syllables are checked against the CMU dictionary's syllables of the words said.

Measured when written (`python bench/bench_real_voices.py`): syllables -2% (LibriVox), -5% (telephone),
0% (praatio pair), against -0%, -14%, -33% with the published script's thresholds; the LibriVox pauses
all found, 0.01-0.21 s longer than the aligner's silences (it extends words into the silence).
"""

from __future__ import annotations

import pytest

from sla_core.delivery.measures import PartDelivery, measure_answer
from sla_core.delivery.nuclei import SCRIPT_DEFAULTS, syllable_nuclei
from sla_core.delivery.vad import speech_segments
from sla_core.testing.real_speech import librivox, praatio_sentence, pyannote_sample, syllables_of

TOLERANCE = 0.15  # issue 26: syllable count within 15% on real voices


def measured(rec, settings=None) -> PartDelivery:
    segments = [(s.start, s.end) for s in speech_segments(rec.wav)]
    nuclei = syllable_nuclei(rec.wav, segments) if settings is None else syllable_nuclei(rec.wav, segments, settings)
    return PartDelivery((measure_answer(rec.duration_s, segments, nuclei),))


@pytest.fixture(scope="module")
def voices():
    recs = {"librivox": librivox(), "telephone": pyannote_sample(), "bobby": praatio_sentence("bobby"),
            "mary": praatio_sentence("mary")}
    return {name: (rec, measured(rec)) for name, rec in recs.items()}


def test_the_truth_is_read_from_the_shipped_files():
    assert syllables_of("Mary rolled the barrel") == 6
    assert syllables_of("Okay, then I thought you know") == 7
    rec = librivox()
    assert rec.syllables == 99 and len(rec.words) == 71 and len(rec.pauses) == 4
    assert rec.duration_s == pytest.approx(24.73, abs=0.01)
    assert praatio_sentence("bobby").words[0][2] == "BOBBY"


@pytest.mark.parametrize("names", [("librivox",), ("telephone",), ("bobby", "mary")],
                         ids=["librivox", "telephone", "praatio"])
def test_syllables_are_within_15_percent_of_the_words_said(voices, names):
    truth = sum(voices[n][0].syllables for n in names)
    found = sum(voices[n][1].syllables for n in names)
    assert found == pytest.approx(truth, rel=TOLERANCE)


def test_the_tuned_detector_is_nearer_the_truth_than_the_published_thresholds(voices):
    before = sum(abs(measured(rec, SCRIPT_DEFAULTS).syllables - rec.syllables) for rec, _ in voices.values())
    after = sum(abs(part.syllables - rec.syllables) for rec, part in voices.values())
    assert after < 0.6 * before  # measured: 10 syllables off in all, against 19


def test_the_pauses_between_read_sentences_are_found(voices):
    rec, part = voices["librivox"]
    found = part.answers[0].pauses
    assert len(found) == len(rec.pauses) == 4
    for (t_start, t_len), (f_start, f_len) in zip(rec.pauses, found):
        assert f_start == pytest.approx(t_start, abs=0.12)
        assert f_len == pytest.approx(t_len, abs=0.25)  # the aligner stretches words into the silence


def test_the_long_gaps_of_a_conversation_are_found(voices):
    rec, part = voices["telephone"]
    long_gaps = [p for p in rec.pauses if p[1] >= 0.45]
    assert len(long_gaps) == 2
    for t_start, t_len in long_gaps:
        near = [p for p in part.answers[0].pauses if abs(p[0] - t_start) < 0.15]
        assert near and near[0][1] == pytest.approx(t_len, abs=0.15)


@pytest.mark.parametrize("name", ["librivox", "telephone"])
def test_speech_and_articulation_rates_are_within_15_percent(voices, name):
    rec, part = voices[name]
    assert part.span_s == pytest.approx(rec.span_s, abs=0.3)
    assert part.speech_rate == pytest.approx(rec.speech_rate, rel=TOLERANCE)
    assert part.articulation_rate == pytest.approx(rec.articulation_rate, rel=TOLERANCE)
