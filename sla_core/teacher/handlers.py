"""All the app's handlers on one object, one tab's worth per mixin; `app.build_demo` wires them to the page."""

from __future__ import annotations

from .api_tab import ApiEndpoints
from .assess_tab import AssessTab
from .base import NO_PROFILE, SLOTS, AssessFn, Fusion, Progress, StatusFn
from .calibrate_tab import CalibrateTab
from .classroom_tab import ClassroomTab


class Handlers(AssessTab, ClassroomTab, CalibrateTab, ApiEndpoints):
    """What each button does. Every result is saved to the store before it is returned for display."""


__all__ = ["NO_PROFILE", "SLOTS", "AssessFn", "Fusion", "Handlers", "Progress", "StatusFn"]
