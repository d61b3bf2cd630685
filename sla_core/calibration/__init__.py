"""Teacher calibration: fit the system to a teacher's own marking from a handful of graded recordings.

    data = collect_exemplars(assessor, read_manifest("graded.csv"))   # listens once; cached on disk
    result = fit_calibration(data, name="my-class")                  # milliseconds; leave-one-out evidence
    print(describe(result))                                          # before/after in words + verdict
    if result.applies:
        save_profile(result.profile)                                 # <profiles root>/my-class/
    use_calibration(assessor, "my-class")                            # every Assessment now records it

Modules: `features` (exemplars, embedding cache), `fit` (prototypes, linear maps, fusion weight,
evidence, verdict), `delivery_fit` (delivery measures as extra features, used only when held out
responses say they help), `profile` (the saved folder), `apply` (binding a profile to an Assessor),
`gain` (whether a lower held-out error is more than chance), `words` (the evidence in words).
The chart is `sla_core.teacher.calibration_chart` (plotly).
"""

from .apply import Calibration, calibrated, check_compatible, load_calibration, use_calibration
from .features import EmbeddingCache, Exemplar, ExemplarData, collect_exemplars, default_cache_dir, graded_submissions
from .fit import (
                  MAX_SLOPE,
                  MIN_EXEMPLARS,
                  MIN_PCC,
                  PER_PART_MIN,
                  PER_PART_MIN_LEVELS,
                  CalibrationResult,
                  fit_calibration,
                  fit_linear,
                  leave_one_out,
                  prototype_score,
)
from .gain import ALPHA, GainTest, gain_test
from .profile import (
                  CalibrationProfile,
                  DeliveryFit,
                  Evidence,
                  LinearMap,
                  ProfileInfo,
                  PrototypeFit,
                  check_profile_name,
                  default_profiles_root,
                  list_profiles,
                  load_profile,
                  save_profile,
)
from .words import describe, evidence_lines

__all__ = [
    "Calibration", "calibrated", "load_calibration", "CalibrationProfile", "CalibrationResult", "DeliveryFit", "EmbeddingCache", "Evidence", "Exemplar",
    "ExemplarData", "LinearMap", "ProfileInfo", "PrototypeFit", "check_compatible", "check_profile_name",
    "collect_exemplars", "default_cache_dir", "default_profiles_root", "graded_submissions", "describe",
    "evidence_lines", "fit_calibration", "fit_linear", "leave_one_out", "list_profiles", "load_profile",
    "prototype_score", "save_profile", "use_calibration", "MAX_SLOPE", "MIN_EXEMPLARS", "MIN_PCC", "ALPHA",
    "PER_PART_MIN", "PER_PART_MIN_LEVELS", "GainTest", "gain_test",
]
