"""Record delays and information that arrived after the referral it would have informed."""

from __future__ import annotations

import pandas as pd

from data_contracts.vocab import HOUSEHOLD_MEMBERS, REFERRALS, event_feed
from pipelines.timeliness import late_information, record_delays
from tests.pipelines import factories


def _frames(housing: list[dict[str, object]]) -> dict[str, pd.DataFrame]:
    return {
        REFERRALS: factories.referrals_frame([
            factories.referral(referral_id="R1", person_id="p1", household_id="h1",
                               referral_date="2024-06-01"),
            factories.referral(referral_id="R2", person_id="p9", household_id=None,
                               referral_date="2024-06-01")]),
        HOUSEHOLD_MEMBERS: pd.DataFrame({"household_id": ["h1", "h1"],
                                         "person_id": ["p1", "p2"],
                                         "role": ["subject", "parent_carer"]}),
        event_feed("housing"): factories.events_frame(housing),
    }


def _housing(person: str, event: str, recorded: str | None) -> dict[str, object]:
    return {"person_id": person, "event_date": event, "recorded_date": recorded,
            "event_type": "eviction_notice", "value": None}


def test_records_all_recorded_after_their_referral_are_all_late() -> None:
    frames = _frames([_housing("p1", "2024-05-01", "2024-07-01"),
                      _housing("p2", "2024-05-20", "2024-06-02")])  # the parent: household
    table = late_information(frames).by_referral
    housing = table[table["agency"] == "housing"]
    assert housing[["referral_id", "informing", "late"]].values.tolist() == [["R1", 2, 2]]


def test_only_records_that_could_have_informed_the_referral_count() -> None:
    frames = _frames([_housing("p1", "2024-05-01", "2024-05-02"),  # in time
                      _housing("p1", "2024-05-10", "2024-06-10"),  # late
                      _housing("p1", "2024-07-01", "2024-07-02"),  # after the referral
                      _housing("p1", "2024-05-15", None)])  # no recorded date: known at event
    late = late_information(frames)
    row = late.by_referral.set_index("referral_id").loc["R1"]
    assert (row["informing"], row["late"]) == (3, 1)
    # The delays of the three records that would have informed it, not of the fourth.
    assert sorted(late.delays["delay_days"]) == [0.0, 1.0, 31.0]
    assert set(late.delays["agency"]) == {"housing"}


def test_delays_are_recorded_minus_event_dates_and_an_empty_recorded_date_is_the_event_date(
) -> None:
    """The feed specification: an empty recorded date means the event date, so a delay of
    0, counted (it was left out, which pushed an agency's delays up), and marked undated."""
    frames = _frames([_housing("p1", "2024-05-01", "2024-05-11"),
                      _housing("p1", "2024-05-01", None)])
    delays = record_delays(frames)
    assert delays["delay_days"].tolist() == [10.0, 0.0]
    assert delays["dated"].tolist() == [True, False]
    assert [str(d.date()) for d in delays["recorded_date"]] == ["2024-05-11", "2024-05-01"]
