"""The temporal, grouped split: earlier referrals train, later ones test, families on one side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.families import family_groups
from model.split import temporal_group_split


def _referrals(rows: list[tuple[str, str, str | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["referral_id", "person_id", "household_id",
                                       "referral_date"]).assign(
        referral_date=lambda f: pd.to_datetime(f["referral_date"]))


def test_sets_follow_time_order_never_shuffled() -> None:
    days = pd.date_range("2021-01-01", periods=100, freq="D")
    refs = _referrals([(f"R{i}", f"p{i}", f"h{i}", str(d.date())) for i, d in enumerate(days)])
    split = temporal_group_split(refs)
    dates = refs["referral_date"]
    assert dates.iloc[split.train].max() < dates.iloc[split.validation].min()
    assert dates.iloc[split.validation].max() < dates.iloc[split.test].min()
    assert (len(split.train), len(split.validation), len(split.test)) == (60, 20, 20)


def test_a_family_seen_in_training_is_left_out_of_the_later_sets() -> None:
    days = [str(d.date()) for d in pd.date_range("2021-01-01", periods=100, freq="D")]
    rows = [(f"R{i}", f"p{i}", f"h{i}", days[i]) for i in range(100)]
    rows[95] = ("R95", "p95", "h3", days[95])   # same household as a training referral
    rows[70] = ("R70", "p2", "h70", days[70])   # same person as a training referral
    refs = _referrals(rows)
    split = temporal_group_split(refs)
    held_out = set(refs["referral_id"].iloc[np.r_[split.validation, split.test]])
    assert {"R95", "R70"}.isdisjoint(held_out)
    assert (split.left_out_validation, split.left_out_test) == (1, 1)


def test_household_membership_links_siblings_referred_separately() -> None:
    days = [str(d.date()) for d in pd.date_range("2021-01-01", periods=100, freq="D")]
    rows = [(f"R{i}", f"p{i}", None, days[i]) for i in range(100)]
    refs = _referrals(rows)
    members = pd.DataFrame({"household_id": ["hA", "hA"], "person_id": ["p1", "p99"],
                            "role": ["subject", "sibling"]})
    groups = family_groups(refs, members)
    assert groups[1] == groups[99]
    split = temporal_group_split(refs, members)
    assert 99 not in set(split.test)
    persons = refs["person_id"]
    train_people = set(persons.iloc[split.train])
    assert train_people.isdisjoint(persons.iloc[split.test])


def test_too_few_referrals_are_refused() -> None:
    refs = _referrals([("R1", "p1", "h1", "2021-01-01")])
    with pytest.raises(ValueError, match="too few"):
        temporal_group_split(refs)


def test_the_training_report_states_the_counts_cut_offs_and_left_out_families() -> None:
    days = [str(d.date()) for d in pd.date_range("2021-01-01", periods=100, freq="D")]
    rows = [(f"R{i}", f"p{i}", f"h{i}", days[i]) for i in range(100)]
    rows[95] = ("R95", "p95", "h3", days[95])
    refs = _referrals(rows)
    assert temporal_group_split(refs).summary() == {
        "train_referrals": 60, "validation_referrals": 20, "test_referrals": 19,
        "validation_from": "2021-03-02", "test_from": "2021-03-22",
        "validation_left_out_seen_family": 0, "test_left_out_seen_family": 1,
        "test_period_referrals": 20,
    }
    # Every referral of the test period, the one of a family seen earlier included.
    split = temporal_group_split(refs)
    assert sorted(split.test_period) == list(range(80, 100))
    assert set(split.test) == set(split.test_period) - {95}


def _daily(n: int) -> pd.DataFrame:
    days = pd.date_range("2021-01-01", periods=n, freq="D")
    return _referrals([(f"R{i}", f"p{i}", f"h{i}", str(d.date())) for i, d in enumerate(days)])


def test_the_default_shares_are_a_fifth_for_validation_and_a_fifth_for_test() -> None:
    split = temporal_group_split(_daily(12))  # 60% of 12 is 7.2 referrals: 7 train
    assert (len(split.train), len(split.validation), len(split.test)) == (7, 2, 3)


def test_ten_referrals_are_enough_to_split_and_nine_are_not() -> None:
    split = temporal_group_split(_daily(10))
    assert (len(split.train), len(split.validation), len(split.test)) == (6, 2, 2)
    with pytest.raises(ValueError, match="9 referrals are too few"):
        temporal_group_split(_daily(9))
