"""Writing the extract, the truth file and the list of injected corruptions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.csv_output import write_csv
from pipelines.synth.arrow import arrow, strings
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
        "feed": strings([c.feed for c in ordered]),
        "row_number": arrow(np.array([c.row_number for c in ordered], dtype=np.int64)),
        "rule": strings([c.rule for c in ordered]),
    })
    write_csv(table, path)
