"""Voice activity: the batched network is Silero's own, and it tells speech from tones and noise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sla_core.audio import SAMPLE_RATE, load_audio
from sla_core.delivery.vad import WINDOW, silero_package_model, speech_probabilities, speech_segments
from sla_core.testing.audio import espeak_wav, has_espeak, sine_wave

pytestmark = pytest.mark.skipif(not has_espeak(), reason="espeak-ng is not installed")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    path = espeak_wav(tmp_path_factory.mktemp("vad") / "s.wav", "I would like to visit my cousin in Spain next summer.")
    return load_audio(path)


def test_batched_probabilities_equal_the_packages_window_by_window_model(speech):
    model = silero_package_model()
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


@pytest.mark.slow
def test_loading_the_vad_leaves_torchs_thread_count_alone():
    """silero_vad's import sets torch to 1 thread for the whole process; the first answer must not change how
    every later score is computed (a calibrated score moved by 5e-6 depending on which thread loaded it first).
    A fresh process, because this one may have loaded the VAD already; the first answer on a worker thread,
    as in the app."""
    code = """
import threading, numpy as np, torch
from sla_core.delivery.vad import speech_probabilities
before = torch.get_num_threads()
seen = {}
def first_answer():
    speech_probabilities(np.zeros(16000, np.float32))
    seen["worker"] = torch.get_num_threads()
def later_thread():
    seen["new thread"] = torch.get_num_threads()
for target in (first_answer, later_thread):
    t = threading.Thread(target=target); t.start(); t.join()
print(before, seen["worker"], seen["new thread"], torch.get_num_threads())
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-2000:]
    before, worker, new, main = map(int, out.stdout.split())
    assert before == worker == new == main, out.stdout
