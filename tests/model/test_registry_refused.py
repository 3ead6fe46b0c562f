"""A tracking server that refuses the service (it requires a login the service lacks, or
fails) is not taken for one that holds no version: subject access must not say that no
model version's golden set names a person when none could be listed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from model.golden_people import search_golden_sets
from model.registry import ModelRegistry, RegistryUnavailable
from model.registry_reach import HTTP_SETTINGS


@pytest.fixture(autouse=True)
def _mlflow_http_settings_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in HTTP_SETTINGS:
        monkeypatch.delenv(name, raising=False)


def _server(status: int, body: bytes, content_type: str) -> type[BaseHTTPRequestHandler]:
    class Refusing(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815 - http.server's names

        def log_message(self, *_args: object) -> None:
            pass

    return Refusing


# MLflow's basic-auth app's answer without a login; a user without permission.
REFUSALS = {
    "login required": (401, b"You are not authenticated. Please see the docs.", "text/plain"),
    "permission denied": (403, json.dumps({"error_code": "PERMISSION_DENIED", "message":
                                           "Permission denied"}).encode(), "application/json"),
}


@pytest.fixture(params=list(REFUSALS))
def refusing_server(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _server(*REFUSALS[request.param]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    yield f"http://mlflow:s3cret-pw@127.0.0.1:{port}"  # pragma: allowlist secret
    server.shutdown()
    server.server_close()


def test_a_registry_that_refuses_the_listing_is_not_empty(refusing_server: str) -> None:
    registry = ModelRegistry(refusing_server, model_name="safeguard-risk")
    with pytest.raises(RegistryUnavailable, match="refused") as raised:
        registry.list_versions()  # was []: "no versions are registered"
    assert "s3cret-pw" not in str(raised.value) and "\n" not in str(raised.value)


def test_subject_access_says_a_refusing_registry_was_not_searched(refusing_server: str) -> None:
    found = search_golden_sets(ModelRegistry(refusing_server, model_name="safeguard-risk"),
                               "P000123")
    # was searched=True with no version: "None of the 0 registered model versions' ..."
    assert not found.searched and found.unavailable and "s3cret-pw" not in found.unavailable
