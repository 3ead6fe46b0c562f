"""The fairness audit: per-group metrics with intervals, disparity ratios and flags.

A pure function of a frame of labelled, rated referrals and the governance settings;
it reads no file and no store. `FairnessAudit.document()` (`model.fairness_results`) is
the `fairness.json` contract documented in docs/fairness.md; `publication=True` gives
the form meant for publication, with small counts suppressed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Final

import numpy as np
import pandas as pd

from model.fairness_flags import (
    RATIO_METRICS,
    group_flags,
    judge_calibration,
    possible_flags,
    ratios_to_reference,
    tolerance_of,
)
from model.fairness_groups import ATTRIBUTE_SETS, attribute_frame, stratum
from model.fairness_metrics import (
    COUNTS,
    METRICS,
    OVERALL,
    bootstrap_metrics,
    gap_beside_overall,
    overall_calibration,
    overall_resamples,
    percentile_interval,
    point_estimates,
    reported,
    reported_pair,
    resample_counts,
)
from model.fairness_multiplicity import CORRECTION, corrected, standard_errors
from model.fairness_recording import (
    RECORDING,
    RECORDS_PREFIX,
    publish_recording,
    recording_section,
)
from model.fairness_results import (
    FairnessAudit,
    GroupResult,
)
from model.fairness_suppression import withheld_counts
from model.families import families_of
from model.governance import GovernanceSettings
from model.run_artifacts import FAIRNESS_ARTIFACT as FAIRNESS_ARTIFACT
from model.run_artifacts import FAIRNESS_DIR as FAIRNESS_DIR
from model.run_artifacts import FAIRNESS_HTML as FAIRNESS_HTML
from model.run_artifacts import FAIRNESS_HTML_ARTIFACT as FAIRNESS_HTML_ARTIFACT
from model.run_artifacts import FAIRNESS_JSON as FAIRNESS_JSON
from model.score_intervals import bound_rate_interval

# Frame columns the audit needs beside the referral attributes.
LABEL, PROBABILITY, BAND = "label", "probability", "band"
SELECTED = "_selected"
GAP: Final = "calibration_gap"
# The part of an audit saying what it covered (`model.workflow.audited_referrals`).
AUDITED: Final = "audited"
# The counts each metric discloses (suppressed in publication when under the threshold).
DISCLOSES: Final[dict[str, tuple[str, ...]]] = {
    "observed_rate": ("positives", "negatives"), "mean_predicted": (),
    "calibration_gap": ("positives", "negatives"), "selection_rate": ("selected",),
    "true_positive_rate": ("true_positives", "positives"),
    "false_positive_rate": ("false_positives", "negatives"),
    "precision": ("true_positives", "selected"), "roc_auc": ("positives", "negatives"),
}


def reference_groups(keys: list[tuple[str, ...]], n: np.ndarray) -> list[int]:
    """Each group's reference: the largest group of its attribute, or for an intersection
    (ethnicity x sex) the largest sharing its other values (White female subjects for
    Black female subjects), so that a finding about ethnicity is not one about sex or
    age too (`REFERENCE_RULE`)."""
    largest: dict[tuple[str, ...], int] = {}
    for i, key in enumerate(keys):
        stratum = key[1:]
        if stratum not in largest or n[i] > n[largest[stratum]]:
            largest[stratum] = i
    return [largest[key[1:]] for key in keys]


def _attribute_set_results(data: pd.DataFrame, attributes: tuple[str, ...],
                           counts: np.ndarray, governance: GovernanceSettings,
                           overall: tuple[np.ndarray, np.ndarray]) -> list[GroupResult]:
    """Every group of one attribute or intersection, flagged against its reference
    (`reference_groups`); its calibration judged on its own gap and beside the whole
    model's (`overall`: the mean predicted and observed rate over every referral audited,
    each in every resample; `gap_beside_overall`)."""
    y, p, s = (data[c].to_numpy(np.float64) for c in (LABEL, PROBABILITY, SELECTED))
    table = point_estimates(y, p, s, data[list(attributes)])
    keys = [tuple(str(v) for v in key) for key in table.index]
    code_of = {key: i for i, key in enumerate(keys)}
    row_keys = zip(*(data[a].astype(str) for a in attributes), strict=True)
    codes = np.fromiter((code_of[key] for key in row_keys), dtype=np.int64, count=len(data))
    resampled = bootstrap_metrics(y, p, s, codes, n_groups=len(keys), counts=counts).metrics
    level = governance.fairness.interval_level
    quantiles = [(1 - level) / 2, (1 + level) / 2]
    references = reference_groups(keys, table["n"].to_numpy())
    # Each group's gap beside the whole model's, resample by resample: both are drawn from
    # the same resample, so its interval counts the group's share in the whole.
    beyond = gap_beside_overall(resampled["mean_predicted"], resampled["observed_rate"],
                                overall[0][:, None], overall[1][:, None])
    predicted_all, observed_all = (float(np.mean(data[c])) for c in (PROBABILITY, LABEL))
    tolerance = governance.fairness.calibration_tolerance
    results = []
    for i, key in enumerate(keys):
        row = table.iloc[i]
        metrics = {m: reported(row[m]) for m in METRICS}
        intervals = {m: bound_rate_interval(row, m, level)  # a rate of 0 or 1: Wilson's
                     or reported_pair(percentile_interval(resampled[m][:, [i]], quantiles)[:, 0])
                     for m in METRICS}
        reference = references[i]
        ratios, ratio_intervals, without = ratios_to_reference(resampled, table, i, reference,
                                                               quantiles)
        n = int(row["n"])
        beside = (reported(gap_beside_overall(row["mean_predicted"], row["observed_rate"],
                                              predicted_all, observed_all)),
                  reported_pair(percentile_interval(beyond[:, [i]], quantiles)[:, 0]),
                  beyond[:, i])
        flagged, found = judge_calibration(
            (metrics[GAP], intervals[GAP], resampled[GAP][:, i]), beside, tolerance)
        flags = group_flags(ratios, n, governance, without_ratio=without,
                            miscalibrated=flagged)
        results.append(GroupResult(
            attributes=dict(zip(attributes, key, strict=True)), n=n,
            counts={c: int(row[c]) for c in COUNTS if c != "n"}, metrics=metrics,
            intervals=intervals, ratios=ratios, ratio_intervals=ratio_intervals,
            is_reference=i == reference, flags=flags,
            standard_errors=standard_errors(resampled, i, reference, beside=beyond),
            possible=possible_flags(flags, ratio_intervals, found),
            gap_beyond_overall=beside[0], gap_beyond_overall_interval=beside[1]))
    return results


def audit_fairness(frame: pd.DataFrame, governance: GovernanceSettings, *, model_version: str,
                   n_boot: int | None = None, generated_at: dt.datetime | None = None
                   ) -> FairnessAudit:
    """Audit a model on labelled referrals.

    Args:
        frame: One row per labelled referral: ``label`` (0/1), ``probability`` (calibrated),
            ``band`` (the band shown, after escalation), and the referral columns of
            `model.fairness_groups.SOURCE_COLUMNS` (missing values are "not recorded");
            with ``records_<agency>`` columns (`model.fairness_recording.agency_records`),
            the audit also says what information the model saw about each group; a
            family's referrals are resampled together (`model.families.families_of`).
        governance: Bands and the `[fairness]` settings.
        model_version: The version audited, recorded in the result.
        n_boot: Bootstrap resamples (default: the settings' `bootstrap_resamples`).
        generated_at: When (default: now, UTC).
    """
    settings = governance.fairness
    n_boot = n_boot or settings.bootstrap_resamples
    data = attribute_frame(frame).assign(**{
        LABEL: frame[LABEL].to_numpy(dtype=np.float64),
        PROBABILITY: frame[PROBABILITY].to_numpy(dtype=np.float64),
        SELECTED: frame[BAND].isin(governance.selected_bands()).to_numpy(np.float64)})
    data = data.reset_index(drop=True)
    # A family's referrals share record histories (and often outcomes), so they are one
    # draw of the bootstrap, not several: drawn apart, a few people referred many times
    # made tight intervals, and clean extracts showed differences by chance.
    counts = resample_counts(len(data), n_boot=n_boot, seed=settings.seed,
                             clusters=families_of(frame))
    # The whole model's gap is one finding of its own; each group's is judged beside it.
    everyone = overall_resamples(data[LABEL].to_numpy(np.float64),
                                 data[PROBABILITY].to_numpy(np.float64), counts)
    overall = overall_calibration(data[LABEL], data[PROBABILITY],
                                  resampled=everyone[0] - everyone[1],
                                  level=settings.interval_level,
                                  tolerance=settings.calibration_tolerance)
    groups, correction = corrected([g for attributes in ATTRIBUTE_SETS for g in
                                    _attribute_set_results(data, attributes, counts,
                                                           governance, everyone)],
                                   settings)
    records = frame[[c for c in frame.columns if str(c).startswith(RECORDS_PREFIX)]]
    records = records.reset_index(drop=True)
    extra = {OVERALL: overall, CORRECTION: correction} | (
        {RECORDING: recording_section(data, records, counts, governance)}
        if len(records.columns) else {})
    when = (generated_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return FairnessAudit(
        model_version=str(model_version),
        generated_at=when.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        n_labelled=len(data), tolerance=tolerance_of(governance, n_boot=n_boot),
        attributes=tuple("*".join(a) for a in ATTRIBUTE_SETS), groups=tuple(groups),
        extra=extra)


def _disclosed(withheld: frozenset[str]) -> set[str]:
    """The metrics a group's withheld counts disclose (every one without its size)."""
    if "n" in withheld:
        return set(METRICS)
    return {m for m, counts in DISCLOSES.items() if withheld & set(counts)}


def for_publication(audit: FairnessAudit) -> FairnessAudit:
    """The audit with counts under the suppression threshold, the counts that would give
    them away (`withheld_counts`), and the figures they disclose, removed. A ratio is
    withheld whenever either of its two rates is, the group's or its reference's: beside
    the one rate published it gives the other back."""
    threshold = int(audit.tolerance["suppression_threshold"])
    withheld_by_group = withheld_counts(audit.groups, threshold)
    hidden_by_group = [_disclosed(withheld) for withheld in withheld_by_group]
    of_reference = {stratum(g.attributes): hidden for g, hidden
                    in zip(audit.groups, hidden_by_group, strict=True) if g.is_reference}
    groups = []
    for group, withheld, hidden in zip(audit.groups, withheld_by_group, hidden_by_group,
                                       strict=True):
        # No reference found (a report edited by hand): no ratio is known to be safe.
        rates = hidden | of_reference.get(stratum(group.attributes), set(METRICS))
        ratio_hidden = {m for m in RATIO_METRICS if m in rates}
        groups.append(replace(
            group, n=None if "n" in withheld else group.n,
            counts={c: None if c in withheld else v for c, v in group.counts.items()},
            metrics={m: None if m in hidden else v for m, v in group.metrics.items()},
            intervals={m: None if m in hidden else v for m, v in group.intervals.items()},
            ratios={m: None if m in ratio_hidden else v for m, v in group.ratios.items()},
            ratio_intervals={m: None if m in ratio_hidden else v
                             for m, v in group.ratio_intervals.items()},
            suppressed=tuple(m for m in METRICS if m in hidden),
            gap_beyond_overall=None if GAP in hidden else group.gap_beyond_overall,
            gap_beyond_overall_interval=(None if GAP in hidden
                                         else group.gap_beyond_overall_interval),
            adjusted_p={} if hidden or ratio_hidden else group.adjusted_p))
    extra = dict(audit.extra)
    if RECORDING in extra:
        sizes = frozenset(next(iter(g.attributes.items())) for g in groups
                          if len(g.attributes) == 1 and g.n is None)
        extra[RECORDING] = publish_recording(extra[RECORDING], threshold, sizes)
    return replace(audit, groups=tuple(groups), publication=True, extra=extra)
