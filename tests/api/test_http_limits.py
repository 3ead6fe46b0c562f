"""`safeguard serve` refuses oversized request heads (api/http_limits.py): a long request
line with 414, a long header, too many headers or a huge head with 431, quickly and in
bounded memory, while other requests keep being answered; and its log shows no secret."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.http_limits import MAX_FIELDS, MAX_REQUEST_LINE
from api.store import init_db
from tests.api.conftest import empty_registry, issue_keys, make_settings
from tests.api.served import Served, call, service_env, serving
from tests.api.test_secret_leaks import assert_nowhere, secrets_of

pytestmark = pytest.mark.slow

HUGE_HEADER_BYTES = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One worker, no model (the limits are the server's, before any route)."""
    folder = tmp_path_factory.mktemp("limits")
    url = f"sqlite:///{folder / 'api.db'}"
    init_db(url)
    env = service_env(url, empty_registry(folder / "mlflow"))
    with serving(env, folder / "serve.log", "--workers", "1") as service:
        service.until(lambda: _answers(service), seconds=300)
        yield service


def _answers(service: Served) -> bool:
    try:
        return call(f"{service.base}/healthz", timeout=5)[0] == 200
    except OSError:
        return False


def _exchange(service: Served, head: bytes) -> tuple[int, dict[str, str]]:
    """Send a raw request head; the status and JSON body of the answer (which carries the
    security headers every response of the service carries)."""
    port = int(service.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    head_lines, _, body = rest.partition(b"\r\n\r\n")
    names = {line.partition(b":")[0].lower() for line in head_lines.split(b"\r\n")}
    assert {b"content-security-policy", b"x-frame-options", b"x-content-type-options",
            b"referrer-policy"} <= names, head_lines
    return int(status_line.split()[1]), json.loads(body)


def test_a_long_request_line_is_refused_with_414(served: Served) -> None:
    target = b"/healthz?" + b"a" * MAX_REQUEST_LINE
    status, body = _exchange(served, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414 and "request target" in body["detail"]


def test_a_long_header_or_too_many_headers_are_refused_with_431(served: Served) -> None:
    long_field = b"X-Long: " + b"v" * 20_000 + b"\r\n"
    status, body = _exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + long_field
                             + b"\r\n")
    assert status == 431 and "header field" in body["detail"]
    many = b"".join(b"X-%d: v\r\n" % n for n in range(MAX_FIELDS + 1))
    status, body = _exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status == 431 and "header fields" in body["detail"]


def _worker_peak_rss_kib(log: Path) -> int:
    """The peak resident memory of the one worker (its pid is in the server's log)."""
    pid = next(int(line.rsplit("pid: ", 1)[1].strip(" )\n"))
               for line in log.read_text().splitlines() if "Booting worker with pid" in line)
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmHWM:")))


def test_a_100_mb_header_is_refused_quickly_in_bounded_memory_while_others_are_served(
    served: Served,
) -> None:
    peak_before = _worker_peak_rss_kib(served.log)
    port = int(served.base.rsplit(":", 1)[1])
    outcome: dict[str, float | bytes] = {}

    def send_huge_header() -> None:
        started = time.monotonic()
        sent = 0
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: ")
                chunk = b"h" * (1024 * 1024)
                while sent < HUGE_HEADER_BYTES:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the server stopped reading: refused
            outcome["seconds"] = time.monotonic() - started
            outcome["sent"] = sent
            try:
                outcome["answer"] = sock.recv(4096)
            except OSError:
                outcome["answer"] = b""

    sender = threading.Thread(target=send_huge_header)
    sender.start()
    latencies = []
    while sender.is_alive() and len(latencies) < 50:
        started = time.monotonic()
        assert call(f"{served.base}/healthz", timeout=10)[0] == 200
        latencies.append(time.monotonic() - started)
    sender.join(timeout=60)
    assert not sender.is_alive()
    assert outcome["sent"] < HUGE_HEADER_BYTES, "the whole 100 MB header was taken"
    assert outcome["seconds"] < 5, outcome["seconds"]
    assert outcome["answer"].startswith(b"HTTP/1.1 431 "), outcome["answer"]  # type: ignore[union-attr]
    assert max(latencies, default=0) < 1.0, latencies
    # The worker's peak memory grew by far less than the header (a few reads' worth).
    assert _worker_peak_rss_kib(served.log) - peak_before < 20 * 1024
    assert call(f"{served.base}/healthz")[0] == 200


def test_the_served_log_shows_no_key_or_pepper(served: Served) -> None:
    keys, revoked = issue_keys(make_settings(served.database_url))
    key = keys["admin"]
    assert call(f"{served.base}/v1/model", key=key)[0] == 200
    assert call(f"{served.base}/v1/model", key=key[:-2] + "zz")[0] == 401
    assert call(f"{served.base}/v1/model", key=revoked)[0] == 401
    assert_nowhere(secrets_of([*keys.values(), revoked]), {"the log": served.log.read_text()})
