"""Reading a CSV feed file: every cell a string, exactly as the agency sent it.

Files are read with pyarrow (multi-threaded, no per-row Python), once their bytes are
known to be UTF-8 and their lines counted (`data_contracts.csv_lines`).

A quoted field may run over several lines, as CSV allows. pyarrow is fastest splitting a
file into blocks at line breaks, but a block ending inside quotes then loses the rest of
that block without a word (a police feed of 176,851 rows with a quote opening line 101:
158,764 rows read, the other 18,087 neither accepted nor quarantined). So the rows it
read are counted against the file's lines, and unless each line is one row the file is
read again with quotes in mind (`_parse`). Then a double quote left unclosed shows
(`data_contracts.csv_quotes`): a cell holding a line break in a column that cannot hold
one, whose lines are read again as rows of their own, or a row of the wrong number of
fields spanning more than MAX_ROW_LINES lines (`data_contracts.csv_long_rows`).
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pacsv

from data_contracts.csv_lines import csv_header, utf8_line_count
from data_contracts.csv_long_rows import MAX_ROW_LINES, ragged_refusal, unclosed_quote
from data_contracts.csv_quotes import (
    CsvRows,
    lines_spanned,
    ragged_holds_glued_row,
    read_again,
    row_fields,
    table_holds_glued_row,
)
from data_contracts.csv_stray_quotes import (
    STRAY_QUOTE,
    holds_quote,
    quote_columns,
    text_after_closing_quote,
)
from data_contracts.errors import FeedRejected

# The column of a CSV feed's quarantine holding each row of the wrong number of fields, or
# holding a double quote left unclosed, as it was read (the rows a reader cannot place in
# columns; empty on every other row).
ROW_AS_READ: Final = "row_as_read"
# The column marking the rows of ROW_AS_READ that hold a double quote left unclosed (the
# reader's alone: `data_contracts.checking` turns it into their reason).
UNCLOSED_QUOTE: Final = "row_with_unclosed_quote"


def _after_rows(before: int, rows: list[str | None]) -> pa.ChunkedArray:
    """A column empty on the first ``before`` rows, then holding ``rows``."""
    return pa.chunked_array([pa.nulls(before, pa.large_string()),
                             pa.array(rows, pa.large_string())])


def _with_ragged_rows(table: pa.Table, header: list[str], ragged: list[str],
                      unclosed: list[str]) -> pa.Table:
    """The table with the rows whose number of fields is not the header's, then those of
    a double quote left unclosed, after its own rows: their fields in the columns they
    fall in (missing ones empty, extra ones only in `ROW_AS_READ`), and each line as read
    in `ROW_AS_READ` (empty on every other row); `UNCLOSED_QUOTE` marks the unclosed."""
    lines = ragged + unclosed
    parsed = [row_fields(line) for line in lines]
    extra = {name: pa.array([fields[i] if i < len(fields) and fields[i] != "" else None
                             for fields in parsed], pa.large_string())
             for i, name in enumerate(header)}
    joined = pa.concat_tables([table, pa.table(extra)], promote_options="default")
    joined = joined.append_column(ROW_AS_READ, _after_rows(table.num_rows, list(lines)))
    if not unclosed:
        return joined
    marks: list[str | None] = [None] * len(ragged) + ["unclosed"] * len(unclosed)
    return joined.append_column(UNCLOSED_QUOTE, _after_rows(table.num_rows, marks))


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


def _unread(path: Path, header: list[str], exc: pa.ArrowException, *, keep_ragged: bool,
            one_line: Collection[str]) -> CsvRows:
    """The rows of a file pyarrow could not read with quotes in mind, read row by row when a
    quote left unclosed in a ``one_line`` column is why (one open over a block's end:
    "straddling object straddles two block boundaries"), or the file's refusal."""
    again = read_again(path, header, one_line, keep_ragged=keep_ragged) if one_line else None
    if again is not None and again.unclosed:
        return again
    raise unclosed_quote(path) or FeedRejected(
        path.name, f"cannot be parsed as CSV: {exc}") from exc


def _parse(path: Path, header: list[str], lines: int, *, keep_ragged: bool,
           one_line: Collection[str]) -> CsvRows:
    """The rows of the header's number of fields, each other row as read (with
    ``keep_ragged``; without, such a row refuses the file), and the lines of a double
    quote left unclosed in a ``one_line`` column (`csv_quotes.read_again`).

    First read split at every line break, each block parsed as it comes: right whenever
    each of the file's ``lines`` after the header is one row, as the count of the rows
    read shows (rows lost to a block ending inside quotes would leave lines over).
    Otherwise (a quoted cell over several lines, an empty line, or a quote left open) the
    file is read again with quotes in mind, which cannot cut blocks before parsing them.
    When each line is one row, only a row of the wrong number of fields can run over
    several lines, and only such rows are looked at for a quote left unclosed: a file
    holding one is read again row by row. So is a file whose referral ids hold a double
    quote, or whose quotes close a value with text after it (`"P3"4`, read as P34), to
    tell a stray one
    (`csv_stray_quotes`).
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
        return _unread(path, header, exc, keep_ragged=keep_ragged, one_line=one_line)
    if one_line and (ragged_holds_glued_row(ragged, header, one_line) or (
            not one_row_a_line and table_holds_glued_row(table, one_line))
                     or _may_hold_stray_quote(path, table, one_line)):
        return read_again(path, header, one_line, keep_ragged=keep_ragged)
    if any(lines_spanned(line) > MAX_ROW_LINES for line in ragged):
        raise ragged_refusal(path)
    return CsvRows(table, ragged, [])


def _may_hold_stray_quote(path: Path, table: pa.Table, one_line: Collection[str]) -> bool:
    """Whether a cell may hold a stray double quote (`csv_stray_quotes`): a referral id
    holds a quote, or a quote of the file closes a value with text after it."""
    return bool(quote_columns(table.column_names, one_line).after_close) and (
        holds_quote(table, one_line) or text_after_closing_quote(path))


def _check_header(path: Path, header: list[str], *, keep_ragged: bool) -> None:
    if header[0].strip().lower().startswith("sep="):
        raise FeedRejected(path.name, "line 1 is a spreadsheet's 'sep=' line, not the header "
                                      "row: delete it")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        names = ", ".join(f"'{name}'" for name in repeated)
        raise FeedRejected(path.name, f"header repeats the column name {names}: a column "
                                      "holds one field")
    if keep_ragged and ROW_AS_READ in header:
        raise FeedRejected(path.name, f"column '{ROW_AS_READ}' is the name the "
                                      "quarantine gives a row as read: rename it")
    for kept in (UNCLOSED_QUOTE, STRAY_QUOTE):
        if keep_ragged and kept in header:
            raise FeedRejected(path.name, f"column '{kept}' is a name the reader keeps "
                                          "for itself: rename it")


def _no_row_fits(path: Path, header: list[str]) -> FeedRejected:
    if len(header) == 1:  # a title line above the header
        return FeedRejected(path.name, "line 1, read as the header row, holds one field and "
                                       "no row has one: is it a title above the header? "
                                       "Delete it")
    return FeedRejected(path.name, f"no row has the header's {len(header)} fields: check the "
                                   "header row (a comma too many or too few?)")


def read_csv_strings(path: Path, *, keep_ragged: bool = False,
                     one_line: Collection[str] = ()) -> pa.Table:
    """Read a CSV file with every column as a string; empty cells are null.

    Large strings (64-bit offsets): what pandas' Arrow-backed string columns hold, so
    turning the table into a frame copies no column.

    A row with more or fewer fields than the header refuses the file, unless
    ``keep_ragged``: then it is kept for the quarantine (`_with_ragged_rows`), the file's
    other rows read as usual. So is a cell of the ``one_line`` columns (those that cannot
    hold a line break) holding one: a double quote left unclosed, whose line is kept for
    the quarantine and the lines it swallowed read again (`csv_quotes.read_again`).

    Raises:
        FeedRejected: The file is not UTF-8, has no header, holds a row of the wrong
            number of fields running over more than MAX_ROW_LINES lines (with ``one_line``,
            one cut there that holds no quote left unclosed), or cannot be read or parsed;
            without ``keep_ragged``, a quote left unclosed in a ``one_line`` column.
    """
    try:
        header, has_rows, line_end = csv_header(path)
        _check_header(path, header, keep_ragged=keep_ragged)
        if not has_rows:
            return pa.table({name: pa.array([], pa.large_string()) for name in header})
        lines = utf8_line_count(path, line_end)
        table, ragged, unclosed = _parse(path, header, lines, keep_ragged=keep_ragged,
                                         one_line=one_line)
    except OSError as exc:
        raise FeedRejected(path.name, f"cannot be read ({exc.strerror or exc})") from exc
    except csv.Error as exc:  # the header row
        raise FeedRejected(path.name, f"cannot be parsed as CSV: {exc}") from exc
    if ragged and not table.num_rows and not unclosed:
        raise _no_row_fits(path, header)
    if not ragged and not unclosed:
        return table
    return _with_ragged_rows(table, header, ragged, unclosed)
