"""Accepted frames, extract date and report of a validated extract."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pandas as pd
import pytest
from pandas.api.types import is_integer_dtype

from data_contracts.errors import FeedRejected
from data_contracts.pandera_import import pa
from data_contracts.reading import STRING_DTYPE
from data_contracts.schemas import feed_schema
from data_contracts.validate import validate_extract, validate_frames
from data_contracts.vocab import AGENCIES, EVENT_TYPES, FEED_COLUMNS, FEEDS
from tests.data_contracts import factories as f

POLICE_TYPES = ", ".join(EVENT_TYPES["police"])

EXTRACT = dt.date(2024, 6, 30)


def test_valid_extract_is_accepted_whole_with_canonical_dtypes() -> None:
    result = validate_frames(f.extract(), extract_date=EXTRACT)
    assert set(result.feeds) == set(FEEDS)
    for feed, frame in result.feeds.items():
        assert list(frame.columns) == list(FEED_COLUMNS[feed])
        assert result.quarantine[feed].empty
        feed_schema(feed, extract_date=EXTRACT).validate(frame)  # the schema as post-condition
    referrals = result.feeds["referrals"]
    twice = pd.concat([referrals, referrals], ignore_index=True)
    with pytest.raises(pa.errors.SchemaError, match="referral_id"):  # it sees repeats
        feed_schema("referrals", extract_date=EXTRACT).validate(twice)
    assert referrals["age_years"].dtype == "int64"
    assert referrals["imd_decile"].dtype == "Int64"
    assert referrals["disability"].dtype == bool
    assert referrals["referral_date"].dtype == "datetime64[ns]"
    events = result.feeds["events_education"]
    assert events["value"].dtype == "float64"
    assert events["value"].tolist() == [87.5] * 3


def test_empty_recorded_date_stays_nat() -> None:
    frames = f.extract()
    frames["events_police"]["recorded_date"] = ""
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.feeds["events_police"]["recorded_date"].isna().all()


def test_typed_frames_validate_like_strings() -> None:
    frames = f.extract()
    typed = frames["referrals"].copy()
    typed["referral_date"] = pd.to_datetime(typed["referral_date"])
    typed["age_years"] = typed["age_years"].astype(int)
    typed["disability"] = False
    typed["imd_decile"] = [3.0, None, 10.0]
    frames["referrals"] = typed
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["referrals"]["quarantined"] == 0
    assert result.feeds["referrals"]["imd_decile"].tolist()[::2] == [3, 10]


def test_parquet_feeds_are_read(tmp_path: Path) -> None:
    frames = f.extract()
    f.write_extract(tmp_path, {k: v for k, v in frames.items() if k != "referrals"})
    typed = frames["referrals"].assign(
        referral_date=lambda d: pd.to_datetime(d["referral_date"]), age_years=9
    )
    typed.to_parquet(tmp_path / "referrals.parquet")
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    assert result.report["feeds"]["referrals"]["accepted"] == 3
    assert result.report["feeds"]["referrals"]["file"] == "referrals.parquet"


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"])
def test_parquet_dates_with_a_time_zone_are_the_zones_dates_summer_and_winter(
        tmp_path: Path, zone: str) -> None:
    """A date column written with ``tz_localize('Europe/London')`` holds local midnights:
    its summer dates (23:00 UTC the day before) were quarantined, its winter ones taken."""
    frames = f.extract(referrals=f.referrals(4))
    dates = ["2024-01-15", "2024-03-31", "2024-06-01", "2023-10-29"]  # BST starts, ends
    frames["referrals"]["referral_date"] = dates
    f.write_extract(tmp_path, {k: v for k, v in frames.items() if k != "referrals"})
    typed = frames["referrals"].assign(
        referral_date=lambda d: pd.to_datetime(d["referral_date"]).dt.tz_localize(zone))
    typed.to_parquet(tmp_path / "referrals.parquet")
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    assert result.quarantine["referrals"].empty
    assert result.feeds["referrals"]["referral_date"].dt.strftime("%Y-%m-%d").tolist() == dates


def test_a_parquet_timestamp_with_a_time_of_day_is_not_a_date_whatever_its_zone(
        tmp_path: Path) -> None:
    frames = f.extract()
    f.write_extract(tmp_path, {k: v for k, v in frames.items() if k != "referrals"})
    typed = frames["referrals"].assign(referral_date=pd.to_datetime(
        ["2024-03-01 00:00", "2024-06-01 13:45", "2024-01-10 23:00"]).tz_localize("Europe/London"))
    typed.to_parquet(tmp_path / "referrals.parquet")
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    quarantined = result.quarantine["referrals"]
    first, second = quarantined["referral_date"]  # as written, with the offset from UTC
    assert first.startswith("2024-06-01T13:45:00") and first.endswith("+0100")
    assert second.startswith("2024-01-10T23:00:00") and second.endswith("+0000")
    assert set(quarantined["reason"]) == {"referral_date: holds a time of day: a date is "
                                          "YYYY-MM-DD, alone or with a midnight time (00:00:00)"}


def test_extract_date_is_latest_date_not_after_today() -> None:
    frames = f.extract()
    frames["events_police"].loc[0, "recorded_date"] = "2024-05-17"
    frames["events_police"].loc[1, "recorded_date"] = "2999-01-01"  # after today: a bad row
    result = validate_frames(frames)
    assert result.extract_date == dt.date(2024, 5, 17)
    assert result.report["extract_date"] == "2024-05-17"
    assert result.quarantine["events_police"]["reason"].tolist() == [
        "recorded_date: after extract date"
    ]


def test_a_quarantined_row_never_sets_the_extract_date() -> None:
    # A police record of 2024-11-01 recorded before it happened is a bad row: the latest
    # date of the extract is the accepted rows' latest (2024-04-01, an outcome's), and the
    # bad row is also after that extract date.
    frames = f.extract()
    frames["events_police"].loc[0, ["event_date", "recorded_date"]] = ["2024-11-01", "2024-10-01"]
    frames["referrals"].loc[1, ["referral_date", "sex"]] = ["2024-12-01", "?"]
    result = validate_frames(frames)
    assert result.extract_date == dt.date(2024, 4, 1)
    assert result.quarantine["events_police"]["reason"].tolist() == [
        "event_date: after extract date; recorded_date: after extract date; "
        "recorded_date: before event_date"
    ]
    assert result.quarantine["referrals"]["reason"].tolist() == [
        "referral_date: after extract date; sex: not one of female, male, unknown"
    ]


def test_values_outside_a_vocabulary_are_counted_under_one_reason_listing_it() -> None:
    # The reason said "sex: not in vocabulary": what the column takes had to be looked up.
    # It names no value, so three wrong values stay one line of the report's counts.
    frames = f.extract(referrals=f.referrals(4).assign(sex=["Female", "F", "M", "female"]))
    report = validate_frames(frames, extract_date=EXTRACT).report
    assert report["feeds"]["referrals"]["reasons"] == {
        "sex: not one of female, male, unknown": 3}


def test_report_counts_and_agency_coverage() -> None:
    frames = f.extract()
    del frames["events_health"], frames["outcomes"]
    frames["events_police"].loc[0, "event_type"] = "bogus"
    frames["extra_feed"] = pd.DataFrame({"a": ["1"]})
    report = validate_frames(frames, extract_date=EXTRACT).report
    assert report["spec_version"] == 1
    police = report["feeds"]["events_police"]
    assert (police["read"], police["accepted"], police["quarantined"]) == (3, 2, 1)
    assert police["reasons"] == {
        f"event_type: not one of the police event types: {POLICE_TYPES}": 1}
    assert report["agency_coverage"]["police"] == {"present": True, "shared": True, "persons": 2,
                                                     "records": 2}
    assert report["agency_coverage"]["health"] == {"present": False, "shared": False, "persons": 0,
                                                     "records": 0}
    assert set(report["agency_coverage"]) == set(AGENCIES)
    assert report["missing_feeds"] == ["outcomes", "events_health"]
    assert report["ignored_files"] == ["extra_feed"]


def test_an_outcome_feeds_persons_are_the_distinct_persons_of_the_referrals_it_names() -> None:
    # Outcomes carry no person_id: the report counts the persons of their referrals.
    frames = f.extract()
    frames["referrals"].loc[1, "person_id"] = frames["referrals"].loc[0, "person_id"]
    frames["outcomes"] = pd.concat([f.outcomes(referral_id=r) for r in ("R0001", "R0002")],
                                   ignore_index=True)
    report = validate_frames(frames, extract_date=EXTRACT).report
    assert report["feeds"]["outcomes"]["accepted"] == 2
    assert report["feeds"]["outcomes"]["persons"] == 1
    assert report["feeds"]["referrals"]["persons"] == 2


def test_extra_columns_are_ignored_and_reported_and_left_out_of_quarantine() -> None:
    frames = f.extract()
    frames["events_police"]["source_system"] = "niche"
    frames["events_police"].loc[0, "event_type"] = "bogus"
    result = validate_frames(frames, extract_date=EXTRACT)
    assert "source_system" not in result.feeds["events_police"].columns
    assert result.report["feeds"]["events_police"]["ignored_columns"] == ["source_system"]
    quarantined = result.quarantine["events_police"]
    assert list(quarantined.columns) == [*FEED_COLUMNS["events_police"], "reason"]


def test_quarantine_keeps_rows_as_read() -> None:
    frames = f.extract()
    frames["referrals"].loc[1, "age_years"] = "nine"
    result = validate_frames(frames, extract_date=EXTRACT)
    row = result.quarantine["referrals"].iloc[0]
    assert row["age_years"] == "nine" and row["imd_decile"] == "3"
    assert row["reason"] == "age_years: not a whole number"


def test_an_accepted_frame_is_the_post_condition_of_its_feeds_schema_and_no_other() -> None:
    result = validate_frames(f.extract(), extract_date=EXTRACT)
    for feed, frame in result.feeds.items():
        schema = feed_schema(feed, extract_date=EXTRACT)
        assert schema.name == feed
        with pytest.raises(pa.errors.SchemaErrors, match="column_in_schema"):  # strict
            schema.validate(frame.assign(note="x"), lazy=True)
        with pytest.raises(pa.errors.SchemaErrors, match="column_ordered"):  # ordered
            schema.validate(frame[list(reversed(frame.columns))], lazy=True)
        for column in frame.columns:  # each column's canonical dtype, text included
            values = frame[column]
            wrong = values.astype(float) if is_integer_dtype(values) else range(len(frame))
            with pytest.raises(pa.errors.SchemaErrors, match=f"series '{column}' to have type"):
                schema.validate(frame.assign(**{column: wrong}), lazy=True)


def test_an_absent_optional_column_is_accepted_as_missing_text_or_numbers() -> None:
    frames = f.extract()
    frames["referrals"] = frames["referrals"].drop(columns=["household_id", "imd_decile"])
    result = validate_frames(frames, extract_date=EXTRACT)
    referrals = result.feeds["referrals"]
    assert referrals["household_id"].dtype == STRING_DTYPE
    assert referrals["imd_decile"].dtype == "Int64"
    assert referrals[["household_id", "imd_decile"]].isna().all().all()
    feed_schema("referrals", extract_date=EXTRACT).validate(referrals)
    report = result.report["feeds"]["referrals"]
    assert report["absent_optional_columns"] == ["household_id", "imd_decile"]
    assert report["quarantined"] == 0


def test_ignored_columns_are_named_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    frames = f.extract()
    frames["events_police"]["source_system"] = "niche"
    with caplog.at_level(logging.WARNING, logger="data_contracts.checking"):
        validate_frames(frames, extract_date=EXTRACT)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "events_police: columns not in the specification ignored (not loaded, nor copied to "
        "the quarantine): ['source_system']"
    ]


def test_a_quarantine_holds_every_cell_and_its_reason_as_text() -> None:
    frames = f.extract()
    frames["referrals"].loc[1, "age_years"] = "nine"
    frames["events_police"].loc[2, "event_type"] = "bogus"
    result = validate_frames(frames, extract_date=EXTRACT)
    for feed in ("referrals", "events_police"):
        quarantine = result.quarantine[feed]
        assert len(quarantine) == 1
        assert (quarantine.dtypes == STRING_DTYPE).all()
    assert result.quarantine["events_police"]["reason"].tolist() == [
        f"event_type: not one of the police event types: {POLICE_TYPES}"
    ]


def test_without_counting_persons_the_same_rows_are_accepted_and_only_persons_are_empty(
        tmp_path: Path) -> None:
    frames = f.extract()
    frames["events_police"].loc[1, "recorded_date"] = "2999-01-01"  # a quarantined row
    f.write_extract(tmp_path, frames)
    counted = validate_extract(tmp_path, extract_date=EXTRACT)
    uncounted = validate_extract(tmp_path, extract_date=EXTRACT, count_persons=False)
    for feed in counted.feeds:
        pd.testing.assert_frame_equal(uncounted.feeds[feed], counted.feeds[feed])
        pd.testing.assert_frame_equal(uncounted.quarantine[feed], counted.quarantine[feed])
    assert counted.report["feeds"]["events_police"]["quarantined"] == 1
    assert counted.report["agency_coverage"]["police"]["persons"] > 0
    assert {e["persons"] for e in uncounted.report["feeds"].values()} == {None}
    for report in (counted.report, uncounted.report):
        for entry in (*report["feeds"].values(), *report["agency_coverage"].values()):
            entry.pop("persons")
    assert uncounted.report == counted.report


def test_a_parquet_column_without_a_value_reads_as_empty_csv_cells(tmp_path: Path) -> None:
    frames = f.extract()
    frames["events_education"] = frames["events_education"].assign(recorded_date="", value="")
    f.write_extract(tmp_path / "csv", frames)
    f.write_extract(tmp_path / "parquet", {k: v for k, v in frames.items()
                                           if k != "events_education"})
    education = frames["events_education"]
    education.assign(
        event_date=pd.to_datetime(education["event_date"]),
        recorded_date=pd.Series(pd.NaT, index=education.index, dtype="datetime64[ns]"),
        value=float("nan")).to_parquet(tmp_path / "parquet" / "events_education.parquet")
    read = [validate_extract(tmp_path / kind, extract_date=EXTRACT) for kind in ("csv", "parquet")]
    pd.testing.assert_frame_equal(read[1].feeds["events_education"],
                                  read[0].feeds["events_education"])
    assert (read[1].quarantine["events_education"]["reason"].tolist()
            == read[0].quarantine["events_education"]["reason"].tolist())


def test_nan_in_a_parquet_float_column_reads_as_an_empty_cell(tmp_path: Path) -> None:
    """NaN is how numpy and pandas write a float without a value: a Parquet file written
    from numpy arrays (pandas' own writer turns NaN into null) had every police record
    quarantined as 'value: not a number', and every referral without a deprivation decile
    as 'imd_decile: not a whole number', where the same frame in memory
    (`validate_frames`) or as CSV read them as empty. An infinity is still no number."""
    import numpy as np
    import pyarrow
    import pyarrow.parquet as pq

    frames = f.extract(referrals=f.referrals(3, imd_decile=""))
    frames["referrals"].loc[0, "imd_decile"] = "4"
    frames["events_police"].loc[2, "value"] = "inf"
    f.write_extract(tmp_path / "csv", frames)
    f.write_extract(tmp_path / "parquet", {k: v for k, v in frames.items()
                                           if k not in ("referrals", "events_police")})
    for feed, column in (("referrals", "imd_decile"), ("events_police", "value")):
        numbers = np.array([float(v) if v else np.nan for v in frames[feed][column]])
        table = pyarrow.Table.from_pandas(frames[feed].drop(columns=[column]))
        pq.write_table(table.append_column(column, pyarrow.array(numbers)),
                       tmp_path / "parquet" / f"{feed}.parquet")
    read = [validate_extract(tmp_path / kind, extract_date=EXTRACT) for kind in ("csv", "parquet")]
    for feed in ("referrals", "events_police"):
        pd.testing.assert_frame_equal(read[1].feeds[feed], read[0].feeds[feed])
    assert read[1].report["feeds"]["referrals"]["accepted"] == 3
    assert read[1].quarantine["events_police"]["reason"].tolist() == ["value: not a number"]


def test_a_csv_row_of_the_wrong_number_of_fields_is_quarantined_as_read(tmp_path: Path) -> None:
    """The specification: a row that breaks it is quarantined with a reason. One row with
    a field too many (or too few, or a line of blanks) refused the whole feed."""
    frames = f.extract()
    folder = f.write_extract(tmp_path / "in", frames)
    path = folder / "events_police.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    good = lines[1]
    lines[2:2] = [good + ",extra", ",".join(good.split(",")[:2]), "   "]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = validate_extract(folder, extract_date=dt.date(2024, 6, 30))
    police = result.report["feeds"]["events_police"]
    assert police["read"] == len(frames["events_police"]) + 3
    assert police["accepted"] == len(frames["events_police"])
    quarantined = result.quarantine["events_police"]
    assert quarantined["row_as_read"].tolist() == [good + ",extra",
                                                   ",".join(good.split(",")[:2]), "   "]
    assert all(r.startswith("row: not 5 fields as in the header row") for r in
               quarantined["reason"])
    assert "row_as_read" not in police["ignored_columns"]
    columns = list(frames["events_police"].columns)  # the fields fall in their columns
    first = quarantined.iloc[0][columns].fillna("").tolist()
    assert first == good.split(",")
    assert quarantined.iloc[1][columns[2:]].isna().all()  # the fields a short row lacks


def test_a_header_unlike_every_row_or_naming_the_quarantines_column_is_refused(
        tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", f.extract())
    path = folder / "events_police.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([lines[0] + ",", *lines[1:]]) + "\n", encoding="utf-8")
    with pytest.raises(FeedRejected, match="no row has the header's 6 fields"):
        validate_extract(folder, extract_date=dt.date(2024, 6, 30))
    path.write_text("\n".join([lines[0] + ",row_as_read", *(line + ",x" for line in lines[1:])])
                    + "\n", encoding="utf-8")
    with pytest.raises(FeedRejected, match="'row_as_read' is the name the quarantine gives"):
        validate_extract(folder, extract_date=dt.date(2024, 6, 30))
    path.write_text("\n".join([lines[0] + ",row_with_unclosed_quote",
                               *(line + ",x" for line in lines[1:])]) + "\n", encoding="utf-8")
    with pytest.raises(FeedRejected, match="'row_with_unclosed_quote' is a name the reader keeps"):
        validate_extract(folder, extract_date=dt.date(2024, 6, 30))


@pytest.mark.parametrize(("first", "header", "says"), [
    ("Police extract 2024-06-30", True, "line 1, read as the header row, holds one field "
     "and no row has one: is it a title above the header"),
    ("sep=,", True, "line 1 is a spreadsheet's 'sep=' line, not the header row"),
    (None, False, "header repeats the column name 'event_type'"),
])
def test_a_line_above_the_header_or_a_repeated_column_is_refused_saying_so(
        tmp_path: Path, first: str | None, header: bool, says: str) -> None:
    """A title line or Excel's 'sep=,' above the header was refused as "no row has the
    header's 1 (2) fields: ... a comma too many or too few?"; a repeated column as "header
    repeats a column name", naming none."""
    folder = f.write_extract(tmp_path / "in", f.extract())
    path = folder / "events_police.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    if first is None:
        lines = [lines[0] + ",event_type", *(line + ",x" for line in lines[1:])]
    path.write_text("\n".join([first, *lines] if header else lines) + "\n", encoding="utf-8")
    with pytest.raises(FeedRejected, match=re.escape(says)):
        validate_extract(folder, extract_date=dt.date(2024, 6, 30))


def test_a_quote_left_open_in_the_last_column_loses_no_referral(tmp_path: Path) -> None:
    """A quote opening the last cell of a referral swallowed the referrals up to the next
    quote into it: one referral quarantined ('imd_decile: not a whole number'), the four
    it swallowed neither accepted nor quarantined, scored by nothing."""
    folder = f.write_extract(tmp_path / "in", f.extract(referrals=f.referrals(12)))
    path = folder / "referrals.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3][:-1] + '"3'  # referral R0003 leaves its quote open
    lines[8] += '"'  # R0008's stray quote closed it
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = validate_extract(folder, extract_date=EXTRACT)
    referrals = result.report["feeds"]["referrals"]
    assert (referrals["read"], referrals["accepted"], referrals["quarantined"]) == (12, 10, 2)
    quarantine = result.quarantine["referrals"]
    assert quarantine["referral_id"].tolist() == ["R0008", "R0003"]
    assert quarantine["reason"].tolist() == [
        "imd_decile: not a whole number",
        "row: a double quote left unclosed swallowed the lines after it, read again as rows "
        "of their own (the row as read is in row_as_read)"]
    assert quarantine["row_as_read"].tolist()[1] == lines[3]
    assert {"R0004", "R0005", "R0006", "R0007"} <= set(result.feeds["referrals"]["referral_id"])
