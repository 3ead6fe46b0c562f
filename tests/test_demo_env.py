"""`make demo` serves with its own state and writes `var/demo/env.sh` so that `safeguard`
commands reach the same state. Until 6 December the demo's service had no
`SAFEGUARD_REPORTS_DIR`: the governance page could only say "set SAFEGUARD_REPORTS_DIR
for the service", and no monitoring or partnership report written for the demo could be
shown without stopping it and starting `safeguard serve` again by hand."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from pydantic import SecretStr

from api.settings import Settings

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
    assert exported.get("SAFEGUARD_REPORTS_DIR") == "$(abspath $(DEMO_STATE))/reports"


def test_env_sh_sets_every_variable_the_demo_serves_with() -> None:
    printed = _dry_run()
    exported = set(re.findall(r"^demo: (SAFEGUARD_\w+) = ", printed, re.MULTILINE))
    written = set(re.findall(r"export (SAFEGUARD_\w+)=%s", printed))  # env.sh's printf lines
    assert "SAFEGUARD_REPORTS_DIR" in exported
    assert exported <= written, f"not written to env.sh: {sorted(exported - written)}"


def test_the_demos_commands_run_with_a_random_pepper_of_its_own(tmp_path: Path) -> None:
    """The demo ran with the development placeholder pepper, and each of its commands and
    workers warned so (a dozen times a run). Its first command, here a stand-in that keeps
    the pepper it was given and stops the demo, gets the random pepper made in the demo's
    state, readable by its owner alone and never printed."""
    bin_dir, probe = tmp_path / "bin", tmp_path / "pepper-seen"
    bin_dir.mkdir()
    for name, script in (("python", f'exec "{sys.executable}" "$@"'),
                         ("safeguard", f'printf %s "$SAFEGUARD_API_KEY_PEPPER" > "{probe}"; '
                                       "exit 3")):
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o700)
    state = Path("var") / f"test-demo-pepper-{uuid.uuid4().hex}"  # ignored by git
    seen = []
    try:
        for _ in range(2):
            done = subprocess.run(
                ["make", "demo", f"BIN={bin_dir}", "-o", ".venv/.installed",
                 "-o", "api/static/vendor/.installed", "DEMO_PORT=0",
                 f"DEMO_DIR={state}/demo", f"DEMO_STATE={state}"],
                cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode != 0 and probe.exists(), done.stderr
            pepper = probe.read_text()
            assert pepper == (ROOT / state / "api-key-pepper").read_text().strip()
            assert (ROOT / state / "api-key-pepper").stat().st_mode & 0o777 == 0o600
            assert pepper not in done.stdout + done.stderr
            problems = Settings(api_key_pepper=SecretStr(pepper)).unsafe_values()
            assert not [problem for problem in problems if "PEPPER" in problem], problems
            seen.append(pepper)
    finally:
        shutil.rmtree(ROOT / state, ignore_errors=True)
    assert seen[0] != seen[1]  # made anew with the demo's state, never a fixed value


def test_an_absolute_demo_state_is_where_the_demo_and_env_sh_look(tmp_path: Path) -> None:
    """`DEMO_STATE=/abs/path make demo` made every state path `$(CURDIR)//abs/path/...`:
    the database, MLflow store and audit files in no folder that exists, and env.sh's
    pepper read from a file that is not there (sourced, it set an empty pepper)."""
    bin_dir, probe, state = tmp_path / "bin", tmp_path / "seen", tmp_path / "state"
    bin_dir.mkdir()
    for name, script in (("python", f'exec "{sys.executable}" "$@"'),
                         ("safeguard", 'printf "%s\\n%s\\n" "$SAFEGUARD_DATABASE_URL" '
                                       f'"$SAFEGUARD_REPORTS_DIR" > "{probe}"; exit 3')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o700)
    common = [f"BIN={bin_dir}", "-o", ".venv/.installed", "-o", "api/static/vendor/.installed",
              "DEMO_PORT=0", f"DEMO_DIR={tmp_path / 'demo'}", f"DEMO_STATE={state}"]
    done = subprocess.run(["make", "demo", *common], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode != 0 and probe.exists(), done.stderr
    assert probe.read_text().split("\n")[:2] == [f"sqlite:///{state}/safeguard.db",
                                                   f"{state}/reports"]
    recipe = subprocess.run(["make", "-n", "demo", *common], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True).stdout
    assert f"\"$(cat {state}/api-key-pepper)\"" in recipe  # env.sh's line


def test_everything_the_demo_writes_in_its_state_is_its_users_alone(tmp_path: Path) -> None:
    """A probe found the demo's `governance.key` (a plaintext key) and `env.sh` mode 0644,
    `mlflow.db` 0644 and `mlartifacts` 0755, whose golden sets hold pseudonymised cases.
    Run whole with stand-ins for its commands, each writing a file in a folder of its own
    in the state (as `train` writes the MLflow store), the demo leaves every file there
    0600 and every folder 0700, whatever the umask it was started with."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    wrote = f'mkdir -p "{state}/by-$1/inner" && echo "$1" > "{state}/by-$1/inner/file"'
    stand_ins = {
        # The approval and the example case read the model: a stand-in writes instead.
        "python": f'case "$2" in *ModelRegistry*|api.demo_approval) set -- python; {wrote}; '
                  'exit 0;; esac\n'
                  f'exec "{sys.executable}" "$@"',
        # `users add` prints the user and, last, the key (kept in governance.key).
        "safeguard": f'{wrote}\n[ "$1 $2" != "users add" ] || printf "%s\\nkey-%s\\n" "$3" "$3"',
    }
    for name, script in stand_ins.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o700)
    done = subprocess.run(
        ["sh", "-c", 'umask 022 && exec make "$@"', "make", "demo", f"BIN={bin_dir}",
         "-o", ".venv/.installed", "-o", "api/static/vendor/.installed", "DEMO_PORT=0",
         f"DEMO_DIR={tmp_path / 'demo'}", f"DEMO_STATE={state}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (state / "governance.key").read_text() == "key-demo-governance\n"
    assert {"by-train", "by-serve", "by-python", "env.sh"} <= {p.name for p in state.iterdir()}
    modes = {str(path.relative_to(tmp_path)): path.stat().st_mode & 0o777
             for path in [state, *state.rglob("*")]}
    assert {path: oct(mode) for path, mode in modes.items()
            if mode != (0o700 if (tmp_path / path).is_dir() else 0o600)} == {}
