"""Which database URLs the store can use: SQLite and PostgreSQL (psycopg), nothing else.

Checked before an engine is made (`api.store.db.make_engine`), so a URL naming another
database, a driver that is not installed, a port that is not a number, an SQLite database
in memory or no database at all is one line saying so,
its password hidden, not SQLAlchemy's traceback from deep inside the first command.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from data_contracts.uris import masked_uri

# The store's migrations, locks and JSON columns are written for these two (the tests
# run on both); each with the URL form to write.
SUPPORTED: Final = {
    "sqlite": "SQLite (sqlite:///path/to/safeguard.db)",
    "postgresql": "PostgreSQL (postgresql+psycopg://user@host:5432/database)",
}


class StoreUrlError(ValueError):
    """The database URL names no store the service can use; the message says why."""


def _refusal(url: str, problem: str) -> StoreUrlError:
    return StoreUrlError(f"SAFEGUARD_DATABASE_URL {masked_uri(url)}: {problem}; the store "
                         f"supports {' and '.join(SUPPORTED.values())}")


def _in_memory(parsed: URL) -> bool:
    database = parsed.database or ""
    return (database in ("", ":memory:") or "mode=memory" in database
            or parsed.query.get("mode") == "memory")


def checked_url(url: str) -> URL:
    """The parsed URL when the store can use it: SQLite or PostgreSQL, driver installed.

    Raises:
        StoreUrlError: It is not a database URL (or its port is not a number), names
            another database, SQLite in memory, or a driver that is not installed.
    """
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise _refusal(url, "not a database URL") from None
    except ValueError:  # a port that is not a number (SQLAlchemy's int() says only that)
        raise _refusal(url, "its port is not a number (host:port, or [IPv6 address]:port)"
                       ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise _refusal(url, f"{backend} is not supported")
    if backend == "sqlite" and _in_memory(parsed):
        raise _refusal(url, "an SQLite database in memory is lost when the process ends and "
                       "is seen by no other process (each command, each server worker): "
                       "name a file")
    try:
        parsed.get_dialect().import_dbapi()
    except (sa_exc.NoSuchModuleError, ImportError) as exc:
        raise _refusal(url, f"the driver {parsed.drivername!r} is not available ({exc})"
                       ) from None
    return parsed
