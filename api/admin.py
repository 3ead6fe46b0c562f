"""The service's administrative commands: `users add|list|revoke`, `audit verify`,
`db upgrade`.

Every one is itself audited, as the operating-system user who ran it with the role
``admin``. The store and the web stack are imported when a command runs, so building
the command line stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.roles import ROLES
from data_contracts.cli import fail

if TYPE_CHECKING:
    from rich.console import Console

    from api.settings import Settings
    from api.store.db import Store
    from model.registry import ModelRegistry

users_app = typer.Typer(help="API users and their keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
db_app = typer.Typer(help="The service's database.", no_args_is_help=True)


def console() -> Console:
    """The terminal the commands print to; piped, as wide as a line needs (80 columns
    cut a table's cells short: "probe-data_scient…", "2026-12-06T08:46:…")."""
    from rich.console import Console

    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=1_000)


def open_store(needs: str | None = "the command is audited") -> tuple[Settings, Store]:
    """The settings and a store on the database they name (the caller disposes of it).

    Exit 1 in one line when the audit key file named cannot be read, and, unless `needs`
    is None, when the store is unreachable or has no schema yet, saying what the command
    `needs` it for and how to create the schema.
    """
    from api.audit_key import AuditAnchorError
    from api.settings import Settings
    from api.store.db import Store, absent_sqlite_file

    settings = Settings()
    if needs is not None and (absent := absent_sqlite_file(settings.database_url)):
        # Not opened: opening it would leave an empty database file behind the refusal.
        fail(f"store {absent} does not exist: {needs}; create its schema with "
             "`safeguard db upgrade`")
    try:
        store = Store.from_settings(settings)
    except AuditAnchorError as exc:
        fail(str(exc))
    if needs is not None:
        reachable, reason = store.ping()
        if not reachable:
            store.dispose()
            fail(f"{reason}: {needs}; start the database, or create its schema with "
                 "`safeguard db upgrade`")
    return settings, store


def migrate(url: str) -> None:
    """Bring the store at ``url`` to the latest schema, or end in one line saying why not
    (an unusable URL: `api.store.urls.StoreUrlError`, made one line by `api.cli.main`)."""
    from api.store import init_db
    from api.store.urls import StoreUrlError

    try:
        init_db(url)
    except StoreUrlError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure: say it in one line
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot bring the database up to date ({type(exc).__name__}): {reason}")


def check_output_folder(path: Path) -> None:
    """Exit in one line now when ``path`` cannot be a folder (it, or a folder above it, is
    a file), not after a report's work; nothing is created until the report is written."""
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                fail(f"{place}: is a file, not a folder: choose another --output")
            return


def open_for_report(needs: str) -> tuple[Settings, Store, ModelRegistry]:
    """Settings, a reachable store and the model registry, for a command that reads a
    registered model and audits its own run; one line and exit 1 when the store is down
    (`needs` says what the command needs it for)."""
    from api.settings import settings_registry

    settings, store = open_store(needs)
    return settings, store, settings_registry(settings)


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="Who the key is for.")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
) -> None:
    """Create a user and print their API key, once: it is never stored or shown again."""
    from api.api_keys import KeyHasher, issue_key
    from api.audit import commit_with_audit
    from api.audit_governance_check import user_added
    from api.store import repository
    from api.user_names import name_taken, user_name_problem

    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if problem := user_name_problem(name):
        fail(f"{problem}: no user was created")
    settings, store = open_store()
    try:
        with store.session() as session:
            if taken := name_taken(name, (user.name for user in repository.list_users(session))):
                alike = "" if taken == name else " (names differing only in case are one name)"
                fail(f"user {taken!r} already exists{alike}: no user was created")
            issued = issue_key(session, KeyHasher(settings.api_key_pepper.get_secret_value()),
                               name=name, role=role)
            commit_with_audit(session, [user_added(issued.user)])
    finally:
        store.dispose()
    console().print(f"Created {name} ({role}). API key, shown only this once:")
    typer.echo(issued.key)


@users_app.command("list")
def list_users() -> None:
    """List users, their roles and whether they are revoked (never their keys)."""
    from rich.table import Table

    from api.audit import commit_with_audit, operator_event
    from api.store import repository

    _, store = open_store()
    with store.session() as session:
        users = repository.list_users(session)
        table = Table("name", "role", "created", "revoked")
        for user in users:
            revoked = user.revoked_at.isoformat(timespec="seconds") if user.revoked_at else ""
            table.add_row(
                user.name, user.role, user.created_at.isoformat(timespec="seconds"), revoked
            )
        commit_with_audit(session, [operator_event("user_list", users=len(users))])
    store.dispose()
    console().print(table)


@users_app.command("revoke")
def revoke_user(name: Annotated[str, typer.Argument(help="The user whose key to revoke.")]) -> None:
    """Revoke a user's key at once; their next request gets 401. A key already revoked
    stays as it is (exit 0, nothing audited again)."""
    from api.audit import commit_with_audit
    from api.audit_governance_check import user_revoked
    from api.store import repository

    _, store = open_store()
    try:
        with store.session() as session:
            user = repository.user_by_name(session, name)
            if user is None:
                fail(f"no user {name!r}: nothing was revoked")
            if (earlier := user.revoked_at) is None:
                repository.revoke_user(session, name)  # the same row: `user` is revoked
                commit_with_audit(session, [user_revoked(user)])
    finally:
        store.dispose()
    if earlier is not None:
        console().print(f"{name}'s key was already revoked on "
                        f"{earlier.isoformat(timespec='seconds')}; nothing changed.",
                        soft_wrap=True, markup=False)
        return
    console().print(f"Revoked {name}.", markup=False)


@audit_app.command("verify")
def verify_audit() -> None:
    """Check the chain, its signatures and checkpoints, and every stored score and
    decision against its entry; exit 1 naming the first broken entry and each row that
    differs, has no entry or is missing, or in one line when the audit key or checkpoint
    file is missing or wrong."""
    from api.audit_anchor import NOT_ANCHORED, verify_trail
    from api.audit_key import AuditAnchorError

    _, store = open_store("the audit trail is kept in it")
    try:
        with store.session() as session:
            result = verify_trail(session, store.audit_anchor)
    except AuditAnchorError as exc:
        fail(str(exc))
    finally:
        store.dispose()
    if result.ok:
        console().print(f"[green]OK[/green]: {result.reason}", soft_wrap=True)
        if not result.anchored:
            console().print(f"[yellow]NOT ANCHORED[/yellow]: {NOT_ANCHORED}", soft_wrap=True)
        return
    first_broken = result.first_broken_seq
    where = f" at entry {first_broken}" if first_broken is not None else ""
    console().print(f"[red]BROKEN[/red]{where}: {result.reason}", soft_wrap=True)
    for problem in result.records:
        console().print(f"  {problem.sentence()}", soft_wrap=True, markup=False)
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint_audit(
    adopt_unsigned: Annotated[bool, typer.Option(
        help="Accept, as they stand, the entries written before the audit key was set.")] = False,
) -> None:
    """Verify the chain and, if it holds, anchor its last entry now (for a scheduled job)."""
    from api.audit_anchor import checkpoint_head, unsigned_prefix, verify_anchored
    from api.audit_key import AuditAnchorError

    _, store = open_store("the audit trail is kept in it")
    anchor = store.audit_anchor
    if anchor is None:
        store.dispose()
        fail("set SAFEGUARD_AUDIT_KEY_FILE and SAFEGUARD_AUDIT_CHECKPOINT_FILE first")
    try:
        with store.session() as session:
            adopt = unsigned_prefix(session) if adopt_unsigned else 0
            result = verify_anchored(session, anchor, adopt_through=adopt)
            checkpoint = (checkpoint_head(session, anchor, adopt_unsigned=adopt)
                          if result.ok else None)
    except AuditAnchorError as exc:
        fail(str(exc))
    finally:
        store.dispose()
    if not result.ok:
        console().print(f"[red]BROKEN[/red], nothing anchored: {result.reason}", soft_wrap=True)
        raise typer.Exit(1)
    anchored = f"entry {checkpoint.seq}" if checkpoint else "nothing (the chain is empty)"
    console().print(f"Anchored {anchored}; {adopt} unsigned entries adopted.", soft_wrap=True)


@audit_app.command("init-key")
def init_audit_key(
    path: Annotated[Path | None, typer.Argument(
        envvar="SAFEGUARD_AUDIT_KEY_FILE", show_default=False,
        help="Where to write it (default: SAFEGUARD_AUDIT_KEY_FILE).")] = None,
) -> None:
    """Create the audit key file (mode 0600; the key is never printed).

    The path is read here rather than through the settings, which in production refuse
    to load until the key file exists.
    """
    from api.audit_key import AuditAnchorError, create_key_file

    if path is None:
        fail("SAFEGUARD_AUDIT_KEY_FILE is not set")
    try:
        create_key_file(path)
    except AuditAnchorError as exc:
        fail(str(exc))
    console().print(f"Created the audit key file {path} (keep it out of the database's backups).",
                    soft_wrap=True)


@db_app.command("upgrade")
def upgrade_db() -> None:
    """Bring the database to the latest schema (creating it if needed)."""
    from api.audit import commit_with_audit, operator_event

    settings, store = open_store(needs=None)
    migrate(settings.database_url)
    with store.session() as session:
        commit_with_audit(session, [operator_event("db_upgrade")])
    store.dispose()
    console().print("Database schema is up to date.")


def register(app: typer.Typer) -> None:
    """Add the administrative command groups to the `safeguard` command line."""
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
