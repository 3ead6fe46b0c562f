"""A stray double quote in a CSV referral id: quarantined saying so, a quoted one kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from data_contracts.csv_stray_quotes import (
    StrayQuote,
    quote_columns,
    stray_quote,
    text_after_closing_quote,
)
from data_contracts.pseudonymise import PseudonymisationError, pseudonymise_file
from data_contracts.validate import validate_extract
from tests.data_contracts import factories as f

EXTRACT = dt.date(2024, 6, 30)
STRAY = ('referral_id: holds a stray double quote (") outside CSV quoting: a value holding '
         'a quote is written in quotes, the quote doubled')
HEADER = ["referral_id", "person_id", "note"]


@pytest.mark.parametrize(("row", "stray"), [
    ('R3",P3,x', StrayQuote("referral_id", 'R3"')),  # a stray closing quote
    ('R"3,P3,x', StrayQuote("referral_id", 'R"3')),
    ('"R3"x,P3,x', StrayQuote("referral_id", '"R3"x')),  # text after a closing quote: R3x
    ('"R""3",P3,x', None),  # the id R"3, as CSV writes it
    ('"R,3",P3,"he said ""no"""', None),
    ('R3,P"3,x', None),  # a token holding a quote breaks the token's own rule
    ('R3,"P3"4,x', StrayQuote("person_id", '"P3"4')),  # read as the token P34: none
    ('R3,"P3" ,x', StrayQuote("person_id", '"P3" ')),
    ('R3,P3,"x"y', None),  # a column the specification does not name
    ('R3,P3,"seen at home,\nthen ""school"""', None),
])
def test_only_a_quote_outside_csv_quoting_is_a_stray(row: str, stray: StrayQuote | None
                                                     ) -> None:
    columns = quote_columns(HEADER, ["referral_id", "person_id"])
    assert stray_quote(row, HEADER, columns) == stray


def _referrals_file(folder: Path) -> list[str]:
    """An extract of six referrals in ``folder``, its referrals file's lines changed: a
    stray closing quote, a stray quote inside an id, and an id holding a quote as CSV
    writes one."""
    path = f.write_extract(folder, f.extract(referrals=f.referrals(6))) / "referrals.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("R0003", 'R0003"', 1)
    lines[5] = lines[5].replace("R0005", 'R00"05', 1)
    lines[6] = lines[6].replace("R0006", '"R""0006"', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def test_a_referral_id_with_a_stray_quote_is_quarantined_saying_so(tmp_path: Path) -> None:
    """A stray closing quote left the quote in an accepted referral id (R0003"), a referral
    no feed's R0003 matched; a quote written as CSV writes one is part of the id."""
    lines = _referrals_file(tmp_path / "in")
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    referrals = result.report["feeds"]["referrals"]
    assert (referrals["read"], referrals["accepted"], referrals["quarantined"]) == (6, 4, 2)
    quarantine = result.quarantine["referrals"]
    assert quarantine["referral_id"].tolist() == ['R0003"', 'R00"05']
    assert quarantine["reason"].tolist() == [STRAY, STRAY]
    assert result.feeds["referrals"]["referral_id"].tolist() == [
        "R0001", "R0002", "R0004", 'R"0006']
    assert lines[3].startswith('R0003",')


def test_pseudonymise_refuses_a_stray_quote_in_a_referral_id(tmp_path: Path) -> None:
    """Written again, its cells quoted as CSV quotes them, the stray quote would have
    become part of the id for every later reader."""
    _referrals_file(tmp_path)
    with pytest.raises(PseudonymisationError, match=(
            r'^referrals.csv: line 4, column \'referral_id\' holds a stray double quote')):
        pseudonymise_file(tmp_path / "referrals.csv", tmp_path / "out.csv",
                          columns=["person_id"], key=b"k" * 32)
    assert not (tmp_path / "out.csv").exists()


def _one_stray_after_a_closing_quote(folder: Path) -> Path:
    """An extract of four referrals in ``folder`` whose referrals file writes R0003 as
    `"R0003"x`, and no other id with a quote."""
    path = f.write_extract(folder, f.extract(referrals=f.referrals(4))) / "referrals.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nR0003,", '\n"R0003"x,', 1), encoding="utf-8")
    return path


def test_text_after_a_closing_quote_is_quarantined_though_no_other_id_holds_a_quote(
        tmp_path: Path) -> None:
    """`"R0003"x` was read as the id R0003x and accepted when no other referral id held a
    quote: the quarantine now shows it as the file writes it, saying why."""
    _one_stray_after_a_closing_quote(tmp_path / "in")
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    referrals = result.report["feeds"]["referrals"]
    assert (referrals["read"], referrals["accepted"], referrals["quarantined"]) == (4, 3, 1)
    quarantine = result.quarantine["referrals"]
    assert quarantine["referral_id"].tolist() == ['"R0003"x']
    assert quarantine["reason"].tolist() == [STRAY]
    assert result.feeds["referrals"]["referral_id"].tolist() == ["R0001", "R0002", "R0004"]


def test_pseudonymise_refuses_text_after_a_closing_quote_naming_its_line(
        tmp_path: Path) -> None:
    _one_stray_after_a_closing_quote(tmp_path)
    with pytest.raises(PseudonymisationError, match=(
            r'^referrals.csv: line 4, column \'referral_id\' holds a stray double quote')):
        pseudonymise_file(tmp_path / "referrals.csv", tmp_path / "out.csv",
                          columns=["person_id"], key=b"k" * 32)


def test_text_after_a_closing_quote_beside_an_id_holding_a_quote_shows_as_written(
        tmp_path: Path) -> None:
    """Read row by row (another id holds a quote), `"R0004"x` was quarantined as R0004x,
    an id the agency's file does not hold."""
    _referrals_file(tmp_path / "in")
    path = tmp_path / "in" / "referrals.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("\nR0004,", '\n"R0004"x,', 1),
                    encoding="utf-8")
    quarantine = validate_extract(tmp_path / "in", extract_date=EXTRACT).quarantine["referrals"]
    assert quarantine["referral_id"].tolist() == ['R0003"', '"R0004"x', 'R00"05']


@pytest.mark.parametrize(("text", "after"), [
    ('"R3"x,P3\n', True),
    ('R1,P1\n"R3" ,P3\n', True),  # a blank after the closing quote
    ('"R1","P1"\r\n"R""2","P2"\r\n', False),  # every field quoted, as R's write.csv
    ('R1,"he said ""no""",x\n"R2","a\nb"\n"R3",""\n', False),
    ('R1,P1\n"R2",P2', False),  # the file's end after a closing quote
])
def test_a_quote_closing_a_value_is_followed_by_a_comma_or_a_line_end(
        tmp_path: Path, text: str, after: bool) -> None:
    """Only a file whose quotes may close a value early is read row by row: one whose
    every field is quoted keeps the fast read."""
    (tmp_path / "referrals.csv").write_bytes(("referral_id,person_id\n" + text).encode())
    assert text_after_closing_quote(tmp_path / "referrals.csv") is after


def _text_after_a_closing_quote(folder: Path, feed: str, cell: str, written: str) -> Path:
    """An extract in ``folder`` of four referrals and four police events whose ``feed``
    file writes the first ``cell`` of its line 4 (person P000003's) as ``written``, and no
    cell with a quote of its own."""
    frames = f.extract(referrals=f.referrals(4), events_police=f.events("police", 4))
    path = f.write_extract(folder, frames) / f"{feed}.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    fields = lines[3].split(",")
    fields[fields.index(cell)] = written
    lines[3] = ",".join(fields)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(("feed", "column", "cell", "written"), [
    ("referrals", "person_id", "P000003", '"P000003"4'),
    ("events_police", "person_id", "P000003", '"P000003"4'),
    ("events_police", "event_date", "2024-01-10", '"2024-01-10"1'),
])
def test_text_after_a_closing_quote_in_any_column_is_quarantined_saying_so(
        tmp_path: Path, feed: str, column: str, cell: str, written: str) -> None:
    """`"P000003"4` was read as the token P0000034, which breaks no token's rule: the row
    accepted as another person's (a feed without referral ids was not looked at). Its
    quarantine gives the one reason, not also the written cell's as a token's."""
    _text_after_a_closing_quote(tmp_path / "in", feed, cell, written)
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    report = result.report["feeds"][feed]
    assert (report["read"], report["accepted"], report["quarantined"]) == (4, 3, 1)
    quarantine = result.quarantine[feed]
    assert quarantine[column].tolist() == [written]
    assert quarantine["reason"].tolist() == [STRAY.replace("referral_id", column, 1)]
    assert "P0000034" not in set(result.feeds[feed]["person_id"])


def test_pseudonymise_refuses_text_after_a_token_s_closing_quote(tmp_path: Path) -> None:
    """Pseudonymised as P0000034, the row would have become another person's for good."""
    path = _text_after_a_closing_quote(tmp_path, "events_police", "P000003", '"P000003"4')
    with pytest.raises(PseudonymisationError, match=(
            r'^events_police.csv: line 4, column \'person_id\' holds a stray double quote')):
        pseudonymise_file(path, tmp_path / "out.csv", columns=["person_id"], key=b"k" * 32)
    assert not (tmp_path / "out.csv").exists()
