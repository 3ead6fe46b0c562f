"""A real `safeguard serve` in a subprocess, for the tests that need the process manager:
start it on a free port, call it, read who started from the audit trail."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.store import AuditEntry, Store
from model.registry import ModelRegistry
from tests.api.conftest import TEST_PEPPER

SAFEGUARD = Path(sys.executable).with_name("safeguard")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def call(url: str, *, body: Any = None, key: str = "", timeout: float = 60
         ) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def service_env(url: str, registry: ModelRegistry, **extra: str) -> dict[str, str]:
    """The environment of a service on database `url` serving `registry`'s champion."""
    return {**os.environ,
            "SAFEGUARD_DATABASE_URL": url,
            "SAFEGUARD_MLFLOW_TRACKING_URI": registry.tracking_uri,
            "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(registry.artifact_root),
            "SAFEGUARD_MODEL_NAME": registry.model_name,
            "SAFEGUARD_API_KEY_PEPPER": TEST_PEPPER,
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            **extra}


@dataclass
class Served:
    """A running `safeguard serve` process."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path
    database_url: str

    def until(self, condition: Callable[[], bool], *, seconds: float = 180) -> None:
        """Wait for `condition` while the service runs; fail with its log if it stops or
        `seconds` pass first."""
        deadline = time.monotonic() + seconds
        while not condition():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            return call(f"{self.base}/readyz", timeout=10)[0] == 200
        except OSError:
            return False

    def worker_starts(self) -> list[int]:
        """The process ids of the workers that have started, from their audit entries."""
        store = Store(self.database_url)
        with store.session() as session:
            pids = [entry.details["pid"] for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "service_start")
                .order_by(AuditEntry.seq))]
        store.dispose()
        return pids


@contextmanager
def serving(env: dict[str, str], log: Path, *args: str) -> Iterator[Served]:
    """`safeguard serve ARGS` on a free port until the block ends (then SIGTERM)."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([str(SAFEGUARD), "serve", "--port", str(port), *args],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(process, f"http://127.0.0.1:{port}", log, env["SAFEGUARD_DATABASE_URL"])
    try:
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=90)
