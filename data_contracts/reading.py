"""Finding and reading feed files: every cell as a string, exactly as the agency sent it.

Files are read with pyarrow (multi-threaded, no per-row Python). Typed inputs
(Parquet files, typed in-memory frames) are normalised to the same all-string form,
so one set of rules applies whatever the file format.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from data_contracts.errors import FeedRejected
from data_contracts.vocab import FEED_FORMATS, FEEDS

logger = logging.getLogger(__name__)

STRING_DTYPE = pd.StringDtype("pyarrow")


@dataclass(frozen=True)
class ExtractFiles:
    """The feed files found in an input directory."""

    feeds: dict[str, Path] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def find_feed_files(input_dir: Path) -> ExtractFiles:
    """Map feed names to files; anything else in the directory is listed as ignored.

    Raises:
        FeedRejected: The directory is missing, or a feed comes in two formats.
    """
    if not input_dir.is_dir():
        raise FeedRejected(str(input_dir), "input directory not found")
    feeds: dict[str, Path] = {}
    ignored: list[str] = []
    for path in sorted(input_dir.iterdir()):
        suffix = path.suffix.lower().lstrip(".")
        if path.is_file() and path.stem in FEEDS and suffix in FEED_FORMATS:
            if path.stem in feeds:
                raise FeedRejected(
                    path.name, f"feed '{path.stem}' given twice ({feeds[path.stem].name} too)"
                )
            feeds[path.stem] = path
        else:
            ignored.append(path.name)
    return ExtractFiles(feeds=feeds, ignored=ignored)


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise FeedRejected(path.name, "no header row")
    return header


def read_csv_strings(path: Path) -> pa.Table:
    """Read a CSV file with every column as a string; empty cells are null."""
    try:
        header = _csv_header(path)
        if len(set(header)) != len(header):
            raise FeedRejected(path.name, "header repeats a column name")
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except FeedRejected:
        raise
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException) as exc:
        raise FeedRejected(path.name, f"cannot be parsed as CSV: {exc}") from exc


def read_table(path: Path) -> pa.Table:
    """Read a CSV or Parquet file into an Arrow table (CSV: all strings)."""
    if path.suffix.lower() == ".csv":
        return read_csv_strings(path)
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise FeedRejected(path.name, f"cannot be parsed as Parquet: {exc}") from exc


def _timestamp_to_string(array: pa.ChunkedArray) -> pa.ChunkedArray:
    as_date = pc.cast(array, pa.date32())
    midnight = pc.equal(pc.cast(as_date, array.type), array)
    text = pc.strftime(array, format="%Y-%m-%dT%H:%M:%S")
    return pc.if_else(midnight, pc.cast(as_date, pa.string()), text)


def _float_to_string(array: pa.ChunkedArray) -> pa.ChunkedArray:
    # Integral floats come from integer columns with gaps; write them as integers.
    finite = pc.is_finite(array)
    integral = pc.and_(finite, pc.equal(pc.floor(array), array))
    as_int = pc.cast(pc.if_else(integral, array, 0), pa.int64(), safe=False)
    return pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(array, pa.string()))


def column_to_strings(array: pa.ChunkedArray, source: str, name: str) -> pa.ChunkedArray:
    """Normalise one typed Arrow column to strings as a CSV would have carried them."""
    kind = array.type
    try:
        if pa.types.is_dictionary(kind):
            return column_to_strings(pc.cast(array, kind.value_type), source, name)
        if pa.types.is_string(kind):
            return array
        if pa.types.is_large_string(kind):
            return pc.cast(array, pa.string())
        if pa.types.is_timestamp(kind):
            return _timestamp_to_string(array)
        if pa.types.is_floating(kind):
            return _float_to_string(array)
        if pa.types.is_null(kind):
            return pa.chunked_array([pa.nulls(len(array), pa.string())])
        return pc.cast(array, pa.string())
    except pa.ArrowException as exc:
        raise FeedRejected(source, f"column '{name}' has an unreadable type {kind}") from exc


def _empty_as_null(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """An empty cell is a missing cell, whatever the file format."""
    empty = pc.equal(array, "")
    if not pc.any(empty).as_py():
        return array
    return pc.if_else(empty, pa.scalar(None, pa.string()), array)


def table_to_strings(table: pa.Table, source: str) -> pd.DataFrame:
    """All-string pandas frame (Arrow-backed strings, missing as NA) from an Arrow table."""
    names = [str(n) for n in table.column_names]
    if len(set(names)) != len(names):
        raise FeedRejected(source, "repeats a column name")
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
