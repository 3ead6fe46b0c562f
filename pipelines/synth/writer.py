"""Writing the extract, the truth file and the list of injected corruptions."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.synth.corrupt import Corruption

# Arrow quotes header names; the header is written by hand so the files read plainly.
CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="none")
CORRUPTION_COLUMNS = ("feed", "row_number", "rule")


def write_feed(table: pa.Table, out_dir: Path, *, feed: str, file_format: str) -> Path:
    """Write one feed as ``<feed>.csv`` or ``<feed>.parquet``; return the path."""
    path = out_dir / f"{feed}.{file_format}"
    if file_format == "csv":
        with path.open("wb") as handle:
            handle.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pa_csv.write_csv(table, handle, CSV_OPTIONS)
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
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CORRUPTION_COLUMNS)
        writer.writerows((c.feed, c.row_number, c.rule) for c in ordered)
