"""The one writer of every CSV file the product writes, safe to open in a spreadsheet.

A feed is the agencies' text, and what the product writes repeats it (quarantined
rows as read, referral ids in ratings, the names of columns it ignored). A
spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (CSV or formula injection), so, following the OWASP
rule, every CSV written here:

* starts such a text cell with a single quote (``=HYPERLINK(...)`` is written
  ``'=HYPERLINK(...)``), so the spreadsheet shows it as text; the header's
  column names too. A cell that already starts with a single quote gets one more
  (``'=1`` is written ``''=1``), so no two texts are written alike;
* writes every text cell in double quotes (a quote inside doubled), so a
  separator in it, a comma or the semicolon some spreadsheets split on, never
  starts a new cell. A column name is quoted when it holds a separator.

Numbers (numeric and boolean columns) are written as numbers: a number cannot
carry a formula, and a negative contribution stays a number. A program that
reads these files back as data drops one leading quote from every text cell that
starts with ``'`` (`read_cell`), and gets the text as it was.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
# What a written text cell gets a leading quote for: a formula, or a quote of its own.
_ESCAPED: Final = (*FORMULA_TRIGGERS, "'")
_ESCAPED_REGEX: Final = "^[=+\\-@\t\r']"
_NEEDS_QUOTES: Final = frozenset(',;"\t\r\n')


def neutralise_cell(text: str) -> str:
    """The text of one cell as written: a leading quote when it could start a formula."""
    return "'" + text if text.startswith(_ESCAPED) else text


def read_cell(text: str) -> str:
    """The text a written cell holds: `neutralise_cell` undone."""
    return text.removeprefix("'")


def _header_line(names: list[str], *, feed: bool) -> str:
    cells = []
    for name in names:
        cell = str(name) if feed else neutralise_cell(str(name))
        if _NEEDS_QUOTES.intersection(cell):
            cell = '"' + cell.replace('"', '""') + '"'
        cells.append(cell)
    return ",".join(cells) + "\n"


def _is_text(column: pd.Series) -> bool:
    import pandas as pd

    return bool(
        pd.api.types.is_object_dtype(column)
        or pd.api.types.is_string_dtype(column)
        or isinstance(column.dtype, pd.CategoricalDtype)
    )


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a formula (numbers untouched)."""
    import pandas as pd

    safe = {}
    for name in frame.columns:
        column = frame[name]
        if _is_text(column):
            text = column.astype(pd.StringDtype("pyarrow"))
            risky = text.str.startswith(_ESCAPED).fillna(False).astype(bool)
            column = text.where(~risky, "'" + text) if risky.any() else text
        safe[name] = column
    return pd.DataFrame(safe, index=frame.index)


def neutralise_table(table: pa.Table) -> pa.Table:
    """An Arrow table whose text cells cannot start a formula (numbers untouched)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column, kind = pc.cast(column, kind.value_type), kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            risky = pc.match_substring_regex(column, _ESCAPED_REGEX)
            if pc.any(risky).as_py():
                column = pc.if_else(
                    risky,
                    pc.binary_join_element_wise(pa.scalar("'", kind), column, pa.scalar("", kind)),
                    column,
                )
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def write_csv(data: pd.DataFrame | pa.Table, path: Path, *, feed: bool = False) -> None:
    """Write a frame (without its index) or an Arrow table as a spreadsheet-safe CSV file.

    Args:
        data: The rows; a pandas frame's index is not written.
        path: The file to write (its folder must exist).
        feed: The file is a feed the pipeline reads again (`safeguard pseudonymise`):
            text is written as it is, in quotes, with no leading quote added, since
            one would change the text (a referral id ``=1`` would become ``'=1``, no
            longer the hub's id); the cells came from the agency's file as they are.
    """
    import pandas as pd

    names = (
        [str(name) for name in data.columns]
        if isinstance(data, pd.DataFrame)
        else list(data.column_names)
    )
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        handle.write(_header_line(names, feed=feed))
        if isinstance(data, pd.DataFrame):
            (data if feed else neutralise_frame(data)).to_csv(
                handle, header=False, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n"
            )
            return
    _append_table(data if feed else neutralise_table(data), path)


def _append_table(table: pa.Table, path: Path) -> None:
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with Path(path).open("ab") as handle:
        pacsv.write_csv(table, handle, options)
