"""`make demo` serves with its own state and writes `var/demo/env.sh` so that `safeguard`
commands reach the same state. Until 6 December the demo's service had no
`SAFEGUARD_REPORTS_DIR`: the governance page could only say "set SAFEGUARD_REPORTS_DIR
for the service", and no monitoring or partnership report written for the demo could be
shown without stopping it and starting `safeguard serve` again by hand."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dry_run() -> str:
    """`make demo`'s recipe and variables, printed and not run (`-n -p`): make is what
    runs the suite (`make test`), so it is never missing here."""
    done = subprocess.run(
        ["make", "-n", "-p", "demo", "DEMO_PORT=1", "DEMO_STATE=var/test-demo-env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_demo_serves_with_a_reports_folder_in_its_own_state() -> None:
    exported = dict(re.findall(r"^demo: (SAFEGUARD_\w+) = (.*)$", _dry_run(), re.MULTILINE))
    assert exported.get("SAFEGUARD_REPORTS_DIR") == "$(CURDIR)/$(DEMO_STATE)/reports"


def test_env_sh_sets_every_variable_the_demo_serves_with() -> None:
    printed = _dry_run()
    exported = set(re.findall(r"^demo: (SAFEGUARD_\w+) = ", printed, re.MULTILINE))
    written = set(re.findall(r"export (SAFEGUARD_\w+)=%s", printed))  # env.sh's printf lines
    assert "SAFEGUARD_REPORTS_DIR" in exported
    assert exported <= written, f"not written to env.sh: {sorted(exported - written)}"
