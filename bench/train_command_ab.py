"""`safeguard train`, the whole command, from two source trees in alternating rounds.

Each run starts a fresh process from the tree's folder (its packages first on the path),
with a fresh MLflow store and artefact folder, on the same extract. Prints each run's wall
and CPU seconds (the child's user + system time, from `resource.getrusage`) and the
one-minute load average, then the after/before ratios of the sums: on a shared machine
the CPU ratio is the steadier figure, and more threads win a larger share of a busy
machine, which flatters the wall ratio. The metrics table each run prints must be the
same for both trees when the model is meant to be unchanged; it is compared too.

Run: .venv/bin/python bench/train_command_ab.py --before /tmp/before --after . \\
         --input EXTRACT [--rounds 3]
(`git archive <commit> | tar -x -C /tmp/before` makes a before tree.)
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAUNCH = "import sys; sys.argv[0] = 'safeguard'; from api.cli import main; main()"
METRIC_ROWS = ("roc_auc", "average_precision", "brier", "ece")


def run_once(tree: Path, extract: Path) -> tuple[float, float, list[str]]:
    """Wall and CPU seconds of one `safeguard train`, and its metric rows."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SAFEGUARD_MLFLOW_TRACKING_URI=f"sqlite:///{tmp}/mlflow.db",
                   SAFEGUARD_MLFLOW_ARTIFACT_ROOT=f"{tmp}/artifacts",
                   SAFEGUARD_DATABASE_URL=f"sqlite:///{tmp}/safeguard.db", COLUMNS="200")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", LAUNCH, "train", "--input", str(extract)],
                              cwd=tree, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{tree}: safeguard train failed\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows = [line for line in done.stdout.splitlines()
            if any(f" {name} " in line for name in METRIC_ROWS)]
    if len(rows) != len(METRIC_ROWS):
        raise SystemExit(f"{tree}: expected the rows {METRIC_ROWS} in the metrics table, "
                         f"found {len(rows)}:\n{done.stdout[-2000:]}")
    return wall, cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, required=True)
    parser.add_argument("--input", type=Path, required=True, help="Extract directory.")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    totals = {name: [0.0, 0.0] for name in trees}
    tables = set()
    for round_ in range(args.rounds):
        order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
        for name in order:
            wall, cpu, rows = run_once(trees[name], args.input.resolve())
            totals[name][0] += wall
            totals[name][1] += cpu
            tables.add("\n".join(rows))
            print(f"round {round_ + 1} {name:6s} wall {wall:6.1f} s  cpu {cpu:6.1f} s  "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    (bw, bc), (aw, ac) = totals["before"], totals["after"]
    print(f"after / before: wall {aw / bw:.3f}, cpu {ac / bc:.3f} over {args.rounds} rounds; "
          f"metric tables {'identical' if len(tables) == 1 else 'DIFFER'}")
    if len(tables) > 1:
        print("\n\n".join(sorted(tables)))


if __name__ == "__main__":
    main()
