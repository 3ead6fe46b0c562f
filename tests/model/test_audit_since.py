"""`model.audit_since`: the referrals on or after a day, their families over the extract."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from model.audit_since import referrals_since
from model.families import families_of, family_groups, with_families


def test_families_are_formed_over_the_whole_extract() -> None:
    # r2 and r3 are linked only through r1 (person p1 with r2, household h1 with r3).
    referrals = pd.DataFrame({"referral_id": ["r1", "r2", "r3", "r4"],
                              "person_id": ["p1", "p1", "p3", "p4"],
                              "household_id": ["h1", None, "h1", None],
                              "referral_date": ["2020-01-01", "2024-01-01", "2024-02-01",
                                                "2024-03-01"]})
    later = referrals_since(referrals, dt.date(2023, 1, 1))
    assert list(later["referral_id"]) == ["r2", "r3", "r4"]
    alone = family_groups(later)
    assert alone[0] != alone[1]  # within the later referrals alone, r2 and r3 are apart
    joined = families_of(with_families(later, referrals, None))
    assert joined[0] == joined[1] != joined[2]


def test_nothing_left_is_a_clear_error() -> None:
    referrals = pd.DataFrame({"referral_id": ["r1"], "referral_date": ["2020-01-01"]})
    with pytest.raises(ValueError, match=r"--since 2021-01-01: no labelled referral is dated "
                       r"on or after it \(the extract's labelled referrals run from 2020-01-01 "
                       r"to 2020-01-01\)"):
        referrals_since(referrals, dt.date(2021, 1, 1))
