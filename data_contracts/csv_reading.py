"""Reading a CSV feed file: every cell a string, exactly as the agency sent it.

Files are read with pyarrow (multi-threaded, no per-row Python), once their bytes are
known to be UTF-8 and their lines counted (`data_contracts.csv_lines`).

A quoted field may run over several lines, as CSV allows. pyarrow is fastest splitting a
file into blocks at line breaks, but a block ending inside quotes then loses the rest of
that block without a word (a police feed of 176,851 rows with a quote opening line 101:
158,764 rows read, the other 18,087 neither accepted nor quarantined). So the rows it
read are counted against the file's lines, and unless each line is one row the file is
read again with quotes in mind (`_parse`). A row spanning more than
:data:`MAX_ROW_LINES` lines refuses the file, naming the line it starts on: it is in all
likelihood a double quote left unclosed, swallowing the records after it, which one
quarantined row would hide.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv

from data_contracts.csv_lines import csv_header, utf8_line_count
from data_contracts.errors import FeedRejected

MAX_ROW_LINES: Final = 100
# The column of a CSV feed's quarantine holding each row of the wrong number of fields as
# it was read (the rows a reader cannot place in columns; empty on every other row).
ROW_AS_READ: Final = "row_as_read"
# A line's end inside a row as read: CRLF, LF, or CR alone (`csv_lines._first_line`).
LINE_END: Final = r"\r\n?|\n"


_UNCLOSED: Final = "a double quote left unclosed is the likely cause; feed refused"


def lines_spanned(text: str) -> int:
    """How many lines of the file a row as read runs over."""
    return len(re.findall(LINE_END, text)) + 1


def _row_fields(line: str) -> list[str]:
    try:  # a quoted field may hold a line break: read the row as a file
        return next(csv.reader(io.StringIO(line, newline="")), [])
    except csv.Error:  # a field over the csv module's limit: the row stays as read only
        return []


def _with_ragged_rows(table: pa.Table, header: list[str], lines: list[str]) -> pa.Table:
    """The table with the rows whose number of fields is not the header's after its own
    rows: their fields in the columns they fall in (missing ones empty, extra ones only in
    `ROW_AS_READ`), and each line as read in `ROW_AS_READ` (empty on every other row)."""
    parsed = [_row_fields(line) for line in lines]
    extra = {name: pa.array([fields[i] if i < len(fields) and fields[i] != "" else None
                             for fields in parsed], pa.large_string())
             for i, name in enumerate(header)}
    as_read = pa.chunked_array([pa.nulls(table.num_rows, pa.large_string()),
                                pa.array(lines, pa.large_string())])
    joined = pa.concat_tables([table, pa.table(extra)])
    return joined.append_column(ROW_AS_READ, as_read)


def _read_row(reader: Any) -> bool | None:  # a csv reader
    """True after a row is read, False at the end, None when the csv module cannot read it."""
    try:
        next(reader)
    except StopIteration:
        return False
    except csv.Error:
        return None
    return True


def _long_row_start(path: Path) -> int | None:
    """The line of the first row running over more than MAX_ROW_LINES lines, or too long
    for the csv module (a field over 128 KiB), or None: where the refusal of an unclosed
    quote points. Read row by row in Python: only a file so refused pays for it."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        start = 1
        while (read := _read_row(reader)) is not False:
            if read is None or reader.line_num - start >= MAX_ROW_LINES:
                return start
            start = reader.line_num + 1
    return None


def _unclosed_quote(path: Path) -> FeedRejected | None:
    """The refusal of a file holding a row that runs over too many lines, or None."""
    start = _long_row_start(path)
    if start is None:
        return None
    return FeedRejected(path.name, f"line {start:,} starts a row running over more than "
                                   f"{MAX_ROW_LINES} lines: {_UNCLOSED}")


def _pyarrow_read(path: Path, header: list[str], *, keep_ragged: bool,
                  newlines_in_values: bool) -> tuple[pa.Table, list[str]]:
    ragged: list[str] = []

    def keep(row: Any) -> str:  # a pyarrow.csv.InvalidRow
        ragged.append(str(row.text))
        return "skip"

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
        parse_options=pacsv.ParseOptions(newlines_in_values=newlines_in_values,
                                         invalid_row_handler=keep if keep_ragged else None),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.large_string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            check_utf8=False,  # every byte checked before (`utf8_line_count`)
        ),
    )
    return table, ragged


def _parse(path: Path, header: list[str], lines: int, *, keep_ragged: bool
           ) -> tuple[pa.Table, list[str]]:
    """The rows of the header's number of fields, and each other row as read (with
    ``keep_ragged``; without, such a row refuses the file).

    First read split at every line break, each block parsed as it comes: right whenever
    each of the file's ``lines`` after the header is one row, as the count of the rows
    read shows (rows lost to a block ending inside quotes would leave lines over).
    Otherwise (a quoted cell over several lines, an empty line, or a quote left open) the
    file is read again with quotes in mind, which cannot cut blocks before parsing them.
    """
    try:
        table, ragged = _pyarrow_read(path, header, keep_ragged=keep_ragged,
                                      newlines_in_values=False)
        one_row_a_line = table.num_rows + sum(map(lines_spanned, ragged)) == lines - 1
    except pa.ArrowException:
        one_row_a_line = False
    try:
        if not one_row_a_line:
            table, ragged = _pyarrow_read(path, header, keep_ragged=keep_ragged,
                                          newlines_in_values=True)
    except pa.ArrowException as exc:
        raise _unclosed_quote(path) or FeedRejected(
            path.name, f"cannot be parsed as CSV: {exc}") from exc
    if any(lines_spanned(line) > MAX_ROW_LINES for line in ragged):
        raise _unclosed_quote(path) or FeedRejected(
            path.name, f"a row runs over more than {MAX_ROW_LINES} lines: {_UNCLOSED}")
    return table, ragged


def read_csv_strings(path: Path, *, keep_ragged: bool = False) -> pa.Table:
    """Read a CSV file with every column as a string; empty cells are null.

    Large strings (64-bit offsets): what pandas' Arrow-backed string columns hold, so
    turning the table into a frame copies no column.

    A row with more or fewer fields than the header refuses the file, unless
    ``keep_ragged``: then it is kept for the quarantine (`_with_ragged_rows`), the file's
    other rows read as usual.

    Raises:
        FeedRejected: The file is not UTF-8, has no header, holds a row running over more
            than MAX_ROW_LINES lines, or cannot be read or parsed.
    """
    try:
        header, has_rows, line_end = csv_header(path)
        if len(set(header)) != len(header):
            raise FeedRejected(path.name, "header repeats a column name")
        if keep_ragged and ROW_AS_READ in header:
            raise FeedRejected(path.name, f"column '{ROW_AS_READ}' is the name the "
                                          "quarantine gives a row as read: rename it")
        if not has_rows:
            return pa.table({name: pa.array([], pa.large_string()) for name in header})
        lines = utf8_line_count(path, line_end)
        table, ragged = _parse(path, header, lines, keep_ragged=keep_ragged)
    except OSError as exc:
        raise FeedRejected(path.name, f"cannot be read ({exc.strerror or exc})") from exc
    except csv.Error as exc:  # the header row
        raise FeedRejected(path.name, f"cannot be parsed as CSV: {exc}") from exc
    if ragged and not table.num_rows:
        raise FeedRejected(path.name, f"no row has the header's {len(header)} fields: "
                                      "check the header row (a comma too many or too few?)")
    return _with_ragged_rows(table, header, ragged) if ragged else table
