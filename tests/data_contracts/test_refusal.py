"""Feeds with direct identifiers, missing feeds or columns, or unreadable files are refused."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from data_contracts.errors import FeedRejected
from data_contracts.feed_files import feed_file_meant, feed_named
from data_contracts.feed_threads import in_order
from data_contracts.identifier_names import identifier_column_name
from data_contracts.identifiers import _take_in_order, refuse_direct_identifiers
from data_contracts.validate import validate_extract, validate_frames
from data_contracts.vocab import AGENCIES, FEED_COLUMNS
from tests.data_contracts import factories as f

EXTRACT = dt.date(2024, 6, 30)


def _nhs_number(nine_digits: str) -> str | None:
    total = sum(int(d) * w for d, w in zip(nine_digits, range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return None if check == 10 else nine_digits + str(check)


def _valid_nhs_numbers(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    found: list[str] = []
    while len(found) < n:
        number = _nhs_number("".join(map(str, rng.integers(0, 10, 9))))
        if number:
            found.append(number)
    return found


@pytest.mark.parametrize(
    "column",
    [
        "name", "First_Name", "surname", "Forename", "full name", "lastName", "DOB",
        "Date of Birth", "date-of-birth", "address_line_1", "Home Address", "postcode",
        "post_code", "Post Code", "zip", "NHS Number", "nhs_no", "NHSNo", "ni_number", "NI No",
        "national_insurance", "phone", "Telephone", "mobile_number", "email", "E-mail",
        "EMAIL_ADDRESS", "Birthday", "child_birthday", "bday", "child_name", "officer_name",
        "team_leader_name", "service_user_name", "childName", "officerName", "PersonName",
        "name_of_school", "agency_email", "d_o_b", "D.O.B.", "born_on", "date_born",
        "birth_dt", "bdate", "house_no", "BIRTHDT", "BirthDT", "birthdt", "DATEBORN",
        "dateborn", "bornon",
    ],
)  # fmt: skip
def test_identifier_column_name_refuses_the_feed(column: str) -> None:
    frames = f.extract()
    frames["events_police"][column] = "x"
    with pytest.raises(FeedRejected) as caught:
        validate_frames(frames, extract_date=EXTRACT)
    message = str(caught.value)
    assert "\n" not in message
    assert f"'{column}'" in message and "events_police" in message


@pytest.mark.parametrize("column", [
    "agency_name", "Agency Name", "agencyName", "school_name", "team_name", "provider_name",
    "gp_practice_name", "local_authority_name", "police_force_name", "hospital_names",
    "Organisation-Name", "organization_name", "service_name", "unit_name", "site_name",
])
def test_an_organisations_name_is_not_a_persons(column: str) -> None:
    """The specification forbids people's names: the police force that sent a record
    ("Metropolitan Police") refused the feed as a direct identifier."""
    frames = f.extract()
    frames["events_police"][column] = "Metropolitan Police"
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["events_police"]["ignored_columns"] == [column]
    assert result.report["feeds"]["events_police"]["accepted"] == 3


@pytest.mark.parametrize(("column", "flags"), [
    ("email_consent", ["true", "false", ""]), ("address_known", ["Y", "N", "Y"]),
    ("dob_known", ["1", "0", "1"]), ("has_email", ["", "", ""]),
    ("phone_contact_made", ["Yes", "No", " no "]),
    ("email_consent", ["true", " ", "false"]),  # blank, as the content checks read it
])
def test_a_yes_no_flag_named_after_an_identifier_holds_none(
        column: str, flags: list[str]) -> None:
    """The specification refuses a column that holds identifiers: a column of yes/no flags
    (or of nothing) holds none, and refused its feed as 'a direct identifier'."""
    frames = f.extract()
    frames["events_police"][column] = flags
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["events_police"]["ignored_columns"] == [column]
    assert result.report["feeds"]["events_police"]["accepted"] == 3


def test_a_column_named_after_an_identifier_holding_one_value_not_a_flag_is_refused() -> None:
    frames = f.extract()
    frames["events_police"]["email_consent"] = ["true", "false", "jo@example.org"]
    with pytest.raises(FeedRejected, match="'email_consent' is a direct identifier"):
        validate_frames(frames, extract_date=EXTRACT)


def test_an_identifier_written_in_an_organisations_name_still_refuses_the_feed() -> None:
    frames = f.extract()
    frames["events_police"]["agency_name"] = "Metropolitan Police"
    frames["events_police"].loc[2, "agency_name"] = "Met Police, PC Smith 07700 900123"
    with pytest.raises(FeedRejected, match="'agency_name' holds direct identifiers"):
        validate_frames(frames, extract_date=EXTRACT)


def test_specification_columns_are_not_identifier_names() -> None:
    columns = {c for cols in FEED_COLUMNS.values() for c in cols}
    assert not [c for c in columns if identifier_column_name(c)]


def _refused(values: list[str]) -> bool:
    try:
        refuse_direct_identifiers(pd.DataFrame({"note": values}, dtype="string[pyarrow]"), "f")
    except FeedRejected:
        return True
    return False


@pytest.mark.parametrize(
    "values",
    [
        _valid_nhs_numbers(20),
        [f"{n[:3]} {n[3:6]} {n[6:]}" for n in _valid_nhs_numbers(20)],
        ["SW1A 1AA", "M1 1AE", "b33 8th", "CR2 6XH", "DN55 1PT"],
        ["SW1A1AA", "M11AE", "B338TH", "CR26XH"],
        ["jane@example.org", "j.smith@council.gov.uk", "x_y@nhs.net"],
        ["07700 900123", "+44 7700 900456", "020 7946 0018", "(0161) 496 0000"],
        ["07700900123", "02079460018", "01614960000"],
    ],
)
def test_identifier_content_refuses_the_column(values: list[str]) -> None:
    assert _refused(values)


@pytest.mark.parametrize(("text", "kind"), [
    ("lives at SW1A 1AA with mum", "postcodes"),
    ("call 07700 900123 after 5", "phone numbers"),
    ("GP letter, NHS 943-476-5919", "NHS numbers"),
    ("email jane@example.org", "e-mail addresses"),
    ("NI AB 12 34 56 C on file", "National Insurance numbers"),
])
def test_an_identifier_written_inside_an_extra_columns_text_refuses_the_feed(
        text: str, kind: str) -> None:
    """A column outside the specification is ignored but kept in the quarantine file, so
    one identifier written inside its text refuses the feed (it was copied there)."""
    frames = f.extract()
    frames["referrals"]["notes"] = "seen at school"
    frames["referrals"].loc[1, "notes"] = text
    with pytest.raises(FeedRejected, match=f"'notes' holds direct identifiers.*{kind}"):
        validate_frames(frames, extract_date=EXTRACT)


@pytest.mark.parametrize(("feed", "text", "kind"), [
    ("referrals", "Jane Smith 07700 900123", "phone numbers"),
    ("referrals", "ref for jane.doe@example.com", "e-mail addresses"),
    ("referrals", "MASH SW1A 1AA", "postcodes"),
    ("outcomes", "R 943-476-5919", "NHS numbers"),
])
def test_an_identifier_written_inside_one_referral_id_refuses_the_feed(
        feed: str, text: str, kind: str) -> None:
    """A referral id is free text (spaces allowed), read and stored: one identifier in it
    refuses the feed, as in a column the specification does not name (it was accepted)."""
    frames = f.extract()
    frames[feed]["referral_id"] = frames[feed]["referral_id"].astype(object)
    frames[feed].loc[0, "referral_id"] = text
    with pytest.raises(FeedRejected, match=f"'referral_id' holds direct identifiers.*{kind}"):
        validate_frames(frames, extract_date=EXTRACT)


def test_referral_ids_in_a_case_systems_shapes_are_not_identifiers() -> None:
    frames = f.extract()
    frames["referrals"]["referral_id"] = ["MASH/2023/0001", "Ref #3", "2024-06-01 12"]
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["referrals"]["accepted"] == 3


def test_ordinary_text_in_an_extra_column_is_only_ignored() -> None:
    frames = f.extract()
    frames["referrals"]["notes"] = ["seen 2024-01-10, 3 calls", "ref T000123-45", "B1 team"]
    frames["referrals"]["more"] = ["Y9 2nd warning", "visits 0900 1230 1700", "KS2 3rd visit"]
    frames["referrals"]["birth_order"] = frames["referrals"]["street_team"] = "2"
    result = validate_frames(frames, extract_date=EXTRACT)
    assert result.report["feeds"]["referrals"]["ignored_columns"] == [
        "notes", "more", "birth_order", "street_team"]


def test_an_nhs_number_written_with_dashes_or_a_street_column_refuses_the_feed() -> None:
    assert _refused([f"{n[:3]}-{n[3:6]}-{n[6:]}" for n in _valid_nhs_numbers(20)])
    for column in ("street", "birth", "Born"):
        frames = f.extract()
        frames["referrals"][column] = "x"
        with pytest.raises(FeedRejected, match=f"'{column}' is a direct identifier"):
            validate_frames(frames, extract_date=EXTRACT)


def test_identifier_content_in_a_specification_column_refuses_the_feed() -> None:
    frames = f.extract()
    frames["referrals"]["person_id"] = _valid_nhs_numbers(3)
    with pytest.raises(FeedRejected, match="person_id.*NHS numbers"):
        validate_frames(frames, extract_date=EXTRACT)


@pytest.mark.parametrize(
    "values",
    [
        [f"{i:064x}" for i in range(50)],  # HMAC-style hex digests
        [f"P{i:06d}" for i in range(50)],
        ["2024-01-10", "2024-02-11"],
        [f"T{i:07d}" for i in range(999)] + _valid_nhs_numbers(1),  # one NHS-like token
    ],
)
def test_pseudonymous_tokens_are_not_refused(values: list[str]) -> None:
    assert not _refused(values)


def test_random_ten_digit_tokens_are_not_refused() -> None:
    rng = np.random.default_rng(3)
    tokens = [f"{n:010d}" for n in rng.integers(0, 10**10, 5_000)]
    assert not _refused(tokens)


def test_a_million_tokens_with_one_nhs_number_is_not_refused() -> None:
    tokens = pd.Series([f"{i:010x}" for i in range(1_000_000)], dtype="string[pyarrow]")
    tokens.iloc[500_000] = _valid_nhs_numbers(1)[0]
    refuse_direct_identifiers(pd.DataFrame({"person_id": tokens}), "events_police.csv")


def test_missing_referrals_is_refused(tmp_path: Path) -> None:
    frames = f.extract()
    del frames["referrals"]
    with pytest.raises(FeedRejected, match="referrals"):
        validate_extract(f.write_extract(tmp_path, frames))


def test_missing_required_column_is_refused(tmp_path: Path) -> None:
    frames = f.extract()
    frames["events_health"] = frames["events_health"].drop(columns="event_type")
    with pytest.raises(FeedRejected, match=r"events_health\.csv: required column 'event_type'"):
        validate_extract(f.write_extract(tmp_path, frames))


@pytest.mark.parametrize(("feed", "column", "written"), [
    ("events_police", "recorded_date", "Recorded_Date"),
    ("events_police", "recorded_date", "recorded_date "),
    ("referrals", "household_id", "HOUSEHOLD_ID"),
    ("referrals", "referral_id", "Referral_ID"),
])
def test_a_column_named_in_another_case_or_with_blanks_is_refused_not_taken_as_absent(
        tmp_path: Path, feed: str, column: str, written: str) -> None:
    """`Recorded_Date` was read as an absent optional column and ignored: every recorded
    date was dropped and records known after a referral counted towards it."""
    frames = f.extract()
    frames[feed] = frames[feed].rename(columns={column: written})
    with pytest.raises(FeedRejected, match=(
            f"{feed}\\.csv: column '{written}' is not named as the specification names it "
            f"\\('{column}'\\): rename it")):
        validate_extract(f.write_extract(tmp_path, frames), extract_date=EXTRACT)


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_header_split_by_another_separator_is_refused_naming_it(
        tmp_path: Path, separator: str) -> None:
    """It was refused as 'required column 'person_id' missing', which it held."""
    frames = f.extract()
    f.write_extract(tmp_path, frames)
    frames["events_police"].to_csv(tmp_path / "events_police.csv", index=False, sep=separator)
    with pytest.raises(FeedRejected, match=(
            "events_police\\.csv: the header row is one column, split by "
            f"{re.escape(repr(separator))}: a feed's columns are separated by commas")):
        validate_extract(tmp_path, extract_date=EXTRACT)


def test_absent_optional_column_reads_as_empty(tmp_path: Path) -> None:
    frames = f.extract()
    frames["events_police"] = frames["events_police"].drop(columns="value")
    result = validate_extract(f.write_extract(tmp_path, frames), extract_date=EXTRACT)
    assert result.feeds["events_police"]["value"].isna().all()
    assert result.report["feeds"]["events_police"]["absent_optional_columns"] == ["value"]


def test_unparsable_csv_is_refused(tmp_path: Path) -> None:
    f.write_extract(tmp_path, f.extract())
    # Not UTF-8 (a row of the wrong number of fields is quarantined, not refused: see
    # test_validate.py).
    (tmp_path / "events_police.csv").write_bytes(b"person_id,event_date\nP\xff1,2024-01-01\n")
    with pytest.raises(FeedRejected, match=r"events_police.csv: is not UTF-8 \(line 2 "):
        validate_extract(tmp_path)


def test_unparsable_parquet_is_refused(tmp_path: Path) -> None:
    f.write_extract(tmp_path, f.extract())
    (tmp_path / "events_police.csv").unlink()
    (tmp_path / "events_police.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(FeedRejected, match="events_police.parquet: cannot be parsed"):
        validate_extract(tmp_path)


def _police_parquet_with(tmp_path: Path, name: str, column: object) -> None:
    import pyarrow
    import pyarrow.parquet as pq

    f.write_extract(tmp_path, f.extract())
    (tmp_path / "events_police.csv").unlink()
    table = pyarrow.Table.from_pandas(f.events("police")).append_column(name, column)
    pq.write_table(table, tmp_path / "events_police.parquet")


@pytest.mark.parametrize(("cells", "kind"), [
    ([["a", "b"], [], None], "list<string>"),
    ([{"code": 1}, {"code": 2}, None], "struct<code: int64>"),
    ([[("k", "v")], [], None], "map<string, string>"),
])
def test_a_parquet_column_of_lists_or_records_not_in_the_specification_is_ignored(
        tmp_path: Path, cells: list[object], kind: str) -> None:
    """A list, struct or map column refused the whole feed as 'an unreadable type', though
    the feed followed the specification; it is read as JSON text, like any other column
    the specification does not name (ignored, and searched for identifiers)."""
    import pyarrow

    types = {"list<string>": pyarrow.list_(pyarrow.string()),
             "struct<code: int64>": pyarrow.struct([("code", pyarrow.int64())]),
             "map<string, string>": pyarrow.map_(pyarrow.string(), pyarrow.string())}
    _police_parquet_with(tmp_path, "tags", pyarrow.array(cells, types[kind]))
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    police = result.report["feeds"]["events_police"]
    assert (police["accepted"], police["ignored_columns"]) == (3, ["tags"])


def test_a_parquet_list_column_holding_phone_numbers_refuses_the_feed(tmp_path: Path) -> None:
    import pyarrow

    phones = [["07700 900123"], ["07700 900456"], ["07700 900789"]]
    _police_parquet_with(tmp_path, "contacts", pyarrow.array(phones))
    with pytest.raises(FeedRejected, match=r"column 'contacts' holds direct identifiers \(phone"):
        validate_extract(tmp_path, extract_date=EXTRACT)


def test_a_parquet_column_that_is_not_text_is_refused_saying_what_to_do(tmp_path: Path) -> None:
    import pyarrow

    _police_parquet_with(tmp_path, "blob", pyarrow.array([b"\xff\x00"] * 3))
    with pytest.raises(FeedRejected) as caught:
        validate_extract(tmp_path, extract_date=EXTRACT)
    assert str(caught.value).startswith(
        "events_police.parquet: column 'blob' (binary) cannot be read as text, as every "
        "column is (each is checked for direct identifiers): write it as UTF-8 text;")


def test_feed_in_two_formats_is_refused(tmp_path: Path) -> None:
    f.write_extract(tmp_path, f.extract())
    f.events("health").to_parquet(tmp_path / "events_health.parquet")
    with pytest.raises(FeedRejected, match="events_health"):
        validate_extract(tmp_path)


def test_unknown_files_are_ignored_and_listed(tmp_path: Path) -> None:
    f.write_extract(tmp_path, f.extract())
    (tmp_path / "README.txt").write_text("hello")
    (tmp_path / "events_fire.csv").write_text("a\n1\n")
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    assert result.report["ignored_files"] == ["README.txt", "events_fire.csv"]


@pytest.mark.parametrize("name", ["EVENTS_POLICE.csv", "Events_Police.CSV", "events_police.Csv"])
def test_a_feed_file_name_is_read_whatever_its_case(tmp_path: Path, name: str) -> None:
    f.write_extract(tmp_path, f.extract())
    (tmp_path / "events_police.csv").rename(tmp_path / name)
    result = validate_extract(tmp_path, extract_date=EXTRACT)
    assert result.report["feeds"]["events_police"]["file"] == name
    assert len(result.feeds["events_police"]) == 3 and result.report["ignored_files"] == []


def test_an_ignored_file_like_a_missing_feed_is_warned_of_by_every_command(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`validate` named it in its summary; `score` only said police shared no records."""
    f.write_extract(tmp_path, f.extract())
    (tmp_path / "events_police.csv").rename(tmp_path / "events-police.csv")
    (tmp_path / "README.txt").write_text("hello")
    with caplog.at_level(logging.WARNING, logger="data_contracts.validate"):
        validate_extract(tmp_path, extract_date=EXTRACT)
    assert [record.getMessage() for record in caplog.records] == [
        "events-police.csv ignored: not a feed file's name (did you mean events_police.csv?); "
        "the extract is read without that feed"]


def test_a_feed_named_twice_in_two_cases_is_refused(tmp_path: Path) -> None:
    f.write_extract(tmp_path, f.extract())
    f.events("police").to_csv(tmp_path / "EVENTS_POLICE.csv", index=False)
    if len(list(tmp_path.iterdir())) == 9:  # a file system that does not mind case
        pytest.skip("EVENTS_POLICE.csv is events_police.csv on this file system")
    with pytest.raises(FeedRejected, match="feed 'events_police' given twice"):
        validate_extract(tmp_path)


@pytest.mark.parametrize(("name", "meant"), [
    ("events-police.csv", "events_police.csv"), ("Events Police.CSV", "events_police.csv"),
    ("referral.csv", "referrals.csv"), ("police.csv", "events_police.csv"),
    ("events_socialcare.parquet", "events_social_care.parquet"),
    ("events_police.xlsx", "events_police.csv"), ("outcome", "outcomes.csv"),
    ("README.txt", None), ("events_fire.csv", None), ("household.csv", None),
])
def test_an_ignored_file_names_the_feed_file_it_was_likely_meant_as(
        name: str, meant: str | None) -> None:
    assert feed_named(name) is None
    assert feed_file_meant(name) == meant


@pytest.mark.parametrize("seed", range(20))
def test_the_sample_taken_chunk_by_chunk_is_arrows_take(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = [*rng.integers(0, 30, size=rng.integers(1, 6)), 1]  # empty chunks too
    cells = pa.chunked_array([pa.array([f"c{i}-{j}" for j in range(n)], pa.large_string())
                              for i, n in enumerate(sizes)], type=pa.large_string())
    positions = np.sort(rng.choice(len(cells), size=rng.integers(1, len(cells) + 1)))
    want = cells.take(pa.array(positions)).to_pylist()
    assert _take_in_order(cells, positions).to_pylist() == want
    assert _take_in_order(cells.combine_chunks(), positions).to_pylist() == want


def test_of_two_refused_feeds_the_first_in_feed_order_is_reported(tmp_path: Path) -> None:
    # Feeds are read and parsed two at a time: the error is still the one a feed-by-feed
    # validation meets first, whichever thread finishes first.
    frames = f.extract()
    for feed in ("events_probation", "events_police"):
        frames[feed] = frames[feed].drop(columns="event_type")
    with pytest.raises(FeedRejected, match=r"events_police\.csv: required column 'event_type'"):
        validate_extract(f.write_extract(tmp_path, frames))


def test_feed_work_reports_the_first_failure_in_order_and_drops_work_not_started() -> None:
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        if item == 0:
            time.sleep(0.3)
            raise FeedRejected("first.csv", "slow to fail")
        if item == 1:
            raise FeedRejected("second.csv", "quick to fail")
        time.sleep(0.2)
        return item

    with pytest.raises(FeedRejected, match="first.csv: slow to fail"):
        in_order(work, list(range(20)), progress=False, message="")
    assert 1 in started and len(started) < 20
    assert in_order(lambda item: item * 2, [3, 1, 2], progress=False, message="") == [6, 2, 4]


def test_agencies_with_no_feed_no_rows_or_every_row_quarantined_shared_nothing(
    tmp_path: Path,
) -> None:
    from data_contracts.report import agencies_without_records

    frames = f.extract()
    del frames["events_social_care"]  # no feed
    frames["events_health"] = frames["events_health"].head(0)  # a header, no row
    frames["events_police"] = f.events("police", event_type="not_a_police_record")
    frames["events_housing"] = pd.concat([  # one bad row of two: housing shared one record
        f.events("housing", n=1), f.events("housing", n=1, event_date="2024-13-01")])
    validated = validate_extract(f.write_extract(tmp_path / "extract", frames),
                                 extract_date=EXTRACT)
    assert len(validated.quarantine["events_police"]) == 3
    assert len(validated.feeds["events_housing"]) == 1
    assert agencies_without_records(validated.feeds) == ("police", "health", "social_care")
    assert agencies_without_records({"referrals": f.referrals()}) == AGENCIES


def test_one_identifier_in_the_text_of_a_long_extra_column_is_found() -> None:
    """Every cell is searched, not a sample of 100,000: the cell would be copied to the
    quarantine file."""
    notes = pd.Series(["seen at school"] * 150_000, dtype="string[pyarrow]")
    notes.iloc[149_999] = "moved to M1 1AE"
    with pytest.raises(FeedRejected, match="'notes' holds direct identifiers \\(postcodes\\)"):
        refuse_direct_identifiers(pd.DataFrame({"notes": notes}), "referrals.csv", ("x",))
