"""Property: an agency record is accepted or rejected alike, with the same reasons, whether it
arrives as a feed row (quarantined with its reasons) or in a case payload (a 422 naming
each field), since both run the rules of `data_contracts.rules`.

For a live case the extract date is today, so the feed is validated as of today.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.case_payload import CasePayload
from api.case_rules import utc_today
from data_contracts.errors import FeedRejected
from data_contracts.validate import validate_frames
from data_contracts.vocab import AGENCIES, EVENT_TYPES, event_feed
from tests.api import factories
from tests.data_contracts import factories as feed_factories

TODAY = utc_today()
ALL_TYPES = sorted({t for types in EVENT_TYPES.values() for t in types} | {"bogus"})


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A record of a known agency that may break any of the rules a feed row can."""
    agency = draw(st.sampled_from(AGENCIES))
    event_type = draw(st.one_of(st.sampled_from(EVENT_TYPES[agency]), st.sampled_from(ALL_TYPES)))
    event_date = TODAY + dt.timedelta(days=draw(st.integers(-400, 3)))
    recorded = draw(st.one_of(st.none(), st.integers(-3, 400)))
    value = draw(st.one_of(st.none(), st.sampled_from([0.0, 100.0, -0.5, 100.5, 2.0]),
                           st.floats(-1000, 1000, allow_nan=False)))
    return {"agency": agency, "person_id": "P1", "event_date": event_date,
            "recorded_date": None if recorded is None else event_date + dt.timedelta(recorded),
            "event_type": event_type, "value": value}


def _feed_reasons(record: dict[str, Any]) -> list[str]:
    """The reasons a feed quarantines the record's row with (none when it is accepted)."""
    row = {"person_id": record["person_id"], "event_date": record["event_date"].isoformat(),
           "recorded_date": "" if record["recorded_date"] is None
           else record["recorded_date"].isoformat(),
           "event_type": record["event_type"],
           "value": "" if record["value"] is None else repr(record["value"])}
    frames = {"referrals": pd.DataFrame([feed_factories.referral_row()]),
              event_feed(record["agency"]): pd.DataFrame([row])}
    quarantine = validate_frames(frames, extract_date=TODAY).quarantine[event_feed(
        record["agency"])]
    return [] if quarantine.empty else str(quarantine["reason"].iloc[0]).split("; ")


def _case_reasons(record: dict[str, Any]) -> list[str]:
    """The reasons a case payload holding the record is refused with (none when accepted)."""
    case = factories.case(events=0)
    case["events"] = [{**record, "event_date": record["event_date"].isoformat(),
                       "recorded_date": record["recorded_date"] and
                       record["recorded_date"].isoformat()}]
    try:
        CasePayload.model_validate_json(json.dumps(case))
    except ValidationError as refused:
        return [f"{error['loc'][2]}: {error['ctx']['reason']}" for error in refused.errors()]
    return []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records())
def test_a_feed_row_and_a_case_record_are_judged_alike(record: dict[str, Any]) -> None:
    assert _case_reasons(record) == _feed_reasons(record)


def test_each_rule_is_met_by_both_paths_with_the_same_reason() -> None:
    # The hand-picked examples the property must cover, one rule each.
    ten_days_ago = TODAY - dt.timedelta(days=10)
    base = {"agency": "police", "person_id": "P1", "event_date": ten_days_ago,
            "recorded_date": None, "event_type": "arrest", "value": None}
    cases = [
        ({}, []),
        ({"event_type": "ehcp"}, ["event_type: not one of the police event types: "
                                  + ", ".join(EVENT_TYPES["police"])]),
        ({"event_date": TODAY + dt.timedelta(days=1)}, ["event_date: after extract date"]),
        ({"recorded_date": TODAY + dt.timedelta(days=1)}, ["recorded_date: after extract date"]),
        ({"recorded_date": ten_days_ago - dt.timedelta(days=1)},
         ["recorded_date: before event_date"]),
        ({"value": 2.0}, ["value: not allowed for this event_type"]),
        ({"agency": "education", "event_type": "attendance_rate"},
         ["value: missing for attendance_rate"]),
        ({"agency": "education", "event_type": "attendance_rate", "value": 100.5},
         ["value: outside 0 to 100"]),
    ]
    for change, reasons in cases:
        record = {**base, **change}
        assert _feed_reasons(record) == reasons, change
        assert _case_reasons(record) == reasons, change


@pytest.mark.parametrize("written", [
    "2024-03-22", "2024-03-22 00:00:00", "2024-03-22T00:00:00.000Z", "2024-03-22T00:00:00+01:00",
    "2024-03-22 14:30:00", "2024-03-22T00:00:00.5", "2024-03-22 00:00:00\n", "22/03/2024"])
def test_a_date_with_a_time_is_read_alike_by_a_feed_and_a_case(written: str) -> None:
    """A feed reads a midnight time as its date (as it reads a Parquet timestamp at
    midnight) and quarantines another time of day saying so: a case does the same."""
    row = feed_factories.event_row(event_date=written, recorded_date="")
    frames = {"referrals": pd.DataFrame([feed_factories.referral_row()]),
              "events_police": pd.DataFrame([row])}
    result = validate_frames(frames, extract_date=TODAY)
    quarantine = result.quarantine["events_police"]
    case = factories.case(events=1)
    case["events"][0].update(event_date=written, recorded_date=None)
    try:
        payload = CasePayload.model_validate_json(json.dumps(case))
    except ValidationError as refused:
        assert [f"{e['loc'][-1]}: {e['ctx']['reason']}" for e in refused.errors()] == (
            quarantine["reason"].tolist())
    else:
        assert quarantine.empty
        assert payload.events[0]["event_date"] == dt.date(2024, 3, 22)
        assert result.feeds["events_police"]["event_date"].iloc[0] == pd.Timestamp(2024, 3, 22)


def test_a_value_a_feed_would_quarantine_is_refused_in_a_case_not_fixed() -> None:
    """A token, id or word with blanks around it, or a date not written YYYY-MM-DD (nor
    with a midnight time), is a bad row in a feed; a case stripped the blanks and read a
    number of seconds as a date, and scored it."""
    feeds = feed_factories.extract()
    feeds["referrals"].loc[0, "person_id"] = "P1\n"
    feeds["referrals"].loc[1, "referral_source"] = " police"
    feeds["referrals"].loc[2, "referral_date"] = "2024-01-10T09:00:00"
    reasons = validate_frames(feeds, extract_date=dt.date(2024, 6, 30)).quarantine["referrals"]
    assert len(reasons) == 3
    base = factories.case(events=1)
    for part, field, value in (
            ("referral", "person_id", "P1\n"), ("referral", "referral_id", " R-1 "),
            ("referral", "referral_source", " police"), ("referral", "referral_date",
                                                         f"{TODAY}T09:00:00"),
            ("referral", "referral_date", 1_700_000_000), ("events", "event_date", "2024-1-10"),
            ("events", "event_date", f"{TODAY}\n"), ("events", "person_id", " P1"),
            ("household_members", "role", "sibling ")):
        case = json.loads(json.dumps(base))
        if part == "referral":
            case["referral"][field] = value
        elif part == "events":
            case["events"][0][field] = value
        else:
            case["household_members"] = [{"person_id": "H1", "role": value}]
        try:
            CasePayload.model_validate_json(json.dumps(case))
        except ValidationError as exc:
            assert {e["loc"][-1] for e in exc.errors()} == {field}, (field, value, exc)
        else:
            raise AssertionError(f"{part}.{field} = {value!r} was accepted")
    assert CasePayload.model_validate_json(json.dumps(base)).referral.referral_date


def test_a_referral_id_holding_an_identifier_is_refused_in_a_case_as_in_a_feed() -> None:
    """A feed whose referral id holds a phone number is refused; a case took it and stored
    it."""
    feeds = feed_factories.extract()
    feeds["referrals"].loc[0, "referral_id"] = "Jane Smith 07700 900123"
    try:
        validate_frames(feeds, extract_date=dt.date(2024, 6, 30))
    except FeedRejected as exc:
        assert "'referral_id' holds direct identifiers (phone numbers)" in str(exc)
    else:
        raise AssertionError("the feed was accepted")
    base = factories.case(events=1)
    for value, kind in (("Jane Smith 07700 900123", "phone numbers"),
                        ("ref jane.doe@example.com", "e-mail addresses")):
        for where in ("referral", "previous"):
            case = json.loads(json.dumps(base))
            if where == "referral":
                case["referral"]["referral_id"] = value
            else:
                case["previous_referrals"] = [{"referral_id": value, "referral_date": "2024-01-10",
                                               "person_id": case["referral"]["person_id"]}]
            try:
                CasePayload.model_validate_json(json.dumps(case))
            except ValidationError as exc:
                [error] = exc.errors()
                assert error["loc"][-1] == "referral_id" and kind in error["msg"], exc
            else:
                raise AssertionError(f"{where} referral id {value!r} was accepted")
    base["referral"]["referral_id"] = "MASH/2023/0001 #3"
    assert CasePayload.model_validate_json(json.dumps(base)).referral.referral_id


def test_an_earlier_referral_is_listed_once_and_is_not_the_referral_itself() -> None:
    """A repeated referral id is a bad row in the feed; in a case an earlier referral sent
    twice was counted twice (`household_previous_referrals_ever` 2 for 1)."""
    case = factories.case(events=1)
    referral = case["referral"]
    earlier = {"referral_id": "R-earlier", "person_id": referral["person_id"],
               "referral_date": "2024-01-10"}
    itself = {**earlier, "referral_id": referral["referral_id"]}
    for previous, index in (([earlier, earlier], 1), ([itself], 0)):
        try:
            CasePayload.model_validate_json(json.dumps({**case, "previous_referrals": previous}))
        except ValidationError as exc:
            [error] = exc.errors()
            assert error["loc"] == ("previous_referrals", index, "referral_id")
            assert "each referral once" in error["msg"]
        else:
            raise AssertionError(f"{previous} was accepted")
    accepted = CasePayload.model_validate_json(json.dumps({**case, "previous_referrals": [
        earlier, {**earlier, "referral_id": "R-earlier-2"}]}))
    assert len(accepted.previous_referrals) == 2
