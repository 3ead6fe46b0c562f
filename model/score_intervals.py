"""Intervals of a rate, and of a ratio of two rates, where the percentile bootstrap
collapses.

When a group's rate is 0 or 1 (2 outcomes, neither selected), every resample gives the
same rate, and the bootstrap interval of the rate, and of its ratio to the reference
group's, shrinks to a point: (0, 0) read as a finding on two outcomes. There the fairness
audit takes score intervals, which stay honest at 0 and 1: Wilson's for a rate
(`bound_rate_interval`), and for a ratio the Miettinen-Nurminen interval (Miettinen and
Nurminen, "Comparative analysis of two rates", Statistics in Medicine 4, 1985): the
ratios phi whose score statistic, with both rates estimated under p1 = phi * p2, is
within the chi-square quantile of the level (`score_ratio_interval`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import TYPE_CHECKING, Final

import numpy as np

from model.fairness_metrics import reported_pair

if TYPE_CHECKING:
    import pandas as pd

# The audit's proportions as counts of its table: (what is counted, out of how many).
PROPORTIONS: Final = {"observed_rate": ("positives", "n"), "selection_rate": ("selected", "n"),
                      "true_positive_rate": ("true_positives", "positives"),
                      "false_positive_rate": ("false_positives", "negatives"),
                      "precision": ("true_positives", "selected")}

# Bisection steps on log(phi): far below the 6 places the audit reports.
_STEPS = 200
_LOG_RANGE = 30.0  # phi from e^-30 to e^30


def _statistic(phi: float, x1: float, n1: float, x2: float, n2: float) -> float:
    """The Miettinen-Nurminen score statistic (chi-square, 1 df) of ratio ``phi``."""
    total = n1 + n2
    a, b, c = total * phi, -(n1 * phi + x1 + n2 + x2 * phi), x1 + x2
    p2 = (-b - math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
    p1 = min(phi * p2, 1.0)
    variance = (p1 * (1 - p1) / n1 + phi * phi * p2 * (1 - p2) / n2) * total / (total - 1)
    difference = x1 / n1 - phi * x2 / n2
    if variance <= 0:
        return 0.0 if difference == 0 else math.inf
    return difference * difference / variance


def _edge(inside: float, outside: float, accepted: float, counts: tuple[float, ...]) -> float:
    """The ratio between log-ratios ``inside`` (accepted) and ``outside`` (not) where the
    statistic crosses ``accepted``."""
    for _ in range(_STEPS):
        middle = (inside + outside) / 2
        if _statistic(math.exp(middle), *counts) <= accepted:
            inside = middle
        else:
            outside = middle
    return math.exp(inside)


def _normal_quantile(level: float) -> float:
    """The standard normal's two-sided quantile at ``level`` (1.96 at 0.95); its square is
    the chi-square quantile of one degree of freedom at ``level``. The standard library's,
    not scipy.stats': this module is read by the approval check every `safeguard score`
    ends with, where importing scipy.stats cost half a second."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def score_ratio_interval(x1: float, n1: float, x2: float, n2: float,
                         level: float) -> tuple[float, float] | None:
    """The interval of (x1/n1) / (x2/n2) at ``level``; None when either group has no
    denominator or the reference's rate is 0 (the ratio is unbounded)."""
    if n1 <= 0 or n2 <= 1 or x2 <= 0:
        return None
    counts = (x1, n1, x2, n2)
    accepted = _normal_quantile(level) ** 2  # chi-square, 1 degree of freedom
    estimate = (x1 / n1) / (x2 / n2)
    centre = math.log(estimate) if estimate > 0 else -_LOG_RANGE
    lower = 0.0 if x1 == 0 else _edge(centre, -_LOG_RANGE, accepted, counts)
    upper = _edge(centre, _LOG_RANGE, accepted, counts)
    return lower, upper


def at_a_bound(counts: Mapping[str, float] | pd.Series, metric: str) -> bool:
    """Whether a proportion's rate is 0 or 1 (with a denominator), where every bootstrap
    resample gives the same rate; False for a metric that is no proportion."""
    if metric not in PROPORTIONS:
        return False
    counted, out_of = (float(counts[column]) for column in PROPORTIONS[metric])
    return out_of > 0 and counted in (0, out_of)


def wilson_interval(rate: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a proportion `rate` of `n` (an effective number may be
    fractional)."""
    z = _normal_quantile(level)
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def bound_rate_interval(counts: Mapping[str, float] | pd.Series, metric: str, level: float
                        ) -> tuple[float, float] | None:
    """A proportion's Wilson interval when its rate is 0 or 1 (`at_a_bound`;
    `wilson_interval`, as `model.practice` takes it); None for a rate between, or a metric
    that is no proportion."""
    if not at_a_bound(counts, metric):
        return None
    counted, out_of = (int(counts[column]) for column in PROPORTIONS[metric])
    return reported_pair(np.array(wilson_interval(counted / out_of, out_of, level)))
