"""Where the store keeps its Alembic revision: a table of its own, so that one database
can hold both the store and MLflow's registry (MLflow's migrations keep their revision in
Alembic's default table, ``alembic_version``; sharing it, each tool found the other's
revision and stopped: "Can't locate revision identified by ...").

A store migrated before the store had its own table kept its revision in
``alembic_version``; `carry_over_revision` moves it when the store is next migrated.
"""

from __future__ import annotations

from typing import Final

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

VERSION_TABLE: Final = "safeguard_alembic_version"
# Alembic's default: MLflow's migrations use it, and the store's did before it had its own.
SHARED_VERSION_TABLE: Final = "alembic_version"


def carry_over_revision(connection: Connection, script: ScriptDirectory) -> str | None:
    """Move the store's revision out of ``alembic_version`` into `VERSION_TABLE` (a store
    migrated before it had a table of its own); returns the revision moved, if any.

    Only a revision of the store's own migrations is moved: another tool's (MLflow's, in
    a database both share) stays. ``alembic_version`` is dropped when nothing else is
    left in it, as Alembic would never have made it for the store again.
    """
    if not inspect(connection).has_table(SHARED_VERSION_TABLE):
        return None
    ours = {revision.revision for revision in script.walk_revisions()}
    found = [row for (row,) in connection.execute(
        text(f"SELECT version_num FROM {SHARED_VERSION_TABLE}"))]
    moved = [revision for revision in found if revision in ours]
    if not moved:
        return None
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    if not context.get_current_heads():  # a table of its own already has a revision: keep it
        context.stamp(script, moved[0])
    connection.execute(text(f"DELETE FROM {SHARED_VERSION_TABLE} WHERE version_num = :revision"),
                       [{"revision": revision} for revision in moved])
    if len(moved) == len(found):
        connection.execute(text(f"DROP TABLE {SHARED_VERSION_TABLE}"))
    return moved[0]
