"""A double quote left unclosed in a CSV feed: the rows it glued, and their lines read again.

A quoted cell may run over several lines, as CSV allows, but a quote opened by mistake
takes every line up to the next quote into its cell. When that left the wrong number of
fields the row was quarantined whole; when the next quote happened to leave the header's
number (a stray quote that another closes lines on, a quote opening the last column) the
swallowed records were one cell of one row, neither accepted nor quarantined as
themselves, and nothing said a quote was left open (a police feed of 6 records: 3 read).

No column the specification names can hold a line break (an id, a token, a date, a code,
a number): a cell of one of them (``one_line``) holding one is a quote left unclosed. So
is a cell of another column (a free-text note, which may hold line breaks) holding lines
that read as rows of the header's number of fields. A file holding one is read again row
by row (`read_again`; only such a file pays for it): the row's lines up to the one its
quote opens on are one unclosed row, for the quarantine, and the lines after it are read
again as rows of their own. A row is given no more than MAX_ROW_LINES lines there: cut,
one without a quote left unclosed refuses the file, naming the line it starts on; read
without ``one_line`` columns, so does any row of the wrong number of fields running over
more (`csv_long_rows.unclosed_quote`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Final, NamedTuple, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.csv_long_rows import MAX_ROW_LINES, long_row_refusal, ragged_refusal
from data_contracts.csv_stray_quotes import STRAY_QUOTE, quote_columns, stray_quote, stray_refusal
from data_contracts.errors import FeedRejected

# A line's end inside a row as read: CRLF, LF, or CR alone (`csv_lines._first_line`).
LINE_END: Final = r"\r\n?|\n"
_LINE_END_AT_END: Final = re.compile(f"(?:{LINE_END})$")
_NEWLINE: Final = ord("\n")
_RETURN: Final = ord("\r")
# What the quarantine says of an unclosed row (`read_again`).
UNCLOSED_ROW: Final = ("a double quote left unclosed swallowed the lines after it, read again "
                       "as rows of their own")


def lines_spanned(text: str) -> int:
    """How many lines of the file a row as read runs over."""
    return len(re.findall(LINE_END, text)) + 1


def row_fields(line: str) -> list[str]:
    """The fields of a row as read (its own CSV text, which may hold quoted line breaks)."""
    try:  # a quoted field may hold a line break: read the row as a file
        return next(csv.reader(io.StringIO(line, newline="")), [])
    except csv.Error:  # a field over the csv module's limit: the row stays as read only
        return []



def _breaks(text: str) -> bool:
    return "\n" in text or "\r" in text


def _reads_as_row(fields: list[str], width: int, one_line: Collection[int]) -> bool:
    """Whether a line's fields read as a record: the header's ``width`` of them, the
    ``one_line`` ones (ids, dates, codes: never padded) without blanks at either end and
    not all empty. A note's line "mother, father, two siblings, GP" has as many commas,
    but blanks after them."""
    kept = [fields[i] for i in one_line if i < len(fields)]
    return len(fields) == width and all(f == f.strip() for f in kept) and (
        not kept or any(kept))


def _holds_rows(text: str, width: int, one_line: Collection[int]) -> bool:
    """Whether a line of ``text`` after its first reads as a record (`_reads_as_row`):
    the records a quote opened in a free-text column swallowed."""
    return any(_reads_as_row(row_fields(line), width, one_line)
               for line in re.split(LINE_END, text)[1:])


def _glued_at(fields: list[str], one_line: Collection[int], width: int) -> int | None:
    """The first field holding a double quote left unclosed, or None: one of the
    ``one_line`` fields holding a line break, or another holding lines that read as rows
    of the header's ``width`` fields."""
    return next((i for i, field in enumerate(fields) if _breaks(field)
                 and (i in one_line or _holds_rows(field, width, one_line))), None)


def _one_line_indices(header: list[str], one_line: Collection[str]) -> set[int]:
    return {i for i, name in enumerate(header) if name in one_line}


def _holds_line_break(column: pa.ChunkedArray) -> bool:
    """Whether a cell of a column of large strings holds a line break: its characters'
    bytes scanned at once (numpy), not cell by cell (a regular expression over each of a
    police feed's 5 columns took 0.5 s for 890,000 rows)."""
    if not pa.types.is_large_string(column.type):
        return bool(pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py())
    for chunk in column.chunks:
        offsets_buffer, data_buffer = chunk.buffers()[1:3]
        if data_buffer is None or not len(chunk):
            continue
        offsets = np.frombuffer(offsets_buffer, np.int64)
        text = np.frombuffer(data_buffer, np.uint8)[
            offsets[chunk.offset]:offsets[chunk.offset + len(chunk)]]
        if (text == _NEWLINE).any() or (text == _RETURN).any():
            return True
    return False


def _free_text_holds_rows(column: pa.ChunkedArray, width: int, one_line: Collection[int]
                          ) -> bool:
    """`_holds_rows` of the cells of a column that may hold line breaks, in Python only
    for those holding one and the commas of a row (vectorised)."""
    if width < 2 or not _holds_line_break(column):
        return False
    broken = column.filter(pc.or_(pc.match_substring(column, "\n"),
                                  pc.match_substring(column, "\r")))
    maybe = broken.filter(pc.greater_equal(pc.count_substring(broken, ","), width - 1))
    return any(_holds_rows(text, width, one_line) for text in maybe.to_pylist())


def table_holds_glued_row(table: pa.Table, one_line: Collection[str]) -> bool:
    """Whether a row of ``table`` holds a double quote left unclosed (`_glued_at`), its
    cells looked at column by column (in Python only the few `_free_text_holds_rows`
    keeps)."""
    width, indices = table.num_columns, _one_line_indices(table.column_names, one_line)
    return any(_holds_line_break(table.column(name)) if name in one_line
               else _free_text_holds_rows(table.column(name), width, indices)
               for name in table.column_names)


def ragged_holds_glued_row(ragged: list[str], header: list[str], one_line: Collection[str]
                           ) -> bool:
    """Whether a row of the wrong number of fields, as read, holds a double quote left
    unclosed (`_glued_at`), or may: it runs over more than MAX_ROW_LINES lines (its
    fields, perhaps over the csv module's limit, are looked at once it is cut there)."""
    indices = _one_line_indices(header, one_line)
    return any(lines_spanned(text) > MAX_ROW_LINES
               or _glued_at(row_fields(text), indices, len(header)) is not None
               for text in ragged if _breaks(text))


class _Lines(Iterator[str]):
    """A file's lines one at a time, keeping the ones the current row took, so that those
    an unclosed quote swallowed can be given back and read again. A row is given no more
    than MAX_ROW_LINES lines: the csv module then ends it there, as at the end of a file,
    and `cut` says so."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._again: list[str] = []  # the lines given back, the next one last
        self.taken: list[str] = []
        self.cut = False

    def __next__(self) -> str:
        if len(self.taken) >= MAX_ROW_LINES:
            self.cut = True
            raise StopIteration
        line = self._again.pop() if self._again else self._handle.readline()
        if not line:
            raise StopIteration
        self.taken.append(line)
        return line

    def next_row(self) -> tuple[list[str], bool]:
        """The lines the row just read took, and whether it was cut; none taken yet."""
        taken, cut = self.taken, self.cut
        self.taken, self.cut = [], False
        return taken, cut

    def give_back(self, lines: list[str]) -> None:
        self._again.extend(reversed(lines))


class CsvRows(NamedTuple):
    """A CSV file's rows of the header's number of fields, its other rows as read, and the
    rows of a double quote left unclosed, each as read (their lines up to the quote's)."""

    table: pa.Table
    ragged: list[str]
    unclosed: list[str]


class _Rows(NamedTuple):
    rows: list[list[str]]
    ragged: list[str]
    unclosed: list[str]
    stray: list[str | None]  # per row: the column holding a stray quote (`csv_stray_quotes`)


def _as_read(lines: list[str]) -> str:
    return _LINE_END_AT_END.sub("", "".join(lines), count=1)


def _unclosed_lines(fields: list[str], at: int) -> int:
    """How many lines of a row the cell ``at`` starts after (its fields are split at
    commas, never at line breaks): the cell's quote opens on the next one."""
    return sum(len(re.findall(LINE_END, field)) for field in fields[:at]) + 1


def _refuse_unclosed(path: Path, header: list[str], line: int, at: int) -> FeedRejected:
    return FeedRejected(path.name, f"line {line:,} leaves a double quote unclosed in column "
                                   f"'{header[at]}', swallowing the lines after it into "
                                   "that cell: close it (or double it); feed refused")


def _read_rows(path: Path, handle: TextIO, header: list[str], one_line: Collection[str], *,
               keep_ragged: bool) -> _Rows:
    """The rows of ``handle`` after its header, those of an unclosed quote split off
    (`read_again`), each marked with its column holding a stray quote (that cell as
    written). A row running over
    more than MAX_ROW_LINES lines is cut there: unless it holds an unclosed quote, it
    refuses the file."""
    lines, quoted = _Lines(handle), quote_columns(header, one_line)
    reader, indices = csv.reader(lines), _one_line_indices(header, one_line)
    out, start = _Rows([], [], [], []), 2
    next(reader, None)  # the header row (`csv_lines.csv_header`)
    lines.next_row()
    while (fields := next(reader, None)) is not None:
        taken, cut = lines.next_row()  # a field holds a line break only over several lines
        at = _glued_at(fields, indices, len(header)) if len(taken) > 1 else None
        if at is None and cut:
            raise long_row_refusal(path, start)
        if at is not None and not keep_ragged:
            raise _refuse_unclosed(path, header, start, at)
        if at is not None:
            own = _unclosed_lines(fields, at)
            out.unclosed.append(_as_read(taken[:own]))
            lines.give_back(taken[own:])
            taken = taken[:own]
        elif len(fields) == len(header):
            stray = stray_quote(_as_read(taken), header, quoted)
            if stray and not keep_ragged:
                raise stray_refusal(path, start, stray.column)
            if stray:  # the cell as the file writes it, for the quarantine
                fields[header.index(stray.column)] = stray.written
            out.rows.append(fields)
            out.stray.append(stray.column if stray else None)
        elif fields and not keep_ragged:
            raise FeedRejected(path.name, f"cannot be parsed as CSV: line {start:,} has "
                                          f"{len(fields)} fields, not the header's {len(header)}")
        elif fields:  # an empty line is no row, as pyarrow reads it
            out.ragged.append(_as_read(taken))
        start += len(taken)
    return out


def read_again(path: Path, header: list[str], one_line: Collection[str], *,
               keep_ragged: bool) -> CsvRows:
    """The rows of a file holding a double quote left unclosed in a ``one_line`` column,
    read row by row: such a row's lines up to the one its quote opens on are one
    unclosed row, and the lines after it are read again as rows of their own.

    Raises:
        FeedRejected: A row that holds no quote left unclosed runs over more than
            MAX_ROW_LINES lines, or a row is too long for the csv module (a field over
            128 KiB); or, without ``keep_ragged``, a quote is left unclosed or astray
            (naming its line and column) or a row has the wrong number of fields.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            rows = _read_rows(path, handle, header, one_line, keep_ragged=keep_ragged)
        except csv.Error:
            raise ragged_refusal(path) from None
    cells = zip(*rows.rows, strict=True) if rows.rows else ([] for _ in header)
    columns = {name: _empty_as_null(pa.array(column, pa.large_string()))
               for name, column in zip(header, cells, strict=True)}
    if any(rows.stray):
        columns[STRAY_QUOTE] = pa.array(rows.stray, pa.large_string())
    return CsvRows(pa.table(columns), rows.ragged, rows.unclosed)


def _empty_as_null(cells: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.large_string()), cells)
