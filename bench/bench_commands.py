"""Whole commands as a user runs them: `safeguard features` and `safeguard score
--no-explanations`, start-up, validation, build and write included.

Each command runs in its own process; the figures are its wall time, its CPU time (user +
system, all threads) and its peak resident memory, from the kernel's accounting of the
child. With ``--baseline-code DIR`` (another version's source tree, e.g. from ``git
archive``) every round runs that version's command right after this one's, on the same
extract, and prints the ratio of the two: on a shared machine only figures measured side
by side compare. The outputs of both are compared value for value (features: every
column, exactly; ratings: every column). ``--baseline-env NAME=VALUE`` sets a variable for
the baseline's runs only (e.g. ``PYTHONPYCACHEPREFIX=DIR`` to run it without the compiled
bytecode it lacked). The load average is printed before and after.

Targets (issue 21): features under 8 s, peak under 1.5 GiB; score without explanations
under 8 s (100,000 referrals, this 2-core machine).

Run: .venv/bin/python bench/bench_commands.py --extract DIR [--rounds R]
[--baseline-code DIR] [--baseline-env NAME=VALUE] [--score-model V]
(score: a registered version in the registry the SAFEGUARD_* settings name)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd
from measure import Run, baseline_command, measure

SAFEGUARD = Path(sys.executable).with_name("safeguard")
TARGET_SECONDS = 8.0
TARGET_PEAK_GIB = 1.5


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _summary(name: str, runs: list[Run]) -> str:
    walls, cpus = [r.wall for r in runs], [r.cpu for r in runs]
    return (f"{name}: wall best {min(walls):.2f} s, median {statistics.median(walls):.2f} s, "
            f"worst {max(walls):.2f} s; CPU best {min(cpus):.2f} s, median "
            f"{statistics.median(cpus):.2f} s; "
            f"peak {max(r.peak_gib for r in runs):.2f} GiB")


def _same_tables(ours: Path, theirs: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_parquet(ours), pd.read_parquet(theirs),
                                  check_exact=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extract", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-code", type=Path, default=None)
    parser.add_argument("--baseline-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--score-model", default=None,
                        help="Also time `safeguard score --no-explanations` with this version.")
    args = parser.parse_args()
    base_env = os.environ | dict(item.split("=", 1) for item in args.baseline_env)
    jobs = {"features": ["features", "--input", str(args.extract), "--output"]}
    if args.score_model is not None:
        jobs["score"] = ["score", "--input", str(args.extract), "--model", args.score_model,
                         "--no-explanations", "--output"]
    print(_load(), f"(before; {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for job, job_args in jobs.items():
            ours, theirs, ratios = [], [], []
            for _ in range(args.rounds):
                ours.append(measure([str(SAFEGUARD), *job_args, str(folder / f"{job}.parquet")],
                                dict(os.environ)))
                if args.baseline_code is not None:
                    theirs.append(measure(baseline_command(
                        args.baseline_code, [*job_args, str(folder / f"{job}.base.parquet")]),
                        base_env))
                    ratios.append((ours[-1].wall / theirs[-1].wall,
                                   ours[-1].cpu / theirs[-1].cpu))
            print(_summary(f"{job} (this code)", ours))
            within = sum(r.wall < TARGET_SECONDS for r in ours)
            print(f"  target: under {TARGET_SECONDS:g} s [met in {within} of {len(ours)} rounds]"
                  + (f"; peak under {TARGET_PEAK_GIB:g} GiB "
                     f"[{'met' if max(r.peak_gib for r in ours) < TARGET_PEAK_GIB else 'MISSED'}]"
                     if job == "features" else ""))
            if theirs:
                print(_summary(f"{job} (baseline)", theirs))
                print("  this / baseline, per round (wall, CPU): "
                      + ", ".join(f"{w:.2f}, {c:.2f}" for w, c in ratios)
                      + f"; median {statistics.median(w for w, _ in ratios):.2f}, "
                        f"{statistics.median(c for _, c in ratios):.2f}")
                _same_tables(folder / f"{job}.parquet", folder / f"{job}.base.parquet")
                print("  outputs equal value for value")
    print(_load(), "(after)")


if __name__ == "__main__":
    main()
