"""Command-line start-up: `safeguard --help` and `safeguard validate --help`, whole
commands as a user runs them, beside a bare `python -c pass` measured in the same run.

Each command is run `--repeats` times, alternating with the reference; the figures are
the fastest wall time of each (a shared machine only ever slows a run) and the ratio.
Target: under 0.5 s each.

Run: .venv/bin/python bench/bench_cli.py [--repeats N] [--json PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from results import Figure, Target, add_json_argument, write_figures

SAFEGUARD = Path(sys.executable).with_name("safeguard")
TARGET_SECONDS = 0.5
COMMANDS = {"python -c pass": [sys.executable, "-c", "pass"],
            "safeguard --help": [str(SAFEGUARD), "--help"],
            "safeguard validate --help": [str(SAFEGUARD), "validate", "--help"]}


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    add_json_argument(parser)
    args = parser.parse_args()
    best = {name: float("inf") for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            best[name] = min(best[name], seconds(command))
    reference = best.pop("python -c pass")
    print(f"python -c pass (reference): {reference:.3f} s (fastest of {args.repeats})")
    for name, wall in best.items():
        mark = "met " if wall < TARGET_SECONDS else "MISSED"
        print(f"{name}: {wall:.3f} s, {wall / reference:.1f} x the reference  "
              f"[{mark} under {TARGET_SECONDS} s]")
    write_figures(args.json, "bench_cli", [
        Figure(f"{name}, whole command", wall, "s", "python -c pass", reference,
               target=Target("<", TARGET_SECONDS)) for name, wall in best.items()],
        {"repeats": args.repeats})


if __name__ == "__main__":
    main()
