"""`python -m sla_core assess`: score one learner's recordings from the command line.

Exit status: 0 when at least one part was assessed, 1 when none could be (each bad part is
reported on stderr and in the JSON either way), 2 for usage errors (argparse).
"""

from __future__ import annotations

import argparse
import sys

from ..parts import PARTS, part_info


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "assess",
        help="assess one learner's recordings",
        description="Assess one learner: give each part's recording(s); parts may be left out.",
    )
    for p in PARTS:
        info = part_info(p)
        parser.add_argument(
            f"--part{p}", action="append", default=[], metavar="AUDIO",
            help=f"{info.title} recording (repeat for up to {info.max_answers} answers)" if info.max_answers > 1
            else f"{info.title} recording",
        )
    parser.add_argument("--learner", help="name or id kept in the result")
    parser.add_argument("--json", action="store_true", help="print the Assessment as JSON")
    add_assessor_arguments(parser)
    parser.set_defaults(func=run)


def add_assessor_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags that choose the models; shared with every command that builds an Assessor."""
    group = parser.add_argument_group("models (also settable as SLA_* environment variables)")
    group.add_argument("--tiny", action="store_true", default=None,
                       help="offline tiny random models (no download): for trying things out, not grades")
    group.add_argument("--speech-checkpoints", help="folder or hub repo with trained part1/ part3/ ... speech graders")
    group.add_argument("--speech-encoder", help="wav2vec 2.0 encoder for parts without a checkpoint")
    group.add_argument("--speech-precision", choices=("auto", "fp32", "bf16", "onnx"),
                       help="speech encoder on a CPU: auto = bf16 where the CPU has AMX / AVX512-BF16, else fp32 "
                            "through ONNX Runtime (exported once, cached), else fp32 in torch; onnx forces ONNX Runtime")
    group.add_argument("--mllm", choices=("on", "off", "auto"), help="load the Phi-4 multimodal grader (auto: on a GPU)")
    group.add_argument("--mllm-model", help="Phi-4-multimodal hub id or folder")
    group.add_argument("--mllm-adapters", help="folder or hub repo of trained LoRA adapters (session: train session --out)")
    group.add_argument("--mllm-mode", choices=("stg", "ctg", "session"),
                       help="stg / ctg adapters, or session: the session grader (Phi4-MTL, whole test in one prompt; "
                            "give --speech-checkpoints for its acoustic prior)")
    group.add_argument("--mllm-variant", choices=("TA", "AO", "TO"))
    group.add_argument("--asr", choices=("phi4", "whisper", "none"))
    group.add_argument("--asr-model", help="Whisper checkpoint (--asr whisper, or any ASR without the multimodal grader)")
    group.add_argument("--transcript-cache", metavar="DIR",
                       help="folder of the transcript cache (default: the shared one), or 'off'")
    group.add_argument("--fusion", help="fusion-weights JSON written by fit-fusion")
    group.add_argument("--calibration", metavar="PROFILE",
                       help="teacher calibration profile: a name from `calibrate --list`, or a profile folder")
    group.add_argument("--max-seconds", type=float, help="longest accepted answer in seconds")
    group.add_argument("--device", help="cuda / cpu (default: cuda when available)")


def assessor_config(args: argparse.Namespace):
    from ..assess import AssessorConfig

    names = ("tiny", "speech_checkpoints", "speech_encoder", "speech_precision", "mllm", "mllm_model", "mllm_adapters", "mllm_mode",
             "mllm_variant", "asr", "asr_model", "transcript_cache", "fusion", "calibration", "max_seconds", "device")
    return AssessorConfig.from_env(**{n: getattr(args, n, None) for n in names})


def run(args: argparse.Namespace) -> int:
    from ..assess import load_assessor
    from ._format import format_assessment

    responses = {p: getattr(args, f"part{p}") for p in PARTS if getattr(args, f"part{p}")}
    if not responses:
        print("error: give at least one recording, e.g. --part3 answer.wav", file=sys.stderr)
        return 2
    assessor = load_assessor(assessor_config(args))
    assessment = assessor.assess(responses, learner=args.learner)
    for part in assessment.parts:
        if part.problem and part.part in responses:
            print(part.problem, file=sys.stderr)
    print(assessment.to_json() if args.json else format_assessment(assessment))
    return 0 if assessment.covered_parts else 1
