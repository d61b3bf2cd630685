"""Training commands, one readable loop per grader (`speech.py`, `mllm.py`, and the `bert.py` baseline).

`common.py` holds what they share: seeding, the warm-up schedule, dev metrics (macro-F1 on the 0.5
grid), checkpoint save/resume, progress bars and CLI flags generated from a config dataclass.
Run them as `python -m sla_core train <grader> ...` (see `sla_core/cli/train.py`).
"""
