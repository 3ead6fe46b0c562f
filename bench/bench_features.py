"""Feature build speed and memory: batch (100,000 referrals), one live case, and a reference.

Prints wall time of the batch build, peak RSS of the process, the time of one live case,
and the time of a straightforward per-referral filtering reference on a sample, scaled to
the whole extract, as a ratio. Run: .venv/bin/python bench/bench_features.py
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts import validate_extract
from data_contracts.vocab import AGENCIES, event_feed
from pipelines.case import build_case_features
from pipelines.features import build_features
from pipelines.synth import SynthConfig, generate_extract


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--referrals", type=int, default=100_000)
    parser.add_argument("--reference-sample", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "extract"
        generate_extract(SynthConfig(n_referrals=args.referrals, seed=7, file_format="parquet",
                                     corrupt=False), out_dir=out)
        frames = dict(validate_extract(out).feeds)
    n_events = sum(len(frames[event_feed(a)]) for a in AGENCIES if event_feed(a) in frames)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    started = time.perf_counter()
    table = build_features(frames)
    batch_s = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"batch: {len(table):,} referrals, {n_events:,} events, {table.shape[1] - 8} features"
          f" in {batch_s:.2f} s; peak RSS {rss_after:.2f} GiB (before build {rss_before:.2f})")
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
    print(f"live case (300 records): {(time.perf_counter() - started) / runs * 1000:.3f} ms")
    refs = frames["referrals"].sample(args.reference_sample, random_state=0)
    started = time.perf_counter()
    for _, referral in refs.iterrows():
        _reference_counts(frames, referral)
    per_referral = (time.perf_counter() - started) / len(refs)
    projected = per_referral * len(frames["referrals"])
    print(f"reference per-referral filtering: {per_referral * 1000:.1f} ms per referral, "
          f"projected {projected:,.0f} s for the extract; vectorised build is "
          f"{projected / batch_s:,.0f}x faster")
    assert np.isfinite(batch_s)


if __name__ == "__main__":
    main()
