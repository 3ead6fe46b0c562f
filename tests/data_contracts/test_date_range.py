"""Dates before the feeds' plausible range (1900-01-01) are bad rows, with one reason."""

from __future__ import annotations

import pytest

from tests.data_contracts import factories as f
from tests.data_contracts.test_rules import _reasons


@pytest.mark.parametrize("day", ["0001-01-01", "1677-09-22", "1899-12-31"])
def test_a_referral_before_1900_is_quarantined_with_its_reason(day: str) -> None:
    row = f.referral_row(referral_id="R9000", referral_date=day)
    assert _reasons("referrals", row) == ["referral_date: before 1900-01-01"]


def test_an_outcome_before_1900_is_quarantined_with_its_reason() -> None:
    row = {"referral_id": "R0002", "outcome_type": "looked_after", "outcome_date": "1800-01-01"}
    assert _reasons("outcomes", row) == [
        "outcome_date: before 1900-01-01; outcome_date: before referral_date"
    ]


@pytest.mark.parametrize("day", ["0001-01-01", "1677-09-22"])
def test_an_event_before_1900_is_quarantined_with_its_reason(day: str) -> None:
    row = f.event_row(event_date=day, recorded_date="")
    assert _reasons("events_police", row) == ["event_date: before 1900-01-01"]


def test_the_first_plausible_day_is_accepted() -> None:
    assert (
        _reasons("referrals", f.referral_row(referral_id="R9000", referral_date="1900-01-01")) == []
    )
