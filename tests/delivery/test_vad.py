"""Voice activity: the batched network is Silero's own, and it tells speech from tones and noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sla_core.audio import SAMPLE_RATE, load_audio
from sla_core.delivery.vad import WINDOW, speech_probabilities, speech_segments
from sla_core.testing.audio import espeak_wav, has_espeak, sine_wave

pytestmark = pytest.mark.skipif(not has_espeak(), reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    path = espeak_wav(tmp_path_factory.mktemp("vad") / "s.wav", "I would like to visit my cousin in Spain next summer.")
    return load_audio(path)


def test_batched_probabilities_equal_the_packages_window_by_window_model(speech):
    from silero_vad import load_silero_vad

    model = load_silero_vad()
    wav = np.concatenate([speech, np.zeros(SAMPLE_RATE // 3, np.float32), speech])
    padded = np.pad(wav, (0, -wav.size % WINDOW))
    reference = [model(torch.from_numpy(padded[i:i + WINDOW]), SAMPLE_RATE).item() for i in range(0, padded.size, WINDOW)]
    np.testing.assert_allclose(speech_probabilities(wav), reference, atol=1e-4)


def test_speech_has_segments_and_a_tone_has_none(speech):
    segments = speech_segments(speech)
    assert segments and segments[0].start < 0.2 and segments[-1].end > speech.size / SAMPLE_RATE - 0.6
    assert speech_segments(sine_wave(3.0, 440.0)) == ()
    assert speech_segments(np.zeros(SAMPLE_RATE, np.float32)) == ()


def test_one_answer_is_measured_alone(speech):
    """No state is carried from one call to the next (Silero's runner keeps LSTM state between calls)."""
    first = speech_probabilities(speech)
    speech_probabilities(sine_wave(2.0, 300.0))
    np.testing.assert_array_equal(speech_probabilities(speech), first)
