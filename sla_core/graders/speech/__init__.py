"""The speech grader (wav2vec 2.0 + CEFR prototypes, one model per part), in three modules:

- `model`: SpeechGrader (encoder, pooling, prototypes, head) and its checkpoints (save/from_pretrained).
- `loading`: load_speech_graders, the encoder's precision at inference, and the tiny offline twin.
- `scoring`: SpeechGraders, the Grader protocol over the per-part models.

Import from here (`sla_core.graders.speech`): the names below are the public API.
"""

from __future__ import annotations

from .loading import TINY_SOURCE, load_speech_graders, set_speech_precision, tiny_speech_grader, tiny_wav2vec2_config
from .model import DEFAULT_ENCODER, SpeechBatch, SpeechGrader, SpeechGraderConfig, SpeechOutput, build_speech_grader
from .scoring import SpeechGraders

__all__ = ["SpeechGraderConfig", "SpeechOutput", "SpeechBatch", "SpeechGrader", "SpeechGraders",
           "build_speech_grader", "load_speech_graders", "set_speech_precision", "tiny_speech_grader", "tiny_wav2vec2_config",
           "DEFAULT_ENCODER", "TINY_SOURCE"]
