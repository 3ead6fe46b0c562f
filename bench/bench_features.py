"""Feature build speed and memory: batch (100,000 referrals), one live case, and a reference.

Prints the wall and CPU time of the batch build and its memory, measured in a fresh process that
first loads the validated extract: resident memory before the build, the peak of the
build itself (the kernel's high-water mark is reset once the extract is loaded, so the
loading does not count), the build's own share (peak minus resident before), and the
whole process's peak (loading included). Then the time of one live case (300 records),
and the time of a straightforward per-referral filtering reference on a sample, scaled to
the whole extract, as a ratio to the batch build.

Run: .venv/bin/python bench/bench_features.py [--referrals N] [--extract DIR] [--json PATH]
(Linux: memory figures read /proc/self/status.)
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from results import Figure, add_json_argument, write_figures

from data_contracts import validate_extract
from data_contracts.cli import prepare_command_process
from data_contracts.vocab import AGENCIES, event_feed
from pipelines.case import build_case_features
from pipelines.features import AUDIT_COLUMNS, build_features
from pipelines.synth import SynthConfig, generate_extract

KIB_PER_GIB = 2**20


def _status_gib(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / KIB_PER_GIB
    raise KeyError(field)


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False if refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_build(extract: Path) -> dict[str, Any]:
    """Load the validated extract, then time the build and measure its peak memory."""
    frames = dict(validate_extract(extract).feeds)
    gc.collect()
    load_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_GIB
    rss_before = _status_gib("VmRSS")
    reset = _reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    table = build_features(frames)
    build_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    build_peak = _status_gib("VmHWM")
    return {
        "referrals": len(table),
        "events": sum(len(frames[event_feed(a)]) for a in AGENCIES if event_feed(a) in frames),
        "features": table.shape[1] - len(AUDIT_COLUMNS),
        "build_s": build_s,
        "cpu_s": cpu_s,
        "rss_before_gib": rss_before,
        "build_peak_gib": build_peak,
        "peak_reset": reset,
        "process_peak_gib": max(load_peak, build_peak),
    }


def _measure_in_fresh_process(extract: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--measure-build", str(extract)],
                          check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _print_build(m: dict[str, Any]) -> None:
    print(f"batch: {m['referrals']:,} referrals, {m['events']:,} events, {m['features']} features"
          f" in {m['build_s']:.2f} s (CPU {m['cpu_s']:.2f} s)")
    own = m["build_peak_gib"] - m["rss_before_gib"]
    caveat = "" if m["peak_reset"] else " (peak mark not reset: includes loading)"
    print(f"memory: {m['rss_before_gib']:.2f} GiB resident before the build (extract loaded); "
          f"build peak {m['build_peak_gib']:.2f} GiB, of which the build "
          f"{own:.2f} GiB{caveat}; whole-process peak {m['process_peak_gib']:.2f} GiB")


def _live_case_ms() -> float:
    case = {"referral": {"referral_id": "R", "person_id": "p", "household_id": "h",
                         "referral_date": "2024-06-01", "referral_source": "police",
                         "presenting_need": "domestic_abuse", "subject_type": "child",
                         "age_years": 6, "sex": "female", "ethnicity_group": "white",
                         "disability": False, "imd_decile": 2},
            "household_members": [{"person_id": "m", "role": "parent_carer"}],
            "events": [{"agency": "police", "person_id": "p" if i % 2 else "m",
                        "event_date": f"20{18 + i % 6}-0{1 + i % 9}-1{i % 10}",
                        "recorded_date": None, "event_type": "domestic_abuse_incident",
                        "value": None} for i in range(300)]}
    for _ in range(20):
        build_case_features(case)
    runs = 500
    started = time.perf_counter()
    for _ in range(runs):
        build_case_features(case)
    return (time.perf_counter() - started) / runs * 1000


def _reference_counts(frames: dict[str, pd.DataFrame], referral: pd.Series) -> int:
    """Per-referral filtering: the subject's and household's records known in time."""
    members = frames["household_members"]
    persons = {referral["person_id"]}
    if pd.notna(referral["household_id"]):
        persons |= set(members.loc[members["household_id"] == referral["household_id"],
                                   "person_id"])
    total = 0
    for agency in AGENCIES:
        events = frames.get(event_feed(agency))
        if events is None:
            continue
        mine = events[events["person_id"].isin(persons)]
        known = mine["recorded_date"].fillna(mine["event_date"])
        mine = mine[known <= referral["referral_date"]]
        total += int(mine.groupby("event_type").size().sum())
    return total


def _print_reference(extract: Path, sample: int, batch_s: float) -> tuple[float, float]:
    frames = dict(validate_extract(extract).feeds)
    refs = frames["referrals"].sample(sample, random_state=0)
    started = time.perf_counter()
    for _, referral in refs.iterrows():
        _reference_counts(frames, referral)
    per_referral = (time.perf_counter() - started) / len(refs)
    projected = per_referral * len(frames["referrals"])
    print(f"reference per-referral filtering: {per_referral * 1000:.1f} ms per referral, "
          f"projected {projected:,.0f} s for the extract; vectorised build is "
          f"{projected / batch_s:,.0f}x faster")
    return per_referral, projected


def _run(extract: Path, reference_sample: int, json_path: Path | None = None) -> None:
    measured = _measure_in_fresh_process(extract)
    _print_build(measured)
    live_ms = _live_case_ms()
    print(f"live case (300 records): {live_ms:.3f} ms")
    per_referral, projected = _print_reference(extract, reference_sample, measured["build_s"])
    write_figures(json_path, "bench_features", [
        Figure("feature build (single machine)", measured["build_s"], "s",
               "per-referral filtering, projected from a sample", projected),
        Figure("feature build, peak RSS", measured["build_peak_gib"], "GiB",
               "resident before the build (validated extract loaded)",
               measured["rss_before_gib"]),
        Figure("live case features (300 records)", live_ms, "ms",
               "per-referral filtering, one referral", per_referral * 1000)],
        {k: measured[k] for k in ("referrals", "events", "features", "process_peak_gib")}
        | {"reference sample": reference_sample})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--reference-sample", type=int, default=200)
    parser.add_argument("--extract", type=Path,
                        help="Reuse this extract directory instead of generating one.")
    add_json_argument(parser)
    parser.add_argument("--measure-build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Set up as the commands are (`safeguard features`): fewer garbage collections, small
    # pages, Arrow's jemalloc pool; the single-machine build is then timed as users run it.
    prepare_command_process()
    if args.measure_build is not None:  # the fresh process measuring the build
        print(json.dumps(measure_build(args.measure_build)))
        return
    if args.extract is not None:
        _run(args.extract, args.reference_sample, args.json)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "extract"
        generate_extract(SynthConfig(n_referrals=args.referrals, seed=7, file_format="parquet",
                                     corrupt=False), out_dir=out)
        _run(out, args.reference_sample, args.json)


if __name__ == "__main__":
    main()
