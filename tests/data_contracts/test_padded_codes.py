"""A vocabulary value with blanks at either end is quarantined, its reason naming them."""

from __future__ import annotations

import pytest

from data_contracts.schemas import feed_schema
from data_contracts.vocab import CODED_COLUMNS, EVENT_FEEDS, FEEDS
from tests.data_contracts import factories as f
from tests.data_contracts.test_rules import _reasons

PADDED = ("has blanks (spaces, tabs or other white space) at either end, which no value of "
          "its vocabulary has")
_ROWS = {
    "referrals": f.referral_row(referral_id="R9999"),
    "household_members": {"household_id": "H000001", "person_id": "P000009", "role": "sibling"},
    "outcomes": {"referral_id": "R0002", "outcome_type": "looked_after",
                 "outcome_date": "2024-05-01"},
    "events_police": f.event_row("police"),
}
_CODED = [(feed, column) for feed, row in _ROWS.items() for column in row
          if column in CODED_COLUMNS]


@pytest.mark.parametrize(("feed", "column"), _CODED)
@pytest.mark.parametrize("pad", [" {}", "{}\t", "\t{} ", "{}\u00a0"])
def test_a_padded_vocabulary_value_is_quarantined_naming_the_blanks(
        feed: str, column: str, pad: str) -> None:
    # " police" was quarantined as "referral_source: not in vocabulary", which hid why.
    row = _ROWS[feed]
    assert _reasons(feed, {**row, column: pad.format(row[column])}) == [f"{column}: {PADDED}"]


def test_every_coded_column_is_covered() -> None:
    assert {column for _, column in _CODED} == CODED_COLUMNS


@pytest.mark.parametrize("value", ["Police", "polic", "police_force"])
def test_a_value_outside_the_vocabulary_without_blanks_keeps_its_reason(value: str) -> None:
    row = {**_ROWS["referrals"], "referral_source": value}
    assert _reasons("referrals", row) == ["referral_source: not one of police, health, education, "
                                          "social_care, housing, probation, self_or_family, "
                                          "anonymous, other"]


def test_the_coded_columns_are_those_the_schemas_check_against_a_vocabulary() -> None:
    """A vocabulary added to a schema but not to CODED_COLUMNS would say only "not in
    vocabulary" of a padded value again."""
    checked = {name for feed in FEEDS for name, column in feed_schema(feed).columns.items()
               if any(check.name == "isin" for check in column.checks)}
    assert checked | {"event_type"} == CODED_COLUMNS
    assert all("event_type" in feed_schema(feed).columns for feed in EVENT_FEEDS)
