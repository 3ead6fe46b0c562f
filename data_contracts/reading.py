"""Reading feed files: every cell as a string, exactly as the agency sent it.

Files are read with pyarrow (multi-threaded, no per-row Python). Typed inputs
(Parquet files, typed in-memory frames) are normalised to the same all-string form,
so one set of rules applies whatever the file format.

A file is measured before it is read: an empty file, or one over the limit of bytes
per feed file (:func:`feed_size_limit`), is refused from its size alone, so reading
never holds more than about the limit in memory. CSV files are read by
:mod:`data_contracts.csv_reading`; an extract's feed files are found in its folder by
:mod:`data_contracts.feed_files`.

A timestamp column is read as the text of each date and time of day, and
`data_contracts.parsing` alone decides which is a date (a midnight). A date column
written with a time zone (``tz_localize('Europe/London')``) holds each date as the
instant its day begins there: 2023-07-01 is 2023-06-30 23:00 UTC. Its timestamps are
written as the zone's wall-clock time with the offset (``2023-07-01T00:00:00+0100``), so
a timestamp at local midnight is that local date, in summer as in winter, as a date
column without a time zone is read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_contracts.csv_reading import read_csv_strings
from data_contracts.digits import ascii_whole_number
from data_contracts.errors import FeedRejected

logger = logging.getLogger(__name__)

STRING_DTYPE = pd.StringDtype("pyarrow")
MAX_FEED_BYTES_ENV: Final = "SAFEGUARD_MAX_FEED_BYTES"
DEFAULT_MAX_FEED_BYTES: Final = 1024**3  # 1 GiB: millions of rows; reading takes ~3x in memory


def feed_size_limit() -> int:
    """The most bytes a feed file may hold: $SAFEGUARD_MAX_FEED_BYTES, else 1 GiB.

    Raises:
        FeedRejected: The variable is not a whole number of bytes, at least 1.
    """
    text = os.environ.get(MAX_FEED_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_FEED_BYTES
    number = ascii_whole_number(text)
    if number is None or number < 1:
        raise FeedRejected(MAX_FEED_BYTES_ENV, f"must be a whole number of bytes, got '{text}'")
    return number


NOT_A_FILE = ("is a folder, not a file: a feed is one .csv or .parquet file (a Parquet folder "
              "of parts, as Spark writes, is not read: write it as one file)")


def check_feed_size(path: Path, max_bytes: int) -> None:
    """Refuse an empty feed file, one over ``max_bytes``, or a folder named as a feed,
    from its size and kind alone.

    Raises:
        FeedRejected: One line naming the file, its size and the limit.
    """
    try:
        status = path.stat()
    except OSError as exc:
        raise FeedRejected(path.name, f"cannot be read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(status.st_mode):
        raise FeedRejected(path.name, NOT_A_FILE if stat.S_ISDIR(status.st_mode)
                           else "is not a regular file: a feed is one .csv or .parquet file")
    size = status.st_size
    if size == 0:
        raise FeedRejected(path.name, "is empty (0 bytes): a feed holds at least its header row")
    if size > max_bytes:
        raise FeedRejected(
            path.name,
            f"is {size:,} bytes, over the limit of {max_bytes:,} bytes per feed file "
            f"(--max-feed-bytes or {MAX_FEED_BYTES_ENV})",
        )


def read_table(path: Path, *, max_bytes: int | None = None, keep_ragged: bool = False,
               one_line: Collection[str] = ()) -> pa.Table:
    """Read a CSV or Parquet file into an Arrow table (CSV: all strings).

    Args:
        path: The file.
        max_bytes: The most bytes the file may hold; :func:`feed_size_limit` when None.
        keep_ragged: Keep a CSV row of the wrong number of fields for the quarantine
            (`read_csv_strings`) rather than refuse the file.
        one_line: The CSV columns whose cells cannot hold a line break (the feed's
            specified columns): one holding one is a double quote left unclosed.

    Raises:
        FeedRejected: The file is empty, too large, or cannot be parsed.
    """
    check_feed_size(path, feed_size_limit() if max_bytes is None else max_bytes)
    if path.suffix.lower() == ".csv":
        return read_csv_strings(path, keep_ragged=keep_ragged, one_line=one_line)
    try:
        refuse_repeated_names(pq.read_schema(path).names, path.name)
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise FeedRejected(path.name, f"cannot be parsed as Parquet: {exc}") from exc


def refuse_repeated_names(names: list[str], source: str) -> None:
    """Refuse columns repeating a name, naming it (pyarrow refused a Parquet file's in its
    own words: `Multiple matches for FieldRef.Name(event_type) in person_id: string ...`)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise FeedRejected(source, f"repeats the column name '{name}': a column holds "
                                       "one field")
        seen.add(name)


def _timestamp_to_string(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """Each timestamp as the text of its date and time of day (``2024-03-22T00:00:00``),
    with a time zone its wall-clock time there and its offset from UTC (``+0100``), as a
    database export writes a date column: `data_contracts.parsing.parse_dates` reads a
    midnight as its date and quarantines any other time of day. Seconds carry a fraction
    only in a column where some timestamp has one.

    Cast to text, not `pc.strftime` (1.1 s for a million timestamps, against 0.03 s): the
    offset is written once per distinct offset (`_utc_offsets`).
    """
    with contextlib.suppress(pa.ArrowInvalid):  # raised when some timestamp has a fraction
        array = pc.cast(array, pa.timestamp("s", array.type.tz))
    local = array if array.type.tz is None else pc.local_timestamp(array)
    text = pc.replace_substring(pc.cast(local, pa.string()), " ", "T", max_replacements=1)
    if array.type.tz is None:
        return text
    return pc.binary_join_element_wise(text, _utc_offsets(array, local), "")


def _utc_offsets(array: pa.ChunkedArray, local: pa.ChunkedArray) -> pa.ChunkedArray:
    """The offset from UTC of each timestamp of ``array`` (``local`` its wall-clock time),
    written as ``%z`` writes it: ``+0100``, ``-0500``, ``+0530``."""
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[array.type.unit]
    seconds = pc.divide(pc.subtract(pc.cast(local, pa.int64()), pc.cast(array, pa.int64())),
                        per_second)
    distinct = pc.unique(seconds)
    written = [None if offset is None else
               f"{'-' if offset < 0 else '+'}{abs(offset) // 3600:02d}{abs(offset) // 60 % 60:02d}"
               for offset in distinct.to_pylist()]
    return pc.take(pa.array(written, pa.string()), pc.index_in(seconds, value_set=distinct))


def _float_to_string(array: pa.ChunkedArray) -> pa.ChunkedArray:
    # Integral floats come from integer columns with gaps; write them as integers.
    finite = pc.is_finite(array)
    integral = pc.and_(finite, pc.equal(pc.floor(array), array))
    as_int = pc.cast(pc.if_else(integral, array, 0), pa.int64(), safe=False)
    text = pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(array, pa.string()))
    # NaN is a float without a value as numpy and pandas write it (pandas reads it as
    # missing, and its own Parquet writer makes it null): an empty cell. Infinities stay
    # text ("inf"), no number.
    return pc.if_else(pc.is_nan(array), pa.scalar(None, pa.string()), text)


def _nested_to_json(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """A list, struct or map column as the JSON text of each cell: a column the
    specification does not name is then ignored, and searched for identifiers, as text
    (it refused the feed as 'an unreadable type'; a spreadsheet-minded export of tags or
    codes is such a column)."""
    cells = [None if value is None else json.dumps(value, ensure_ascii=False, default=str)
             for value in array.to_pylist()]
    return pa.chunked_array([pa.array(cells, pa.large_string())])


def column_to_strings(array: pa.ChunkedArray, source: str, name: str) -> pa.ChunkedArray:
    """Normalise one typed Arrow column to (large) strings as a CSV would have carried them."""
    kind = array.type
    if array.null_count == len(array):  # no value to convert (often a feed's `value`)
        return pa.chunked_array([pa.nulls(len(chunk), pa.large_string())
                                 for chunk in array.chunks], type=pa.large_string())
    try:
        if pa.types.is_dictionary(kind):
            return column_to_strings(pc.cast(array, kind.value_type), source, name)
        if pa.types.is_large_string(kind):
            return array
        if pa.types.is_timestamp(kind):
            return pc.cast(_timestamp_to_string(array), pa.large_string())
        if pa.types.is_floating(kind):
            return pc.cast(_float_to_string(array), pa.large_string())
        if pa.types.is_null(kind):
            return pa.chunked_array([pa.nulls(len(array), pa.large_string())])
        if pa.types.is_nested(kind):
            return _nested_to_json(array)
        return pc.cast(array, pa.large_string())
    except pa.ArrowException as exc:
        raise FeedRejected(source, f"column '{name}' ({kind}) cannot be read as text, as every "
                                   "column is (each is checked for direct identifiers): write "
                                   "it as UTF-8 text") from exc


def _empty_as_null(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """An empty cell is a missing cell, whatever the file format."""
    empty = pc.equal(array, "")
    if not pc.any(empty).as_py():
        return array
    return pc.if_else(empty, pa.scalar(None, array.type), array)


def table_to_strings(table: pa.Table, source: str) -> pd.DataFrame:
    """All-string pandas frame (Arrow-backed strings, missing as NA) from an Arrow table."""
    names = [str(n) for n in table.column_names]
    refuse_repeated_names(names, source)
    columns = {
        name: pd.Series(
            pd.arrays.ArrowStringArray(
                _empty_as_null(column_to_strings(table.column(i), source, name))
            ),
            dtype=STRING_DTYPE,
        )
        for i, name in enumerate(names)
    }
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def is_in(values: pd.Series, known: pd.Series | pd.Index) -> pd.Series:
    """``values.isin(known)`` for string columns, hashed by Arrow: pandas first turns
    every known value into a Python object, which for 100,000 ids costs far more than
    the look-up itself. Missing values match a missing known value, as in pandas."""
    cells = pa.array(values.array, from_pandas=True)
    value_set = pa.array(known.array, from_pandas=True).cast(cells.type)
    found = pc.is_in(cells, value_set=value_set).to_numpy(zero_copy_only=False)
    return pd.Series(found, index=values.index, dtype=bool)


def frame_to_strings(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """All-string version of an in-memory frame (all-string or typed)."""
    frame = frame.reset_index(drop=True)
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        # Mixed-type object columns: fall back to their text, keeping missing as missing.
        table = pa.Table.from_pandas(
            frame.astype(object).where(frame.notna(), None).astype("string"),
            preserve_index=False,
        )
    return table_to_strings(table, source)
