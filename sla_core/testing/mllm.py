"""The multimodal grader on the tiny random Phi-4-multimodal, as the tests use it (nothing downloaded)."""

from __future__ import annotations

import torch

from ..asr import Phi4Transcriber
from ..graders.mllm import load_mllm_grader


def tiny_mllm_grader(seed: int = 0, **kwargs):
    """`load_mllm_grader(tiny=True)` with its own Phi-4 transcriber attached, as `load_assessor` does it.

    kwargs pass through to `load_mllm_grader`; pass `transcriber=` to attach another one.
    """
    torch.manual_seed(seed)
    grader = load_mllm_grader(tiny=True, seed=seed, **kwargs)
    if grader.transcriber is None:
        grader.transcriber = Phi4Transcriber(grader)
    return grader


__all__ = ["tiny_mllm_grader"]
