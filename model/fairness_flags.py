"""A group's disparity ratios to its reference and the flags the audit gives it.

A ratio is a group's rate over its reference group's. A ratio of 0 (the group's rate is
0, its reference's is not) is the largest disparity there is, and so is a rate above 0
against a reference rate of 0 (`unbounded`: the ratio itself is undefined and reported
null): both are flagged, never dropped, as the acceptance checks count them unmet too.

A disparity flag is raised on the point estimate (the four-fifths rule as published), and
then read against the ratio's 95% bootstrap interval, as the US Uniform Guidelines on
Employee Selection Procedures (29 CFR 1607.4(D)), where the four-fifths rule comes from,
read it: a difference is adverse impact when it is large in practical terms (beyond the
tolerance) and statistically significant; one "based on small numbers" that is not
significant is not a finding, and more data are wanted. So a flag whose interval
includes 1 (no disparity) is *possible* (`possible_disparities`): the audit cannot tell
it from equal rates, and more referrals are needed to tell. A flag whose interval
excludes 1 is a finding (when it also stands the correction for many comparisons,
`model.fairness_multiplicity`), said with whether its whole interval lies beyond the
tolerance.

A group is miscalibrated (a finding) when the 95% interval of its calibration gap lies
wholly beyond the tolerance, and so does that of its gap beside the whole model's
miscalibration scaled to its risk (`model.fairness_metrics.gap_beside_overall`), on the
same side (`judge_calibration`): a model under-predicting everyone by a quarter is one
overall finding, not one for each group whose risk makes a quarter more than the
tolerance, nor one for a low-risk group whose own gap is within it. Both gaps beyond the
tolerance on their point estimates, on one side, with 90% intervals excluding 0 (no gap),
but a 95% interval reaching back inside the tolerance, is a *possible* miscalibration:
shown, not a finding. Until 7
December it was not shown at all: outcomes planted at 1.5 times the model's prediction for
one ethnic group, on half a 20,000-referral synthetic test period, were a finding in 9 of
16 samples, and a possible miscalibration in 4 of the other 7; on the same referrals with
outcomes drawn from the model's own probabilities, 16 of 126 groups judged were possible
miscalibrations (a 90% interval excludes 0 by chance one time in ten).
Measured on clean synthetic extracts (20,000 referrals, seeds 7 and 8), a third of the
point-estimate flags of the test-period audits were possible ones; on extracts with the
planted disparities, every planted effect flagged before is still a finding.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from model.fairness_metrics import percentile_interval, reported, reported_pair
from model.governance import GovernanceSettings
from model.score_intervals import PROPORTIONS, at_a_bound, score_ratio_interval

RATIO_METRICS: Final = {"selection_rate": "selection_disparity",
                        "false_positive_rate": "fpr_disparity",
                        "true_positive_rate": "tpr_disparity"}
MISCALIBRATED, TOO_SMALL = "miscalibrated", "too_small"
FLAGS: Final = (*RATIO_METRICS.values(), MISCALIBRATED, TOO_SMALL)
# The level of the interval a possible miscalibration's gap must exclude 0 at.
POSSIBLE_GAP_LEVEL: Final = 0.90


def unbounded(rate: float | None, reference_rate: float | None) -> bool:
    """Whether a group's rate has no ratio to its reference's because only the
    reference's is 0 (a disparity beyond any tolerance)."""
    return (rate is not None and reference_rate is not None and np.isfinite(rate)
            and rate > 0 and reference_rate == 0)


# A calibration gap: its point estimate, its 95% interval, and its value in each resample.
Gap = tuple[float | None, tuple[float, float] | None, np.ndarray]


def beyond_side(interval: tuple[float, float] | None, tolerance: float) -> int:
    """+1 (-1) when the whole interval lies above (below) +/-`tolerance`, else 0."""
    if interval is None:
        return 0
    return 1 if interval[0] > tolerance else -1 if interval[1] < -tolerance else 0


def judge_calibration(own: Gap, beside: Gap | None, tolerance: float) -> tuple[bool, bool]:
    """Whether a group is flagged miscalibrated, and whether that is a finding.

    A finding: the 95% interval of its own gap and that of its gap beside the whole
    model's (`model.fairness_metrics.gap_beside_overall`; without one, the own gap alone)
    each lie wholly beyond `tolerance`, on the same side. Possible (`POSSIBLE_GAP_LEVEL`):
    both point estimates beyond the tolerance on the same side and both 90% intervals
    excluding 0 on that side, but not a finding."""
    gaps = (own,) if beside is None else (own, beside)
    sides = {beyond_side(interval, tolerance) for _, interval, _ in gaps}
    if sides in ({1}, {-1}):
        return True, True
    beyond = [point for point, _, _ in gaps if point is not None and abs(point) > tolerance]
    if len(beyond) < len(gaps) or len({point > 0 for point in beyond}) != 1:
        return False, False
    ends = (0.5 - POSSIBLE_GAP_LEVEL / 2, 0.5 + POSSIBLE_GAP_LEVEL / 2)
    resampled = np.column_stack([np.asarray(samples, dtype=np.float64)
                                 for _, _, samples in gaps])
    low, high = percentile_interval(resampled, ends)
    return bool((low > 0).all() if beyond[0] > 0 else (high < 0).all()), False


def group_flags(ratios: dict[str, float | None], n: int, governance: GovernanceSettings, *,
                without_ratio: frozenset[str] = frozenset(), miscalibrated: bool = False
                ) -> tuple[str, ...]:
    """The flags of a group from its disparity ratios (`without_ratio`: the metrics whose
    ratio is `unbounded`) and whether its calibration is flagged (`judge_calibration`)."""
    settings = governance.fairness
    if n < settings.min_group_size:
        return (TOO_SMALL,)
    flags = [flag for metric, flag in RATIO_METRICS.items()
             if metric in without_ratio or ((ratio := ratios[metric]) is not None
             and not settings.disparity_lower <= ratio <= settings.disparity_upper)]
    return (*flags, MISCALIBRATED) if miscalibrated else tuple(flags)


def includes_parity(interval: tuple[float, float] | None) -> bool:
    """Whether a ratio's interval includes 1, no disparity (no interval: no; a ratio
    judged on its point estimate alone, such as an unbounded one, stays a finding)."""
    return interval is not None and interval[0] <= 1 <= interval[1]


def beyond_tolerance(interval: tuple[float, float] | None, lower: float, upper: float) -> bool:
    """Whether a ratio's whole interval lies outside [lower, upper]."""
    return interval is not None and (interval[0] > upper or interval[1] < lower)


def possible_disparities(flags: tuple[str, ...],
                         intervals: dict[str, tuple[float, float] | None]) -> tuple[str, ...]:
    """The disparity flags whose ratio's interval includes 1: possible disparities, not
    findings (`intervals` keyed by `RATIO_METRICS`)."""
    return tuple(flag for metric, flag in RATIO_METRICS.items()
                 if flag in flags and includes_parity(intervals.get(metric)))


def possible_flags(flags: tuple[str, ...], intervals: dict[str, tuple[float, float] | None],
                   calibration_found: bool) -> tuple[str, ...]:
    """The possible disparities (`possible_disparities`), and the miscalibration flag
    when it is not a finding (`judge_calibration`): flags, not findings."""
    return possible_disparities(flags, intervals) + (
        (MISCALIBRATED,) if MISCALIBRATED in flags and not calibration_found else ())


def ratios_to_reference(resampled: dict[str, np.ndarray], table: pd.DataFrame, group: int,
                        reference: int, quantiles: list[float]
                        ) -> tuple[dict[str, float | None],
                                   dict[str, tuple[float, float] | None], frozenset[str]]:
    """Each disparity ratio of a group to the reference group, with its interval (the
    ratio in each resample, so both groups are resampled together), and the metrics
    whose ratio is `unbounded`.

    Where either rate is 0 or 1 every resample gives the same rate, and the bootstrap
    interval shrinks to a point: a group of 150 with 2 outcomes, neither selected, had
    a true positive rate ratio of 0 "with interval (0, 0)", a finding (Fisher's exact
    test against its reference: p = 0.17). There the interval is the score interval of
    the two rates' counts (`model.score_intervals`): 0 to 1.12 for that group.
    """
    ratios: dict[str, float | None] = {}
    intervals: dict[str, tuple[float, float] | None] = {}
    without: set[str] = set()
    for metric in RATIO_METRICS:
        base = float(table.iloc[reference][metric])
        if not np.isfinite(base) or base <= 0:
            ratios[metric] = intervals[metric] = None
            if unbounded(float(table.iloc[group][metric]), base):
                without.add(metric)
            continue
        own, base_row = table.iloc[group], table.iloc[reference]
        ratios[metric] = reported(float(own[metric]) / base)
        if at_a_bound(own, metric) or at_a_bound(base_row, metric):
            counted, out_of = PROPORTIONS[metric]
            interval = score_ratio_interval(
                float(own[counted]), float(own[out_of]), float(base_row[counted]),
                float(base_row[out_of]), level=quantiles[1] - quantiles[0])
            intervals[metric] = None if interval is None else reported_pair(np.array(interval))
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            paired = resampled[metric][:, [group]] / resampled[metric][:, [reference]]
        paired[~np.isfinite(paired)] = np.nan
        intervals[metric] = reported_pair(percentile_interval(paired, quantiles)[:, 0])
    return ratios, intervals, frozenset(without)


def tolerance_of(governance: GovernanceSettings, *, n_boot: int) -> dict[str, Any]:
    """The settings an audit was judged by, as `fairness.json` records them."""
    settings = governance.fairness
    return {"disparity_lower": settings.disparity_lower,
            "disparity_upper": settings.disparity_upper,
            "calibration": settings.calibration_tolerance,
            "min_group_size": settings.min_group_size,
            "suppression_threshold": settings.suppression_threshold,
            "interval_level": settings.interval_level, "bootstrap_resamples": n_boot,
            "seed": settings.seed, "selected_bands": list(governance.selected_bands())}
