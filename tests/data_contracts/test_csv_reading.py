"""CSV feed files as an agency's system may write them: encodings, quotes, line breaks."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from data_contracts import csv_lines, csv_reading
from data_contracts.errors import FeedRejected
from data_contracts.pseudonymise import PseudonymisationError, pseudonymise_file
from data_contracts.validate import validate_extract
from tests.data_contracts import factories as f
from tests.data_contracts.test_cli import _validate as validate_cli

EXTRACT = dt.date(2024, 6, 30)
UNCLOSED = ("row: a double quote left unclosed swallowed the lines after it, read again as "
            "rows of their own (the row as read is in row_as_read)")


def _police_lines(folder: Path, n: int) -> list[str]:
    """An extract in ``folder`` whose police feed has ``n`` rows, unquoted; its lines."""
    frames = f.extract(events_police=f.events("police", n))
    f.write_extract(folder, frames)
    return (folder / "events_police.csv").read_text(encoding="utf-8").splitlines()


def _write(path: Path, lines: list[str], newline: str = "\n") -> None:
    path.write_bytes((newline.join(lines) + newline).encode())


@pytest.mark.parametrize("fields", [2, 12])
def test_a_byte_not_utf8_refuses_the_file_naming_its_line_and_nothing_else(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: int) -> None:
    """The byte in a row of the wrong number of fields printed pyarrow's traceback and
    then said the row had 2 fields, not that the file was not UTF-8."""
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    folder = f.write_extract(tmp_path / "in", f.extract())
    row = ",".join(f.referral_row(referral_id="R\xe9F2").values()).encode("latin-1")
    with (folder / "referrals.csv").open("ab") as handle:
        handle.write(b",".join(row.split(b",")[:fields]) + b"\n")
    with pytest.raises(FeedRejected) as caught:
        validate_extract(folder, extract_date=EXTRACT)
    assert str(caught.value) == ("referrals.csv: is not UTF-8 (line 5 holds the byte 0xE9): "
                                 "save it as UTF-8")
    assert unraisable == []


@pytest.mark.parametrize("chunk", range(4, 10))  # every cut of a 2-, 3- and 4-byte character
def test_a_character_cut_by_a_chunk_boundary_is_utf8_and_one_cut_by_the_end_is_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(csv_lines, "UTF8_CHUNK_BYTES", chunk)
    path = tmp_path / "feed.csv"
    path.write_bytes("note\nPolicía € 😀 done\nzürich".encode())
    assert csv_lines.utf8_line_count(path) == 3
    path.write_bytes("note\nok\nPolicía €".encode()[:-1])
    with pytest.raises(FeedRejected, match=r"not UTF-8 \(line 3 holds the byte 0xE2\)"):
        csv_lines.utf8_line_count(path)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_byte_not_utf8_is_placed_on_its_line_whatever_the_line_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: str) -> None:
    """Lines were counted at line feeds only: in a file whose lines end in CR alone every
    bad byte was said to be on line 1. Across chunks too."""
    monkeypatch.setattr(csv_lines, "UTF8_CHUNK_BYTES", 5)
    path = tmp_path / "feed.csv"
    path.write_bytes(newline.join(["note", "ok", "fine", "R\xe9F"]).encode("latin-1")
                     + newline.encode())
    with pytest.raises(FeedRejected, match=r"not UTF-8 \(line 4 holds the byte 0xE9\)"):
        csv_reading.read_csv_strings(path)
    path.write_bytes(newline.join(["note", "ok", "fine", "last"]).encode())
    assert csv_reading.read_csv_strings(path).column("note").to_pylist() == [
        "ok", "fine", "last"]


def test_a_header_not_utf8_is_refused_as_such(tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", f.extract())
    (folder / "referrals.csv").write_bytes(b"referral_id\xf6\nR1\n")
    with pytest.raises(FeedRejected, match=r"not UTF-8 \(line 1 holds the byte 0xF6\)"):
        validate_extract(folder, extract_date=EXTRACT)


@pytest.mark.parametrize(("rows", "newline"), [
    (300, "\n"), (40_000, "\n"),  # within one block of pyarrow's, and over 1 MB
    (300, "\r"), (40_000, "\r"),  # lines ending in a carriage return alone
])
def test_an_unclosed_quote_early_in_a_file_is_one_quarantined_line_the_others_read(
        tmp_path: Path, rows: int, newline: str) -> None:
    """A lone quote opening line 101 refused a small file as 'field larger than field limit
    (131072)'; in a file of several blocks the rows after it were lost without a word
    (and in a file whose lines end in CR alone, the rows it swallowed were one quarantined
    row: its lines were counted at line feeds only). Then it refused the feed, and with it
    the extract, naming the line: each of the lines it swallowed is a record of its own."""
    lines = _police_lines(tmp_path / "in", rows)
    lines[100] = '"' + lines[100]
    _write(tmp_path / "in" / "events_police.csv", lines, newline)
    result = validate_cli(tmp_path / "in", tmp_path / "out", "--extract-date", "2024-06-30")
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "out" / "validation.json").read_text(encoding="utf-8"))
    police = report["feeds"]["events_police"]
    assert (police["read"], police["accepted"], police["quarantined"]) == (rows, rows - 1, 1)
    assert list(police["reasons"])[0].startswith(UNCLOSED)


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_an_unclosed_quote_near_the_end_is_one_quarantined_line_the_others_read(
        tmp_path: Path, newline: str) -> None:
    """The quote's line and the two after it were one quarantined row: two records
    neither accepted nor quarantined as themselves."""
    lines = _police_lines(tmp_path / "in", 300)
    lines[-3] = '"' + lines[-3]  # it runs over the file's last 3 lines
    _write(tmp_path / "in" / "events_police.csv", lines, newline)
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    police = result.report["feeds"]["events_police"]
    assert (police["read"], police["accepted"], police["quarantined"]) == (300, 299, 1)
    (reason,) = result.quarantine["events_police"]["reason"]
    assert reason.startswith(UNCLOSED)  # then its cells' reasons
    assert result.quarantine["events_police"]["row_as_read"][0] == lines[-3]


def _stray_quotes(lines: list[str], opening: int, closing: int, column: int) -> list[str]:
    """``lines`` with a double quote opening field ``column`` of line ``opening`` and
    another opening that field of line ``closing``."""
    for at in (opening, closing):
        fields = lines[at].split(",")
        fields[column] = '"' + fields[column]
        lines[at] = ",".join(fields)
    return lines


@pytest.mark.parametrize(("rows", "newline"), [(300, "\n"), (300, "\r\n"), (300, "\r"),
                                               (40_000, "\n")])
@pytest.mark.parametrize(("column", "closing"), [
    (3, 7),  # event_type: the next quote, 6 lines on, closes the first
    (4, 7),  # value, the last column: each quote swallows to the next, the last to the end
])
def test_stray_quotes_leaving_the_header_s_fields_lose_no_record(
        tmp_path: Path, rows: int, newline: str, column: int, closing: int) -> None:
    """A quote opened by mistake swallowed every line up to the next quote into one cell:
    when that left the header's number of fields the row was one quarantined row ('value:
    not a number'), the records it swallowed neither accepted nor quarantined, and the
    quarantine did not say a quote was left unclosed."""
    lines = _stray_quotes(_police_lines(tmp_path / "in", rows), 101, 101 + closing, column)
    _write(tmp_path / "in" / "events_police.csv", lines, newline)
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    police = result.report["feeds"]["events_police"]
    assert police["read"] == rows == police["accepted"] + police["quarantined"]
    quarantine = result.quarantine["events_police"]
    unclosed = quarantine[quarantine["reason"].str.startswith(UNCLOSED)]
    assert unclosed["row_as_read"].tolist() == [lines[101], lines[101 + closing]]
    assert police["quarantined"] == 2  # the second quote, read again, swallows the rest
    accepted = set(result.feeds["events_police"]["person_id"])
    assert {line.split(",")[0] for line in lines[102:101 + closing]} <= accepted


def test_a_stray_quote_in_a_column_the_specification_does_not_name_loses_no_record(
        tmp_path: Path) -> None:
    """A note column may hold line breaks, but not the records a stray quote swallowed:
    every row of the feed was accepted, the swallowed records silently gone."""
    lines = _police_lines(tmp_path / "in", 20)
    lines = [lines[0] + ",note", *(line + ",seen at home" for line in lines[1:])]
    lines = _stray_quotes(lines, 5, 9, 5)
    lines[9] += '"'  # the quote opening line 9 closes there: its note holds one
    lines[12] = lines[12].replace("seen at home", '"seen at home,\nthen at school"')
    _write(tmp_path / "in" / "events_police.csv", lines)
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    police = result.report["feeds"]["events_police"]
    assert (police["read"], police["accepted"], police["quarantined"]) == (20, 19, 1)
    quarantined = result.quarantine["events_police"]  # the note's line not copied
    assert quarantined["person_id"].tolist() == [lines[5].split(",")[0]]
    assert "row_as_read" not in quarantined.columns and "note" not in quarantined.columns
    assert quarantined["reason"].tolist() == [UNCLOSED.replace(
        "is in row_as_read", "is not kept: its line holds columns not in the specification")]


def test_a_note_whose_line_has_a_rows_commas_is_a_note(tmp_path: Path) -> None:
    """A quoted note over two lines, the second with as many commas as a row ("mother,
    father, ..."), was taken for a quote left unclosed: its row quarantined and the
    note's line accepted as a record of person 'mother' (a review's repro)."""
    lines = _police_lines(tmp_path / "in", 6)
    lines = [lines[0] + ",note", *(line + ",seen" for line in lines[1:])]
    lines[2] = lines[2][:-len("seen")] + ('"Present at scene:\nmother, father, two siblings, '
                                          'neighbour, PCSO, GP"')
    _write(tmp_path / "in" / "events_police.csv", lines)
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    police = result.report["feeds"]["events_police"]
    assert (police["read"], police["accepted"], police["quarantined"]) == (6, 6, 0)
    assert "mother" not in set(result.feeds["events_police"]["person_id"])


@pytest.mark.parametrize("name", ["events_police.csv", "police_raw.csv"])
def test_pseudonymise_refuses_a_stray_quote_rather_than_pass_identifiers_through(
        tmp_path: Path, name: str) -> None:
    """It keeps no bad row: the records a stray quote swallowed were written inside one
    cell of one row, their identifiers as they came, not pseudonymised. A file not named
    as a feed has only its pseudonymised columns known to hold no line break: the
    swallowed lines read as rows tell it."""
    lines = _stray_quotes(_police_lines(tmp_path, 10), 3, 6, 1)
    path = tmp_path / name
    _write(path, lines)
    with pytest.raises(PseudonymisationError, match=(
            rf"^{name}: line 4 leaves a double quote unclosed in column 'event_date', "
            r"swallowing the lines after it into that cell: close it \(or double it\); "
            r"feed refused$")):
        pseudonymise_file(path, tmp_path / "out.csv", columns=["person_id"], key=b"k" * 32)
    assert not (tmp_path / "out.csv").exists()


def test_a_row_of_too_many_fields_with_a_closed_quoted_line_break_is_not_an_unclosed_quote(
        tmp_path: Path) -> None:
    """Its quarantine reason asked 'a double quote left unclosed?' of a row whose quotes
    were closed: only its number of fields was wrong."""
    lines = _police_lines(tmp_path / "in", 3)
    lines.append(lines[1] + ',"seen at home,\nthen at school"')
    _write(tmp_path / "in" / "events_police.csv", lines)
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    (reason,) = result.quarantine["events_police"]["reason"]
    assert reason == "row: not 5 fields as in the header row (the row as read is in row_as_read)"


def test_a_quoted_cell_over_several_lines_is_read_in_a_file_of_any_size(tmp_path: Path) -> None:
    """A CSV cell may hold line breaks inside quotes: past pyarrow's first block such a
    file was refused ('CSV parser got out of sync with chunker')."""
    frames = f.extract(events_police=f.events("police", 30_000))
    frames["events_police"]["note"] = "seen at home,\nthen at school"
    folder = f.write_extract(tmp_path / "in", frames)
    assert (folder / "events_police.csv").stat().st_size > 2 * 1024 * 1024
    result = validate_extract(folder, extract_date=EXTRACT)
    assert result.report["feeds"]["events_police"]["accepted"] == 30_000
    assert result.report["feeds"]["events_police"]["ignored_columns"] == ["note"]


def test_pseudonymise_refuses_an_unclosed_quote_rather_than_write_part_of_the_file(
        tmp_path: Path) -> None:
    """It reads without keeping rows of the wrong number of fields: past pyarrow's first
    block it wrote the rows before the quote and after its block, the others lost."""
    lines = _police_lines(tmp_path / "in", 40_000)
    lines[100] = '"' + lines[100]
    path = tmp_path / "in" / "events_police.csv"
    _write(path, lines)
    with pytest.raises(PseudonymisationError, match=(
            "^events_police.csv: line 101 leaves a double quote unclosed in column 'person_id'")):
        pseudonymise_file(path, tmp_path / "out.csv", columns=["person_id"], key=b"k" * 32)
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(("newline", "blank_line", "last_newline"), [
    ("\n", False, True), ("\r\n", False, True), ("\n", False, False), ("\r\n", True, False),
    ("\n", True, True), ("\r", False, True), ("\r", True, False),
])
def test_every_row_is_read_whatever_the_line_breaks(
        tmp_path: Path, newline: str, blank_line: bool, last_newline: bool) -> None:
    """Rows are counted against the file's lines to know the fast read lost none: an empty
    line, or none at the end, must not be taken for a lost row, nor hide one. Lines may
    end in a carriage return alone (a spreadsheet's "CSV (Macintosh)"): a file of more than
    64 KiB was refused as having "no header row in its first 65,536 bytes", a smaller one
    with the csv module's "new-line character seen in unquoted field"."""
    lines = _police_lines(tmp_path / "in", 500)
    if blank_line:
        lines.insert(250, "")
    text = newline.join(lines) + (newline if last_newline else "")
    (tmp_path / "in" / "events_police.csv").write_bytes(text.encode())
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    assert result.report["feeds"]["events_police"]["accepted"] == 500
