"""The registry's errors, and whether it can be reached, for `model.registry` alone.

A registry that cannot be reached must never pass for an empty one ("no versions are
registered") or for one without the version asked for: every call MLflow makes through
`GuardedClient` (and every download in `reaching`) turns a failure to reach the
tracking server or database into `RegistryUnavailable`, whose message names the
address with its password hidden (MLflow's own messages print the whole URI).

MLflow's waits are bounded by its own settings where it has them: an HTTP server is
asked again `MLFLOW_HTTP_REQUEST_MAX_RETRIES` times, `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`
seconds apart and doubling, each request waiting at most `MLFLOW_HTTP_REQUEST_TIMEOUT`
seconds (defaults here, unless set: 2 retries, 1 s, 15 s; MLflow's own, 7, 2 s and
120 s, took minutes to say that a server was down). A database store
has no such setting: MLflow retries opening it 10 times over about 100 s
(`mlflow.store.db.utils.MAX_RETRY_COUNT`), so one connection is tried first, with the
driver's connect timeout, and the registry is not opened when it fails; an HTTP server
is asked once for its health page (any answer will do). A local SQLite file is read once
(its table list), so one that is damaged or no database is said at once, not by MLflow's
traceback after `safeguard train` has fitted.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Final

from data_contracts.uris import masked_uri

logger = logging.getLogger(__name__)

HTTP_SETTINGS: Final = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                        "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
CONNECT_TIMEOUT_SECONDS: Final = 5
# The database stores MLflow opens with SQLAlchemy, tried by connecting (SQLite: by reading).
DATABASE_SCHEMES: Final = ("postgresql", "mysql", "mssql")
# The dialects whose drivers take `connect_timeout` (psycopg, MySQLdb, PyMySQL).
_CONNECT_TIMEOUT_DIALECTS: Final = ("postgresql", "mysql")


class RegistryError(RuntimeError):
    """The registry cannot provide the model asked for; the message says why."""


class NoSuchVersion(RegistryError):
    """The registry answered: it holds no version of that number, or with that alias."""


class RegistryUnavailable(RegistryError):
    """The registry cannot be reached or opened; the message names it, password hidden
    (`WITHOUT_ADDRESS` says so without naming it, for answers anyone may read)."""

    WITHOUT_ADDRESS: ClassVar[str] = ("the model registry cannot be reached (the service's "
                                      "log says where)")


def prepare_for(tracking_uri: str) -> None:
    """Before MLflow first uses ``tracking_uri``: bound its HTTP retries (unless set),
    ask a server once, try one connection to a database store, read a SQLite file.

    Raises:
        RegistryUnavailable: The server or database cannot be reached, its driver is
            missing, or the SQLite file cannot be read.
    """
    scheme = tracking_uri.partition(":")[0].partition("+")[0].lower()
    if scheme in ("http", "https"):
        for name, value in HTTP_SETTINGS.items():
            os.environ.setdefault(name, value)
        _try_asking(tracking_uri)
    elif scheme in DATABASE_SCHEMES:
        _try_connecting(tracking_uri, dialect=scheme)
    elif scheme == "sqlite":
        _try_reading_sqlite(tracking_uri)


def _try_asking(tracking_uri: str) -> None:
    """One request to a tracking server's health page: any answer will do (MLflow's own
    calls say what a refusal means); none, within the connect timeout and
    `MLFLOW_HTTP_REQUEST_TIMEOUT`, is `RegistryUnavailable`. `safeguard train` found a
    server down only once it had fitted, MLflow retrying for seconds more."""
    import requests

    wait = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT")
                 or HTTP_SETTINGS["MLFLOW_HTTP_REQUEST_TIMEOUT"])
    try:
        requests.get(tracking_uri.rstrip("/") + "/health", allow_redirects=False,
                     timeout=(CONNECT_TIMEOUT_SECONDS, wait), **_tls_settings()).close()
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _unavailable(tracking_uri, exc) from exc
    except requests.RequestException as exc:  # no address at all: its message prints it whole
        raise RegistryUnavailable(f"the model registry at {masked_uri(tracking_uri)} cannot "
                                  f"be opened: {type(exc).__name__}") from None


def _tls_settings() -> dict[str, Any]:
    """`verify` and `cert` as MLflow's own requests take them (`MlflowHostCreds`): a server
    with a private certificate authority (`MLFLOW_TRACKING_SERVER_CERT_PATH`), or with
    verification turned off (`MLFLOW_TRACKING_INSECURE_TLS`), was refused as unreachable
    by the check though MLflow reached it."""
    server_cert = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    insecure = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("true", "1")
    settings: dict[str, Any] = {"verify": server_cert or not insecure}
    if client_cert := os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        settings["cert"] = client_cert
    return settings


def _try_connecting(tracking_uri: str, *, dialect: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.pool import NullPool

    timeout = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    try:
        engine = create_engine(tracking_uri, poolclass=NullPool, connect_args=(
            timeout if dialect in _CONNECT_TIMEOUT_DIALECTS else {}))
    # No such driver, or a bad URL (a port not a number: SQLAlchemy's ValueError).
    except (ImportError, ValueError, sa_exc.ArgumentError) as exc:
        raise RegistryUnavailable(f"the model registry at {masked_uri(tracking_uri)} cannot "
                                  f"be opened: {_first_line(exc)}") from exc
    try:
        with engine.connect():
            pass
    except sa_exc.SQLAlchemyError as exc:
        raise _unavailable(tracking_uri, exc) from exc
    finally:
        engine.dispose()


def _try_reading_sqlite(tracking_uri: str) -> None:
    """Read the table list of a plain ``sqlite:///`` store's file, when there is one (a
    new store's file is MLflow's to create)."""
    import sqlite3
    from contextlib import closing

    from model.registry_sqlite import LOCK_TIMEOUT_SECONDS, named_file

    path = named_file(tracking_uri)
    if path is None or not path.exists():
        return
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=LOCK_TIMEOUT_SECONDS)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.Error as exc:
        raise RegistryUnavailable(f"the model registry at {masked_uri(tracking_uri)} cannot "
                                  f"be opened: {_first_line(exc)}") from exc


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """An error and those it was raised from (MLflow chains its own a few deep)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def unreachable(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from) means the tracking server or the
    database did not answer: a connection refused or timed out, a database gone away, or
    a SQLite store that is no database ("file is not a database": a traceback before)."""
    import sqlite3

    import requests
    from sqlalchemy import exc as sa_exc

    return any(isinstance(seen, requests.ConnectionError | requests.Timeout |
                          sa_exc.OperationalError | sa_exc.InterfaceError)
               or getattr(seen, "error_code", None) == "TEMPORARILY_UNAVAILABLE"
               # exactly this class: its subclasses (IntegrityError...) are not unreadable
               or type(getattr(seen, "orig", None)) is sqlite3.DatabaseError
               for seen in _chain(exc))


def _unavailable(tracking_uri: str, exc: BaseException) -> RegistryUnavailable:
    """The error to show: the address, password hidden, and a database driver's reason
    (MLflow's messages for a server name the whole URI, so they are not shown)."""
    driver = next((orig for seen in _chain(exc) if (orig := getattr(seen, "orig", None))), None)
    reason = _first_line(driver) if isinstance(driver, BaseException) else ""
    if (password := _password(tracking_uri)) and password in reason:
        reason = ""
    why = f" ({reason})" if reason and "://" not in reason else ""
    return RegistryUnavailable(
        f"the model registry at {masked_uri(tracking_uri)} cannot be reached{why}")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _password(uri: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(uri).password
    except ValueError:
        return None


@contextmanager
def reaching(tracking_uri: str) -> Iterator[None]:
    """Turn a failure to reach the registry inside the block into `RegistryUnavailable`."""
    try:
        yield
    except RegistryError:
        raise
    except Exception as exc:
        if not unreachable(exc):
            raise
        logger.debug("the registry did not answer", exc_info=True)
        raise _unavailable(tracking_uri, exc) from exc


class GuardedClient:
    """MLflow's client, each of whose calls raises `RegistryUnavailable` when the
    registry cannot be reached (and any other error as MLflow raised it)."""

    def __init__(self, client: Any, *, tracking_uri: str) -> None:
        self._client = client
        self._tracking_uri = tracking_uri

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            with reaching(self._tracking_uri):
                return attribute(*args, **kwargs)

        return call



@contextmanager
def opening(tracking_uri: str) -> Iterator[None]:
    """One process at a time inside the block for a local SQLite store (a lock file beside
    it): opening a new store migrates it, and two `safeguard train` started together on a
    new store failed, one of them after its whole fit ("table datasets already exists")."""
    from model.registry_sqlite import named_file

    database = named_file(tracking_uri)
    if database is None:
        yield
        return
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        lock = open(database.with_name(database.name + ".open-lock"), "a")  # noqa: SIM115
    except OSError:  # no folder can be made there: MLflow says why the store cannot open
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield
