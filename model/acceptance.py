"""Acceptance checks: how a model version measures against the thresholds a board agreed.

A pure function of the version's test metrics, its outcome rates by band and its
fairness report (the JSON of `fairness/fairness.json`, or None when no audit was
recorded: then every fairness threshold fails, "no fairness audit recorded"). Given the
report as published too, a check whose worst group's figure publication withholds says
so instead of giving the figure (whether it is met is still judged on the full report).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Final

from model.governance import AcceptanceThresholds

NO_FAIRNESS_AUDIT: Final = "no fairness audit recorded"
VERY_HIGH_BAND: Final = "very high"
# The fairness report's flag for a group too small to judge: such groups never fail a threshold.
TOO_SMALL_FLAG: Final = "too_small"
_DISPARITIES: Final = {
    "max_selection_rate_disparity": ("selection_rate_ratio", "selection rate"),
    "max_false_positive_rate_disparity": ("false_positive_rate_ratio", "false positive rate"),
    "max_true_positive_rate_disparity": ("true_positive_rate_ratio", "true positive rate"),
}


@dataclass(frozen=True)
class ThresholdCheck:
    """One threshold: what is required, what the version measured, whether it is met."""

    name: str
    description: str
    required: str
    measured: float | None
    met: bool
    detail: str = ""
    withheld: bool = False  # measured, but withheld from publication (`measured` None)


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _at_least(name: str, description: str, required: float, measured: float | None,
              detail: str = "") -> ThresholdCheck:
    met = measured is not None and measured >= required
    return ThresholdCheck(name, description, f">= {required:g}", measured, met,
                          detail or ("" if measured is not None else "not measured"))


def _at_most(name: str, description: str, required: float, measured: float | None,
             detail: str = "") -> ThresholdCheck:
    met = measured is not None and measured <= required
    return ThresholdCheck(name, description, f"<= {required:g}", measured, met,
                          detail or ("" if measured is not None else "not measured"))


def _judged_groups(fairness: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The groups large enough to judge (the report flags the others too small)."""
    return [g for g in fairness.get("groups", []) if TOO_SMALL_FLAG not in g.get("flags", [])]


def group_label(group: Mapping[str, Any]) -> str:
    """A group's attributes as text, e.g. ``ethnicity_group=black, sex=female``."""
    return ", ".join(f"{k}={v}" for k, v in sorted(group.get("attributes", {}).items()))


def _worst(groups: Iterable[Mapping[str, Any]], measure: Callable[[Mapping[str, Any]],
           float | None]) -> tuple[float | None, str]:
    """The largest measure over the groups, and the group it belongs to."""
    worst: tuple[float | None, str] = (None, "")
    for group in groups:
        value = measure(group)
        if value is not None and (worst[0] is None or value > worst[0]):
            worst = (value, group_label(group))
    return worst


def _shown(check: ThresholdCheck, where: str, measure: Callable[[Mapping[str, Any]],
           float | None], published: Mapping[str, Any] | None) -> ThresholdCheck:
    """The check as published: its figure withheld when the report as published withholds
    it from the worst group (it gives a withheld rate back)."""
    if published is None or check.measured is None:
        return check
    same = [g for g in published.get("groups", []) if group_label(g) == where]
    if same and measure(same[0]) is not None:
        return check
    return replace(check, measured=None, withheld=True)


def _disparity(group: Mapping[str, Any], *, key: str) -> float | None:
    """A ratio read both ways: 0.8 and 1.25 are the same disparity, 1.25."""
    ratio = _finite(group.get(key))
    if ratio is None or ratio <= 0:
        return None
    return max(ratio, 1 / ratio)


def _calibration_gap(group: Mapping[str, Any]) -> float | None:
    gap = _finite(group.get("calibration_gap"))
    return None if gap is None else abs(gap)


def _fairness_checks(thresholds: AcceptanceThresholds, fairness: Mapping[str, Any] | None,
                     published: Mapping[str, Any] | None) -> list[ThresholdCheck]:
    wanted: list[tuple[str, str, Callable[[Mapping[str, Any]], float | None]]] = [
        (name, f"largest {label} disparity of a group against the reference group",
         partial(_disparity, key=key))
        for name, (key, label) in _DISPARITIES.items()]
    wanted.append(("max_group_calibration_gap",
                   "largest gap between mean predicted probability and observed outcome rate "
                   "in a group", _calibration_gap))
    checks = []
    for name, description, measure in wanted:
        required = float(getattr(thresholds, name))
        if fairness is None:
            checks.append(ThresholdCheck(name, description, f"<= {required:g}", None, False,
                                         NO_FAIRNESS_AUDIT))
            continue
        value, where = _worst(_judged_groups(fairness), measure)
        check = _at_most(name, description, required, value,
                         f"worst group: {where}" if where else "")
        checks.append(_shown(check, where, measure, published))
    return checks


def check_acceptance(thresholds: AcceptanceThresholds, *, metrics: Mapping[str, float],
                     very_high_band_precision: float | None,
                     fairness: Mapping[str, Any] | None,
                     published: Mapping[str, Any] | None = None) -> list[ThresholdCheck]:
    """How a version measures against each threshold, in the settings' order (with
    `published`, the fairness report as published, as a published card shows them)."""
    return [
        _at_least("min_roc_auc", "ROC AUC on the test referrals", thresholds.min_roc_auc,
                  _finite(metrics.get("test_roc_auc"))),
        _at_most("max_ece", "expected calibration error on the test referrals",
                 thresholds.max_ece, _finite(metrics.get("test_ece"))),
        _at_least("min_very_high_band_precision",
                  "outcome rate of the test referrals in the very-high band (its precision)",
                  thresholds.min_very_high_band_precision, _finite(very_high_band_precision)),
        *_fairness_checks(thresholds, fairness, published),
    ]


def unmet(checks: Sequence[ThresholdCheck]) -> list[ThresholdCheck]:
    """The thresholds a version does not meet."""
    return [check for check in checks if not check.met]
