"""Acceptance checks: how a model version measures against the thresholds a board agreed.

A pure function of the version's test metrics, its outcome rates by band and its
fairness report (the JSON of `fairness/fairness.json`, or None when no audit was
recorded: then every fairness threshold fails, "no fairness audit recorded"). A fairness
check names every judged group beyond its threshold with its figure (`GroupFigure`):
what a waiver of it covers. A group with a rate of 0 against a reference's above 0, or
the reverse, is beyond any threshold (its ratio is 0 or undefined, never skipped).
Given the report as published too, a figure publication withholds is withheld from the
check as well (whether it is met is still judged on the full report).

A disparity threshold is judged on the ratio's 95% interval as the audit recorded it
(`model.fairness_flags`): a group beyond the threshold on its point estimate fails it
when its interval excludes 1 and the difference stands the audit's correction for its
many comparisons (`model.fairness_multiplicity`; `chance_flags` lists those that do
not). Otherwise it is a *possible* disparity: listed on the check (`possible`, and in
its detail), failing nothing and needing no waiver, as the audit cannot tell it from
chance (the four-fifths rule's own guidance asks for more data there). A ratio with no
recorded interval (an undefined or unbounded ratio) is judged on its point estimate,
unless the correction listed it. The calibration gap stays judged on its point estimate:
read on its interval, an independent probe's planted under-prediction of one group (139
test referrals, gap -0.091, interval -0.157 to +0.0003) passed with no waiver needed;
the gate errs towards a waiver with a reason (6 December).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from model.band_precision import BandRate, precision_check
from model.fairness_flags import RATIO_METRICS
from model.fairness_groups import group_phrase, stratum
from model.finite_json import finite_number
from model.governance import AcceptanceThresholds
from model.threshold_checks import (
    GroupFigure,
    ThresholdCheck,
    groups_text,
    possible_text,
    read_both_ways,
)

NO_FAIRNESS_AUDIT: Final = "no fairness audit recorded"
# The fairness report's flag for a group too small to judge: such groups never fail a threshold.
TOO_SMALL_FLAG: Final = "too_small"



def _at_least(name: str, description: str, required: float, measured: float | None,
              detail: str = "") -> ThresholdCheck:
    met = measured is not None and measured >= required
    return ThresholdCheck(name, description, f">= {required:g}", measured, met,
                          detail or ("" if measured is not None else "not measured"),
                          threshold=required)


def _at_most(name: str, description: str, required: float, measured: float | None,
             detail: str = "") -> ThresholdCheck:
    met = measured is not None and measured <= required
    return ThresholdCheck(name, description, f"<= {required:g}", measured, met,
                          detail or ("" if measured is not None else "not measured"),
                          threshold=required)


def _judged_groups(fairness: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The groups large enough to judge (the report flags the others too small)."""
    return [g for g in fairness.get("groups", []) if TOO_SMALL_FLAG not in g.get("flags", [])]


def group_key(group: Mapping[str, Any]) -> str:
    """A group's attributes as a key to match it by across reports (full and published),
    e.g. ``ethnicity_group=black, sex=female``; people read `group_name`."""
    return ", ".join(f"{k}={v}" for k, v in sorted(group.get("attributes", {}).items()))


def group_name(group: Mapping[str, Any]) -> str:
    """A group as a check names it to people, as the fairness report does
    (`model.fairness_groups.group_phrase`), e.g. ``Black female subjects``."""
    return group_phrase(dict(group.get("attributes", {})))


def _references(fairness: Mapping[str, Any]) -> dict[Any, Mapping[str, Any]]:
    return {stratum(dict(g.get("attributes", {}))): g for g in fairness.get("groups", [])
            if g.get("is_reference")}


@dataclass(frozen=True)
class _Measure:
    """What a fairness threshold reads from each group: the figure shown (`key`, under
    the name `metric`) and its size against the threshold (`size`: a ratio read both
    ways, a gap without its sign; math.inf for a rate of 0 on one side only)."""

    metric: str
    key: str
    rate: str | None  # the rate a ratio compares (None: the calibration gap)

    def size(self, group: Mapping[str, Any], reference: Mapping[str, Any] | None
             ) -> float | None:
        value = finite_number(group.get(self.key))
        if self.rate is None:
            return None if value is None else abs(value)
        if value is not None:
            return math.inf if value <= 0 else max(value, 1 / value)
        # Undefined ratio: unbounded when only the reference group's rate is 0.
        own = finite_number(group.get(self.rate))
        base = None if reference is None else finite_number(reference.get(self.rate))
        return math.inf if own is not None and own > 0 and base == 0 else None

    def by_chance(self, group: Mapping[str, Any]) -> bool:
        """Whether the ratio's difference did not stand the audit's correction for many
        comparisons (`chance_flags`)."""
        return self.rate is not None and (
            RATIO_METRICS[self.rate] in group.get("chance_flags", ()))

    def possible(self, group: Mapping[str, Any]) -> bool:
        """Whether the ratio's recorded interval includes 1, or it is `by_chance`."""
        if self.by_chance(group):
            return True
        interval = group.get(f"{self.key}_ci") if self.rate is not None else None
        if not isinstance(interval, list | tuple) or len(interval) != 2:
            return False
        low, high = (finite_number(end) for end in interval)
        return low is not None and high is not None and low <= 1 <= high

    def figure(self, group: Mapping[str, Any], *, withheld: bool, required: float,
               interval: bool = False) -> GroupFigure:
        """The group's figure on a check (`interval`: with its ratio's 95% interval)."""
        value = None if withheld else finite_number(group.get(self.key))
        note = ""
        if not withheld and self.rate is not None and value is None:
            note = "the reference group's rate is 0 and this group's is not"
        elif not withheld and self.rate is not None and value == 0:
            note = "this group's rate is 0 and the reference group's is not"
        elif not withheld and interval:
            low, high = group[f"{self.key}_ci"]
            note = f"95% interval {low:.4g} to {high:.4g}"
            if self.by_chance(group):
                note += ", not standing the correction for many comparisons"
        bounds = (1 / required, required) if self.rate is not None else (-required, required)
        return GroupFigure(group_name(group), self.metric, value, note, withheld, bounds)


_DISPARITIES: Final = {
    "max_selection_rate_disparity": _Measure("selection rate ratio", "selection_rate_ratio",
                                             "selection_rate"),
    "max_false_positive_rate_disparity": _Measure(
        "false positive rate ratio", "false_positive_rate_ratio", "false_positive_rate"),
    "max_true_positive_rate_disparity": _Measure(
        "true positive rate ratio", "true_positive_rate_ratio", "true_positive_rate"),
}
_GAP: Final = _Measure("calibration gap", "calibration_gap", None)


def _fairness_check(name: str, description: str, required: float, measure: _Measure,
                    fairness: Mapping[str, Any], published: Mapping[str, Any] | None
                    ) -> ThresholdCheck:
    """One fairness threshold over the judged groups: the largest size measured, and
    every group beyond the threshold (as published, when `published` is given: a figure
    it withholds is withheld here too; met or not is judged on the full report)."""
    references = _references(fairness)
    sized = [(size, g) for g in _judged_groups(fairness)
             if (size := measure.size(g, references.get(stratum(dict(g["attributes"])))))
             is not None]
    sized.sort(key=lambda pair: -pair[0])
    shown_refs = _references(published) if published is not None else {}
    shown = ({group_key(g): g for g in published.get("groups", [])}
             if published is not None else None)

    def withheld(group: Mapping[str, Any]) -> bool:
        if shown is None:
            return False
        same = shown.get(group_key(group))
        return same is None or measure.size(
            same, shown_refs.get(stratum(dict(same["attributes"])))) is None

    over = [g for size, g in sized if size > required]
    possible = tuple(measure.figure(g, withheld=withheld(g), required=required,
                                   interval=True) for g in over
                     if measure.possible(g))
    beyond = tuple(measure.figure(g, withheld=withheld(g), required=required) for g in over
                   if not measure.possible(g))
    worst = sized[0][0] if sized else None
    if worst is None:
        return ThresholdCheck(name, description, f"<= {required:g}", None, False,
                              "not measured")
    where = sized[0][1]
    hide = withheld(where) or math.isinf(worst)  # an unbounded size has no figure
    raw = finite_number(where.get(measure.key)) if measure.rate is not None else None
    inverted = "" if hide else read_both_ways(group_name(where), raw, worst)
    detail = "; ".join(part for part in (
        groups_text(beyond) if beyond else f"worst group: {group_name(where)}",
        possible_text(possible) if possible else "", inverted) if part)
    return ThresholdCheck(name, description, f"<= {required:g}",
                          None if hide else worst, not beyond, detail,
                          withheld=withheld(where), groups=beyond, possible=possible,
                          threshold=required)


def _fairness_checks(thresholds: AcceptanceThresholds, fairness: Mapping[str, Any] | None,
                     published: Mapping[str, Any] | None) -> list[ThresholdCheck]:
    wanted = [(name, f"largest {measure.metric.removesuffix(' ratio')} disparity of a group "
               "against the reference group", measure)
              for name, measure in _DISPARITIES.items()]
    wanted.append(("max_group_calibration_gap",
                   "largest gap between mean predicted probability and observed outcome rate "
                   "in a group", _GAP))
    checks = []
    for name, description, measure in wanted:
        required = float(getattr(thresholds, name))
        if fairness is None:
            checks.append(ThresholdCheck(name, description, f"<= {required:g}", None, False,
                                         NO_FAIRNESS_AUDIT))
            continue
        checks.append(_fairness_check(name, description, required, measure, fairness,
                                      published))
    return checks


def check_acceptance(thresholds: AcceptanceThresholds, *, metrics: Mapping[str, float],
                     very_high_band_precision: BandRate | float | None,
                     fairness: Mapping[str, Any] | None,
                     published: Mapping[str, Any] | None = None) -> list[ThresholdCheck]:
    """How a version measures against each threshold, in the settings' order (with
    `published`, the fairness report as published, as a published card shows them)."""
    return [
        _at_least("min_roc_auc", "ROC AUC on the test referrals", thresholds.min_roc_auc,
                  finite_number(metrics.get("test_roc_auc"))),
        _at_most("max_ece", "expected calibration error on the test referrals",
                 thresholds.max_ece, finite_number(metrics.get("test_ece"))),
        precision_check(thresholds.min_very_high_band_precision, very_high_band_precision),
        *_fairness_checks(thresholds, fairness, published),
    ]


def unmet(checks: Sequence[ThresholdCheck]) -> list[ThresholdCheck]:
    """The thresholds a version does not meet."""
    return [check for check in checks if not check.met]
