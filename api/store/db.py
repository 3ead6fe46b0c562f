"""Engines, sessions and migrations of the store (SQLite by default, PostgreSQL when asked)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from sqlalchemy import Engine, Select, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from starlette.concurrency import run_in_threadpool

from api.audit_key import AuditAnchor, anchor_of, attach_anchor
from api.store.refused_writes import RefusedWrites
from api.store.urls import checked_url
from model.private_files import create_private_file

if TYPE_CHECKING:
    from alembic.config import Config

    from api.settings import Settings

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# How long a PostgreSQL connection attempt may take before the store counts as unreachable.
CONNECT_TIMEOUT_SECONDS = 5
# The most of a driver's message that an outage's log line or error keeps (`outage_reason`).
_REASON_CHARS = 200


def is_sqlite(url: str) -> bool:
    """Whether a database URL names SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def absent_sqlite_file(url: str) -> str | None:
    """The SQLite file ``url`` names when it does not exist yet (opening it would create an
    empty database, which every command then finds "not migrated"); else None."""
    try:
        parsed = make_url(url)
    except (sa_exc.ArgumentError, ValueError):  # the store refuses it in its own words
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:") \
            and not Path(database).exists():
        return database
    return None


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer appends; NORMAL is durable under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class JsonText(str):
    """Text already encoded as JSON: a JSON column stores it as it is, not encoded again
    (a score's result leaves pydantic as JSON; decoding it to encode it again costs
    more than the insert)."""


def _dump_json(value: Any) -> str:
    """The JSON columns' serializer: `JsonText` as it is, anything else `json.dumps`."""
    return str.__str__(value) if isinstance(value, JsonText) else json.dumps(value)


def make_engine(url: str) -> Engine:
    """Create the one engine a process uses (never one per request).

    Raises:
        api.store.urls.StoreUrlError: The URL names no store the service can use.
    """
    parsed = checked_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and not database.startswith("file:"):  # (in memory: refused above)
            create_private_file(Path(database))  # scores, decisions, the audit trail
        # A pool as large as the busiest moment, so connections are reused, not reopened;
        # the connection used last is handed out first: its page cache is the freshest
        # (the scoring path's key look-up and audit append measured about 15% faster).
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=40, pool_use_lifo=True,
                               json_serializer=_dump_json)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        return engine
    # pool_pre_ping: a connection the server dropped (a restart, an outage) is replaced
    # on checkout, so the service recovers by itself once the server is back; a connect
    # timeout, so a request during an outage fails in seconds (a 503), not never.
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
                         json_serializer=_dump_json)


def is_outage(exc: BaseException) -> bool:
    """Whether an error means the store cannot be reached or used just now (down,
    restarting, refusing connections, its file unopenable or read-only, its disk full, a
    PostgreSQL standby refusing writes, every connection busy),
    rather than a fault of the request; the service answers 503 and the client retries.

    SQLAlchemy wraps the driver's errors; `Store.first_row` raises the driver's own.
    """
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError) or isinstance(
            exc.orig, _driver_outage_errors())
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    return isinstance(exc, _driver_outage_errors())


def outage_reason(exc: BaseException) -> str:
    """An outage in a few words for an operator: the driver's error and the first line of
    its message (`OperationalError: database or disk is full`), never SQLAlchemy's text
    of the statement and its parameters, which may hold a case's details or a key's hash."""
    driver = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    said = next(iter(str(driver).strip().splitlines()), "")[:_REASON_CHARS]
    return f"{type(driver).__name__}: {said}" if said else type(driver).__name__


@functools.cache
def _driver_outage_errors() -> tuple[type[BaseException], ...]:
    import sqlite3

    import psycopg

    # A read-only transaction: a hot standby after a failover, a database set read-only.
    from psycopg.errors import ReadOnlySqlTransaction

    return (sqlite3.OperationalError, psycopg.OperationalError, psycopg.InterfaceError,
            ReadOnlySqlTransaction)


def alembic_config(url: str) -> Config:
    """Alembic configuration built in code, so migrations run from an installed package.
    Alembic is imported only to migrate: the commands that read the store (the approval
    check `safeguard score` ends with) need none of it."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def init_db(url: str) -> None:
    """Bring the database at ``url`` to the latest schema (``alembic upgrade head``)."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    logger.info("database schema is at head")


class Store:
    """The engine and session factory of one database, shared by all requests.

    ``refused_write_not_ready``: seconds `ping` says not ready after a write the store
    refused as an outage (the setting `refused_write_not_ready_seconds`; 0: never).
    """

    def __init__(self, url: str, *, audit_anchor: AuditAnchor | None = None,
                 refused_write_not_ready: float = 0.0) -> None:
        self.url = url
        self.engine = make_engine(url)
        attach_anchor(self.engine, audit_anchor)  # its appends sign and checkpoint
        self.refused_writes = RefusedWrites(self.engine, window=refused_write_not_ready,
                                            is_outage=is_outage)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._compiled: dict[Select[Any], SQLCompiler] = {}
        self._writer: ThreadPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store the settings name, its audit chain anchored as they say.

        Raises:
            api.audit_key.AuditAnchorError: The audit key file is missing or unreadable.
        """
        return cls(settings.database_url, audit_anchor=AuditAnchor.from_settings(settings),
                   refused_write_not_ready=settings.refused_write_not_ready_seconds)

    @property
    def audit_anchor(self) -> AuditAnchor | None:
        """The key and checkpoint file of the audit chain, if the settings name them."""
        return anchor_of(self.engine)

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is SQLite (serialised with a process lock) or a server."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that is closed (and rolled back if uncommitted) on exit."""
        with self.sessionmaker() as session:
            yield session

    async def run(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a short blocking store read from async code (writes: `write`).

        On SQLite the call runs inline: the database is a library in this process,
        an indexed read costs well under a millisecond of CPU and waits for no lock
        (WAL: readers do not wait for the writer), and
        handing it to a worker thread costs more than it saves (the worker and the
        event loop take turns at the GIL; measured under load, scoring throughput
        halved). A server database's calls wait on the network, so they go to the
        thread pool, where the wait does not hold up the loop.
        """
        if self.is_sqlite:
            return function(*args, **kwargs)
        return await run_in_threadpool(function, *args, **kwargs)

    async def write(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
                    ) -> T:
        """Run a write (an audit append) from async code on the store's one writer thread.

        An append holds the chain's locks (a thread lock and a lock file on SQLite, an
        advisory lock on PostgreSQL) and may wait for them while another process
        appends. Run inline it would hold up the event loop, and with it every other
        request of the worker, `/healthz` included; on the writer thread only the
        writes queue. One thread: the appends of a process go one at a time anyway.
        """
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._writer, call)

    def first_row(self, query: Select[Any], params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a prebuilt query, run on a pooled connection of the driver.

        For the look-up every request makes: the query is compiled once per store, and
        SQLAlchemy's Connection and Result objects, about three quarters of the cost of
        a one-row look-up (measured), are skipped. Values are bound and returned as the
        driver has them (no SQLAlchemy type processing): plain strings and numbers, or a
        check for NULL. Pass only queries built once (module constants): each is kept.
        A database error is the driver's own exception, not SQLAlchemy's.

        Raises:
            ValueError: If the query has parameters that SQLAlchemy renders at execution
                time (an IN list, say), which this plain run cannot bind.
        """
        compiled = self._compiled.get(query)
        if compiled is None:
            compiled = cast(SQLCompiler, query.compile(dialect=self.engine.dialect))
            if compiled.literal_execute_params or compiled.post_compile_params:
                raise ValueError("first_row cannot run a query with parameters rendered at "
                                 "execution time (IN lists, literal_execute)")
            self._compiled[query] = compiled
        values = compiled.construct_params(dict(params))
        bound = (tuple(values[name] for name in compiled.positiontup or ())
                 if compiled.positional else values)
        connection = self.engine.raw_connection()  # checked out of (and back into) the pool
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(compiled.string, bound)
                row: tuple[Any, ...] | None = cursor.fetchone()
                return row
            finally:
                cursor.close()
        finally:
            connection.close()

    def ping(self) -> tuple[bool, str]:
        """Whether the database answers, has the schema and has not refused a write
        lately (`RefusedWrites`); the reason when not."""
        if refused := self.refused_writes.recent():
            return False, refused
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1 FROM audit_entries WHERE 1 = 0"))
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            return False, f"store unreachable or not migrated ({type(exc).__name__})"
        return True, "store reachable"

    def dispose(self) -> None:
        """Finish the queued writes, then close every pooled connection."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        self.engine.dispose()
