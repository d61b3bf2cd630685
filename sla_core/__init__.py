"""sla_core: spoken language assessment on the CEFR scale (2.0 = A2 .. 5.5 = C1+).

Public API:
    load_assessor(AssessorConfig(...)) -> Assessor;  Assessor.assess({part: [audio]}) -> Assessment
The graders (speech, multimodal), fusion and metrics live in their own modules; nothing here
imports gradio, and importing the package does not import torch.
"""

from .assessment import Assessment, GraderInfo, PartAssessment, PartScore
from .cefr import GRID, LABELS, cefr_label
from .data import PartInput, PartResponses, Response, Submission
from .parts import PART_INFO, PARTS, part_info

__all__ = [
    "Assessment", "Assessor", "AssessorConfig", "GRID", "GraderInfo", "LABELS", "PART_INFO", "PARTS",
    "PartAssessment", "PartInput", "PartResponses", "PartScore", "Response", "Submission",
    "cefr_label", "load_assessor", "part_info",
]

_PIPELINE = ("Assessor", "AssessorConfig", "load_assessor")


def __getattr__(name: str):
    # The pipeline pulls in audio I/O and the graders' modules; load it on first use so that
    # `import sla_core` stays cheap for tools that only need the records or the scale.
    if name in _PIPELINE:
        from . import assess

        return getattr(assess, name)
    raise AttributeError(f"module 'sla_core' has no attribute {name!r}")
