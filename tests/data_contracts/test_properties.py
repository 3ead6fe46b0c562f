"""Property: every row read is either accepted or quarantined, never dropped."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from data_contracts.validate import validate_frames
from tests.data_contracts import factories as f

EXTRACT = dt.date(2024, 6, 30)

BAD_EVENT_CELLS = [
    {"event_type": "bogus"},
    {"person_id": "not a token"},
    {"event_date": "2024-13-01"},
    {"recorded_date": "2023-01-01"},
    {"value": "12"},
    {"event_date": ""},
]
BAD_REFERRAL_CELLS = [{"age_years": "200"}, {"sex": "?"}, {"referral_date": "2025-01-01"}]

event_rows = st.lists(
    st.tuples(st.booleans(), st.sampled_from(BAD_EVENT_CELLS)), min_size=0, max_size=40
)
referral_rows = st.lists(
    st.tuples(st.booleans(), st.sampled_from(BAD_REFERRAL_CELLS)), min_size=1, max_size=20
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=event_rows, referrals=referral_rows)
def test_read_equals_accepted_plus_quarantined(
    events: list[tuple[bool, dict[str, str]]], referrals: list[tuple[bool, dict[str, str]]]
) -> None:
    police = [f.event_row("police", **({} if good else bad)) for good, bad in events]
    referral = [
        f.referral_row(referral_id=f"R{i}", **({} if good else bad))
        for i, (good, bad) in enumerate(referrals)
    ]
    frames = {
        "referrals": pd.DataFrame(referral),
        "events_police": pd.DataFrame(police, columns=list(f.event_row("police"))),
    }
    result = validate_frames(frames, extract_date=EXTRACT)
    for feed, bad_rows in (("events_police", events), ("referrals", referrals)):
        entry = result.report["feeds"][feed]
        assert entry["read"] == entry["accepted"] + entry["quarantined"]
        assert entry["quarantined"] == sum(not good for good, _ in bad_rows)
        assert len(result.feeds[feed]) == entry["accepted"]
        assert len(result.quarantine[feed]) == entry["quarantined"]
        assert sum(entry["reasons"].values()) == entry["quarantined"]


# Dates around the latest good one (2024-06-01): later ones, not after today or after it.
DAYS = ["2024-01-10", "2024-03-01", "2024-06-01", "2025-02-01", "2999-01-01", ""]
referral_cells = st.fixed_dictionaries({
    "referral_id": st.sampled_from(["R1", "R2", "R3", "R4"]),  # repeated: duplicates
    "referral_date": st.sampled_from(DAYS),
    "age_years": st.sampled_from(["9", "9", "200"]),
    "sex": st.sampled_from(["female", "male"]),  # rows of a repeated id may differ
})
event_cells = st.fixed_dictionaries({
    "event_date": st.sampled_from(DAYS),
    "recorded_date": st.sampled_from(DAYS),
    "event_type": st.sampled_from(["arrest", "arrest", "bogus"]),
})
outcome_cells = st.fixed_dictionaries({
    "referral_id": st.sampled_from(["R1", "R2", "R3", "R4", "R9"]),
    "outcome_type": st.just("looked_after"),
    "outcome_date": st.sampled_from(DAYS),
})


def _latest_accepted_date(feeds: dict[str, pd.DataFrame]) -> dt.date | None:
    days = [frame[column].max() for frame in feeds.values() for column in frame.columns
            if pd.api.types.is_datetime64_dtype(frame[column])]
    found = [day for day in days if not pd.isna(day)]
    return max(found).date() if found else None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(  # R1's two rows differ until the later is after the extract date, 2024-03-01
    referrals=[{"referral_id": "R1", "referral_date": "2024-01-10", "sex": "female"},
               {"referral_id": "R1", "referral_date": "2025-02-01", "sex": "male"},
               {"referral_id": "R2", "referral_date": "2024-03-01"}],
    events=[],
    outcomes=[{"referral_id": "R1", "outcome_type": "looked_after", "outcome_date": "2024-02-01"},
              {"referral_id": "R2", "outcome_type": "bogus", "outcome_date": "2024-03-01"}])
@example(  # the latest date is a recorded_date in a column with an empty cell (numpy's NaT)
    referrals=[{"referral_id": "R1", "referral_date": "2024-01-10"}],
    events=[{"event_date": "2024-01-10", "recorded_date": "", "event_type": "arrest"},
            {"event_date": "2024-03-01", "recorded_date": "2024-06-01", "event_type": "arrest"}],
    outcomes=[])
@given(referrals=st.lists(referral_cells, min_size=1, max_size=8),
       events=st.lists(event_cells, max_size=8), outcomes=st.lists(outcome_cells, max_size=4))
def test_the_extract_date_from_the_data_is_the_latest_date_of_an_accepted_row(
    referrals: list[dict[str, str]], events: list[dict[str, str]],
    outcomes: list[dict[str, str]],
) -> None:
    frames = {
        "referrals": pd.DataFrame([f.referral_row(**cells) for cells in referrals]),
        "events_police": pd.DataFrame([f.event_row(**cells) for cells in events],
                                      columns=list(f.event_row())),
        "outcomes": pd.DataFrame(outcomes, columns=["referral_id", "outcome_type",
                                                    "outcome_date"]),
    }
    inferred = validate_frames(frames)
    latest = _latest_accepted_date(inferred.feeds)
    assert inferred.extract_date == (latest or dt.date.today())
    given_date = validate_frames(frames, extract_date=inferred.extract_date)
    # a given date is never warned about (`data_contracts.extract_date`): the rest is the same
    assert {**inferred.report, "extract_date_warning": None} == given_date.report
    for feed in frames:  # the very rows, and reasons, of that date given
        pd.testing.assert_frame_equal(inferred.feeds[feed], given_date.feeds[feed])
        pd.testing.assert_frame_equal(inferred.quarantine[feed], given_date.quarantine[feed])
