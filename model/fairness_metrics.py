"""Per-group metrics of a fairness audit: point estimates and bootstrap intervals.

Point estimates come from fairlearn's `MetricFrame` (one per attribute or
intersection). Its own bootstrap (`n_boot`) re-runs every metric of every group on
each resample through pandas: over a second of CPU a resample for ethnicity by age
band with the audit's eight metrics on 30,000 referrals, about 38 CPU minutes for the
nine attribute sets at 200 resamples (`bench/bench_fairness.py`). So the intervals come
from the same percentile bootstrap done at once for all groups: each resample is a
vector of counts (how often each referral was drawn, as
`DataFrame.sample(frac=1, replace=True)` draws them; with the referrals' families known,
`model.families`, a family's referrals are drawn together), and every metric is a ratio
of count-weighted sums, computed for every resample and group with one matrix product;
ROC AUC is the weighted Mann-Whitney statistic. The intervals are the `ci_quantiles` of
these resamples, as fairlearn's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

METRICS: Final[tuple[str, ...]] = (
    "observed_rate", "mean_predicted", "calibration_gap", "selection_rate",
    "true_positive_rate", "false_positive_rate", "precision", "roc_auc")
COUNTS: Final[tuple[str, ...]] = (
    "n", "positives", "negatives", "selected", "true_positives", "false_positives")


def _ratio(numerator: np.ndarray | float, denominator: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(numerator, denominator)
    return np.where(np.asarray(denominator) > 0, out, np.nan)


def group_summary(y: np.ndarray, selected_and_p: np.ndarray) -> np.ndarray:
    """Every metric (`METRICS`) then every count (`COUNTS`) of one group.

    Args:
        y: Outcomes (0/1).
        selected_and_p: Two columns: selected (0/1) and the calibrated probability.
    """
    y = np.asarray(y, dtype=np.float64)
    s, p = selected_and_p[:, 0], selected_and_p[:, 1]
    n, pos, sel = len(y), y.sum(), s.sum()
    tp, fp = (s * y).sum(), (s * (1 - y)).sum()
    metrics = [pos / n, p.mean(), p.mean() - pos / n, sel / n, _ratio(tp, pos),
               _ratio(fp, n - pos), _ratio(tp, sel), weighted_auc(y, p, np.ones((1, n)))[0]]
    return np.array([*metrics, n, pos, n - pos, sel, tp, fp], dtype=np.float64)


def point_estimates(y: np.ndarray, probability: np.ndarray, selected: np.ndarray,
                    groups: pd.DataFrame) -> pd.DataFrame:
    """Every metric and count per group of the columns of `groups` (their intersection).

    fairlearn's `MetricFrame` splits the referrals into groups; one call per group
    computes every metric (fairlearn converts each column of each group row by row, so
    one call with two columns instead of one call per metric is many times faster).

    Returns:
        One row per group present (index: the group's values), columns `METRICS` then
        `COUNTS`.
    """
    from fairlearn.metrics import MetricFrame  # heavy; imported when an audit runs

    frame = MetricFrame(
        metrics=group_summary, y_true=np.asarray(y, dtype=np.float64),
        y_pred=np.column_stack([selected, probability]).astype(np.float64),
        sensitive_features=groups)
    by_group = frame.by_group.dropna()
    table = pd.DataFrame(np.vstack(by_group.to_numpy()), index=by_group.index,
                         columns=[*METRICS, *COUNTS])
    if not isinstance(table.index, pd.MultiIndex):
        table.index = pd.MultiIndex.from_arrays([table.index], names=list(groups.columns))
    return table[table["n"] > 0]


def resample_counts(n: int, *, n_boot: int, seed: int,
                    clusters: np.ndarray | None = None) -> np.ndarray:
    """How often each of `n` rows is drawn in each of `n_boot` resamples (n_boot x n).

    With `clusters` (a code 0..k-1 per row, each used: `model.families.family_groups`),
    whole clusters are drawn, so that the rows of one cluster are drawn together, as often
    as it is.
    """
    codes = np.arange(n) if clusters is None else np.asarray(clusters, dtype=np.int64)
    k = int(codes.max()) + 1 if n else 0
    rng = np.random.default_rng(seed)
    counts = np.empty((n_boot, n), dtype=np.float32)
    for b in range(n_boot):
        counts[b] = np.bincount(rng.integers(0, k, size=k), minlength=k)[codes]
    return counts


def weighted_auc(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC for each row of `weights` (resamples x rows); NaN without both classes.

    Ties count one half, as in `sklearn.metrics.roc_auc_score`.
    """
    order = np.argsort(p, kind="stable")
    p_sorted, y_sorted = np.asarray(p)[order], np.asarray(y)[order].astype(np.float64)
    w = np.asarray(weights, dtype=np.float64)[:, order]
    if not len(p_sorted):
        return np.full(len(w), np.nan)
    starts = np.flatnonzero(np.r_[True, p_sorted[1:] != p_sorted[:-1]])
    positives = np.add.reduceat(w * y_sorted, starts, axis=1)
    negatives = np.add.reduceat(w * (1 - y_sorted), starts, axis=1)
    below = np.cumsum(negatives, axis=1) - negatives
    wins = (positives * (below + 0.5 * negatives)).sum(axis=1)
    return _ratio(wins, positives.sum(axis=1) * negatives.sum(axis=1))


@dataclass(frozen=True)
class Resampled:
    """Each metric of each group in each resample (arrays resamples x groups)."""

    metrics: dict[str, np.ndarray]


def bootstrap_metrics(y: np.ndarray, probability: np.ndarray, selected: np.ndarray,
                      codes: np.ndarray, *, n_groups: int, counts: np.ndarray) -> Resampled:
    """Every metric of every group (`codes`: 0..n_groups-1 per row) in every resample."""
    y = np.asarray(y, dtype=np.float32)
    p = np.asarray(probability, dtype=np.float32)
    s = np.asarray(selected, dtype=np.float32)
    one_hot = np.zeros((len(codes), n_groups), dtype=np.float32)
    one_hot[np.arange(len(codes)), codes] = 1.0
    quantities = np.stack([np.ones_like(y), y, p, s, s * y, s * (1 - y)], axis=1)
    design = (one_hot[:, :, None] * quantities[:, None, :]).reshape(len(codes), -1)
    sums = (counts @ design).astype(np.float64).reshape(len(counts), n_groups, -1)
    n, pos, pred, sel, tp, fp = (sums[:, :, i] for i in range(6))
    metrics = {
        "observed_rate": _ratio(pos, n), "mean_predicted": _ratio(pred, n),
        "calibration_gap": _ratio(pred - pos, n), "selection_rate": _ratio(sel, n),
        "true_positive_rate": _ratio(tp, pos), "false_positive_rate": _ratio(fp, n - pos),
        "precision": _ratio(tp, sel),
    }
    auc = np.full(n.shape, np.nan)
    for group in range(n_groups):
        rows = np.flatnonzero(codes == group)
        auc[:, group] = weighted_auc(y[rows], p[rows], counts[:, rows])
    metrics["roc_auc"] = auc
    return Resampled(metrics)


def percentile_interval(samples: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """(len(quantiles) x groups) quantiles over resamples, ignoring undefined resamples."""
    defined = ~np.isnan(samples)
    out = np.full((len(quantiles), samples.shape[1]), np.nan)
    has = defined.any(axis=0)
    if has.any():
        out[:, has] = np.nanquantile(samples[:, has], quantiles, axis=0)
    return out


def reported(value: float | None) -> float | None:
    """A figure as the audit's JSON reports it: rounded to 6 places, None when undefined."""
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def reported_pair(values: np.ndarray) -> tuple[float, float] | None:
    """An interval's two ends as reported; None when either is undefined."""
    low, high = (reported(v) for v in values)
    return None if low is None or high is None else (low, high)


# The calibration of every referral audited, beside which each group's gap is read: part of
# a group's gap may be the model's miscalibration over all referrals, not the group's own.
OVERALL: Final = "overall_calibration"


def overall_resamples(y: np.ndarray, probability: np.ndarray, counts: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The mean predicted and the observed rate over every referral in each resample
    (`counts`: resamples x rows), drawn with the groups' own, so a group's gap beside the
    whole model's is read resample by resample."""
    drawn = counts.astype(np.float64)
    n = drawn.sum(axis=1)
    return (_ratio(drawn @ np.asarray(probability, dtype=np.float64), n),
            _ratio(drawn @ np.asarray(y, dtype=np.float64), n))


def gap_beside_overall(predicted: Any, observed: Any, predicted_all: Any,
                       observed_all: Any) -> Any:
    """A group's calibration gap beside the whole model's miscalibration, scaled to the
    group's risk: its predictions recalibrated by the overall observed/predicted ratio,
    less its observed rate (predicted - observed, as `calibration_gap`). The model's
    error grows with the risk (a model predicting 11% where 13.8% happen predicts 4.6%
    where 5.8% do), so the overall gap subtracted as points made a low-risk group stand
    out on an extract with nothing planted. Arrays broadcast (resamples x groups)."""
    scale = _ratio(observed_all, predicted_all)
    return predicted * scale - observed


def overall_calibration(label: pd.Series, probability: pd.Series, *,
                        resampled: np.ndarray | None = None, level: float = 0.95,
                        tolerance: float | None = None) -> dict[str, Any]:
    """Mean predicted, observed rate and their gap over all the referrals audited; with
    `resampled` (the gap in each resample, from `overall_resamples`), its percentile
    interval and, with `tolerance`, whether the whole model is miscalibrated (the interval
    wholly beyond it): a finding of its own, said once, not one per group."""
    predicted, observed = float(probability.mean()), float(label.mean())
    out: dict[str, Any] = {"n": len(label), "mean_predicted": predicted,
                           "observed_rate": observed, "calibration_gap": predicted - observed}
    if resampled is not None:
        ends = percentile_interval(resampled[:, None], [(1 - level) / 2, (1 + level) / 2])
        interval = reported_pair(ends[:, 0])
        out["calibration_gap_ci"] = None if interval is None else list(interval)
        if tolerance is not None:
            out["miscalibrated"] = interval is not None and (
                interval[0] > tolerance or interval[1] < -tolerance)
    return out
