"""How appends to the audit chain are serialised, so the chain never forks.

On SQLite, by a lock per process (its threads) and an exclusive lock on a file beside
the database (``DATABASE.audit-lock``: other server processes and the command line),
both taken before the transaction begins (`append_lock`); on PostgreSQL, by a
transaction-scoped advisory lock taken inside it (`lock_server_chain`). A unique
sequence number underneath both refuses a fork whatever happens (`api.audit`).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

ADVISORY_LOCK_KEY = 0x5AFE_A0D1  # any constant shared by every writer of this database
_SQLITE_WRITE_LOCK = threading.Lock()


@contextmanager
def append_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, hold this process's and every other process's appends off the chain."""
    database = engine.url.database
    if engine.dialect.name != "sqlite":
        yield  # PostgreSQL: `lock_server_chain`, inside the transaction
        return
    with _SQLITE_WRITE_LOCK:
        if not database or database == ":memory:" or database.startswith("file:"):
            yield  # a private in-memory database: only this process can reach it
            return
        # flock is per open file, so threads share the thread lock above and each
        # append opens the lock file afresh; the lock goes when the file closes.
        lock_file = os.open(f"{database}.audit-lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock_file)


def lock_server_chain(connection: Connection) -> None:
    """On PostgreSQL, hold every other writer's appends off the chain until this
    transaction ends (on SQLite, `append_lock` already does)."""
    if connection.dialect.name != "sqlite":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
