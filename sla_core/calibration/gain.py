"""Is a lower held-out error real, or luck? A paired test on the per-response errors.

A calibration (fit.py) and a delivery correction (delivery_fit.py) are kept only when they lower the
held-out error. With 10-40 responses a drop of a few hundredths comes by chance: under the old rule (any
drop of at least 0.01 RMSE) a calibration of a grader that is already right on average was kept in 31-42%
of simulated classes of 10-20, and 92 of the 166 simulated profiles that raise new learners' error were
kept (bench/sim_gain_rule.py).

The rule: the same responses are scored both ways, so compare them pair by pair. For each response,
d = (its error without)^2 - (its error with)^2; mean(d) is the drop in mean squared error, the quantity
the RMSE shown is made of. The gain is real when the RMSE drops AND a one-sided paired permutation test
(sign flips) gives p < ALPHA: if the change made no difference, each d would be as likely to have come
out as -d, so p is the share of the 2^n sign patterns whose mean gain is at least the one seen. It needs
no normal errors, and a drop carried by one or two responses is not enough. (The Wilcoxon signed-rank
test, which ranks the d's, was tried: it lost power on the delivery correction, whose gains are a few
large d's among many small losses: used in 16 instead of 18 of 20 real-effect classes.)

What it decides, simulated (bench/sim_gain_rule.py, 100 classes per cell): a grader already right on
average is calibrated in 1-4% of classes of 10-20 (old rule 31-42%); the profiles that raise new learners'
error are kept 18 times in 166 (old 92); those that lower it by >= 0.05 are kept 458 times in 913 (old
819): an offset of 0.3 on a grader with 0.3 noise is shown in 31% of classes of 10 and 79% of classes of 20.
That is the price of not fooling the teacher; they can still save a profile anyway, and the words say why
it was not recommended. Delivery measures that are noise: used in 2 of 100 classes of 20 (old 3); ones
that explain the marks: 86 of 100 (old 99), and in classes of 12, 2 and 42 of 100 (old 5 and 81).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHA = 0.05  # one-sided p below this: the gain is taken as real
UNCHANGED = 1e-9  # |d| below this (squared score points): the response's error did not move
EXACT_UP_TO = 14  # responses up to which every sign pattern is tried (16,384); above, RESAMPLES of them
RESAMPLES = 20_000  # p to within about +-0.003 at 0.05


@dataclass(frozen=True)
class GainTest:
    """The paired comparison of two sets of held-out scores of the same responses."""

    n: int  # responses compared
    better: int  # responses whose held-out error is smaller with the change
    worse: int  # ... larger (the rest did not move)
    p_value: float  # one-sided paired sign-flip test of mean(d); 1.0 when no response moved
    rmse_before: float
    rmse_after: float

    @property
    def real(self) -> bool:
        return self.rmse_after < self.rmse_before and self.p_value < ALPHA

    @property
    def words(self) -> str:
        """e.g. "smaller for 10 of 12 responses, larger for 2 (paired test p = 0.003)"."""
        return (f"smaller for {self.better} of {self.n} responses, larger for {self.worse} "
                f"(paired test {p_text(self.p_value)})")


def p_text(p: float) -> str:
    """"p = 0.031", or "p < 0.001"; a p just below ALPHA keeps a fourth decimal ("p = 0.0498", not "p = 0.050")."""
    if p < 0.001:
        return "p < 0.001"
    text = f"{p:.3f}"
    return f"p = {p:.4f}" if p < ALPHA <= float(text) else f"p = {text}"


def gain_test(before, after, marks) -> GainTest:
    """Compare held-out scores `after` with `before` against the same marks.

    Args:
        before, after, marks: (n,) scores without and with the change, and the teacher's marks.
    Returns:
        GainTest; `real` is the decision.
    """
    before, after, marks = (np.asarray(v, dtype=np.float64) for v in (before, after, marks))
    d = (before - marks) ** 2 - (after - marks) ** 2  # (n,) > 0: the response got closer to its mark
    d[np.abs(d) < UNCHANGED] = 0.0
    return GainTest(n=int(d.size), better=int((d > 0).sum()), worse=int((d < 0).sum()), p_value=sign_flip_p(d),
                    rmse_before=float(np.sqrt(np.mean((before - marks) ** 2))),
                    rmse_after=float(np.sqrt(np.mean((after - marks) ** 2))))


def sign_flip_p(d: np.ndarray) -> float:
    """One-sided p that mean(d) > 0 under "each d_i was as likely to be -d_i" (a paired permutation test).

    Exact (all 2^n sign patterns) up to EXACT_UP_TO responses, else RESAMPLES random patterns from a fixed
    seed, so the same evidence always gives the same p.
    """
    d = np.asarray(d, dtype=np.float64)
    if not d.any():
        return 1.0
    n = d.size
    if n <= EXACT_UP_TO:
        signs = 1.0 - 2.0 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)  # (2^n, n), the identity first
    else:
        signs = np.random.default_rng(0).choice([-1.0, 1.0], size=(RESAMPLES, n))
        signs[0] = 1.0
    means = signs @ np.abs(d) / n  # (patterns,) the mean gain under each sign pattern
    return float(np.mean(means >= d.mean() - 1e-12))


__all__ = ["ALPHA", "GainTest", "gain_test", "p_text", "sign_flip_p"]
