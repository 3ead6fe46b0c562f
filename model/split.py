"""Temporal, grouped split: train on earlier referrals, validate and test on later ones.

Referrals are cut by date into train, validation and test periods (never shuffled).
People and households are then kept on one side: persons and households linked by
a referral or by household membership form a group (a family, `model.families`), and a
later-period referral whose group already appears in an earlier period is left out
of that later set. Training keeps every early referral; the held-out sets measure
what the model does for families it has never seen, and the report counts what was
left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from model.families import family_groups

# The prefix of the model's metrics on every referral of the test period (`Split.test_period`).
TEST_PERIOD_PREFIX: Final = "test_period_"
# Fewer referrals than this cannot make three periods with families kept apart.
MIN_TO_SPLIT: Final = 10


@dataclass(frozen=True)
class Split:
    """Row positions of each set, and how many held-out rows were left out and why."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    validation_cutoff: pd.Timestamp
    test_cutoff: pd.Timestamp
    left_out_validation: int
    left_out_test: int
    # Every referral of the test period, families seen earlier included: those the
    # service will score too (`model.train` reports the model's metrics on them beside).
    test_period: np.ndarray = field(default_factory=lambda: np.arange(0))

    def summary(self) -> dict[str, object]:
        """Counts and cut-off dates, for the training report."""
        return {
            "train_referrals": int(len(self.train)),
            "validation_referrals": int(len(self.validation)),
            "test_referrals": int(len(self.test)),
            "validation_from": self.validation_cutoff.date().isoformat(),
            "test_from": self.test_cutoff.date().isoformat(),
            "validation_left_out_seen_family": self.left_out_validation,
            "test_left_out_seen_family": self.left_out_test,
            "test_period_referrals": int(len(self.test_period)),
        }


def describe_split(summary: Mapping[str, Any]) -> str:
    """A split's `Split.summary` in words: each set's referrals, dates and families left out."""
    return (f"train {summary['train_referrals']:,} referrals (before "
            f"{summary['validation_from']}); validation {summary['validation_referrals']:,} "
            f"(from {summary['validation_from']}; "
            f"{summary['validation_left_out_seen_family']:,} left out, family seen in "
            f"training); test {summary['test_referrals']:,} (from {summary['test_from']}; "
            f"{summary['test_left_out_seen_family']:,} left out, family seen earlier)")


def temporal_group_split(referrals: pd.DataFrame, members: pd.DataFrame | None = None, *,
                         validation_fraction: float = 0.2, test_fraction: float = 0.2) -> Split:
    """Split referrals by date into train < validation < test, families on one side only.

    Args:
        referrals: rows to split, with ``person_id``, ``household_id`` and ``referral_date``.
        members: household membership (``household_id``, ``person_id``), to link families.
        validation_fraction: share of referrals (by date order) in the validation period.
        test_fraction: share of referrals (by date order) in the test period.
    """
    if len(referrals) < MIN_TO_SPLIT:
        raise ValueError(f"{len(referrals)} referrals are too few to split for training")
    dates = pd.to_datetime(referrals["referral_date"]).to_numpy()
    ordered = np.sort(dates)
    n = len(dates)
    validation_cutoff = ordered[int(n * (1 - validation_fraction - test_fraction))]
    test_cutoff = ordered[int(n * (1 - test_fraction))]
    period = np.where(dates < validation_cutoff, 0, np.where(dates < test_cutoff, 1, 2))
    groups = family_groups(referrals, members)
    # A group's first period: later referrals of a group seen earlier are left out.
    first_period = pd.Series(period).groupby(groups).transform("min").to_numpy()
    keep = first_period == period
    positions = np.arange(n)
    return Split(
        train=positions[period == 0],
        validation=positions[(period == 1) & keep],
        test=positions[(period == 2) & keep],
        validation_cutoff=pd.Timestamp(validation_cutoff),
        test_cutoff=pd.Timestamp(test_cutoff),
        left_out_validation=int(((period == 1) & ~keep).sum()),
        left_out_test=int(((period == 2) & ~keep).sum()),
        test_period=positions[period == 2],
    )


def describe_test_period(metrics: Mapping[str, float], summary: Mapping[str, Any]) -> str:
    """The model's figures on every referral of the test period, in words (empty for a
    version trained before they were measured)."""
    if f"{TEST_PERIOD_PREFIX}roc_auc" not in metrics:
        return ""
    return (f"On every referral of the test period ({summary['test_period_referrals']:,}, "
            "families seen earlier included, as the service scores them): ROC AUC "
            f"{metrics[f'{TEST_PERIOD_PREFIX}roc_auc']:.4f}, ECE "
            f"{metrics[f'{TEST_PERIOD_PREFIX}ece']:.4f}.")
