"""`/healthz` and `/readyz` answer HEAD as GET, without a body: load balancers and uptime
checks ask with HEAD, and it was a 405."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from api.store import init_db
from tests.api.conftest import ApiEnv, empty_registry
from tests.api.served import call, service_env, serving

PATHS = ("/healthz", "/readyz")
# What HEAD must answer as GET does (the date aside, and the length of a body not sent).
SAME_HEADERS = ("content-type", "content-length", "cache-control", "content-security-policy",
                "x-content-type-options")


@pytest.mark.parametrize("path", PATHS)
def test_head_answers_with_the_status_and_headers_of_get(api: ApiEnv, path: str) -> None:
    got, head = api.client.get(path), api.client.head(path)  # no key: none is needed
    assert head.status_code == got.status_code, head.text
    assert [head.headers.get(name) for name in SAME_HEADERS] == [
        got.headers.get(name) for name in SAME_HEADERS]
    refused = api.client.post(path)
    assert refused.status_code == 405
    assert sorted(refused.headers["allow"].split(", ")) == ["GET", "HEAD"]  # (a set's order)


def test_the_document_names_get_alone(api: ApiEnv) -> None:
    """One operation a method: a route of GET and HEAD would give both one operation id."""
    paths = api.client.get("/openapi.json").json()["paths"]
    assert [sorted(paths[path]) for path in PATHS] == [["get"], ["get"]]


def _raw(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.slow
def test_the_server_sends_head_no_body(tmp_path: Path) -> None:
    """Against `safeguard serve` (its own HTTP protocol, `api.http_limits`): the head of
    GET's answer, its Content-Length included, and not a byte after it."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    env = service_env(url, empty_registry(tmp_path / "mlflow"))
    with serving(env, tmp_path / "serve.log", "--workers", "1") as service:
        service.until(lambda: _up(service.base), seconds=300)
        port = int(service.base.rsplit(":", 1)[1])
        for path in PATHS:
            request = b" %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode()
            got = _raw(port, b"GET" + request)
            answer = _raw(port, b"HEAD" + request)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.split(b" ", 2)[1] == got.split(b" ", 2)[1], answer
            assert body == b"" and got.partition(b"\r\n\r\n")[2] != b""
            length = [line for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            assert length == [b"content-length: %d" % len(got.partition(b"\r\n\r\n")[2])]


def _up(base: str) -> bool:
    try:
        return call(f"{base}/healthz", timeout=5)[0] == 200
    except OSError:
        return False
