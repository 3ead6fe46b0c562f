"""`safeguard model promote` and `safeguard model rollback`: move the served alias, after
checking the version it will name (checksum, golden set, a valid approval of exactly its
content with every acceptance threshold met or waived: `api.approvals`), and audit who
did it (a refusal too).

A running service notices the move itself (`api.live_model`): no restart.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from data_contracts.cli import fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.audit import AuditEvent
    from api.settings import Settings
    from api.store.db import Store
    from model.governance import AcceptanceThresholds
    from model.registry import ModelRegistry

# MLflow refuses "latest" and version-like names (v1) as aliases; say so before it does.
_ALIAS = re.compile(r"(?!latest$)(?!v\d+$)[A-Za-z_][A-Za-z0-9_-]{0,254}")
# The audit actions that move an alias; each names the version it replaced.
_MOVES = ("model_promote", "model_rollback")

AliasOption = Annotated[
    str | None, typer.Option(help="Alias to move; default the served alias (champion).")]


def _registry(settings: Settings) -> ModelRegistry:
    from api.settings import settings_registry

    return settings_registry(settings)


def board_of(settings: Settings) -> AcceptanceThresholds:
    """The board's acceptance thresholds in force (`api.settings.board_thresholds`); a
    settings file that cannot be read or is invalid ends the command in one line."""
    from api.settings import board_thresholds
    from model.governance import GovernanceError

    try:
        return board_thresholds(settings)
    except GovernanceError as exc:
        fail(f"the board's governance settings: {exc}")


def _version_of(registry: ModelRegistry, reference: str) -> str | None:
    """The version a reference names (``latest`` is the newest), or None when it names none
    (a registry that cannot be reached raises `RegistryUnavailable`: it names nothing)."""
    from model.registry import RegistryError, RegistryUnavailable

    if reference == "latest":
        versions = registry.list_versions()
        return versions[0].version if versions else None
    try:
        return registry.resolve(reference).version
    except RegistryUnavailable:
        raise
    except RegistryError:
        return None


def _open(alias: str | None, *, action: str) -> tuple[Settings, Store, str]:
    """Settings, a store that is reachable and migrated (moves are audited), the alias (an
    alias MLflow would refuse ends the command, audited as ``{action}_refused``)."""
    from api.admin import open_store
    from api.audit import operator_event

    settings, store = open_store("the move is audited")
    alias = alias or settings.model_alias
    if not _ALIAS.fullmatch(alias):
        problem = (f"alias {alias!r} is not allowed: letters, digits, _ and -, "
                   "not `latest` and not a version-like name such as v1")
        _refuse(store, operator_event(f"{action}_refused", alias=alias, reason=problem), problem)
    return settings, store, alias


def _refuse(store: Store, refusal: AuditEvent, said: str) -> NoReturn:
    """Audit a refused move (``{action}_refused``, naming the version it would have
    named, if any, and why) and end the command, saying `said`."""
    from api.audit import commit_with_audit

    with store.session() as session:
        commit_with_audit(session, [refusal])
    store.dispose()
    fail(said)


def _move(store: Store, registry: ModelRegistry, *, action: str, target: str, alias: str,
          previous: str | None, board: AcceptanceThresholds) -> None:
    """Check `target` (its thresholds against the board's, `board`), point `alias` at it,
    audit it, and say so."""
    from api.approvals import gate_problem
    from api.audit import operator_event
    from model.registry import RegistryError

    try:
        with store.session() as session:  # approval first: it names what changed since
            problem = gate_problem(session, registry, target, board=board)
        if problem:  # the refusal is audited too
            _refuse(store, operator_event(f"{action}_refused", model_version=target,
                                          alias=alias, reason=problem), f"not moved: {problem}")
        registry.load(target)  # refuse a version that fails its checksum or golden set
        info = registry.promote(target, alias)
    except RegistryError as exc:  # a checksum or golden set failed: tampering, perhaps
        _refuse(store, operator_event(f"{action}_refused", model_version=target, alias=alias,
                                      reason=str(exc)), f"not moved: {exc}")
    _audit_move(store, registry, operator_event(
        action, model_version=info.version, model_name=info.name, alias=alias,
        previous_version=previous), alias=alias, previous=previous)
    store.dispose()
    typer.echo(f"{info.name} version {info.version} is now {alias!r} "
               f"(was {previous or 'unset'}). Running services swap it in within their "
               "refresh interval (SAFEGUARD_MODEL_REFRESH_SECONDS).")


def _audit_move(store: Store, registry: ModelRegistry, move: AuditEvent, *, alias: str,
                previous: str | None) -> None:
    """Audit a move just made; when the store cannot take the entry (read-only, its disk
    full, gone), put the alias back where it was and end the command saying so: a move
    nobody can be named for would also leave `rollback` nothing to go back to."""
    from api.audit import commit_with_audit
    from api.store.db import is_outage, outage_reason

    try:
        with store.session() as session:
            commit_with_audit(session, [move])
    except Exception as exc:
        if not is_outage(exc):
            raise
        _put_back(registry, alias, previous)
        store.dispose()
        fail(f"not moved: the move could not be audited ({outage_reason(exc)}), so {alias!r} "
             f"{'names version ' + previous if previous else 'is unset'} again")


def _put_back(registry: ModelRegistry, alias: str, previous: str | None) -> None:
    """Point ``alias`` at the version it named before a move (unset, if none)."""
    if previous is None:
        registry.unset_alias(alias)
    else:
        registry.promote(previous, alias)


def promote(
    version: Annotated[
        str, typer.Argument(help="Version number, or `latest` for the newest registered version.")
    ],
    alias: AliasOption = None,
) -> None:
    """Check a version (checksum, golden set, approval), point the alias at it; audited.

    The entry says who moved the alias, from which version to which."""
    settings, store, alias = _open(alias, action="model_promote")
    registry = _registry(settings)
    target = _version_of(registry, version)
    if target is None:  # audited like every other refused move: who asked for what, and why
        from api.audit import operator_event

        problem = f"model {settings.model_name!r} has no version {version!r}"
        _refuse(store, operator_event("model_promote_refused", alias=alias, reason=problem,
                                      requested_version=version),
                f"{problem}; `safeguard model list` shows the registered versions")
    _move(store, registry, action="model_promote", target=target, alias=alias,
          previous=_version_of(registry, alias), board=board_of(settings))


def _last_move(session: Session, alias: str) -> tuple[str | None, str | None]:
    """The version the alias's last recorded move set, and the one it replaced."""
    from sqlalchemy import select

    from api.store.models import AuditEntry

    moves = session.scalars(select(AuditEntry).where(AuditEntry.action.in_(_MOVES))
                            .order_by(AuditEntry.seq.desc()))
    for entry in moves:
        if entry.details.get("alias") == alias:
            return entry.model_version, entry.details.get("previous_version")
    return None, None


def rollback(alias: AliasOption = None) -> None:
    """Point the alias back at the version it named before its last move; audited.

    The version it named before its last promotion (or rollback) is checked again first:
    its approval must still hold. Audited like a promotion."""
    settings, store, alias = _open(alias, action="model_rollback")
    registry = _registry(settings)
    current = _version_of(registry, alias)
    with store.session() as session:
        moved_to, previous = _last_move(session, alias)
    if moved_to is None:
        problem = f"no promotion of {alias!r} is recorded in the audit trail: nothing to roll back"
    elif moved_to != current:
        problem = (f"{alias!r} names version {current or 'nothing'}, not version {moved_to} "
                   "as its last recorded move left it: promote the version you want explicitly")
    elif previous is None:
        problem = (f"version {moved_to} was the first {alias!r}: there is no earlier one to "
                   "go back to")
    else:
        _move(store, registry, action="model_rollback", target=previous, alias=alias,
              previous=current, board=board_of(settings))
        return
    from api.audit import operator_event

    # Audited as a refused target is (`_move`): no version to go back to is named.
    _refuse(store, operator_event("model_rollback_refused", alias=alias, reason=problem,
                                  current_version=current), problem)


def register(model_app: typer.Typer) -> None:
    """Add `promote` and `rollback` to the model layer's `model` command group."""
    model_app.command("promote")(promote)
    model_app.command("rollback")(rollback)
