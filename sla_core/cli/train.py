"""`python -m sla_core train <grader> ...`: the training commands, one module per grader.

Each trainer module exposes `add_arguments(parser)` and `main(args) -> int` (flags generated from its
config dataclass with `sla_core.research.train.common.add_dataclass_arguments`). Modules are imported only when
the `train` parser is built; they import torch only inside their functions, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib

# Registration point: grader -> (trainer module, one-line help).
TRAINERS: dict[str, tuple[str, str]] = {
    "bert": ("sla_core.research.train.bert", "the official baseline: BERT per part on ASR words + dev calibration"),
    "speech": ("sla_core.research.train.speech", "wav2vec 2.0 + prototypes, one model per part"),
    "mllm": ("sla_core.research.train.mllm", "Phi-4-multimodal LoRA adapters (STG per part / CTG)"),
    "session": ("sla_core.research.train.session",
                "session-level Phi-4-multimodal (Phi4-MTL): whole test in one prompt, 5 outputs, acoustic prior"),
}


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a grader", description=__doc__)
    sub = p.add_subparsers(dest="trainer", required=True, metavar="GRADER")
    for name, (module, help_text) in TRAINERS.items():
        tp = sub.add_parser(name, help=help_text, description=help_text)
        tp.set_defaults(func=_runner(module), _trainer_module=module)
        _add_arguments(tp, module)


def _add_arguments(parser: argparse.ArgumentParser, module: str) -> None:
    importlib.import_module(module).add_arguments(parser)


def _runner(module: str):
    def run(args: argparse.Namespace) -> int:
        return importlib.import_module(module).main(args)

    return run
