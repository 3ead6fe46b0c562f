"""Run a `safeguard` command as an operator would, expecting it to fail in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from api.store import init_db
from tests.api.conftest import TEST_PEPPER

SAFEGUARD = [sys.executable, "-c", "from api.cli import main; main()"]
# MLflow's own settings, as an operator has them (the tests' own process may have set them).
MLFLOW_HTTP_SETTINGS = ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
                        "MLFLOW_HTTP_REQUEST_TIMEOUT")
SECONDS_ALLOWED = 60  # MLflow's own retries took 3 to 4 minutes
SECRET = "s3cret-pw"  # pragma: allowlist secret (the tests' URLs hold it: never shown)


def one_line_failure(tmp_path: Path, *args: str, **env: str) -> str:
    """Run a command with a migrated SQLite store and an empty registry of its own unless
    ``env`` says otherwise (``{tmp}`` in an argument: ``tmp_path``; ``{port}``: a free
    port); check that it ended with exit code 1 in time, saying one line on standard error
    (beside the development settings' warnings), nothing on standard output, and no
    password; return that line."""
    base = {name: value for name, value in os.environ.items()
            if name not in MLFLOW_HTTP_SETTINGS}
    base |= {"SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
             "SAFEGUARD_API_KEY_PEPPER": TEST_PEPPER,
             "SAFEGUARD_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    init_db(base["SAFEGUARD_DATABASE_URL"])
    command = [a.format(tmp=tmp_path, port=_free_port()) for a in args]
    done = subprocess.run([*SAFEGUARD, *command], env=base | env, capture_output=True,
                          text=True, timeout=SECONDS_ALLOWED)
    lines = [line for line in done.stderr.strip().splitlines()
             if not line.startswith("WARNING api.settings")]
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert done.stdout == "", repr(done.stdout)
    assert SECRET not in done.stderr + done.stdout
    return lines[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
