"""The store keeps its migration state in a table of its own (api/store/version_table.py):
one database holds both the store and MLflow's registry, in either order of creation,
and a store migrated when it kept its revision in `alembic_version` is carried over."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from api.api_keys import KeyHasher, issue_key
from api.store import Store, init_db, repository
from api.store.db import alembic_config
from api.store.version_table import SHARED_VERSION_TABLE, VERSION_TABLE
from model.registry import ModelRegistry

EARLIER = "0011_approval_sources"  # a revision with a migration after it
HASHER = KeyHasher("version-table-test-pepper-" + "z" * 32)


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def _revisions(url: str) -> dict[str, list[str]]:
    """Each Alembic version table of the database and the revisions it holds."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = [t for t in inspect(connection).get_table_names() if "alembic" in t]
            return {table: [r for (r,) in connection.execute(
                text(f"SELECT version_num FROM {table}"))] for table in tables}
    finally:
        engine.dispose()


def _as_migrated_before_its_own_table(url: str) -> None:
    """Put the store's revision where the store kept it before: in `alembic_version`."""
    engine = create_engine(url)
    with engine.begin() as connection:
        revision = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
        connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
        connection.execute(text(
            f"CREATE TABLE {SHARED_VERSION_TABLE} (version_num VARCHAR(32) NOT NULL, "
            f"CONSTRAINT {SHARED_VERSION_TABLE}_pkc PRIMARY KEY (version_num))"))
        connection.execute(text(f"INSERT INTO {SHARED_VERSION_TABLE} VALUES (:r)"),
                           {"r": revision})
    engine.dispose()


def _user_names(url: str) -> list[str]:
    store = Store(url)
    try:
        with store.session() as session:
            return [user.name for user in repository.list_users(session)]
    finally:
        store.dispose()


def _add_user(url: str, name: str) -> None:
    store = Store(url)
    try:
        with store.session() as session:
            issue_key(session, HASHER, name=name, role="triage")
            session.commit()
    finally:
        store.dispose()


def test_the_store_keeps_its_revision_in_a_table_of_its_own(fresh_database_url: str) -> None:
    assert _revisions(fresh_database_url) == {VERSION_TABLE: [_head(fresh_database_url)]}


def test_a_store_migrated_with_the_shared_table_is_carried_over_and_upgraded(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    _add_user(url, "kept")
    command.downgrade(alembic_config(url), EARLIER)
    _as_migrated_before_its_own_table(url)
    assert _revisions(url) == {SHARED_VERSION_TABLE: [EARLIER]}
    init_db(url)  # had the revision not been carried over, 0001 would run again and fail
    assert _revisions(url) == {VERSION_TABLE: [_head(url)]}
    assert _user_names(url) == ["kept"]
    init_db(url)  # and again: nothing left to do
    assert _revisions(url) == {VERSION_TABLE: [_head(url)]}


def _registry_in_use(url: str, tmp_path: Path) -> ModelRegistry:
    """MLflow's registry on ``url``, with a run and a registered version in it."""
    registry = ModelRegistry(url, model_name=f"m-{uuid.uuid4().hex[:6]}",
                             artifact_root=str(tmp_path / "artifacts"))
    run_id = registry.start_run("shared", run_name="r")
    registry.log_run(run_id, params={"seed": 1}, metrics={"test_roc_auc": 0.75}, tags={})
    registry.client.create_registered_model(registry.model_name)
    registry.client.create_model_version(registry.model_name, f"runs:/{run_id}/model",
                                         run_id=run_id)
    return registry


def _both_usable(url: str, tmp_path: Path) -> None:
    init_db(url)  # `safeguard db upgrade` again, with MLflow's tables beside the store's
    _add_user(url, f"u-{uuid.uuid4().hex[:6]}")
    store = Store(url)
    assert store.ping()[0]
    store.dispose()
    fresh = ModelRegistry(url, model_name="other", artifact_root=str(tmp_path / "artifacts"))
    assert fresh.list_versions() == []  # a new client checks MLflow's schema again
    revisions = _revisions(url)
    assert revisions[VERSION_TABLE] == [_head(url)]
    assert revisions[SHARED_VERSION_TABLE] != [_head(url)]  # MLflow's own revision


def test_one_database_holds_the_store_then_mlflow(
    empty_database_url: str, tmp_path: Path
) -> None:
    url = empty_database_url
    init_db(url)
    registry = _registry_in_use(url, tmp_path)
    [version] = registry.list_versions()
    assert version.metrics["test_roc_auc"] == 0.75
    _both_usable(url, tmp_path)


def test_one_database_holds_mlflow_then_the_store(
    empty_database_url: str, tmp_path: Path
) -> None:
    url = empty_database_url
    registry = _registry_in_use(url, tmp_path)
    init_db(url)
    assert len(registry.list_versions()) == 1
    _both_usable(url, tmp_path)
