"""Which database URLs the store can use: SQLite and PostgreSQL (psycopg), nothing else.

Checked before an engine is made (`api.store.db.make_engine`), so a URL naming another
database, a driver that is not installed or no database at all is one line saying so,
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


def checked_url(url: str) -> URL:
    """The parsed URL when the store can use it: SQLite or PostgreSQL, driver installed.

    Raises:
        StoreUrlError: It is not a database URL, names another database, or a driver
            that is not installed.
    """
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise _refusal(url, "not a database URL") from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise _refusal(url, f"{backend} is not supported")
    try:
        parsed.get_dialect().import_dbapi()
    except (sa_exc.NoSuchModuleError, ImportError) as exc:
        raise _refusal(url, f"the driver {parsed.drivername!r} is not available ({exc})"
                       ) from None
    return parsed
