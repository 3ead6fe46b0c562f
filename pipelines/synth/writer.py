"""Writing the extract, the truth file and the list of injected corruptions."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.csv_output import write_csv
from pipelines.synth.corrupt import Corruption


def write_feed(table: pa.Table, out_dir: Path, *, feed: str, file_format: str) -> Path:
    """Write one feed as ``<feed>.csv`` or ``<feed>.parquet``; return the path."""
    path = out_dir / f"{feed}.{file_format}"
    if file_format == "csv":
        write_csv(table, path)
    else:
        # Nothing clock-dependent is written, so for a pyarrow version the bytes depend on the seed.
        pq.write_table(table, path, compression="zstd", store_schema=False)
    return path


def write_truth(table: pa.Table, path: Path) -> None:
    """Write the truth file (Parquet), which training code must never read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd", store_schema=False)


def write_corruptions(corruptions: list[Corruption], path: Path) -> None:
    """Write the injected broken rows as CSV: feed, row_number (0-based data row), rule."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(corruptions, key=lambda c: (c.feed, c.row_number))
    table = pa.table({
        "feed": pa.array([c.feed for c in ordered], pa.string()),
        "row_number": pa.array([c.row_number for c in ordered], pa.int64()),
        "rule": pa.array([c.rule for c in ordered], pa.string()),
    })
    write_csv(table, path)
