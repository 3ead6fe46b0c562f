"""Every row rule of the feed specification quarantines a violating row with its reason."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pandas as pd
import pytest
from pydantic import Field, TypeAdapter, ValidationError

from data_contracts import rules
from data_contracts.pandera_import import pa
from data_contracts.schemas import NOT_AN_ACCEPTED_REFERRAL, feed_schema
from data_contracts.validate import validate_frames
from data_contracts.vocab import EVENT_FEEDS, EVENT_TYPES, TOKEN_PATTERN
from tests.data_contracts import factories as f

EXTRACT = dt.date(2024, 6, 30)


def _with_row(feed: str, row: dict[str, str]) -> dict[str, pd.DataFrame]:
    frames = f.extract()
    frames[feed] = pd.concat([frames[feed], pd.DataFrame([row])], ignore_index=True)
    return frames


def _reasons(feed: str, row: dict[str, str]) -> list[str]:
    result = validate_frames(_with_row(feed, row), extract_date=EXTRACT)
    return result.quarantine[feed]["reason"].tolist()


REFERRAL_CASES = [
    ({"person_id": "P 01"}, "person_id: not a pseudonymous token"),
    ({"person_id": "x" * 65}, "person_id: not a pseudonymous token"),
    ({"person_id": "P0001\n"}, "person_id: not a pseudonymous token"),
    ({"referral_id": "R9999\n"}, "referral_id: not a referral id"),
    ({"person_id": ""}, "person_id: missing"),
    ({"referral_id": ""}, "referral_id: missing"),
    ({"household_id": "H#1"}, "household_id: not a pseudonymous token"),
    ({"referral_date": "01/03/2024"}, "referral_date: not a YYYY-MM-DD date"),
    ({"referral_date": "2024-02-30"}, "referral_date: not a real calendar date"),
    ({"referral_date": "2023-02-29"}, "referral_date: not a real calendar date"),
    ({"referral_date": "2024-13-01"}, "referral_date: not a real calendar date"),
    ({"referral_date": "2024-07-01"}, "referral_date: after extract date"),
    ({"referral_source": "fax"}, "referral_source: not one of police, health, education, "),
    ({"presenting_need": "boredom"}, "presenting_need: not one of abuse_neglect, "),
    ({"subject_type": "adult"}, "subject_type: not one of child, adult_at_risk"),
    ({"sex": "F"}, "sex: not one of female, male, unknown"),
    ({"ethnicity_group": "martian"}, "ethnicity_group: not one of asian, black, mixed, white, "),
    ({"age_years": "nine"}, "age_years: not a whole number"),
    ({"age_years": "9\n"}, "age_years: not a whole number"),
    ({"age_years": "121", "subject_type": "adult_at_risk"}, "age_years: outside 0 to 120"),
    ({"age_years": "-1"}, "age_years: has a sign (+ or -)"),
    ({"age_years": "18", "subject_type": "child"}, "age_years: not consistent with subject_type"),
    ({"age_years": "17", "subject_type": "adult_at_risk"}, "age_years: not consistent"),
    ({"disability": "yes"}, "disability: not true/false/1/0"),
    ({"disability": ""}, "disability: missing"),
    ({"imd_decile": "0"}, "imd_decile: outside 1 to 10"),
    ({"imd_decile": "11"}, "imd_decile: outside 1 to 10"),
    ({"imd_decile": "3.5"}, "imd_decile: not a whole number"),
    ({"imd_decile": "3.50"}, "imd_decile: not a whole number"),
    ({"age_years": "1e1"}, "age_years: not a whole number"),
]


@pytest.mark.parametrize("written", ["9.0", "9.", "9.000", "09"])
def test_a_whole_number_may_be_written_with_zero_decimals(written: str) -> None:
    # As a spreadsheet or a float column converted to text writes it; the same number in
    # a Parquet float column was already accepted.
    row = f.referral_row(referral_id="R9999", age_years=written, imd_decile=written)
    assert _reasons("referrals", row) == []


@pytest.mark.parametrize(("column", "written"), [
    ("age_years", "-0"), ("age_years", "+7"), ("age_years", "+9.0"), ("age_years", "-0.0"),
    ("imd_decile", "+7"), ("imd_decile", "-0"),
])
def test_a_whole_number_written_with_a_sign_is_quarantined_saying_so(
        column: str, written: str) -> None:
    # "-0" and "+7" were read as 0 and 7 and accepted: the contract's whole numbers are
    # never negative, and a sign marks a value someone mistyped. Every integer column
    # is parsed alike, so imd_decile is refused as age_years is.
    row = f.referral_row(referral_id="R9999", **{column: written})
    assert _reasons("referrals", row) == [
        f"{column}: has a sign (+ or -): whole numbers are plain digits"]


@pytest.mark.parametrize("token", ["P1", "a_b-C9", "x" * 64, "P1\n", "P1\n\n", "\nP1", "P 1",
                                   "x" * 65, "P1\r", "P\u00e91"])
def test_a_token_is_what_the_service_takes(token: str) -> None:
    # The batch contract and the service's request model (pydantic: RE2-like `$`, the end
    # of the text) take the same tokens; Python's `re` would also take "P1\n".
    service = TypeAdapter(Annotated[str, Field(pattern=TOKEN_PATTERN)])
    try:
        service.validate_python(token)
        taken = True
    except ValidationError:
        taken = False
    row = f.referral_row(referral_id="R9999", person_id=token)
    assert (_reasons("referrals", row) == []) is taken


@pytest.mark.parametrize(("overrides", "reason"), REFERRAL_CASES)
def test_referral_rule_quarantines_with_reason(overrides: dict[str, str], reason: str) -> None:
    row = f.referral_row(**{"referral_id": "R9999", **overrides})
    reasons = _reasons("referrals", row)
    assert len(reasons) == 1
    assert reason in reasons[0]


EVENT_CASES = [
    ("police", {"event_type": "parking_ticket"}, "event_type: not one of the police event types: "
     "domestic_abuse_incident, dash_high_risk, "),
    ("health", {"event_type": "arrest"}, "event_type: not one of the health event types: "),
    ("police", {"recorded_date": "2024-01-09"}, "recorded_date: before event_date"),
    ("police", {"event_date": "2024-07-01", "recorded_date": ""}, "event_date: after extract"),
    ("police", {"recorded_date": "2024-07-02"}, "recorded_date: after extract date"),
    ("police", {"event_date": "2024-1-10"}, "event_date: not a YYYY-MM-DD date"),
    ("police", {"event_date": ""}, "event_date: missing"),
    ("police", {"person_id": "Jane Doe"}, "person_id: not a pseudonymous token"),
    ("police", {"person_id": "P000001\n"}, "person_id: not a pseudonymous token"),
    ("police", {"value": "3"}, "value: not allowed for this event_type"),
    ("education", {"value": ""}, "value: missing for attendance_rate"),
    ("education", {"value": "100.5"}, "value: outside 0 to 100"),
    ("education", {"value": "-1"}, "value: outside 0 to 100"),
    ("education", {"value": "ninety"}, "value: not a number"),
    ("education", {"value": "inf"}, "value: not a number"),
    ("education", {"event_type": "suspension", "value": "2"}, "value: not allowed"),
]


@pytest.mark.parametrize(("agency", "overrides", "reason"), EVENT_CASES)
def test_event_rule_quarantines_with_reason(
    agency: str, overrides: dict[str, str], reason: str
) -> None:
    reasons = _reasons(f"events_{agency}", f.event_row(agency, **overrides))
    assert len(reasons) == 1
    assert reason in reasons[0]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"role": "lodger"}, "role: not one of subject, parent_carer, sibling, "),
        ({"household_id": "H/1"}, "household_id: not a pseudonymous token"),
        ({"person_id": ""}, "person_id: missing"),
    ],
)
def test_household_rule_quarantines_with_reason(overrides: dict[str, str], reason: str) -> None:
    row = {"household_id": "H000002", "person_id": "P000009", "role": "subject", **overrides}
    reasons = _reasons("household_members", row)
    assert len(reasons) == 1
    assert reason in reasons[0]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"referral_id": "R7777"}, NOT_AN_ACCEPTED_REFERRAL),
        ({"outcome_type": "prison"}, "outcome_type: not one of "),
        ({"outcome_date": "2024-02-29"}, "outcome_date: before referral_date"),
        ({"outcome_date": "2024-07-01"}, "outcome_date: after extract date"),
        ({"outcome_date": "someday"}, "outcome_date: not a YYYY-MM-DD date"),
    ],
)
def test_outcome_rule_quarantines_with_reason(overrides: dict[str, str], reason: str) -> None:
    row = {"referral_id": "R0002", "outcome_type": "looked_after", "outcome_date": "2024-05-01"}
    reasons = _reasons("outcomes", {**row, **overrides})
    assert len(reasons) == 1
    assert reason in reasons[0]


def test_outcome_of_a_quarantined_referral_is_quarantined() -> None:
    frames = f.extract()
    frames["referrals"].loc[0, "sex"] = "robot"  # R0001, which the outcome names
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.quarantine["outcomes"]["reason"].tolist() == [
        NOT_AN_ACCEPTED_REFERRAL
    ]


def test_a_referral_sent_twice_keeps_its_first_copy() -> None:
    frames = f.extract()
    first = f.referral_row(referral_id="R0001", person_id="P000001")
    resent = first | {"disability": "0"}  # the same referral, its boolean written otherwise
    frames["referrals"] = pd.DataFrame([first, resent, first])
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.feeds["referrals"]["person_id"].tolist() == ["P000001"]
    assert result.quarantine["referrals"]["reason"].tolist() == [
        "referral_id: duplicate of an earlier row"] * 2
    assert len(result.feeds["outcomes"]) == 1


def test_rows_of_one_referral_id_that_differ_are_all_quarantined() -> None:
    frames = f.extract()
    first = f.referral_row(referral_id="R0001", person_id="P000001")
    other = f.referral_row(referral_id="R0001", person_id="P000777")
    frames["referrals"] = pd.DataFrame([first, first, other, f.referral_row(referral_id="R2")])
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.feeds["referrals"]["referral_id"].tolist() == ["R2"]
    differing = ("referral_id: on more than one row, with other values (which is right cannot "
                 "be told: none of them is used)")
    assert result.quarantine["referrals"]["reason"].tolist() == [differing] * 3
    assert result.quarantine["outcomes"]["reason"].tolist() == [
        NOT_AN_ACCEPTED_REFERRAL]


def test_a_quarantined_row_does_not_shadow_a_later_good_copy_of_its_id() -> None:
    frames = f.extract()
    broken = f.referral_row(referral_id="R0001", referral_date="2024-02-30")
    good = f.referral_row(referral_id="R0001")
    frames["referrals"] = pd.DataFrame([broken, good, good])
    result = validate_frames(frames, extract_date=EXTRACT)
    assert len(result.feeds["referrals"]) == 1
    assert result.feeds["referrals"]["referral_date"].iloc[0] == pd.Timestamp(
        good["referral_date"])
    reasons = result.quarantine["referrals"]["reason"].tolist()
    assert reasons[1] == "referral_id: duplicate of an earlier row"
    assert reasons[0].startswith("referral_date:") and "duplicate" not in reasons[0]
    assert result.report["feeds"]["referrals"]["read"] == 3  # read = accepted + quarantined
    # Its outcome is checked against the accepted referral's date.
    assert len(result.feeds["outcomes"]) == 1


@pytest.mark.parametrize(("feed", "row", "reason"), [
    ("events_education", f.event_row("education", value="abc"), "value: not a number"),
    ("events_education", f.event_row("education", value="inf"), "value: not a number"),
    ("events_police", f.event_row("police", event_date="2024-01-32"),
     "event_date: not a real calendar date"),
    ("referrals", f.referral_row(referral_id="R9", referral_date="2023-02-30"),
     "referral_date: not a real calendar date"),
    ("referrals", f.referral_row(referral_id="R9", referral_date="2023-2-3"),
     "referral_date: not a YYYY-MM-DD date"),
])
def test_a_cell_that_cannot_be_read_has_one_reason_that_says_why(
        feed: str, row: dict[str, str], reason: str) -> None:
    """An attendance rate of 'abc' was also 'value: missing for attendance_rate' (it is
    there, unreadable), and 2023-02-30 'not a YYYY-MM-DD date' (it has that shape)."""
    assert _reasons(feed, row) == [reason]


def test_row_breaking_several_rules_names_each_in_column_order() -> None:
    row = f.event_row("police", event_type="bogus", recorded_date="2024-01-01", value="x")
    (reason,) = _reasons("events_police", row)
    assert reason == (
        "recorded_date: before event_date; event_type: not one of the police event types: "
        f"{', '.join(EVENT_TYPES['police'])}; value: not a number"
    )


@pytest.mark.parametrize("flag", ["true", "false", "1", "0", "TRUE", "False"])
def test_disability_spellings_are_accepted(flag: str) -> None:
    frames = _with_row("referrals", f.referral_row(referral_id="R9", disability=flag))
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["referrals"]["quarantined"] == 0
    assert result.feeds["referrals"]["disability"].iloc[-1] == (flag.lower() in {"true", "1"})


def test_optional_cells_may_be_empty() -> None:
    frames = _with_row(
        "referrals", f.referral_row(referral_id="R9", household_id="", imd_decile="")
    )
    frames["events_police"].loc[0, "recorded_date"] = ""
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["referrals"]["quarantined"] == 0
    assert pd.isna(result.feeds["referrals"]["imd_decile"].iloc[-1])
    assert pd.isna(result.feeds["events_police"]["recorded_date"].iloc[0])


@pytest.mark.parametrize(
    "overrides",
    [
        {"age_years": "0", "subject_type": "child"},
        {"age_years": "120", "subject_type": "adult_at_risk"},
        {"imd_decile": "1"},
        {"imd_decile": "10"},
    ],
)
def test_the_ends_of_a_referrals_ranges_are_accepted(overrides: dict[str, str]) -> None:
    assert _reasons("referrals", f.referral_row(referral_id="R9999", **overrides)) == []


def test_an_outcome_on_its_referrals_day_is_accepted() -> None:
    row = {"referral_id": "R0002", "outcome_type": "looked_after", "outcome_date": "2024-03-01"}
    assert _reasons("outcomes", row) == []  # R0002 was referred on 2024-03-01


def test_an_unknown_feed_has_no_schema() -> None:
    with pytest.raises(KeyError, match="unknown feed 'events_fire'"):
        feed_schema("events_fire")


def test_an_event_feeds_rules_run_once_per_frame_for_all_its_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    read_rows = rules.feed_event_rows

    def counted(agency: str, frame: pd.DataFrame) -> rules.EventRows:
        calls.append(agency)
        return read_rows(agency, frame)

    monkeypatch.setattr(rules, "feed_event_rows", counted)
    frames = f.extract()
    frames["events_police"].loc[0, "event_type"] = "bogus"
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["events_police"]["quarantined"] == 1
    assert sorted(calls) == sorted(feed.removeprefix("events_") for feed in EVENT_FEEDS)


def test_an_event_schema_names_the_row_that_breaks_a_rule_whatever_the_index() -> None:
    events = validate_frames(f.extract(), extract_date=EXTRACT).feeds["events_police"]
    events.loc[1, "recorded_date"] = events.loc[1, "event_date"] - pd.Timedelta(days=1)
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        feed_schema("events_police", extract_date=EXTRACT).validate(
            events.set_axis([5, 6, 7]), lazy=True
        )
    failures = caught.value.failure_cases
    assert set(failures["check"]) == {"recorded_date: before event_date"}
    assert set(failures["index"]) == {6}


def test_frame_checks_read_as_pandera_reads_them_empty_rows_and_broken_rows_included() -> None:
    import numpy as np

    from data_contracts.checking import _check_output, _frame_check_output, parse_feed
    from data_contracts.reading import frame_to_strings
    from data_contracts.vocab import FEED_COLUMNS

    broken = {  # rows each frame-wide check refuses
        "referrals": [f.referral_row(referral_id="R0009", age_years="70")],
        "outcomes": [{"referral_id": "R9999", "outcome_type": "child_protection_plan",
                      "outcome_date": "2024-04-01"},
                     {"referral_id": "R0002", "outcome_type": "child_protection_plan",
                      "outcome_date": "2023-01-01"}],
        "events_police": [f.event_row(recorded_date="2024-01-01")],
    }
    frames = f.extract()
    for feed in ("referrals", "outcomes", *EVENT_FEEDS):
        rows = [*broken.get(feed, []), dict.fromkeys(FEED_COLUMNS[feed], "")]  # and empty
        frames[feed] = pd.concat([frames[feed], pd.DataFrame(rows)], ignore_index=True)
    typed = {feed: parse_feed(feed, feed, frame_to_strings(frame, feed), feed_schema(feed)).typed
             for feed, frame in frames.items()}
    dates = typed["referrals"].dropna(subset="referral_id").drop_duplicates("referral_id")
    refused = 0
    for feed, frame in typed.items():
        schema = feed_schema(feed, extract_date=EXTRACT,
                             referral_dates=dates.set_index("referral_id")["referral_date"])
        for check in schema.checks:
            fast, pandera = _frame_check_output(check, frame), _check_output(check, frame)
            assert fast.dtype == pandera.dtype and np.array_equal(fast, pandera), check.error
            refused += int((~fast).sum())
    assert refused == 4


@pytest.mark.parametrize("ignore_na", [True, False])
def test_a_frame_check_that_refuses_every_row_passes_an_empty_row_as_pandera_does(
        ignore_na: bool) -> None:
    import numpy as np

    from data_contracts.checking import _check_output, _frame_check_output

    frame = pd.DataFrame({"a": [1.0, None, None], "b": ["x", None, "y"]})
    check = pa.Check(lambda df: pd.Series(False, index=df.index), ignore_na=ignore_na)
    fast = _frame_check_output(check, frame)
    np.testing.assert_array_equal(fast, _check_output(check, frame))
    assert fast.tolist() == [False, ignore_na, False]
