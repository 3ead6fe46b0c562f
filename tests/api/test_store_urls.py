"""A database URL the store cannot use (another database, a driver not installed, not a
URL) or a database that is down: one line naming it (password hidden) and exit code 1
from every command that opens the store, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.store.db import Store
from api.store.urls import StoreUrlError
from tests.api.failing_command import SECRET, one_line_failure

DOWN_STORE = "postgresql+psycopg://u:s3cret-pw@127.0.0.1:5999/x"  # pragma: allowlist secret
MYSQL_STORE = "mysql://root:s3cret-pw@db/x"  # pragma: allowlist secret
PSYCOPG2_STORE = "postgresql+psycopg2://u:s3cret-pw@db/x"  # pragma: allowlist secret


@pytest.mark.parametrize("args", [
    ("audit", "verify"), ("users", "list"), ("db", "upgrade"), ("serve", "--port", "{port}"),
    ("subject-access", "--person-id", "P1", "--output", "{tmp}/sar.html"),
    ("monitor", "--input", "{tmp}", "--output", "{tmp}/monitor"),
    ("model", "card", "1", "--output", "{tmp}/card"),
])
def test_a_database_the_store_does_not_support_is_one_line(
        args: tuple[str, ...], tmp_path: Path) -> None:
    line = one_line_failure(tmp_path, *args, SAFEGUARD_DATABASE_URL=MYSQL_STORE)
    assert line.startswith("error: SAFEGUARD_DATABASE_URL mysql://root:***@db/x: mysql is not "
                           "supported; the store supports SQLite"), line
    assert "PostgreSQL" in line


@pytest.mark.parametrize(("url", "said"), [
    ("not a url", "not a database URL"),
    (PSYCOPG2_STORE, "the driver 'postgresql+psycopg2' is not available"),
    ("postgresql+psycopg://u:s3cret-pw@127.0.0.1:abc/x",  # pragma: allowlist secret
     "its port is not a number"),
    ("postgresql+psycopg://u:s3cret-pw@[::1:5432/x",  # pragma: allowlist secret
     "its port is not a number"),
    ("sqlite://", "an SQLite database in memory"),
    ("sqlite:///:memory:", "an SQLite database in memory"),
    ("sqlite:///file:x?mode=memory&uri=true", "an SQLite database in memory"),
])
def test_a_database_url_the_store_cannot_use_is_refused_before_an_engine(url: str,
                                                                          said: str) -> None:
    with pytest.raises(StoreUrlError, match=re.escape(said)) as raised:
        Store(url)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize("command", [("db", "upgrade"), ("serve", "--port", "{port}")])
def test_a_database_that_is_down_is_one_line_when_migrating(command: tuple[str, ...],
                                                            tmp_path: Path) -> None:
    line = one_line_failure(tmp_path, *command, SAFEGUARD_DATABASE_URL=DOWN_STORE)
    assert line.startswith("error: cannot bring the database up to date (OperationalError)")


BAD_PORT = "postgresql+psycopg://u:s3cret-pw@db:abc/x"  # pragma: allowlist secret


@pytest.mark.parametrize("url", [BAD_PORT, "sqlite:///:memory:"])
def test_a_port_that_is_not_a_number_or_a_database_in_memory_is_one_line(
        url: str, tmp_path: Path) -> None:
    line = one_line_failure(tmp_path, "users", "list", SAFEGUARD_DATABASE_URL=url)
    assert line.startswith("error: SAFEGUARD_DATABASE_URL "), line
    assert SECRET not in line
