"""One way to time a whole command as a user runs it: wall and CPU seconds and its peak
RSS, and how to run `safeguard` with another version's code for a before/after pair.

A small launcher process starts the command: a child forked straight from a bench
script grown large (by training, or by an extract in memory) counts the parent's pages
as its own and reports the parent's size as its peak.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

KIB_PER_GIB = 1024 * 1024
# Prints the command's wall seconds, CPU seconds (user + system), peak RSS (KiB) and exit code.
LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status))
"""


@dataclass(frozen=True)
class Run:
    """A command's wall and CPU seconds, peak RSS and exit code."""

    wall: float
    cpu: float
    peak_gib: float
    code: int


def measure(command: list[str], env: dict[str, str] | None = None,
            ok: tuple[int, ...] = (0,)) -> Run:
    """Run `command` in its own process; a clear error when it exits with a code not in `ok`."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *command], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"could not start {' '.join(command)}:\n{done.stderr[-2000:]}")
    wall, cpu, kib, code = done.stdout.split()
    if int(code) not in ok:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return Run(float(wall), float(cpu), int(kib) / KIB_PER_GIB, int(code))


def baseline_command(code: Path, args: list[str]) -> list[str]:
    """``safeguard`` with the project code of another version."""
    start = f"import sys; sys.path.insert(0, {str(code)!r}); from api.cli import main; main()"
    return [sys.executable, "-c", start, *args]
