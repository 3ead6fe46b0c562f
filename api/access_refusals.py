"""Refused access is audited: a signed-in user's attempt at what their role may not do
(through the API, a web page, or a command run with their key).

A 403 says who tried what (method, route, and the referral, person or version it
named): an investigation asks first who tried to reach a record they had no part in.
What an address named is kept as sent only when it has its shape and, for a referral id
or person token, names something the store holds; anything else as its SHA-256
(`asked_sha256`, `kept_asked`): anything may be typed into an address, a pasted key too.
A signed-in user's form refused for its CSRF token or a hidden field changed is entered
too (`form_refused`), and
so is a signed-in user's request refused for its address, query or body
(`request_invalid`: the 422 or 400, with the fields at fault, never their values), and
a decision on a model version the registry does not have (`model_decision_refused`,
`found: false`, as a card read that finds nothing). A request that names no user (401)
is counted per key id and address instead (`api.auth_limits`), and audited once it
locks them out: a stranger could otherwise fill the trail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Select, bindparam, select

from api.audit import AuditEvent, request_hash, sha256_hex, store_with_audit
from api.store.db import Store
from api.store.models import REFERRAL_PERSON_TABLE, SCORE_TABLE
from data_contracts.vocab import REFERRAL_ID_PATTERN, TOKEN_PATTERN
from model.registry_sqlite import exact_version, well_formed_reference

if TYPE_CHECKING:
    from fastapi import HTTPException, Request

    from api.auth import Principal

ACCESS_REFUSED = "access_refused"
FORM_REFUSED = "form_refused"
REQUEST_INVALID = "request_invalid"
MODEL_DECISION_REFUSED = "model_decision_refused"


# The most of a path's value an entry keeps: the store's columns hold 100 characters.
_KEPT: Final = 100
_REFERRAL_ID: Final = re.compile(REFERRAL_ID_PATTERN)
# The shape each identifier an address may name must have for an entry to keep it as
# sent; a value of another name, whose shape is not known here, is kept as its SHA-256.
_SHAPES: Final[dict[str, Callable[[str], bool]]] = {
    "referral_id": lambda value: _REFERRAL_ID.fullmatch(value) is not None,
    "person_id": lambda value: re.fullmatch(TOKEN_PATTERN, value) is not None,
    "version": well_formed_reference}
# Whether the store holds what a referral id or person token names (a score of the
# referral; a scored referral naming the person), built once (`Store.first_row`).
_HOLDS: Final[dict[str, Select[Any]]] = {
    "referral_id": select(SCORE_TABLE.c.id)
    .where(SCORE_TABLE.c.referral_id == bindparam("value")).limit(1),
    "person_id": select(REFERRAL_PERSON_TABLE.c.id)
    .where(REFERRAL_PERSON_TABLE.c.person_id == bindparam("value")).limit(1)}


def _as_asked(value: object) -> str:
    """A path's value as the trail keeps it: the role is refused before the route checks
    its path, so it may be anything; cut to the columns' size, a NUL (which PostgreSQL
    cannot store) shown as U+FFFD."""
    return str(value)[:_KEPT].replace("\x00", "\ufffd")


def kept_asked(name: str, value: str, *, held: bool) -> dict[str, str]:
    """A value asked for (an address's, a case view's referral, a subject access request's
    person) as an entry's details keep it: as sent when it has the shape of its name
    (`_SHAPES`) and, for a referral id or person token, names something the store holds
    (`held`); anything else as its SHA-256, `asked_sha256` (anything typed into an address,
    a pasted key too, which a referral id's shape admits)."""
    shaped = _SHAPES.get(name)
    if shaped is not None and shaped(value) and (held or name not in _HOLDS):
        return {name: _as_asked(value)}
    return _digest(value)


def _digest(value: str) -> dict[str, str]:
    return {"asked_sha256": sha256_hex(value.encode("utf-8"))}


def held_asked(store: Store, asked: Mapping[str, str]) -> frozenset[str]:
    """The names of the referral id and person token in `asked` (a request's path values)
    that name something the store holds; only well-formed ones are looked up."""
    return frozenset(name for name, value in asked.items()
                     if name in _HOLDS and _SHAPES[name](value)
                     and store.first_row(_HOLDS[name], {"value": value}) is not None)


def refusal_event(request: Request, principal: Principal, roles: tuple[str, ...], *,
                  held: frozenset[str] | None = None) -> AuditEvent:
    """The audit entry of a role's refusal of ``request``: the referral and version it
    named fill the entry's columns only when they are a referral id the store holds and a
    version number. `held`: `held_asked` of its path (None: looked up here)."""
    return _request_refusal(request, principal, ACCESS_REFUSED, held=held,
                            allowed=list(roles))


def form_refusal_event(request: Request, principal: Principal, why: str, *,
                       held: frozenset[str] | None = None) -> AuditEvent:
    """The audit entry of a signed-in user's form refused for its CSRF token (a form from
    an ended session, or a post made for them by another page) or a hidden field changed
    (`why`): as a role's refusal, what it was posted to, the referral or version it named."""
    return _request_refusal(request, principal, FORM_REFUSED, held=held, refused=why)


def invalid_request_event(request: Request, principal: Principal,
                          problems: list[dict[str, Any]], *,
                          route: str | None = None,
                          held: frozenset[str] | None = None) -> AuditEvent:
    """The audit entry of a signed-in user's request refused for its path, query or body
    (`problems`: the validation errors, or a 413's or 415's field at fault): as a role's
    refusal, with the fields at fault, never the values sent (a value may be a pasted key
    or a child's record). `route`: the route's address, for a request refused before it
    was routed. `held`: `held_asked` of its path (None: looked up here; async code looks
    it up with `held_in_store`, off the event loop on a server database)."""
    fields = sorted({".".join(str(part) for part in problem.get("loc", ()))
                     for problem in problems})
    return _request_refusal(request, principal, REQUEST_INVALID, route=route, held=held,
                            fields=fields[:20])


async def held_in_store(request: Request, store: Store) -> frozenset[str]:
    """`held_asked` of the request's path values, from async code (`Store.run`: on
    PostgreSQL the look-up waits in the thread pool, not on the event loop)."""
    return await store.run(held_asked, store, _path_values(request))


def _path_values(request: Request) -> dict[str, str]:
    return {str(name): str(value) for name, value in request.path_params.items()}


def _request_refusal(request: Request, principal: Principal, action: str, *,
                     route: str | None = None, held: frozenset[str] | None = None,
                     **said: object) -> AuditEvent:
    asked = _path_values(request)
    if held is None:  # a rare refusal: one indexed look-up per referral or person named
        held = held_asked(request.app.state.store, asked)
    routed = request.scope.get("route")
    details: dict[str, Any] = {"method": request.method,
                               "route": route or getattr(routed, "path_format",
                                                         request.url.path),
                               **said}
    for name, value in asked.items():
        details |= kept_asked(name, value, held=name in held)
    return _refusal(principal, details, version=asked.get("version"), action=action,
                    referral_id=details.get("referral_id") if "referral_id" in held else None)


def asked_version(version: str) -> dict[str, str]:
    """A version asked for as an entry's details keep it: its number, else the SHA-256 of
    what was sent (anything typed into an address, a pasted key too)."""
    return {"model_version": version} if exact_version(version) else _digest(version)


def unregistered_decision_event(user: str, role: str, *, version: str,
                                decision: str | None) -> AuditEvent:
    """The audit entry of a decision (approve or reject) on a version the registry does not
    have: who asked, to decide what (None: a form's field that was neither), on which
    version (`found: false`)."""
    details: dict[str, Any] = {**asked_version(version),
                               **({} if decision is None else {"decision": decision}),
                               "found": False}
    return AuditEvent(user_name=user, role=role, action=MODEL_DECISION_REFUSED,
                      model_version=version if exact_version(version) else None,
                      request_hash=request_hash(details), details=details)


def command_refusal_event(principal: Principal, roles: tuple[str, ...], *, command: str,
                          version: str) -> AuditEvent:
    """The audit entry of a role's refusal of a command run with a user's key (`safeguard
    model approve|reject`): as the API's refusal of the same act, the command in place
    of the method and route."""
    details: dict[str, Any] = {"command": command, "allowed": list(roles),
                               "version": _as_asked(version)}
    return _refusal(principal, details, referral_id=None, version=version)


def _refusal(principal: Principal, details: dict[str, Any], *, referral_id: str | None,
             version: str | None, action: str = ACCESS_REFUSED) -> AuditEvent:
    return AuditEvent(
        user_name=principal.name, role=principal.role, action=action, referral_id=referral_id,
        model_version=version if version and exact_version(version) else None,
        request_hash=request_hash(details), details=details)


async def audit_refusal(request: Request, store: Store, principal: Principal,
                        roles: tuple[str, ...]) -> None:
    """Enter a role's refusal of ``request`` in the audit trail (an API route or a page)."""
    held = await held_in_store(request, store)
    await store.write(store_with_audit, store.engine,
                      [refusal_event(request, principal, roles, held=held)])


async def refuse(request: Request, store: Store, principal: Principal,
                 roles: tuple[str, ...]) -> HTTPException:
    """Audit the refusal; the API's 403 to raise."""
    # FastAPI imported here: the approval check `safeguard score` ends with reads this
    # module (`unregistered_decision_event`) and serves no request.
    from fastapi import HTTPException, status

    await audit_refusal(request, store, principal, roles)
    return HTTPException(
        status_code=status.HTTP_403_FORBIDDEN,
        detail=f"role {principal.role!r} may not do this; allowed: {', '.join(roles)}")
