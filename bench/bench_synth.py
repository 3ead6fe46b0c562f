"""Benchmark of `safeguard synth`: 100,000 referrals written as CSV into a temporary directory.

Run: ``.venv/bin/python bench/bench_synth.py [--referrals N] [--format csv|parquet]``
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from pipelines.synth import SynthConfig, generate_extract

DEFAULT_REFERRALS = 100_000
KIB_PER_GIB = 1024 * 1024


def main() -> None:
    """Generate an extract, then print time, sizes, memory and the truth's figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=DEFAULT_REFERRALS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", default="csv", choices=("csv", "parquet"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp) / "extract"
        started = time.perf_counter()
        summary = generate_extract(
            SynthConfig(n_referrals=args.referrals, seed=args.seed, file_format=args.format),
            out_dir=out_dir,
        )
        wall = time.perf_counter() - started
        truth = pq.read_table(summary.truth_path).to_pandas()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_GIB
    complete = truth[truth["follow_up_complete"]]
    auc = roc_auc_score(complete["label"].astype(int), complete["true_probability"])
    print(f"referrals requested     {args.referrals:,} ({args.format}, seed {args.seed})")
    print(f"wall time               {wall:.1f} s")
    for feed, rows in summary.rows.items():
        print(f"rows {feed:<19} {rows:,}")
    print(f"total event rows        {summary.event_rows:,}")
    print(f"injected broken rows    {summary.n_corruptions:,}")
    print(f"peak RSS                {peak_gib:.2f} GiB")
    print(f"base rate (complete)    {complete['label'].mean():.3f}")
    print(f"incomplete follow-up    {1 - truth['follow_up_complete'].mean():.3f}")
    print(f"true-probability AUC    {auc:.3f} (follow-up complete referrals)")


if __name__ == "__main__":
    main()
