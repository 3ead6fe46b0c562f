"""A CSV row running over too many lines: where it starts, and the refusal naming it.

A double quote left unclosed takes every line up to the next quote into one cell. No row
of a feed needs more than MAX_ROW_LINES lines, so a row running over more (or one too long
for the csv module: a field over 128 KiB) is taken for a quote left unclosed, and the file
is refused naming the line the row starts on: when a reader cuts such a row
(`data_contracts.csv_quotes`), when pyarrow cannot read the file, or when a row of the
wrong number of fields kept as read runs over more (`data_contracts.csv_reading`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Final

from data_contracts.errors import FeedRejected

MAX_ROW_LINES: Final = 100
_UNCLOSED: Final = "a double quote left unclosed is the likely cause; feed refused"


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


def long_row_refusal(path: Path, start: int) -> FeedRejected:
    """The refusal of a file whose row from line ``start`` runs over too many lines."""
    return FeedRejected(path.name, f"line {start:,} starts a row running over more than "
                                   f"{MAX_ROW_LINES} lines: {_UNCLOSED}")


def unclosed_quote(path: Path) -> FeedRejected | None:
    """The refusal of a file holding a row that runs over too many lines, or None."""
    start = _long_row_start(path)
    return None if start is None else long_row_refusal(path, start)


def ragged_refusal(path: Path) -> FeedRejected:
    """The refusal of a file of which a row of too many lines was kept as read."""
    return unclosed_quote(path) or FeedRejected(
        path.name, f"a row runs over more than {MAX_ROW_LINES} lines: {_UNCLOSED}")
