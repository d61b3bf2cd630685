"""How often the calibration's "it helps" rule keeps a change that is not real, and one that is.

Two decisions rest on a lower held-out error: a teacher calibration (calibration/fit.py) and its
delivery-measure correction (calibration/delivery_fit.py). This simulation runs both rules on classes
where the truth is known, side by side:

    old:  keep it when the held-out RMSE drops by at least 0.01 (MIN_RMSE_GAIN before issue 27)
    new:  keep it when the RMSE drops and the paired test on the per-response errors gives p < 0.05
          (calibration/gain.py)

Delivery: sla_core.testing.calibration.delivery_class, the tests' classes (a grader 0.6 too high, five
delivery measures that are noise, or that explain 0.5 points per sd of speech rate in the marks).
Calibration: classes of 10-20 from a grader with a known offset, slope and noise; each fitted profile
is then scored on 20,000 new learners from the same grader, so "helps" means it helps learners it
never saw (not the held-out figure the rule itself reads).

    python bench/sim_gain_rule.py            # ~2 minutes on one core
    python bench/sim_gain_rule.py --classes 50
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla_core.calibration import delivery_fit, fit, gain  # noqa: E402
from sla_core.calibration import fit_calibration  # noqa: E402
from sla_core.testing.calibration import delivery_class, graded_class, hand_made  # noqa: E402

OLD_MIN_GAIN = 0.01


@contextmanager
def old_rule():
    """The rule before issue 27: any RMSE drop of at least 0.01 is a gain (p = 0 if so, else 1)."""
    real = gain.gain_test

    def by_drop(before, after, marks):
        g = real(before, after, marks)
        return gain.GainTest(g.n, g.better, g.worse, 0.0 if g.rmse_before - g.rmse_after >= OLD_MIN_GAIN else 1.0,
                             g.rmse_before, g.rmse_after)

    choose = delivery_fit._choose

    def choose_by_drop(*args):  # the inner choice of the nested check needed the same 0.01 then
        out = choose(*args)
        return {**out, "use": out["without"] - out["with"] >= OLD_MIN_GAIN}

    fit.gain_test = delivery_fit.gain_test = by_drop
    delivery_fit._choose = choose_by_drop
    try:
        yield
    finally:
        fit.gain_test = delivery_fit.gain_test = real
        delivery_fit._choose = choose


def delivery_rates(classes: int) -> list[str]:
    lines = []
    for n in (20, 12):
        noise = [fit_calibration(delivery_class(s, n=n)).profile.delivery.used for s in range(classes)]
        signal = [fit_calibration(delivery_class(s, n=n, effect=0.5)).profile.delivery.used for s in range(classes)]
        first, some = noise[:20], signal[:10]  # the seeds tests/test_calibration_delivery.py runs
        lines.append(f"  classes of {n}: noise measures used in {sum(noise)} of {classes} "
                     f"(seeds 0-{len(first) - 1}: {sum(first)} of {len(first)}), real ones in {sum(signal)} of "
                     f"{classes} (seeds 0-{len(some) - 1}: {sum(some)} of {len(some)})")
    return lines


GRADERS = {  # name -> graded_class arguments
    "right on average, noise 0.3": dict(offset=0.0, noise=0.3),
    "0.2 too high, noise 0.3": dict(offset=0.2, noise=0.3),
    "0.3 too high, noise 0.3": dict(offset=0.3, noise=0.3),
    "0.5 too high, noise 0.3": dict(offset=0.5, noise=0.3),
    "half the spread, noise 0.2": dict(slope=0.5, noise=0.2),
}


def calibration_rates(classes: int) -> list[str]:
    """Per grader and class size: kept in how many classes; and over all, kept when it hurts new learners."""
    lines, tally = [], {"hurts": [0, 0], "helps": [0, 0]}
    for name, kw in GRADERS.items():
        cells = []
        for n in (10, 12, 20):
            kept = 0
            for seed in range(classes):
                rng = np.random.default_rng(10_000 * n + seed)
                result = fit_calibration(hand_made(*graded_class(rng, n, **kw)))
                kept += result.applies
                scores, marks = graded_class(rng, 20_000, **kw)
                line = result.profile.maps["mllm"][3]
                after = np.clip(line.slope * scores + line.offset, 2.0, 5.5)
                rmse_before = np.sqrt(np.mean((np.clip(scores, 2.0, 5.5) - marks) ** 2))
                true_gain = rmse_before - np.sqrt(np.mean((after - marks) ** 2))
                for key, test in (("hurts", true_gain < 0), ("helps", true_gain >= 0.05)):
                    if test:
                        tally[key][0] += result.applies
                        tally[key][1] += 1
            cells.append(f"n={n}: {kept}/{classes}")
        lines.append(f"  {name:28s} kept in " + ", ".join(cells))
    lines.append(f"  over all: kept {tally['hurts'][0]} of the {tally['hurts'][1]} profiles that raise new learners' "
                 f"error, {tally['helps'][0]} of the {tally['helps'][1]} that lower it by >= 0.05")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=100, help="simulated classes per cell (default 100)")
    args = parser.parse_args(argv)
    for label, rule in (("old rule (RMSE drop >= 0.01)", old_rule), ("new rule (paired test, p < 0.05)", None)):
        print(label)
        if rule is None:
            print("\n".join(delivery_rates(args.classes) + calibration_rates(args.classes)), flush=True)
        else:
            with rule():
                print("\n".join(delivery_rates(args.classes) + calibration_rates(args.classes)), flush=True)


if __name__ == "__main__":
    main()
