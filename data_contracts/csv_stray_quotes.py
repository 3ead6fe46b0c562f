"""A stray double quote in a CSV cell that may hold one: a referral id, the
specification's "string".

CSV writes a cell holding a double quote in quotes, the quote doubled: `"R""3"` is the
id `R"3`. A quote anywhere else is a stray, which pyarrow and the csv module
keep in the cell: `R3"` was read as the id `R3"` and accepted, beside the feed's own R3.
Text after a quoted value's closing quote is one too: `"R3"x` is read as `R3x`, no quote
left in the cell to see. A token, a code, a date or a number holding a quote breaks its
own rule; a referral id does not, so only the CSV text tells a stray from a quote of the
value. A file whose referral ids hold a quote, or whose quotes close a value with text
after it (`text_after_closing_quote`, a scan of its bytes), is read row by row
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


def quote_columns(header: list[str], one_line: Collection[str]) -> list[int]:
    """The columns of ``header`` whose cells may hold a double quote and cannot hold a
    line break (`FREE_TEXT_COLUMNS` among ``one_line``)."""
    return [i for i, name in enumerate(header) if name in FREE_TEXT_COLUMNS and name in one_line]


def holds_quote(table: pa.Table, one_line: Collection[str]) -> bool:
    """Whether a cell of ``table``'s `quote_columns` holds a double quote (vectorised)."""
    return any(pc.any(pc.match_substring(table.column(i), '"')).as_py()
               for i in quote_columns(table.column_names, one_line))


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


def _stray_fields(text: str) -> list[tuple[int, str]]:
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
            stray.append((index, text[at:end]))
        at, index = end + 1, index + 1
    return stray


class StrayQuote(NamedTuple):
    """A field holding a stray double quote: its column, and the field as written."""

    column: str
    written: str


def stray_quote(text: str, header: list[str], columns: Collection[int]) -> StrayQuote | None:
    """The first of ``columns`` (`quote_columns`) whose field of the row ``text`` holds a
    stray double quote, with the field as written (`"R3"x`, read as `R3x`), or None."""
    if '"' not in text or not columns:
        return None
    return next((StrayQuote(header[i], written) for i, written in _stray_fields(text)
                 if i in columns), None)


def stray_refusal(path: Path, line: int, column: str) -> FeedRejected:
    """The refusal of a file whose row from ``line`` holds a stray quote in ``column``."""
    return FeedRejected(path.name, f"line {line:,}, column '{column}' {STRAY_QUOTE_REASON}; "
                                   "feed refused")
