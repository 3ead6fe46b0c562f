"""The service's commands: `serve`, `model promote`, `users add|list|revoke`,
`audit verify`, `db upgrade`.

Every administrative command is itself audited, as the operating-system user
who ran it with the role ``admin``.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.audit import commit_with_audit, verify_chain
from api.auth import ROLES, KeyHasher, issue_key
from api.server import serve
from api.service import service_event as _cli_event
from api.settings import Settings
from api.store import init_db, repository
from api.store.db import Store
from data_contracts.cli import fail
from model import cli as model_cli

if TYPE_CHECKING:
    from model.registry import ModelRegistry

users_app = typer.Typer(help="API users and their keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
db_app = typer.Typer(help="The service's database.", no_args_is_help=True)

console = Console()


def _store() -> tuple[Settings, Store]:
    settings = Settings()
    return settings, Store(settings.database_url)


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="Who the key is for.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
) -> None:
    """Create a user and print their API key, once: it is never stored or shown again."""
    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    settings, store = _store()
    with store.session() as session:
        if repository.user_by_name(session, name) is not None:
            console.print(f"[red]user {name!r} already exists[/red]")
            raise typer.Exit(1)
        issued = issue_key(
            session, KeyHasher(settings.api_key_pepper.get_secret_value()), name=name, role=role
        )
        commit_with_audit(session, [_cli_event("user_add", name=name, role=role)])
    store.dispose()
    console.print(f"Created {name} ({role}). API key, shown only this once:")
    typer.echo(issued.key)


@users_app.command("list")
def list_users() -> None:
    """List users, their roles and whether they are revoked (never their keys)."""
    _, store = _store()
    with store.session() as session:
        users = repository.list_users(session)
        table = Table("name", "role", "created", "revoked")
        for user in users:
            revoked = user.revoked_at.isoformat(timespec="seconds") if user.revoked_at else ""
            table.add_row(
                user.name, user.role, user.created_at.isoformat(timespec="seconds"), revoked
            )
        commit_with_audit(session, [_cli_event("user_list", users=len(users))])
    store.dispose()
    console.print(table)


@users_app.command("revoke")
def revoke_user(name: Annotated[str, typer.Argument(help="The user whose key to revoke.")]) -> None:
    """Revoke a user's key at once; their next request gets 401."""
    _, store = _store()
    with store.session() as session:
        if repository.revoke_user(session, name) is None:
            console.print(f"[red]no user {name!r}[/red]")
            raise typer.Exit(1)
        commit_with_audit(session, [_cli_event("user_revoke", name=name)])
    store.dispose()
    console.print(f"Revoked {name}.")


@audit_app.command("verify")
def verify_audit() -> None:
    """Check the whole hash chain; exit 1 and name the first broken entry if it is broken."""
    _, store = _store()
    with store.session() as session:
        result = verify_chain(session)
    store.dispose()
    if result.ok:
        console.print(
            f"[green]OK[/green]: {result.checked} entries; head {result.head_hash}", soft_wrap=True
        )
        return
    console.print(
        f"[red]BROKEN[/red] at entry {result.first_broken_seq}: {result.reason} "
        f"({result.checked} entries verified before it)"
    )
    raise typer.Exit(1)


@db_app.command("upgrade")
def upgrade_db() -> None:
    """Bring the database to the latest schema (creating it if needed)."""
    settings = Settings()
    init_db(settings.database_url)
    store = Store(settings.database_url)
    with store.session() as session:
        commit_with_audit(session, [_cli_event("db_upgrade")])
    store.dispose()
    console.print("Database schema is up to date.")


# MLflow refuses "latest" and version-like names (v1) as aliases; say so before it does.
_ALIAS = re.compile(r"(?!latest$)(?!v\d+$)[A-Za-z_][A-Za-z0-9_-]{0,254}")


def _registry(settings: Settings) -> ModelRegistry:
    from model.registry import ModelRegistry

    return ModelRegistry(settings.mlflow_tracking_uri, model_name=settings.model_name,
                         artifact_root=settings.mlflow_artifact_root)


def _version_of(registry: ModelRegistry, reference: str) -> str | None:
    """The version a reference names (``latest`` is the newest), or None when it names none."""
    from model.registry import RegistryError

    if reference == "latest":
        versions = registry.list_versions()
        return versions[0].version if versions else None
    try:
        return registry.resolve(reference).version
    except RegistryError:
        return None


@model_cli.model_app.command("promote")
def promote_model(
    version: Annotated[
        str, typer.Argument(help="Version number, or `latest` for the newest registered version.")
    ],
    alias: Annotated[
        str | None, typer.Option(help="Alias to move; default the served alias (champion).")
    ] = None,
) -> None:
    """Check a version (checksum, golden set), point the alias at it, and audit who did it."""
    from model.registry import RegistryError

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    settings, store = _store()
    alias = alias or settings.model_alias
    if not _ALIAS.fullmatch(alias):
        fail(f"alias {alias!r} is not allowed: letters, digits, _ and -, "
             "not `latest` and not a version-like name such as v1")
    reachable, reason = store.ping()
    if not reachable:
        fail(f"{reason}: run `safeguard db upgrade` first, so the promotion can be audited")
    registry = _registry(settings)
    target = _version_of(registry, version)
    if target is None:
        fail(f"model {settings.model_name!r} has no version {version!r}; "
             "`safeguard models list` shows the registered versions")
    previous = _version_of(registry, alias)
    try:
        registry.load(target)  # refuse a version that fails its checksum or golden set
        info = registry.promote(target, alias)
    except RegistryError as exc:
        fail(f"not promoted: {exc}")
    with store.session() as session:
        commit_with_audit(session, [_cli_event(
            "model_promote", model_version=info.version, model_name=info.name, alias=alias,
            previous_version=previous)])
    store.dispose()
    console.print(f"{info.name} version {info.version} is now {alias!r} "
                  f"(was {previous or 'unset'}). A running service keeps its model until "
                  "restarted.")


def _model_cli_config() -> model_cli.ModelCliConfig:
    settings = Settings()
    return model_cli.ModelCliConfig(
        tracking_uri=settings.mlflow_tracking_uri, model_name=settings.model_name,
        artifact_root=settings.mlflow_artifact_root, alias=settings.model_alias,
        governance_path=settings.governance_settings_path)


def register(app: typer.Typer) -> None:
    """Add the service's command groups to the `safeguard` command line."""
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
    app.command("serve")(serve)
    model_cli.configure(_model_cli_config)
