"""Alembic environment: runs on a connection handed over by `init_db`, or on the configured URL."""

from __future__ import annotations

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from api.store.db import make_engine
from api.store.models import Base
from api.store.version_table import VERSION_TABLE, carry_over_revision

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    carry_over_revision(connection, ScriptDirectory.from_config(config))
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        version_table=VERSION_TABLE,  # not MLflow's `alembic_version`: one database may hold both
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the handed-over connection, else on a fresh engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as fresh:
            _run(fresh)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `safeguard db upgrade`")
run_migrations_online()
