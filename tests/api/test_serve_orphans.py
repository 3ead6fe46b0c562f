"""A worker whose arbiter is killed (the out-of-memory killer, `kill -9`) stops, finishing
its requests, instead of serving on unsupervised and holding the port."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from api.server import ListenError, listening_socket
from api.store import init_db
from tests.api.conftest import TrainedModel, record_test_approval
from tests.api.served import service_env, serving

# The worker checks in every half `--timeout`; it stops at its first check-in after.
TIMEOUT_SECONDS = 4
WAIT_SECONDS = 60


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_worker_stops_when_its_arbiter_is_killed(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    """uvicorn's worker never looked for its parent: after `kill -9` of the arbiter on
    8124 both workers served on for minutes, then a new `serve` found the port taken."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    record_test_approval(url, trained_model.registry, trained_model.version)
    env = service_env(url, trained_model.registry)
    with serving(env, tmp_path / "serve.log", "--workers", "1",
                 "--timeout", str(TIMEOUT_SECONDS)) as served:
        served.until(served.ready, seconds=240)
        served.until(lambda: len(served.worker_starts()) >= 1)
        worker = served.worker_starts()[0]
        port = int(served.base.rsplit(":", 1)[1])
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(timeout=30)
        deadline = time.monotonic() + WAIT_SECONDS
        while not _gone(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _gone(worker):
            os.kill(worker, signal.SIGKILL)
            raise AssertionError(f"worker {worker} still serving {WAIT_SECONDS} s after its "
                                 f"arbiter was killed:\n{served.log.read_text()}")
    assert f"the arbiter (pid {served.process.pid}) is gone: worker {worker} stops" in \
        served.log.read_text()
    try:
        listening_socket("127.0.0.1", port).close()  # the port is free for a new `serve`
    except ListenError as exc:
        raise AssertionError(str(exc)) from exc
