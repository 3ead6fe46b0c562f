"""Property: every row read is either accepted or quarantined, never dropped."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import HealthCheck, given, settings
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
