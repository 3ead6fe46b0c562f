"""A stray double quote in a CSV cell that may hold one: a referral id, the
specification's "string".

CSV writes a cell holding a double quote in quotes, the quote doubled: `"R""3"` is the
id `R"3`. A quote anywhere else is a stray, which pyarrow and the csv module
keep in the cell: `R3"` was read as the id `R3"` and accepted, beside the feed's own R3.
A token, a code, a date or a number holding a quote breaks its own rule; a referral id
does not, so only the CSV text tells a stray from a quote of the value. A file whose
referral ids hold a quote is read row by row (`csv_quotes.read_again`; only such a file
pays for it), and a row whose text holds a stray one is marked (`STRAY_QUOTE`) for the
quarantine, or, without a quarantine to keep it, refuses the file.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Final

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


def quote_columns(header: list[str], one_line: Collection[str]) -> list[int]:
    """The columns of ``header`` whose cells may hold a double quote and cannot hold a
    line break (`FREE_TEXT_COLUMNS` among ``one_line``)."""
    return [i for i, name in enumerate(header) if name in FREE_TEXT_COLUMNS and name in one_line]


def holds_quote(table: pa.Table, one_line: Collection[str]) -> bool:
    """Whether a cell of ``table``'s `quote_columns` holds a double quote (vectorised)."""
    return any(pc.any(pc.match_substring(table.column(i), '"')).as_py()
               for i in quote_columns(table.column_names, one_line))


def _stray_fields(text: str) -> list[int]:
    """The fields of a row (its CSV text as read) holding a stray double quote: in a
    field not quoted, or after a quoted field's closing quote (`"R3"x`, read as R3x)."""
    stray, at, index = [], 0, 0
    while at <= len(text):
        closed = _QUOTED.match(text, at) if text.startswith('"', at) else None
        end = text.find(",", at if closed is None else closed.end())
        end = len(text) if end < 0 else end
        astray = '"' in text[at:end] if closed is None else end != closed.end()
        if astray:
            stray.append(index)
        at, index = end + 1, index + 1
    return stray


def stray_column(text: str, header: list[str], columns: Collection[int]) -> str | None:
    """The first of ``columns`` (`quote_columns`) whose field of the row ``text`` holds a
    stray double quote, by its name, or None."""
    if '"' not in text or not columns:
        return None
    return next((header[i] for i in _stray_fields(text) if i in columns), None)


def stray_refusal(path: Path, line: int, column: str) -> FeedRejected:
    """The refusal of a file whose row from ``line`` holds a stray quote in ``column``."""
    return FeedRejected(path.name, f"line {line:,}, column '{column}' {STRAY_QUOTE_REASON}; "
                                   "feed refused")
