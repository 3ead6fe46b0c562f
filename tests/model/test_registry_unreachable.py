"""A registry that cannot be reached says so, in seconds and without its password; it is
never taken for an empty registry or for one without the version asked for."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from model.registry import ModelRegistry, RegistryError, RegistryUnavailable
from model.registry_reach import HTTP_SETTINGS, prepare_for

# Nothing listens on these ports (a refused connection, as from a server that is down).
DOWN_SERVER = "http://mlflow:s3cret-pw@127.0.0.1:5998"  # pragma: allowlist secret
DOWN_DATABASE = "postgresql://mlflow:s3cret-pw@127.0.0.1:5999/mlflow"  # pragma: allowlist secret
MYSQL_STORE = "mysql://root:s3cret-pw@db/mlflow"  # pragma: allowlist secret
TEST_POSTGRES = os.environ.get(
    "SAFEGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# MLflow's own defaults took minutes to give up on a server that is down.
SECONDS_ALLOWED = 20


@pytest.fixture(autouse=True)
def _mlflow_http_settings_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without MLflow's HTTP settings, and leaves none behind."""
    for name in HTTP_SETTINGS:
        monkeypatch.delenv(name, raising=False)


def _registry(uri: str) -> ModelRegistry:
    return ModelRegistry(uri, model_name="safeguard-risk")


def _assert_unreachable(call: object, *, address: str, why: str = "cannot be reached") -> None:
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as raised:
        call()  # type: ignore[operator]
    assert time.monotonic() - started < SECONDS_ALLOWED
    message = str(raised.value)
    assert f"the model registry at {address} {why}" in message, message
    assert "s3cret-pw" not in message and "\n" not in message
    assert "no version" not in message and "registered" not in message


@pytest.mark.parametrize("read", [
    lambda r: r.list_versions(), lambda r: r.resolve("champion"), lambda r: r.resolve("2"),
    lambda r: r.load("champion"), lambda r: r.read_artifact("2", "fairness/fairness.json"),
], ids=["list", "alias", "version", "load", "artifact"])
def test_a_tracking_server_that_is_down_is_unreachable_not_empty(read: object) -> None:
    _assert_unreachable(lambda: read(_registry(DOWN_SERVER)),  # type: ignore[operator]
                        address="http://mlflow:***@127.0.0.1:5998")


def test_a_database_store_that_is_down_is_said_in_seconds_not_minutes() -> None:
    """MLflow retries opening a database store for about 100 s, then raised SQLAlchemy's
    OperationalError (a 232-line traceback from `safeguard model list`)."""
    _assert_unreachable(_registry(DOWN_DATABASE).list_versions,
                        address="postgresql://mlflow:***@127.0.0.1:5999/mlflow")


@pytest.mark.parametrize("read", [
    lambda r: r.list_versions(), lambda r: r.resolve("champion"), lambda r: r.load("1"),
], ids=["list", "alias", "load"])
def test_a_sqlite_store_that_is_no_database_is_one_line_not_a_traceback(
        read: object, tmp_path: Path) -> None:
    """A damaged store file: SQLAlchemy's DatabaseError ("file is not a database") came out
    of `safeguard model list` and `model check` as a traceback."""
    store = tmp_path / "mlflow.db"
    store.write_bytes(b"not a database, " * 400)
    _assert_unreachable(lambda: read(_registry(f"sqlite:///{store}")),  # type: ignore[operator]
                        address=f"sqlite:///{store}",
                        why="cannot be opened: file is not a database")
    assert store.read_bytes() == b"not a database, " * 400  # left as it was


def test_a_database_store_without_its_driver_cannot_be_opened() -> None:
    with pytest.raises(RegistryUnavailable, match=r"at mysql://root:\*\*\*@db/mlflow cannot be "
                                                  r"opened: No module named 'MySQLdb'"):
        _registry(MYSQL_STORE).resolve("champion")


def test_a_database_address_whose_port_is_no_number_is_one_line_not_a_traceback() -> None:
    # `safeguard model list` ended in SQLAlchemy's ValueError traceback.
    bad_port = "postgresql://mlflow:s3cret-pw@db:54x2/mlflow"  # pragma: allowlist secret
    _assert_unreachable(lambda: _registry(bad_port).resolve("champion"),
                        address="postgresql://mlflow:***@db:54x2/mlflow",
                        why="cannot be opened: invalid literal for int() with base 10: '54x2'")


@pytest.mark.parametrize(("uri", "address"), [
    ("http://mlflow:s3cret-pw@", "http://mlflow:***@"),  # pragma: allowlist secret
    ("http://mlflow:s3cret-pw@127.0.0.1:50x0",  # pragma: allowlist secret
     "http://mlflow:***@127.0.0.1:50x0"),
])
def test_a_server_address_that_is_no_address_is_refused_without_its_password(
        uri: str, address: str) -> None:
    # requests' InvalidURL printed the whole address, its password too.
    _assert_unreachable(lambda: _registry(uri).resolve("champion"), address=address,
                        why="cannot be opened: InvalidURL")


def test_mlflow_http_settings_bound_the_retries_unless_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")
    with pytest.raises(RegistryUnavailable, match="cannot be reached"):
        prepare_for(DOWN_SERVER)  # asked once, after the settings are made
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"  # the operator's choice
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == HTTP_SETTINGS["MLFLOW_HTTP_REQUEST_TIMEOUT"]


class _EmptyMlflowServer(BaseHTTPRequestHandler):
    """An MLflow server that answers, and has no such model (MLflow's 404 body)."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST",
                           "message": "Registered Model with name=safeguard-risk not found"})
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def empty_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmptyMlflowServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_answers_without_the_version_is_not_called_unreachable(
        empty_server: str) -> None:
    registry = _registry(empty_server)
    registry.check_reachable()  # its health page is a 404: an answer all the same
    for reference in ("champion", "2"):
        with pytest.raises(RegistryError, match="no version or alias") as raised:
            registry.resolve(reference)
        assert not isinstance(raised.value, RegistryUnavailable)


@pytest.mark.postgres
def test_a_database_store_that_answers_is_opened() -> None:
    prepare_for(TEST_POSTGRES)  # one connection, then MLflow's own


@pytest.mark.parametrize("damage", ["not a database", "a folder"])
def test_a_damaged_sqlite_store_is_said_before_mlflow_opens_it(
        tmp_path: Path, damage: str) -> None:
    """MLflow said it with a 120-line SQLAlchemy traceback, from its background thread,
    only once `safeguard train` had fitted; `check_reachable` reads the file at once."""
    store = tmp_path / "mlflow.db"
    if damage == "a folder":
        store.mkdir()
    else:
        store.write_bytes(bytes(range(256)) * 20)
    uri = f"sqlite:///{store}"
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as raised:
        _registry(uri).check_reachable()
    assert time.monotonic() - started < 1
    message = str(raised.value)
    assert message.startswith(f"the model registry at {uri} cannot be opened: ")
    assert "\n" not in message


def test_a_sqlite_store_that_is_new_or_sound_passes_the_check(tmp_path: Path) -> None:
    registry = _registry(f"sqlite:///{tmp_path / 'mlflow.db'}")
    registry.check_reachable()  # no file yet: MLflow creates it
    assert not (tmp_path / "mlflow.db").exists()
    registry.connect()
    registry.check_reachable()
