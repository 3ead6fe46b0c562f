"""What monitoring compares against, stored with the model version at training.

The reference population is the extract's latest referrals: those from the start of
the test period to the extract date (labelled or not), the population most like the
one the model will meet next. For it the reference keeps each model feature's bins,
the score distribution, each agency's coverage overall and by group, and the test
period's outcome figures. It is plain JSON inside the model version's metadata, so
`safeguard monitor` needs no access to the training extract.

One rule places both the reference period and the period `safeguard monitor` compares
with it (`latest_period`): a period ends on its extract's date, so an unchanged extract
is monitored over exactly the reference population.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES
from model.drift import Bins, reference_bins
from model.fairness_groups import NOT_RECORDED, attribute_frame
from model.families import design_effect
from pipelines.feature_spec import coverage_feature_name
from pipelines.manifest_lookup import count_features

METADATA_KEY: Final = "monitoring_reference"
# The characteristics coverage is broken down by (columns of the feature table).
COVERAGE_GROUPS: Final[tuple[str, ...]] = ("ethnicity_group", "sex", "disability")
SCORES: Final = tuple(range(1, 21))


@dataclass(frozen=True)
class Population:
    """Referrals of one period: their feature rows and what the model made of them."""

    features: pd.DataFrame
    score: np.ndarray
    start: dt.date
    end: dt.date
    # A family code per referral (`model.families.families_of`); None: each its own.
    families: np.ndarray | None = None


def latest_period(extract_date: dt.date, *, start: dt.date) -> tuple[dt.date, dt.date]:
    """The rule of every monitoring period: from `start` to the extract's date, inclusive.

    The end is the extract's date, not its latest referral: the reference period was
    stored that way, and a referral feed that stopped early shows as fewer referrals
    in the period rather than being hidden by a period slid back to its last one.
    """
    return start, extract_date


@dataclass(frozen=True)
class MonitoredPeriod:
    """The dates monitored, and in words why these."""

    start: dt.date
    end: dt.date
    rule: str


def monitored_period(reference: dict[str, Any], *, extract_date: dt.date,
                     referral_dates: pd.Series, min_referrals: int,
                     since: dt.date | None = None) -> MonitoredPeriod:
    """The period of an extract compared with `reference`, ending on the extract's date.

    From `since` when given. Else as many days as the reference period, but starting no
    earlier than the day after the training extract's date (where the reference period
    ends) when at least `min_referrals` referrals are dated from then: a window reaching
    back into the reference period would dilute any change since training with the
    very referrals it is compared with. With fewer, the whole span is kept, and `rule`
    says by how many days it overlaps the reference period.
    """
    if since is not None:
        return MonitoredPeriod(*latest_period(extract_date, start=since), f"from {since} (--since)")
    period = reference["period"]
    trained = dt.date.fromisoformat(period["to"])
    span = trained - dt.date.fromisoformat(period["from"])
    spanned = extract_date - span
    if spanned > trained:
        return MonitoredPeriod(spanned, extract_date, f"the latest {span.days + 1:,} days, as "
                               "many as the reference period")
    dates = pd.to_datetime(referral_dates).dt.date
    after = int(((dates > trained) & (dates <= extract_date)).sum())
    if after >= min_referrals:
        return MonitoredPeriod(trained + dt.timedelta(days=1), extract_date,
                               f"from the day after the training extract's date ({trained}): "
                               f"the referrals the model's reference period does not hold")
    overlap = (trained - spanned).days + 1
    return MonitoredPeriod(spanned, extract_date, (
        f"as many days as the reference period, overlapping it by {overlap:,} days: only "
        f"{after:,} referrals are dated after the training extract's date ({trained}), "
        f"fewer than {min_referrals:,}; a change since training is diluted (use --since)"))


def window(features: pd.DataFrame, *, start: dt.date, end: dt.date | None = None) -> pd.DataFrame:
    """The feature rows of referrals dated from `start` to `end` (inclusive)."""
    dates = pd.to_datetime(features["referral_date"]).dt.date
    keep = dates >= start
    if end is not None:
        keep &= dates <= end
    return features.loc[keep.to_numpy()]


def score_shares(score: np.ndarray) -> list[float]:
    """Share of referrals at each score 1..20."""
    counts = np.bincount(np.asarray(score, dtype=np.int64), minlength=21)[1:21]
    return (counts / max(int(counts.sum()), 1)).tolist()


def group_labels(features: pd.DataFrame, attribute: str) -> np.ndarray:
    """Each referral's group for a characteristic, named as the fairness audit names it
    (`model.fairness_groups.attribute_frame`: "not_recorded" when missing)."""
    return attribute_frame(features)[attribute].to_numpy(dtype=object)


# Coverage by group stored with a version before 7 December named a missing value so.
_STORED_NOT_RECORDED: Final = "not recorded"


def stored_coverage(reference: dict[str, Any]) -> dict[str, Any]:
    """The reference's coverage, its groups named as `group_labels` names them now."""
    stored = reference["coverage"]
    by_group = {attribute: {NOT_RECORDED if value == _STORED_NOT_RECORDED else value: entry
                            for value, entry in groups.items()}
                for attribute, groups in stored.get("by_group", {}).items()}
    return {**stored, "by_group": by_group}


def _held(features: pd.DataFrame) -> dict[str, np.ndarray]:
    return {agency: features[coverage_feature_name(agency)].to_numpy(dtype=np.float64) > 0
            for agency in AGENCIES}


def held_shares(held: dict[str, np.ndarray]) -> dict[str, float]:
    """Per agency, the share of referrals its flags mark (0 of none)."""
    return {agency: float(flags.mean()) if len(flags) else 0.0
            for agency, flags in held.items()}


def overall_coverage(features: pd.DataFrame) -> dict[str, float]:
    """Per agency, the share of referrals for which it held any record."""
    return held_shares(_held(features))


def effective_referrals(features: pd.DataFrame, families: np.ndarray | None) -> float:
    """How many independent referrals `features`' rows are worth where families repeat:
    their number over the largest design effect (`model.families.design_effect`) of the
    agencies' coverage flags. A person's referrals share one record history, and a
    household's share its records, so a family referred ten times tells little more of
    an agency's coverage than once. Their number without `families`."""
    if families is None or not len(features):
        return float(len(features))
    effect = max(design_effect(flags, families) for flags in _held(features).values())
    return len(features) / effect


def missing_design_effects(features: pd.DataFrame, families: np.ndarray | None,
                           in_group: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per agency, the design effect of "no record from the agency" among a group's
    referrals (`in_group`) and among the others' (1 and 1 without `families`)."""
    if families is None:
        return {agency: (1.0, 1.0) for agency in AGENCIES}
    return {agency: (design_effect(~flags[in_group], families[in_group]),
                     design_effect(~flags[~in_group], families[~in_group]))
            for agency, flags in _held(features).items()}


def coverage(features: pd.DataFrame) -> dict[str, Any]:
    """Per agency, the share of referrals for which it held any record, overall and by group.

    By group, each entry is ``{"n": referrals, "shares": {agency: share}}``.
    """
    held = _held(features)
    overall = overall_coverage(features)
    by_group: dict[str, dict[str, Any]] = {}
    for attribute in COVERAGE_GROUPS:
        labels = group_labels(features, attribute)
        by_group[attribute] = {
            str(value): {"n": int((labels == value).sum()),
                         "shares": {a: float(flags[labels == value].mean())
                                    for a, flags in held.items()}}
            for value in sorted(set(labels.tolist()))}
    return {"n": len(features), "overall": overall, "by_group": by_group,
            "recent": recent_coverage(features)}


# A feed that stops leaves older records held for years, so "any record" hardly moves;
# records dated in the last window before the referral fall within weeks.
RECENT_WINDOW: Final = "90d"


def recent_held(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per agency, whether each referral had a record about the subject or household
    dated in the `RECENT_WINDOW` before the referral (known by the referral date)."""
    held = {}
    for agency in AGENCIES:
        names = [n for n in count_features(agency, window=RECENT_WINDOW) if n in features]
        held[agency] = (features[names].to_numpy(dtype=np.float64).sum(axis=1) > 0 if names
                        else np.zeros(len(features), dtype=bool))
    return held


def recent_coverage(features: pd.DataFrame) -> dict[str, float]:
    """Per agency, the share of referrals with a record in the `RECENT_WINDOW` before it
    (`recent_held`)."""
    return held_shares(recent_held(features))


def build_reference(population: Population, *, model_features: Sequence[str],
                    outcomes: dict[str, Any]) -> dict[str, Any]:
    """The monitoring reference of a model version (JSON-ready)."""
    features = population.features
    bins = {name: reference_bins(features[name].to_numpy(dtype=np.float64)).to_json()
            for name in model_features}
    return {
        "period": {"from": population.start.isoformat(), "to": population.end.isoformat(),
                   "referrals": len(features)},
        "features": bins,
        "score": score_shares(population.score),
        "coverage": coverage(features),
        "outcomes": outcomes,
    }


def feature_bins(reference: dict[str, Any]) -> dict[str, Bins]:
    """The stored bins of each model feature."""
    return {name: Bins.from_json(data) for name, data in reference["features"].items()}
