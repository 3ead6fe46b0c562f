"""Correction for many comparisons: a finding needs evidence that holds across them all.

The audit compares about 98 groups and intersections on three ratios and a calibration
gap, and the recording part some 20 groups on each agency. Judged one by one at 95%, an
extract with nothing planted gave 20 groups a finding on an independent probe's control,
12 of them ethnicity intersections (e.g. "Subjects of other ethnicity aged 5 to 9 ...
+7.8 points, 95% interval +3.6 to +12.1"), and recording rows such as "Probation:
subjects of mixed ethnicity had 0.43 times the records ... (0.23 to 0.69)".

So every comparison of the groups part (each judged group's calibration gap and its
three ratios, about 250) is one family, corrected by the Benjamini-Hochberg false
discovery rate (`scipy.stats.false_discovery_control`, the method of statsmodels'
`multipletests(method="fdr_bh")`) at 1 - `interval_level` (5%), and the recording rows
another: a flag stays a finding only when its adjusted p-value is at most 0.05. The false
discovery rate bounds the expected share of chance findings among the findings: with no
real difference anywhere, the chance of any finding at all is at most 5%; where real
differences exist (need differs by deprivation and age), a few chance findings among the
other groups remain possible (an independent probe's control: 5 among 13). Per flag instead
of pooled, 6 of 16 synthetic extracts with nothing planted kept a chance finding.

A group's p-value is the normal approximation on its bootstrap standard error (the
standard deviation over the resamples; of the log ratio for a ratio), which the
percentile interval's ends, each read off two or three resamples, estimate too noisily:
read off them, a tenth of chance differences looked a third surer than they were. Where
the audit used a score interval (a rate of 0 or 1) or the standard error is undefined,
a ratio's p-value is Fisher's exact test of the two groups' counts. The tests: a ratio
against 1 (the audit's own reading of a disparity); a calibration gap against its
tolerance (the gap's whole interval beyond it), the group's own gap and its gap beside
the whole model's each, the larger p-value judged (both must hold); a recording ratio
against the disparity tolerance. The intervals shown stay each group's own 95% intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import scipy  # scipy.stats loads on first use (`model.score_intervals` says why)

from model.fairness_flags import MISCALIBRATED, RATIO_METRICS, TOO_SMALL
from model.fairness_groups import stratum
from model.score_intervals import PROPORTIONS, at_a_bound

if TYPE_CHECKING:
    from model.fairness_results import FairnessAudit, GroupResult
    from model.governance import FairnessSettings

METHOD: Final = "Benjamini-Hochberg false discovery rate"
# `fairness.json`'s record of the correction (absent from audits before 7 December).
CORRECTION: Final = "correction"
GAP: Final = "calibration_gap"
# The standard error of a group's gap beside the whole model's.
BESIDE: Final = "calibration_gap_beside"


def spread(samples: np.ndarray) -> float | None:
    """The standard deviation of the defined resamples (None: too few, or no spread)."""
    defined = samples[np.isfinite(samples)]
    if len(defined) < 0.9 * len(samples) or len(defined) < 20:
        return None
    spread = float(np.std(defined, ddof=1))
    return spread if spread > 0 else None


def standard_errors(resampled: dict[str, np.ndarray], group: int, reference: int, *,
                    beside: np.ndarray | None = None) -> dict[str, float | None]:
    """A group's bootstrap standard errors: of its calibration gap, of its gap beside the
    whole model's (`beside`: resamples x groups), and of the log of each ratio to its
    reference (`resampled`: metric -> resamples x groups)."""
    out = {GAP: spread(resampled[GAP][:, group])}
    if beside is not None:
        out[BESIDE] = spread(beside[:, group])
    for metric in RATIO_METRICS:
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(resampled[metric][:, group] / resampled[metric][:, reference])
        out[metric] = spread(logs)
    return out


def ratio_p_value(ratio: float | None, se: float | None) -> float | None:
    """Two-sided p-value of a ratio against 1 from the standard error of its log."""
    if ratio is None or ratio <= 0 or not se:
        return None
    return float(2 * scipy.stats.norm.sf(abs(math.log(ratio)) / se))


def beyond_p_value(value: float | None, se: float | None, lower: float, upper: float
                   ) -> float | None:
    """One-sided p-value that `value` lies beyond [lower, upper] (its nearer bound)."""
    if value is None or not se:
        return None
    return float(scipy.stats.norm.sf(max(lower - value, value - upper) / se))


def _fisher(group: GroupResult, reference: GroupResult, metric: str) -> float | None:
    counted, out_of = PROPORTIONS[metric]
    table = []
    for g in (group, reference):
        counts = {"n": g.n, **g.counts}
        x, n = counts.get(counted), counts.get(out_of)
        if x is None or n is None or n <= 0:
            return None
        table.append([int(x), int(n) - int(x)])
    return float(scipy.stats.fisher_exact(table).pvalue)


def _p_values(group: GroupResult, reference: GroupResult | None,
              settings: FairnessSettings) -> dict[str, float | None]:
    """Each flag's unadjusted p-value for one group judged."""
    tolerance = settings.calibration_tolerance
    ses = group.standard_errors
    # A finding needs both its own gap and its gap beside the whole model's beyond the
    # tolerance: the p-value of both at once is the larger of the two (an
    # intersection-union test); an audit without the second judges the first alone.
    judged = [(group.metrics[GAP], ses.get(GAP))] + (
        [] if group.gap_beyond_overall is None
        else [(group.gap_beyond_overall, ses.get(BESIDE))])
    each = [beyond_p_value(gap, se, -tolerance, tolerance) for gap, se in judged]
    out = {MISCALIBRATED: None if None in each else max(p for p in each if p is not None)}
    for metric, flag in RATIO_METRICS.items():
        if reference is None or group.is_reference:
            continue
        bound = any(at_a_bound({k: float(v or 0) for k, v in ({"n": g.n} | g.counts).items()},
                               metric) for g in (group, reference))
        p = None if bound else ratio_p_value(group.ratios[metric], ses.get(metric))
        out[flag] = p if p is not None else _fisher(group, reference, metric)
    return out


def adjusted(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values of one family (None stays None)."""
    known = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    if known:
        values = scipy.stats.false_discovery_control(
            np.array([p_values[i] for i in known]), method="bh")
        for i, value in zip(known, values, strict=True):
            out[i] = round(float(value), 6)
    return out


def corrected(groups: Sequence[GroupResult], settings: FairnessSettings
              ) -> tuple[list[GroupResult], dict[str, Any]]:
    """The groups with each flag's adjusted p-value (`GroupResult.adjusted_p`), a flag
    whose adjusted p-value exceeds 1 - `interval_level` moved to the group's `possible`
    ones (and `after_correction`), and the correction's record (`CORRECTION`)."""
    references = {stratum(g.attributes): g for g in groups if g.is_reference}
    tests = [(i, flag, p) for i, g in enumerate(groups) if TOO_SMALL not in g.flags
             for flag, p in _p_values(g, references.get(stratum(g.attributes)),
                                      settings).items() if p is not None]
    by_group: list[dict[str, float]] = [{} for _ in groups]
    for (i, flag, _), p in zip(tests, adjusted([p for _, _, p in tests]), strict=True):
        by_group[i][flag] = float(p or 0.0)
    alpha = 1 - settings.interval_level
    out = []
    for group, ps in zip(groups, by_group, strict=True):
        chance = tuple(f for f in group.flags if f not in group.possible and f in ps
                       and ps[f] > alpha)
        out.append(replace(group, adjusted_p=ps, possible=(*group.possible, *chance),
                           after_correction=chance))
    return out, {"method": METHOD, "level": round(alpha, 6), "comparisons": len(tests)}


def corrected_recording(rows: list[dict[str, Any]], settings: FairnessSettings
                        ) -> list[dict[str, Any]]:
    """The recording rows (each with its ratio's log standard error, `log_se`, and its
    count test's p-value, `few_p`, taken out) with `adjusted_p`: a row differs only when
    its adjusted p-value is at most 1 - `interval_level`, one judged by its bootstrap
    interval and one judged by its count (`few_records`, its exact one-sided p-value)
    alike one family: judged alone, the count test made "missing information" of chance
    in a small group somewhere among the many compared."""
    lower, upper = math.log(settings.disparity_lower), math.log(settings.disparity_upper)
    out = [{k: v for k, v in r.items() if k not in ("log_se", "few_p")}
           | {"adjusted_p": None} for r in rows]
    judged = [i for i, r in enumerate(rows) if not (r["is_reference"] or r["too_small"])
              and (r.get("few_p") is not None if r["few_records"]
                   else bool(r["ratio"] and r.get("log_se")))]
    raw = [rows[i]["few_p"] if rows[i]["few_records"] else beyond_p_value(
        math.log(rows[i]["ratio"]), rows[i]["log_se"], lower, upper) for i in judged]
    alpha = 1 - settings.interval_level
    for i, p in zip(judged, adjusted(raw), strict=True):
        out[i]["adjusted_p"] = p
        out[i]["differs"] = bool(out[i]["differs"] and (p is None or p <= alpha))
    return out


def correction_words(audit: FairnessAudit, group: GroupResult, flag: str) -> str:
    """What the correction for many comparisons says of a flag (nothing for an audit
    written before it)."""
    record = audit.extra.get(CORRECTION)
    if not record:
        return ""
    n = record["comparisons"]
    if flag in group.after_correction:
        return (f" Not a finding after correction for the audit's {n} comparisons "
                f"({record['method']}): with this many compared, a difference this size "
                "is expected by chance somewhere.")
    p = group.adjusted_p.get(flag)
    return "" if p is None else (
        f" A finding after correction for the audit's {n} comparisons (adjusted p "
        f"{p_text(p)}); the interval shown is the group's own 95% interval.")


def p_text(p: float) -> str:
    """A p-value as said: "= 0.034", or "< 0.0001" below it (never "= 0")."""
    return "< 0.0001" if p < 0.0001 else f"= {p:.2g}"
