"""The service's commands: `serve`, `model promote`, `users add|list|revoke`,
`audit verify`, `db upgrade`.

Every administrative command is itself audited, as the operating-system user
who ran it with the role ``admin``.
"""

from __future__ import annotations

import gc
import getpass
import os
import re
import tempfile
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from api.audit import AuditEvent, commit_with_audit, request_hash, verify_chain
from api.auth import ADMIN, ROLES, KeyHasher, issue_key
from api.dispatch import ListenError
from api.routes.metrics import MULTIPROCESS_METRICS_ENV
from api.settings import Settings
from api.store import init_db, repository
from api.store.db import Store
from api.workers import supervise_workers
from data_contracts.cli import fail
from model import cli as model_cli

if TYPE_CHECKING:
    from fastapi import FastAPI

    from model.registry import ModelRegistry

users_app = typer.Typer(help="API users and their keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
db_app = typer.Typer(help="The service's database.", no_args_is_help=True)

console = Console()
# New containers between the garbage collector's young passes in a serving process.
GC_YOUNG_THRESHOLD = 10_000


def _cli_event(action: str, *, model_version: str | None = None, **details: object) -> AuditEvent:
    described = {"command": action, **details}
    if model_version is not None:
        described["model_version"] = model_version
    return AuditEvent(
        user_name=f"cli:{getpass.getuser()}",
        role=ADMIN,
        action=action,
        model_version=model_version,
        request_hash=request_hash(described),
        details=dict(details),
    )


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


def build_service(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """Migrate the store (unless done already), load the model by alias (or say why not),
    audit the start and build the app."""
    from api.app import create_app
    from api.model_scorer import load_scorer

    if migrate:
        init_db(settings.database_url)
    scorer = load_scorer(settings)
    ready, reason = scorer.readiness()
    store = Store(settings.database_url)
    with store.session() as session:
        commit_with_audit(session, [_cli_event(
            "service_start", model_version=scorer.version if ready else None,
            model_name=scorer.name, ready=ready, reason=reason, pid=os.getpid())])
    store.dispose()
    return create_app(settings, scorer)


def _started_app(settings: Settings, *, migrate: bool = True, worker: str = "") -> FastAPI:
    """`build_service`, its readiness said on the console, and the start-up heap frozen."""
    app = build_service(settings, migrate=migrate)
    ready, reason = app.state.scorer.readiness()
    console.print(f"{worker}[green]ready[/green]: {reason}" if ready else
                  f"{worker}[red]NOT READY[/red] (scoring answers 503): {reason}", soft_wrap=True)
    # Everything loaded so far (libraries, the model) lives as long as the process:
    # take it out of the garbage collector's full passes, which otherwise walk
    # ~440k objects and stall a request for a quarter of a second.
    gc.freeze()
    # A case arrives as hundreds of record dicts that live until its batch is scored.
    # Collecting every 700 new containers (the default) walked the live records of the
    # batch again and again: about 0.04 ms a request, measured; cycles are rare here.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    return app


def worker_app() -> FastAPI:
    """The app of one server worker process (the factory each worker of `serve --workers N`
    runs). Each worker loads and checks the model itself; `serve` has migrated the store.
    """
    return _started_app(Settings(), migrate=False, worker=f"worker {os.getpid()}: ")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(
        help="Server processes. Each scores on one core and loads its own copy of the model; "
             "use one per core.", min=1, max=32)] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request line (paths only, never bodies).")
    ] = False,
) -> None:
    """Serve the API: migrate, load the model by alias (not ready if it fails), listen."""
    import uvicorn

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    settings = Settings()
    # uvloop and httptools: the C event loop and HTTP parser (with asyncio's loop and the
    # pure-Python h11 parser the bench served 341 requests per second instead of 366).
    options = {"host": host, "port": port, "access_log": access_log, "loop": "uvloop",
               "http": "httptools", "log_level": "info", "timeout_graceful_shutdown": 5}
    if workers == 1:
        app = _started_app(settings)
        console.print(f"OpenAPI page: http://{host}:{port}/docs")
        uvicorn.run(app, workers=1, **options)  # type: ignore[arg-type]
        return
    init_db(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="safeguard-metrics-") as metrics_dir:
        # Workers count requests in files here, and /metrics adds them up.
        os.environ[MULTIPROCESS_METRICS_ENV] = metrics_dir
        try:
            code = supervise_workers(workers, options)
        except ListenError as exc:
            fail(str(exc))
        finally:
            os.environ.pop(MULTIPROCESS_METRICS_ENV, None)
    if code:
        fail("a worker could not start; see its messages above")


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
