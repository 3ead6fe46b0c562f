"""Information held by group: how many agency records the model saw about each group.

Recording bias (one group's records made more often at the same risk) and missing
information (one group's records more often absent) change what the model sees about a
group before they change its calibration, which shows them only through the outcomes,
and often faintly. This table shows them directly: for each protected characteristic,
each group's records per referral from each agency about the referred person, known on
the referral date (school attendance returns aside), as a ratio to the largest group,
with a bootstrap interval from the same resamples as the rest of the audit. The ratio
compares like with like: agencies' remits differ by age by design (schools hold no
records about adults), so it is age-standardised (indirectly, by `AGE_BANDS`): each
group's records over what the largest group's records per referral, age band for age
band, would give the group's referrals (in an age band the largest group has no referral
in, every referral's rate there). Without it, a group with more adults (disabled
subjects) had "0.51 times the records per referral" from education of one with fewer,
where among children alone it had 0.96 times. The standard is the largest group's own
rates, not every referral's: against every referral's, a group recorded exactly as the
largest group age for age read 2.04 times its records when a third group's records
followed another age pattern. A ratio whose whole interval lies outside the
disparity tolerance is marked as differing, when the group is large enough to judge and
both it and the largest group hold at least `suppression_threshold` records (a bootstrap
of fewer says little, and publication would suppress it). A group large enough to judge
that holds fewer records than that (none, when an agency shares nothing about a local
area or a community) is judged by a count instead: it differs when even the upper end
of the exact Poisson interval of its referrals holding a record is below the disparity
tolerance's share of those the largest group's share, age band for age band, leads one
to expect (`few_records`; the sentence states `expected_records`): the strongest sign of
missing information, which a bootstrap of a zero cannot show.

A difference is not, on its own, unfairness: need differs between groups too (schools
hold more records about disabled children). It is read beside the group's calibration:
more records with a predicted risk above the observed rate points to recording bias;
fewer records with a predicted risk below it points to missing information. Age band
and subject type are not compared here, only standardised for: agencies' remits differ
by age by design.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
import scipy  # scipy.stats loads on first use (`model.score_intervals` says why)

from data_contracts.vocab import AGENCIES
from model.fairness_groups import VALUES
from model.fairness_metrics import percentile_interval, reported, reported_pair
from model.fairness_multiplicity import corrected_recording, spread
from model.fairness_suppression import gives_away_small, is_small
from model.governance import FairnessSettings, GovernanceSettings
from pipelines.manifest_lookup import count_features

RECORDING: Final = "recording"
RECORDING_ATTRIBUTES: Final[tuple[str, ...]] = (
    "sex", "ethnicity_group", "disability", "deprivation_group")
# The audit frame's column of an agency's records per referral.
RECORDS_PREFIX: Final = "records_"
# What a row of the section discloses, withheld in publication when a count behind it
# (referrals, records, referrals holding a record or holding none) is under the
# suppression threshold.
DISCLOSING: Final = ("n", "records", "holders", "records_per_referral",
                     "records_per_referral_ci", "share_with_records", "ratio", "ratio_ci")
MEASURE: Final = ("records per referral from the agency about the referred person, known on "
                  "the referral date (school attendance returns aside)")
STANDARDISATION: Final = (
    "Each ratio is age-standardised: the group's records against what the largest group's "
    "rate, age band for age band, leads one to expect of the group's referrals, as "
    "agencies' remits differ by age (schools hold no records about adults). The records "
    "per referral shown are not standardised.")


def agency_records(features: pd.DataFrame) -> pd.DataFrame:
    """``referral_id`` and, per agency, the records about the referred person that the
    referral's features counted (the sum of the agency's all-time counts about the subject).

    The subject's own records, not the household's: the characteristics compared are the
    subject's, and a household's other members differ in sex, age and disability.
    """
    columns = {f"{RECORDS_PREFIX}{agency}": features[
        count_features(agency, window="ever", relation="subject")].sum(axis=1)
        .to_numpy(np.float64) for agency in AGENCIES}
    return pd.DataFrame({"referral_id": features["referral_id"].to_numpy(), **columns})


def poisson_upper(count: float, level: float) -> float:
    """The upper end of the exact (Garwood) two-sided interval of a Poisson count."""
    return float(scipy.stats.chi2.ppf((1 + level) / 2, 2 * (count + 1)) / 2)


def few_p_value(holders: float, expected_holders: float, settings: FairnessSettings
                ) -> float:
    """One-sided exact p-value of so few referrals holding a record (at most `holders`)
    were the group's share at the disparity tolerance's share of what the largest
    group's share, age band for age band, leads one to expect (the null hypothesis
    nearest a difference)."""
    return float(scipy.stats.poisson.cdf(holders, settings.disparity_lower * expected_holders))


def _differs(holders: float, expected_holders: float, interval: list[float] | None, *,
             few: bool, settings: FairnessSettings) -> bool:
    """Whether a group large enough to judge differs from the largest group: when it
    holds few records, by the exact interval of its referrals holding a record against
    what the largest group's share holding one, age band for age band, leads one to
    expect; else by its ratio's bootstrap interval.

    Holders, not records: records come in clusters (one person's many A&E attendances,
    a probation nominal's several records), so a count of records is no Poisson count,
    and judged as one, 10 records where about 20 were expected made "missing
    information" of chance in extracts with no difference planted; a referral holds a
    record or not.
    """
    if few:
        return bool(poisson_upper(holders, settings.interval_level) < (
            settings.disparity_lower * expected_holders))
    return interval is not None and (interval[1] < settings.disparity_lower
                                     or interval[0] > settings.disparity_upper)


def _indicators(values: np.ndarray, levels: list[str] | None = None) -> np.ndarray:
    """One float32 column per level (by default every age band) marking the referrals
    that have it."""
    levels = levels if levels is not None else list(VALUES["age_band"])
    return np.stack([values == level for level in levels], axis=1).astype(np.float32)


def _rates(records: np.ndarray, referrals: np.ndarray) -> np.ndarray:
    """Records per referral, 0 where there are no referrals."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(referrals > 0, records / np.where(referrals > 0, referrals, 1), 0.0)


def _log_spread(samples: np.ndarray) -> float | None:
    with np.errstate(divide="ignore", invalid="ignore"):
        return spread(np.log(samples))


def _interval(samples: np.ndarray, quantiles: list[float]) -> list[float] | None:
    pair = reported_pair(percentile_interval(samples, quantiles)[:, 0])
    return None if pair is None else list(pair)


def recording_section(attributes: pd.DataFrame, records: pd.DataFrame, counts: np.ndarray,
                      governance: GovernanceSettings) -> dict[str, Any]:
    """The `recording` part of `fairness.json`.

    Args:
        attributes: The audit's attributes per referral (`attribute_frame`).
        records: Per referral (same rows), a ``records_<agency>`` column per agency.
        counts: The audit's bootstrap resamples (resamples x referrals).
        governance: The tolerance, minimum group size and interval level.
    """
    settings = governance.fairness
    quantiles = [(1 - settings.interval_level) / 2, (1 + settings.interval_level) / 2]
    agencies = [a for a in AGENCIES if f"{RECORDS_PREFIX}{a}" in records
                and records[f"{RECORDS_PREFIX}{a}"].to_numpy().sum() > 0]
    bands = _indicators(attributes["age_band"].astype(str).to_numpy())
    resampled_bands = (counts @ bands).astype(np.float64)
    band_sizes = bands.sum(axis=0)
    rows: list[dict[str, Any]] = []
    for attribute in RECORDING_ATTRIBUTES:
        values = attributes[attribute].astype(str).to_numpy()
        groups = [v for v in VALUES[attribute] if (values == v).any()]
        design = _indicators(values, groups)
        n = design.sum(axis=0).astype(np.float64)
        reference = int(np.argmax(n))
        resampled_n = (counts @ design).astype(np.float64)
        # Referrals of each group in each age band: (referrals x groups*bands).
        joint = (design[:, :, None] * bands[:, None, :]).reshape(len(design), -1)
        resampled_joint = (counts @ joint).astype(np.float64).reshape(
            len(counts), len(groups), bands.shape[1])
        group_band_sizes = joint.sum(axis=0).reshape(len(groups), -1)
        for agency in agencies:
            x = records[f"{RECORDS_PREFIX}{agency}"].to_numpy(np.float64)
            totals = x @ design
            means = totals / n
            holders = (x > 0).astype(np.float64) @ design
            # What each group would hold at the largest group's rate in each age band
            # (every referral's, in a band the largest group has no referral in).
            in_reference = x * design[:, reference]
            standard = np.where(group_band_sizes[reference] > 0,
                                _rates(in_reference @ bands, group_band_sizes[reference]),
                                _rates(x @ bands, band_sizes))
            expected_at_standard = group_band_sizes @ standard
            # The same for the referrals holding a record (the judgement of few records).
            holding = (x > 0).astype(np.float64)
            expected_holders = group_band_sizes @ np.where(
                group_band_sizes[reference] > 0,
                _rates((holding * design[:, reference]) @ bands, group_band_sizes[reference]),
                _rates(holding @ bands, band_sizes))
            with np.errstate(divide="ignore", invalid="ignore"):
                resampled = (counts @ (design * x[:, None].astype(np.float32))) / resampled_n
                resampled_standard = np.where(
                    resampled_joint[:, reference] > 0,
                    _rates(counts @ (bands * in_reference[:, None].astype(np.float32)),
                           resampled_joint[:, reference]),
                    _rates(counts @ (bands * x[:, None].astype(np.float32)), resampled_bands))
                standardised = (resampled * resampled_n / np.einsum(
                    "bgs,bs->bg", resampled_joint, resampled_standard))
                ratio_samples = standardised / standardised[:, [reference]]
                observed_over_expected = totals / expected_at_standard
            ratio_samples[~np.isfinite(ratio_samples)] = np.nan
            for i, group in enumerate(groups):
                ratio = (observed_over_expected[i] / observed_over_expected[reference]
                         if totals[reference] > 0 else np.nan)
                interval = _interval(ratio_samples[:, [i]], quantiles)
                comparable = (n[i] >= settings.min_group_size and i != reference
                              and totals[reference] >= settings.suppression_threshold)
                # The largest group's rate, age band for age band, over this group's referrals.
                expected = float(expected_at_standard[i] * observed_over_expected[reference]
                                 ) if totals[reference] > 0 else 0.0
                few = bool(comparable and totals[i] < settings.suppression_threshold)
                differs = bool(comparable) and _differs(holders[i], expected_holders[i],
                                                        interval, few=few, settings=settings)
                rows.append({
                    "attribute": attribute, "group": group, "agency": agency, "n": int(n[i]),
                    "records": int(totals[i]), "holders": int(holders[i]),
                    "records_per_referral": reported(means[i]),
                    "records_per_referral_ci": _interval(resampled[:, [i]], quantiles),
                    "share_with_records": reported(holders[i] / n[i]),
                    "ratio": reported(ratio), "ratio_ci": interval,
                    "is_reference": i == reference,
                    "too_small": bool(n[i] < settings.min_group_size),
                    "few_records": few, "expected_records": round(float(expected), 1),
                    "differs": differs, "suppressed": False,
                    "log_se": _log_spread(ratio_samples[:, i]),
                    "few_p": few_p_value(holders[i], expected_holders[i], settings)
                    if few else None})
    rows = corrected_recording(rows, settings)
    return {"measure": MEASURE, "standardisation": STANDARDISATION,
            "attributes": list(RECORDING_ATTRIBUTES), "agencies": agencies,
            "differing": sum(r["differs"] for r in rows), "rows": rows}


def publish_recording(section: dict[str, Any], threshold: int,
                      sizes_withheld: frozenset[tuple[str, str]] = frozenset()) -> dict[str, Any]:
    """The section for publication: a row resting on fewer than `threshold` referrals,
    records, referrals holding a record or referrals holding none keeps only its names
    and marks (and its number
    of referrals, when that is not small: it gives no record count away), and a group
    compared with a largest group so withheld loses its ratio (it would give that
    group's figure back). A row's `expected_records` goes with its number of referrals
    (it is about that number times the largest group's rate, which is published: 9.7
    over 1.93 gave a withheld group of 5 back) and with a withheld largest group's
    figures (it scales with that group's records; its own row's is its records).

    Args:
        sizes_withheld: The (attribute, group) pairs whose number of referrals the
            audit's publication withholds (`withheld_counts`, which may withhold one
            that is not small, so that a small one cannot be worked out): their rows
            are withheld whole, as a count and a rate per referral give the size back.
    """
    def small(row: dict[str, Any]) -> bool:
        return (row["attribute"], row["group"]) in sizes_withheld or any(
            row.get(c) is not None and is_small(row[c], threshold)
            for c in ("n", "records")) or (
            row.get("holders") is not None and gives_away_small(row["holders"], row["n"],
                                                                 threshold))

    withheld_references = {(r["attribute"], r["agency"]) for r in section["rows"]
                           if r["is_reference"] and small(r)}
    rows = []
    for row in section["rows"]:
        if small(row):
            size = (not is_small(row["n"], threshold)
                    and (row["attribute"], row["group"]) not in sizes_withheld)
            row = {**row, **dict.fromkeys(DISCLOSING), **({"n": row["n"]} if size else {}),
                   "suppressed": True}
            # The largest group's expected records are its records.
            row |= {} if size and not row["is_reference"] else {"expected_records": None}
        if (row["attribute"], row["agency"]) in withheld_references and not row["is_reference"]:
            row = {**row, "ratio": None, "ratio_ci": None, "expected_records": None}
        rows.append(row)
    return {**section, "rows": rows}
