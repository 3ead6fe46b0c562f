"""The marks the CSV reader leaves on a feed (`data_contracts.csv_reading`): the rows
unlike the header, kept as read in :data:`ROW_AS_READ`; the rows of a double quote left
unclosed; the cells holding a stray double quote. Each is taken off the frame and read as
the rows' failures (`data_contracts.checking.parse_feed`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.csv_quotes import LINE_END, UNCLOSED_ROW
from data_contracts.csv_reading import ROW_AS_READ, UNCLOSED_QUOTE
from data_contracts.csv_stray_quotes import STRAY_QUOTE


def without_unclosed_marks(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The frame without the reader's mark of the rows holding a double quote left
    unclosed (:data:`UNCLOSED_QUOTE`), and the mask of those rows."""
    if UNCLOSED_QUOTE not in raw.columns:
        return raw, np.zeros(len(raw), dtype=bool)
    return (raw.drop(columns=[UNCLOSED_QUOTE]),
            raw[UNCLOSED_QUOTE].notna().to_numpy(dtype=bool))


def without_stray_marks(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The frame without the reader's mark of the cells holding a stray double quote
    (:data:`STRAY_QUOTE`, naming each one's column), and their mask by column."""
    if STRAY_QUOTE not in raw.columns:
        return raw, {}
    marks = raw[STRAY_QUOTE]
    return raw.drop(columns=[STRAY_QUOTE]), {
        str(column): (marks == column).fillna(False).to_numpy(bool)
        for column in marks.dropna().unique()}


def ragged_row_failures(raw: pd.DataFrame, unclosed: np.ndarray, *,
                        as_read_kept: bool) -> list[tuple[str, np.ndarray]]:
    """The rows of a CSV file unlike its header (:data:`ROW_AS_READ` holds them as read);
    one running over several lines with an odd number of double quotes says one was likely
    left open (a quoted cell holding a line break, its quotes closed, is no such row). The
    ``unclosed`` rows are the lines of a double quote left unclosed in a column that
    cannot hold a line break, whose lines the reader read again (`csv_quotes`)."""
    if ROW_AS_READ not in raw.columns:
        return []
    unlike = f"row: not {len(raw.columns) - 1} fields as in the header row"
    kept = (f"(the row as read is in {ROW_AS_READ})" if as_read_kept else "(the row as read "
            "is not kept: its line holds columns not in the specification)")
    as_read = raw[ROW_AS_READ]
    several = (as_read.str.contains(LINE_END) & (as_read.str.count('"') % 2 == 1)
               ).fillna(False).to_numpy(dtype=bool) & ~unclosed
    return [(f"{unlike} {kept}", as_read.notna().to_numpy() & ~several & ~unclosed),
            (f"{unlike}, and it runs over several lines: a double quote left unclosed? "
             f"{kept}", several),
            (f"row: {UNCLOSED_ROW} {kept}", unclosed)]
