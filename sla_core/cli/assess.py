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
    group.add_argument("--speech-precision", choices=("auto", "fp32", "bf16", "onnx", "int8"),
                       help="speech encoder on a CPU: auto = the fastest of torch fp32, ONNX Runtime fp32 and native "
                            "bf16 within a 0.02 score drift, timed once per machine and model and cached; onnx forces "
                            "ONNX Runtime fp32, int8 its int8 quantisation (faster, moves scores: see README)")
    group.add_argument("--mllm", choices=("on", "off", "auto"), help="load the Phi-4 multimodal grader (auto: on a GPU)")
    group.add_argument("--mllm-model", help="Phi-4-multimodal hub id or folder")
    group.add_argument("--mllm-adapters", help="folder or hub repo of trained LoRA adapters (session: train session --out)")
    group.add_argument("--mllm-mode", choices=("stg", "ctg", "session"),
                       help="stg / ctg adapters, or session: the session grader (Phi4-MTL, whole test in one prompt; "
                            "give --speech-checkpoints for its acoustic prior)")
    group.add_argument("--mllm-variant", choices=("TA", "AO", "TO"))
    group.add_argument("--asr", choices=("phi4", "whisper", "none"))
    group.add_argument("--asr-model", help="Whisper checkpoint (--asr whisper, or any ASR without the multimodal grader)")
    group.add_argument("--asr-runtime", choices=("auto", "ctranslate2", "transformers"),
                       help="Whisper through CTranslate2 int8 (auto on a CPU: about half the time) or transformers")
    group.add_argument("--transcript-cache", metavar="DIR",
                       help="folder of the transcript cache (default: the shared one), or 'off'")
    group.add_argument("--fusion", help="fusion-weights JSON written by fit-fusion")
    group.add_argument("--calibration", metavar="PROFILE",
                       help="teacher calibration profile: a name from `calibrate --list`, or a profile folder")
    group.add_argument("--max-seconds", type=float, help="longest accepted answer in seconds")
    group.add_argument("--device", help="cuda / cpu (default: cuda when available)")
    checks = parser.add_argument_group("answer checks (an answer that fails one is not graded; also SLA_CHECK_*=0)")
    for name, what in (("language", "spoken language by Whisper language identification"),
                       ("topic", "answer vs its question, where known, by sentence-embedding similarity"),
                       ("overlap", "the question read aloud, or another answer repeated (text overlap)"),
                       ("same-recording", "one recording given for two answers (content hash)")):
        checks.add_argument(f"--no-check-{name}", dest=f"check_{name.replace('-', '_')}", action="store_false",
                            default=None, help=f"turn off the check: {what}")
    checks.add_argument("--language-model", help="multilingual Whisper for the language check (default openai/whisper-tiny)")
    checks.add_argument("--topic-model", help="sentence-embedding model for the topic check "
                                              "(default sentence-transformers/all-MiniLM-L6-v2)")


def assessor_config(args: argparse.Namespace):
    from ..assess import AssessorConfig

    names = ("tiny", "speech_checkpoints", "speech_encoder", "speech_precision", "mllm", "mllm_model", "mllm_adapters", "mllm_mode",
             "mllm_variant", "asr", "asr_model", "asr_runtime", "transcript_cache", "fusion", "calibration", "max_seconds",
             "device", "check_language", "language_model", "check_topic", "topic_model", "check_overlap",
             "check_same_recording")
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
