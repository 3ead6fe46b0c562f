"""A date written with a time, as a database export writes a date column: at midnight it is
its date (as a Parquet timestamp at midnight is), at any other time it is quarantined
saying it holds a time of day."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.parsing import date_text, parse_dates
from data_contracts.validate import validate_extract, validate_frames
from tests.data_contracts import factories as f
from tests.data_contracts.test_rules import EXTRACT, _reasons

HOLDS_A_TIME = ("holds a time of day: a date is YYYY-MM-DD, alone or with a midnight time "
                "(00:00:00)")
MIDNIGHTS = ["2024-03-22 00:00:00", "2024-03-22T00:00:00", "2024-03-22T00:00:00.000",
             "2024-03-22 00:00:00.000000", "2024-03-22 00:00", "2024-03-22T00:00:00Z",
             "2024-03-22 00:00:00.000Z", "2024-03-22 00:00:00+01", "2024-03-22T00:00:00+0100",
             "2024-03-22T00:00:00-05:00"]


@pytest.mark.parametrize("written", MIDNIGHTS)
def test_a_date_with_a_midnight_time_is_its_date(written: str) -> None:
    frames = f.extract()
    frames["referrals"].loc[0, "referral_date"] = written
    frames["outcomes"].loc[0, "outcome_date"] = written.replace("03-22", "04-22")
    result = validate_frames(frames, extract_date=EXTRACT)
    assert all(quarantined.empty for quarantined in result.quarantine.values())
    assert result.feeds["referrals"]["referral_date"].iloc[0] == pd.Timestamp("2024-03-22")
    assert result.feeds["outcomes"]["outcome_date"].iloc[0] == pd.Timestamp("2024-04-22")


@pytest.mark.parametrize("written", [
    "2024-03-22 14:30:00", "2024-03-22T00:00:01", "2024-03-22T00:00:00.5", "2024-03-22 23:59",
    "2024-03-22T12:00:00Z", "2024-03-22T13:45:00.000000000+0100", "2024-03-22 24:00:00",
])
def test_a_date_with_another_time_of_day_is_quarantined_saying_so(written: str) -> None:
    row = f.referral_row(referral_id="R9999", referral_date=written)
    assert _reasons("referrals", row) == [f"referral_date: {HOLDS_A_TIME}"]


@pytest.mark.parametrize("written", [
    "2024-03-22 00:00:00\n", "2024-03-22  00:00:00", "2024-03-22 0:00", "2024-03-22T00",
    "22/03/2024 00:00:00", "2024-03-22 00:00:00 +01:00", "2024-03-22 00:00:00 UTC",
    "2024-03-22 00:00:00.", "2024-03-22t00:00:00",
])
def test_other_writings_of_a_date_and_time_are_still_no_date(written: str) -> None:
    row = f.referral_row(referral_id="R9999", referral_date=written)
    assert _reasons("referrals", row) == ["referral_date: not a YYYY-MM-DD date"]


def test_a_midnight_on_no_calendar_day_is_no_date() -> None:
    row = f.referral_row(referral_id="R9999", referral_date="2023-02-29 00:00:00")
    assert _reasons("referrals", row) == ["referral_date: not a real calendar date"]


def test_a_police_feed_exported_with_midnight_times_is_accepted(tmp_path: Path) -> None:
    """A whole police feed written this way was quarantined row by row: the hub lost an
    agency."""
    frames = f.extract()
    police = frames["events_police"]
    police["event_date"] = police["event_date"] + " 00:00:00"
    police["recorded_date"] = police["recorded_date"].where(
        police["recorded_date"] == "", police["recorded_date"] + " 00:00:00")
    f.write_extract(tmp_path, frames)
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    assert result.quarantine["events_police"].empty
    plain = validate_frames(f.extract(), extract_date=EXTRACT).feeds["events_police"]
    pd.testing.assert_frame_equal(result.feeds["events_police"], plain)


def test_csv_reads_a_midnight_as_parquet_does(tmp_path: Path) -> None:
    """The same dates, as text from a database export and as a Parquet timestamp column."""
    dates = ["2024-01-15", "2024-03-31", "2024-06-01"]
    frames = f.extract(referrals=f.referrals(3))
    frames["referrals"]["referral_date"] = [f"{day} 00:00:00" for day in dates]
    (tmp_path / "csv").mkdir()
    f.write_extract(tmp_path / "csv", frames)
    (tmp_path / "parquet").mkdir()
    f.write_extract(tmp_path / "parquet", {k: v for k, v in frames.items() if k != "referrals"})
    frames["referrals"].assign(referral_date=pd.to_datetime(dates)).to_parquet(
        tmp_path / "parquet" / "referrals.parquet")
    read = [validate_extract(tmp_path / kind, extract_date=EXTRACT).feeds["referrals"]
            for kind in ("csv", "parquet")]
    assert read[0]["referral_date"].dt.strftime("%Y-%m-%d").tolist() == dates
    pd.testing.assert_frame_equal(*read)


def test_a_parquet_timestamp_is_read_as_written_and_its_midnight_judged_as_text(
        tmp_path: Path) -> None:
    """A Parquet timestamp column reaches the date rule as the text of its date and time,
    with its offset in its zone, and `parse_dates` alone says which is a date: a row
    quarantined for another cell shows its date as the file holds it (the reader wrote
    `2024-06-01` for a midnight it had judged itself)."""
    frames = f.extract(referrals=f.referrals(2))
    frames["referrals"].loc[1, "sex"] = "bogus"
    f.write_extract(tmp_path, {k: v for k, v in frames.items() if k != "referrals"})
    frames["referrals"].assign(referral_date=pd.to_datetime(["2024-03-01", "2024-06-01"])
                               .tz_localize("Europe/London")).to_parquet(
        tmp_path / "referrals.parquet")
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    assert result.feeds["referrals"]["referral_date"].tolist() == [pd.Timestamp("2024-03-01")]
    quarantined = result.quarantine["referrals"]
    assert quarantined["referral_date"].tolist() == ["2024-06-01T00:00:00+0100"]
    assert quarantined["reason"].tolist() == ["sex: not one of female, male, unknown"]


@pytest.mark.parametrize("written", [
    *MIDNIGHTS, "2024-03-22", "2024-03-22\n", "2024-03-22 00:00:00\n", "2024-03-22T00:00Z\n",
    "2024-03-22 14:30:00", "2024-03-22 14:30:00\n", "\n2024-03-22", "2024-03-22T00:00:00+1",
    "2024-03-22T00:00:00+01:0", "2024-03-22T00:00:00.0+01", "2024-03-22 00:00:00.000001"])
def test_the_services_reading_of_one_date_is_the_feeds(written: str) -> None:
    """`date_text` (a live case's dates, Python's `re`) reads a date as `parse_dates`
    (Arrow's RE2) does: Python's `$` also matches before a final line break."""
    column, unparsable = parse_dates(pd.Series([written], dtype="string[pyarrow]"))
    try:
        assert pd.Timestamp(date_text(written)) == column.iloc[0]
    except ValueError as refused:
        assert [reason for reason, _ in unparsable] == [str(refused)]
    else:
        assert unparsable == []


def _piece(*written: str) -> st.SearchStrategy[str]:
    return st.sampled_from(["", *written])


# A date, perhaps a time of day and a zone, and now and then a character out of place.
_WRITTEN = st.tuples(
    st.sampled_from(["2024-03-22", "2023-02-29", "1999-12-31", "22/03/2024", "2024-3-22"]),
    _piece(" ", "T", "t", "  "), _piece("00:00", "14:30", "24:00", "0:00", "00"),
    _piece(":00", ":01", ":0"), _piece(".", ".000", ".5"),
    _piece("Z", "+01", "-0500", "+01:00", "+1", " UTC"), _piece("\n", " ", "x"),
).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(_WRITTEN, min_size=1, max_size=40))
def test_a_case_s_date_reads_as_a_feed_s_whatever_is_written(texts: list[str]) -> None:
    """`date_text` and `parse_dates` follow one rule (`parsing._DATE_WRITINGS`): for any
    writing, the same date (or, off the calendar, the service's own parse refuses it) or
    the same reason."""
    column, unparsable = parse_dates(pd.Series(texts, dtype="string[pyarrow]"))
    for row, text in enumerate(texts):
        reasons = [reason for reason, mask in unparsable if mask[row]]
        try:
            day = date_text(text)
        except ValueError as refused:
            assert reasons == [str(refused)], text
        else:
            calendar = [] if pd.notna(column.iloc[row]) else ["not a real calendar date"]
            assert reasons == calendar, text
            assert calendar or day == f"{column.iloc[row]:%Y-%m-%d}", text
