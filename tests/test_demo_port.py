"""`make demo` checks its port before it resets or trains anything: with the port taken it
ran for minutes (and reset the demo's state) before `serve` refused the port, and the
README did not say how to choose another."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from api.server import port_refusal

ROOT = Path(__file__).resolve().parents[1]


def _taken_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def test_port_refusal_names_a_port_in_use_and_passes_a_free_one() -> None:
    with _taken_port() as taken:
        port = taken.getsockname()[1]
        why = port_refusal("127.0.0.1", port)
        assert why is not None and f"127.0.0.1:{port}" in why
    assert port_refusal("127.0.0.1", port) is None  # closed again: free, and left free
    assert port_refusal("127.0.0.1", port) is None


def test_make_demo_stops_at_once_on_a_port_in_use() -> None:
    prerequisites = [".venv/.installed", "api/static/vendor/.installed"]
    if subprocess.run(["make", "-q", *prerequisites], cwd=ROOT, check=False).returncode:
        pytest.skip("the demo's prerequisites are not installed (make install, make assets)")
    scratch = Path("var") / f"test-demo-port-{uuid.uuid4().hex}"  # ignored by git
    try:
        with _taken_port() as taken:
            done = subprocess.run(
                ["make", "-s", "demo", f"DEMO_PORT={taken.getsockname()[1]}",
                 f"DEMO_DIR={scratch}/demo", f"DEMO_STATE={scratch}/state",
                 "DEMO_REFERRALS=200"],
                cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
        assert done.returncode != 0
        assert "DEMO_PORT=" in done.stderr, done.stderr
        assert not (ROOT / scratch).exists(), "the demo reset or built its state first"
    finally:
        shutil.rmtree(ROOT / scratch, ignore_errors=True)
