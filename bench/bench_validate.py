"""Benchmark: validate an extract of about 5 million event rows.

Generates a valid extract with numpy and pyarrow (seconds, not minutes) unless
``--input DIR`` is given, then times :func:`data_contracts.validate.validate_extract`
and prints wall time, rows per second and peak RSS, beside the reference: reading the
same files to pandas with pyarrow, no checks (first, so its peak is the smaller one), and
the size of the read feeds in pandas.

    .venv/bin/python bench/bench_validate.py --events 5000000 [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from results import Figure, add_json_argument, write_figures

from data_contracts.validate import validate_extract
from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    EVENT_TYPES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    SEXES,
    event_feed,
)

EXTRACT_DATE = dt.date(2024, 6, 30)


def _tokens(prefix: str, numbers: np.ndarray) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=7, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _pick(rng: np.random.Generator, values: list[str] | tuple[str, ...], n: int) -> pa.Array:
    dictionary = pa.array(list(values), pa.string())
    indices = pa.array(rng.integers(0, len(values), n).astype(np.int32))
    return pc.take(dictionary, indices)


def _date_text(offsets: np.ndarray) -> pa.Array:
    """Dates ``offsets`` days before the extract date, as ``YYYY-MM-DD`` text."""
    span = int(offsets.max()) + 1 if len(offsets) else 1
    text = [(EXTRACT_DATE - dt.timedelta(days=d)).isoformat() for d in range(span)]
    return pc.take(pa.array(text), pa.array(offsets))


def _events(rng: np.random.Generator, agency: str, n: int, persons: int) -> pa.Table:
    offsets = rng.integers(30, 3000, n)
    lag = rng.integers(0, 25, n)
    recorded = _date_text(np.maximum(offsets - lag, 0))
    recorded = pc.if_else(pa.array(lag == 0), pa.nulls(n, pa.string()), recorded)
    types = _pick(rng, EVENT_TYPES[agency], n)
    rates = pc.cast(pa.array(np.round(rng.uniform(40, 100, n), 1)), pa.string())
    values = pc.if_else(pc.equal(types, "attendance_rate"), rates, pa.nulls(n, pa.string()))
    return pa.table(
        {
            "person_id": _tokens("P", rng.integers(0, persons, n)),
            "event_date": _date_text(offsets),
            "recorded_date": recorded,
            "event_type": types,
            "value": values,
        }
    )


def _referrals(rng: np.random.Generator, n: int, persons: int) -> pa.Table:
    ages = rng.integers(0, 90, n)
    child = ages <= 17
    return pa.table(
        {
            "referral_id": _tokens("R", np.arange(n)),
            "person_id": _tokens("P", rng.integers(0, persons, n)),
            "household_id": _tokens("H", rng.integers(0, persons // 2, n)),
            "referral_date": _date_text(rng.integers(0, 1500, n)),
            "referral_source": _pick(rng, REFERRAL_SOURCES, n),
            "presenting_need": _pick(rng, PRESENTING_NEEDS, n),
            "subject_type": pa.array(np.where(child, "child", "adult_at_risk")),
            "age_years": pc.cast(pa.array(ages), pa.string()),
            "sex": _pick(rng, SEXES, n),
            "ethnicity_group": _pick(rng, ETHNICITY_GROUPS, n),
            "disability": _pick(rng, ["true", "false", "1", "0"], n),
            "imd_decile": pc.cast(pa.array(rng.integers(1, 11, n)), pa.string()),
        }
    )


def _household(rng: np.random.Generator, n: int, persons: int) -> pa.Table:
    roles = ["subject", "parent_carer", "sibling", "other_adult", "other_child"]
    return pa.table(
        {
            "household_id": _tokens("H", rng.integers(0, persons // 2, n)),
            "person_id": _tokens("P", rng.integers(0, persons, n)),
            "role": _pick(rng, roles, n),
        }
    )


def generate_extract(directory: Path, *, events: int, seed: int = 7) -> None:
    """Write a valid extract with about ``events`` event rows across the six agencies."""
    rng = np.random.default_rng(seed)
    persons = max(events // 20, 100)
    shares = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
    tables = {"referrals": _referrals(rng, persons // 2, persons)}
    tables["household_members"] = _household(rng, persons, persons)
    for agency, share in zip(AGENCIES, shares, strict=True):
        tables[event_feed(agency)] = _events(rng, agency, int(events * share), persons)
    for feed, table in tables.items():
        pacsv.write_csv(table, directory / f"{feed}.csv")


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_only(input_dir: Path) -> tuple[float, float]:
    """The reference: read every feed of the extract to pandas, no checks (seconds, GiB)."""
    start = time.perf_counter()
    frames = [pacsv.read_csv(path).to_pandas() for path in sorted(input_dir.glob("*.csv"))]
    seconds = time.perf_counter() - start
    return seconds, sum(f.memory_usage(deep=True).sum() for f in frames) / 2**30


def run(input_dir: Path, json_path: Path | None = None) -> None:
    """Validate ``input_dir`` and print the figures."""
    read_s, data_gib = read_only(input_dir)
    start = time.perf_counter()
    result = validate_extract(input_dir, extract_date=EXTRACT_DATE)
    elapsed = time.perf_counter() - start
    rows = sum(entry["read"] for entry in result.report["feeds"].values())
    feeds = result.report["feeds"]
    events = sum(entry["read"] for feed, entry in feeds.items() if feed.startswith("events_"))
    quarantined = sum(entry["quarantined"] for entry in result.report["feeds"].values())
    print(f"rows read:          {rows:,} ({events:,} event rows), quarantined {quarantined:,}")
    print(f"validate_extract:   {elapsed:.2f} s wall")
    print(f"throughput:         {rows / elapsed:,.0f} rows/s")
    print(f"peak RSS:           {_peak_rss_mib():,.0f} MiB")
    print(f"reference, read every feed to pandas without checks: {read_s:.2f} s; "
          f"the feeds in pandas {data_gib * 1024:,.0f} MiB")
    write_figures(json_path, "bench_validate", [
        Figure("validate_extract", elapsed, "s", "read the same CSV files to pandas", read_s),
        Figure("validate_extract, process peak RSS", _peak_rss_mib() / 1024, "GiB",
               "the feeds' own size in pandas", data_gib)],
        {"rows": rows, "event rows": events, "rows per second": round(rows / elapsed)})


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, help="validate this extract, do not generate one")
    parser.add_argument("--events", type=int, default=5_000_000, help="event rows to generate")
    add_json_argument(parser)
    args = parser.parse_args(argv)
    if args.input:
        run(args.input, args.json)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_validate_") as tmp:
        start = time.perf_counter()
        generate_extract(Path(tmp), events=args.events)
        print(f"generated extract:  {time.perf_counter() - start:.1f} s in {tmp}")
        run(Path(tmp), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
