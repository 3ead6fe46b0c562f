"""Benchmark of `safeguard synth`: the whole command (start-up included), 100,000 referrals.

Each round runs, one after the other, a reference and the command, each in its own
process, and prints the command's wall time and peak RSS, and its wall time as a ratio
to the reference of the same round (the machine is shared, so the ratio is the steadier
figure). The reference is plain numpy and pyarrow work of the extract's size: draw as
many event rows as the extract holds, sort them by person and day, and write them as one
CSV. With ``--baseline-code DIR`` (another version's source tree, e.g. from
``git archive``) each round also runs that version's ``safeguard synth`` and prints the
ratio of the two. Then the truth's figures: base rate and true-probability ROC AUC.

Run: ``.venv/bin/python bench/bench_synth.py [--referrals N] [--format csv|parquet]
[--rounds R] [--disparities default|none|...] [--baseline-code DIR] [--json PATH]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from measure import baseline_command, measure
from results import Figure, add_json_argument, write_figures
from sklearn.metrics import roc_auc_score

DEFAULT_REFERRALS = 100_000
EVENTS_PER_REFERRAL = 45  # about what the generator writes
SAFEGUARD = Path(sys.executable).with_name("safeguard")
REFERENCE = """
import sys
import numpy as np, pyarrow as pa, pyarrow.csv as csv
n = int(sys.argv[1]); rng = np.random.default_rng(0)
person = rng.integers(0, n // 10, n); day = rng.integers(16000, 20700, n)
order = np.lexsort((day, person))
table = pa.table({"person": person[order], "day": day[order],
                  "recorded": day[order] + rng.integers(0, 30, n),
                  "type": rng.integers(0, 40, n)[order], "value": rng.random(n)[order]})
csv.write_csv(table, sys.argv[2])
"""


def main() -> None:
    """Alternate reference and command; print times, ratios, memory and the truth's figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=DEFAULT_REFERRALS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", default="csv", choices=("csv", "parquet"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--disparities", default="default")
    parser.add_argument("--baseline-code", type=Path, default=None)
    add_json_argument(parser)
    args = parser.parse_args()
    rounds: list[tuple[float, float, float, float]] = []  # synth and reference: wall, peak
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "extract"
        common = ["synth", "--referrals", str(args.referrals), "--seed", str(args.seed),
                  "--format", args.format]
        synth = [str(SAFEGUARD), *common, "--out", str(out), "--disparities", args.disparities]
        reference = [sys.executable, "-c", REFERENCE,
                     str(args.referrals * EVENTS_PER_REFERRAL), str(Path(tmp) / "reference.csv")]
        print(f"referrals {args.referrals:,} ({args.format}, seed {args.seed}, "
              f"disparities {args.disparities})")
        for round_number in range(1, args.rounds + 1):
            reference_run = measure(reference)
            reference_wall, reference_peak = reference_run.wall, reference_run.peak_gib
            synth_run = measure(synth)
            wall, peak = synth_run.wall, synth_run.peak_gib
            rounds.append((wall, peak, reference_wall, reference_peak))
            print(f"round {round_number}: synth {wall:.1f} s, peak RSS {peak:.2f} GiB; "
                  f"reference {reference_wall:.1f} s; ratio {wall / reference_wall:.2f}")
            if args.baseline_code is not None:
                base_out = Path(tmp) / "baseline"
                command = baseline_command(args.baseline_code, [*common, "--out", str(base_out)])
                base_run = measure(command)
                base_wall, base_peak = base_run.wall, base_run.peak_gib
                print(f"         baseline {base_wall:.1f} s, peak RSS {base_peak:.2f} GiB; "
                      f"synth / baseline {wall / base_wall:.2f}")
        truth = pq.read_table(Path(tmp) / "extract.truth.parquet").to_pandas()
    complete = truth[truth["follow_up_complete"]]
    auc = roc_auc_score(complete["label"].astype(int), complete["true_probability"])
    print(f"base rate (complete)    {complete['label'].mean():.3f}")
    print(f"incomplete follow-up    {1 - truth['follow_up_complete'].mean():.3f}")
    print(f"true-probability AUC    {auc:.3f} (follow-up complete referrals)")
    write_figures(args.json, "bench_synth", [
        Figure("safeguard synth, whole command", min(r[0] for r in rounds), "s",
               "numpy + pyarrow: as many rows drawn, sorted, written as CSV",
               min(r[2] for r in rounds), note="fastest round of each"),
        Figure("safeguard synth, peak RSS", max(r[1] for r in rounds), "GiB",
               "the numpy + pyarrow reference's peak RSS", max(r[3] for r in rounds))],
        {"referrals": args.referrals, "format": args.format, "rounds": args.rounds,
         "base rate (complete)": round(float(complete["label"].mean()), 3),
         "true-probability AUC": round(float(auc), 3)})


if __name__ == "__main__":
    main()
