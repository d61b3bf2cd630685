"""Save a tiny speech-grader checkpoint with whichever sla_core is on the path, and what it scores.

How the folders beside this script were made (each from `git archive <commit>` on PYTHONPATH):
    PYTHONPATH=<that tree> python make_checkpoint.py <commit> <commit>
test_speech.py loads them with today's code and expects the same scores: old checkpoints keep loading.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from sla_core.graders.speech import SpeechGraderConfig, build_speech_grader
from transformers import Wav2Vec2Config

out, commit = Path(sys.argv[1]), sys.argv[2]
enc = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                     conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                     feat_extract_norm="group", do_stable_layer_norm=False, mask_time_prob=0.0)
config = SpeechGraderConfig(part=5, encoder="tiny", encoder_config=enc.to_dict(),
                            prototype_levels=(2.5, 3.5, 4.5), layer_weighted_sum=True)
torch.manual_seed(0)
grader = build_speech_grader(config).eval()
with torch.no_grad():
    grader.layer_logits.copy_(torch.tensor([0.3, -0.2, 0.5]))  # not the zeros init: the mix must load too
grader.init_prototypes(np.random.default_rng(0).standard_normal((3, 32)), [2.5, 3.5, 4.5])
rng = np.random.default_rng(1)
answers = [(0.1 * rng.standard_normal(n)).astype(np.float32) for n in (8000, 12000)]
[o] = grader.predict([answers])
grader.save_pretrained(out)
(out / "expected.json").write_text(json.dumps({
    "saved_by": f"sla_core at commit {commit}",
    "input": "two answers of 0.1 * np.random.default_rng(1).standard_normal(n), n = 8000 then 12000, float32",
    "raw_score": o.raw_score, "similarities": [float(v) for v in o.similarities],
}, indent=2) + "\n")
print(out, o.raw_score)
