"""A stray double quote in a CSV cell: a referral id's (the specification's "string"), or
text after a quoted value's closing quote in any column that cannot hold a line break.

CSV writes a cell holding a double quote in quotes, the quote doubled: `"R""3"` is the
id `R"3`. A quote anywhere else is a stray, which pyarrow and the csv module
keep in the cell: `R3"` was read as the id `R3"` and accepted, beside the feed's own R3.
A token, a code, a date or a number holding a quote breaks its own rule; a referral id
does not, so only the CSV text tells a stray from a quote of the value. Text after a
quoted value's closing quote is a stray in any column (`one_line`, those the
specification names): `"R3"x` is read as `R3x` and `"P3"4` as the token `P34`, no quote
left in the cell to see, no rule broken, the row given another id. A file whose referral
ids hold a quote, or whose quotes close a value with text after it
(`text_after_closing_quote`, a scan of its bytes), is read row by row
(`csv_quotes.read_again`; only such a file pays for it), and a row whose text holds a
stray one is marked (`STRAY_QUOTE`) for the quarantine, the cell written as in the file,
or, without a quarantine to keep it, refuses the file.

Neither reader tells a stray itself: pyarrow's parse options have no strict mode, and
the csv module's ``strict=True`` raises on `"R3"x` (not on `R"3`, whose quote it keeps
as `"R""3"`'s) for the whole row, naming no field. Rows are split here instead
(`_stray_fields`), in Python, only in a file that may hold a stray.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.errors import FeedRejected
from data_contracts.vocab import FREE_TEXT_COLUMNS

# The column marking, for the quarantine, a row's column holding a stray double quote
# (the reader's alone: `data_contracts.checking` turns it into the row's reason).
STRAY_QUOTE: Final = "cell_with_stray_quote"
STRAY_QUOTE_REASON: Final = ('holds a stray double quote (") outside CSV quoting: a value '
                             'holding a quote is written in quotes, the quote doubled')
_QUOTED: Final = re.compile(r'"(?:[^"]|"")*"')
_QUOTE: Final = ord('"')
# The bytes that may follow a quote closing a quoted value: a comma, a line end, or
# (doubled) another quote.
_MAY_FOLLOW: Final = np.isin(np.arange(256), list(b',\n\r"'))
_SCAN_BYTES: Final = 16 * 1024 * 1024


class QuoteColumns(NamedTuple):
    """The columns, by index, a stray double quote is looked for in: ``any_quote``, a
    quote anywhere outside CSV quoting (a referral id, which may hold one); ``after_close``,
    text after a quoted value's closing quote (every column that cannot hold a line break,
    the referral id's among them)."""

    any_quote: frozenset[int]
    after_close: frozenset[int]


def quote_columns(header: list[str], one_line: Collection[str]) -> QuoteColumns:
    """The columns of ``header`` that cannot hold a line break (``one_line``), where text
    after a closing quote is a stray, and among them those that may hold a double quote
    (`FREE_TEXT_COLUMNS`), where any quote outside CSV quoting is."""
    kept = frozenset(i for i, name in enumerate(header) if name in one_line)
    return QuoteColumns(frozenset(i for i in kept if header[i] in FREE_TEXT_COLUMNS), kept)


def holds_quote(table: pa.Table, one_line: Collection[str]) -> bool:
    """Whether a cell of ``table``'s columns that may hold a double quote holds one
    (`quote_columns`' ``any_quote``; vectorised)."""
    return any(pc.any(pc.match_substring(table.column(i), '"')).as_py()
               for i in quote_columns(table.column_names, one_line).any_quote)


def text_after_closing_quote(path: Path) -> bool:
    """Whether a double quote closing a quoted value is followed by more than a comma, a
    line end, another quote (doubled) or the file's end: `"R3"x`, which pyarrow reads as
    `R3x`. The closing quotes are the second, fourth... of the file, counted in its
    mapped bytes (numpy, in chunks). A stray quote before another changes the count, so
    that later quotes may be taken for closing ones: then the file is read row by row,
    which tells (`_stray_fields`)."""
    with pa.memory_map(str(path)) as mapped:
        data = np.frombuffer(mapped.read_buffer(), np.uint8)
        seen = 0
        for start in range(0, len(data), _SCAN_BYTES):
            quotes = np.flatnonzero(data[start:start + _SCAN_BYTES] == _QUOTE)
            after = quotes[(seen + 1) % 2::2] + (start + 1)  # the file's 2nd, 4th... quote
            seen += len(quotes)
            if not _MAY_FOLLOW[data[after[after < len(data)]]].all():
                return True
    return False


class _Stray(NamedTuple):
    """A field of a row holding a stray double quote."""

    field: int  # its index in the row
    written: str  # the field as the file writes it
    after_close: bool  # text after a closing quote (`"R3"x`), not a quote in a bare field


def _stray_fields(text: str) -> list[_Stray]:
    """The fields of a row (its CSV text as read) holding a stray double quote, each with
    its text as written: in a field not quoted, or after a quoted field's closing quote
    (`"R3"x`, read as R3x)."""
    stray, at, index = [], 0, 0
    while at <= len(text):
        closed = _QUOTED.match(text, at) if text.startswith('"', at) else None
        end = text.find(",", at if closed is None else closed.end())
        end = len(text) if end < 0 else end
        astray = '"' in text[at:end] if closed is None else end != closed.end()
        if astray:
            stray.append(_Stray(index, text[at:end], closed is not None))
        at, index = end + 1, index + 1
    return stray


class StrayQuote(NamedTuple):
    """A field holding a stray double quote: its column, and the field as written."""

    column: str
    written: str


def stray_quote(text: str, header: list[str], columns: QuoteColumns) -> StrayQuote | None:
    """The first field of the row ``text`` holding a stray double quote in ``columns``
    (`quote_columns`), with the field as written (`"R3"x`, read as `R3x`), or None."""
    if '"' not in text or not columns.after_close:
        return None
    return next((StrayQuote(header[s.field], s.written) for s in _stray_fields(text)
                 if s.field in (columns.after_close if s.after_close else columns.any_quote)),
                None)


def stray_refusal(path: Path, line: int, column: str) -> FeedRejected:
    """The refusal of a file whose row from ``line`` holds a stray quote in ``column``."""
    return FeedRejected(path.name, f"line {line:,}, column '{column}' {STRAY_QUOTE_REASON}; "
                                   "feed refused")
