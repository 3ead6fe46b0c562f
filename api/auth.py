"""Who holds an API key, and the FastAPI dependencies that enforce roles.

A key reads ``<key_id>.<secret>`` (issued, split and hashed by `api.api_keys`). The key
id finds the user in one indexed lookup; the secret is checked by `KeyHasher`, which
remembers a verified key, so that each request costs one hash, not a PBKDF2 run;
revocation is still checked on every request.

Every key that is not admitted that way costs one PBKDF2 run, whether its key id is
unknown, revoked or right with a wrong secret, so the time of a refusal does not tell
which. Failures are counted per key id and per client address, and past a limit the
requests that would need a PBKDF2 run are refused with 429 (`api.auth_limits`). A request
sends one key, in one header, once: two keys, or a key header twice, are a failure too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import bindparam, select
from starlette.concurrency import run_in_threadpool

from api.access_refusals import refuse
from api.api_keys import KeyHasher, split_key
from api.auth_limits import TOO_MANY_FAILURES, client_address, count_failure, seconds_locked
from api.roles import ADMIN as ADMIN  # (the roles, re-exported for the routes)
from api.roles import DATA_SCIENTIST as DATA_SCIENTIST
from api.roles import GOVERNANCE as GOVERNANCE
from api.roles import ROLES as ROLES
from api.roles import TRIAGE as TRIAGE
from api.routes.deps import StoreDep
from api.store.db import Store
from api.store.models import USER_TABLE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: str


@dataclass(frozen=True)
class KeyHolder:
    """What checking a key needs to know about its user."""

    name: str
    role: str
    key_salt: str
    key_hash: str


# Built once: every request runs it, and building the statement costs more than running it.
_KEY_HOLDER = select(
    USER_TABLE.c.name, USER_TABLE.c.role, USER_TABLE.c.key_salt, USER_TABLE.c.key_hash,
    USER_TABLE.c.revoked_at,
).where(USER_TABLE.c.key_id == bindparam("key_id"))


def _active(row: Sequence[Any] | None) -> KeyHolder | None:
    """The holder in a `_KEY_HOLDER` row, unless there is no row or the key is revoked."""
    if row is None:
        return None
    name, role, key_salt, key_hash, revoked_at = row
    if revoked_at is not None:
        return None
    return KeyHolder(name=name, role=role, key_salt=key_salt, key_hash=key_hash)


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key_id>.<secret>`")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key")

_UNAUTHORISED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="missing, invalid or revoked API key",
    headers={"WWW-Authenticate": "Bearer"},
)
_MORE_THAN_ONE_KEY = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="more than one API key sent (X-API-Key and Authorization: Bearer, or either "
           "header twice): send one key, in one header, once",
    headers={"WWW-Authenticate": "Bearer"},
)


def _key_in_store(store: Store, key_id: str) -> tuple[KeyHolder | None, str | None]:
    """`key_holder_in_store`, and the name of whoever key ``key_id`` was issued to, revoked
    or not (a lock-out's audit entry names them), from the same one look-up."""
    row = store.first_row(_KEY_HOLDER, {"key_id": key_id})
    return _active(row), None if row is None else row[0]


def key_holder_in_store(store: Store, key_id: str) -> KeyHolder | None:
    """The user holding key ``key_id``, unless there is none or the key is revoked (the
    look-up every request makes, through `Store.first_row`)."""
    return _key_in_store(store, key_id)[0]


async def _verify_slowly(request: Request, store: Store, key_id: str, secret: str,
                         user: KeyHolder | None) -> bool:
    """The PBKDF2 check of a key not admitted from memory, unless its key id or the
    caller's address is locked out (429, without the PBKDF2 run)."""
    locked = await store.run(seconds_locked, store.engine, key_id=key_id,
                             address=client_address(request))
    if locked:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_FAILURES,
                            headers={"Retry-After": str(locked)})
    hasher: KeyHasher = request.app.state.key_hasher
    if user is None:
        return await run_in_threadpool(hasher.refuse, secret)
    return await run_in_threadpool(
        hasher.verify, secret, salt=user.key_salt, stored_hash=user.key_hash)


def authenticate_key(store: Store, hasher: KeyHasher, key: str) -> Principal | None:
    """The active user holding ``key`` (None when it is malformed, unknown, revoked or
    wrong): the check a request's key gets, for commands that act as a user."""
    parts = split_key(key)
    if parts is None:
        return None
    user = key_holder_in_store(store, parts[0])
    if user is None or not hasher.verify(parts[1], salt=user.key_salt,
                                         stored_hash=user.key_hash):
        return None
    return Principal(name=user.name, role=user.role)


async def verified_key_holder(request: Request, store: Store, key: str | None) -> KeyHolder:
    """The active holder of ``key``, once the key is checked (401, or 429 locked out).

    The user is looked up (revocation included) on every request, through `Store.run`.
    A key this worker has verified before costs one SHA-256. Any other key is checked
    with PBKDF2 in the thread pool (the event loop must not wait on it), unless failed
    authentications have locked its key id or the caller's address out (429).
    """
    if not key:
        raise _UNAUTHORISED
    parts = split_key(key)
    if parts is None:
        await count_failure(request, store, key_id=None, holder_name=None)
        raise _UNAUTHORISED
    key_id, secret = parts
    user, issued_to = await store.run(_key_in_store, store, key_id)
    hasher: KeyHasher = request.app.state.key_hasher
    admitted = user is not None and hasher.verify_cached(secret, stored_hash=user.key_hash)
    if not admitted and not await _verify_slowly(request, store, key_id, secret, user):
        await count_failure(request, store, key_id=key_id, holder_name=issued_to)
        raise _UNAUTHORISED
    assert user is not None
    return user


async def _one_key(request: Request, store: Store) -> str | None:
    """The API key of a request's one X-API-Key or `Authorization: Bearer` header (None:
    it sent none; read as `_api_key_header` and `_bearer` read their header's first).

    X-API-Key and a bearer token, or either header twice (`Authorization` with any
    scheme), are refused (401) and counted as a failed authentication of the address,
    neither key checked: they were taken, the bearer's key winning and a header's first,
    so what a proxy logs or checks need not have been the key admitted.
    """
    api_keys = request.headers.getlist(_api_key_header.model.name)
    authorizations = request.headers.getlist("authorization")
    bearers = [credentials for scheme, credentials in map(get_authorization_scheme_param,
                                                          authorizations)
               if scheme.lower() == "bearer" and credentials]
    if len(api_keys) > 1 or len(authorizations) > 1 or (api_keys and bearers):
        await count_failure(request, store, key_id=None, holder_name=None)
        raise _MORE_THAN_ONE_KEY
    return bearers[0] if bearers else (api_keys[0] if api_keys else None)


async def current_principal(
    request: Request,
    store: StoreDep,
    _bearer_scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _key_scheme: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """Authenticate the request from its one bearer token or X-API-Key header (401
    otherwise, `_one_key`, `verified_key_holder`). The two schemes are dependencies so that
    the OpenAPI document names them; `_one_key` reads every header, not each one's first."""
    user = await verified_key_holder(request, store, await _one_key(request, store))
    principal = Principal(name=user.name, role=user.role)
    request.state.principal = principal
    return principal


async def _admit(request: Request, store: Store, principal: Principal,
                 roles: tuple[str, ...]) -> Principal:
    """The principal, if their role is one of ``roles``; else 403, audited."""
    if principal.role not in roles:
        raise await refuse(request, store, principal, roles)
    return principal


def require_roles(*roles: str) -> Callable[[Request, Store, Principal], Awaitable[Principal]]:
    """A dependency that admits only the given roles (403 for the others).

    It is `async` because it only compares strings: FastAPI then runs it on the event
    loop instead of a thread-pool hop per request. (Key verification stays in the
    thread pool: a first verification runs PBKDF2, which must not block the loop.)
    """

    async def dependency(request: Request, store: StoreDep,
                         principal: Annotated[Principal, Depends(current_principal)]
                         ) -> Principal:
        return await _admit(request, store, principal, roles)

    return dependency


async def authorise(request: Request, *roles: str) -> Principal:
    """What a `require_roles(*roles)` dependency does, called from inside a route.

    For the busiest route: FastAPI costs about 0.1 ms a request to resolve the five
    dependencies behind `require_roles`. A route that calls this declares
    `AUTHORISED_ROUTE` so that its OpenAPI entry still names the security schemes;
    it takes the store from the application (`dependency_overrides` do not reach it).
    """
    store: Store = request.app.state.store
    principal = await current_principal(request, store, None, None)
    return await _admit(request, store, principal, roles)


# The OpenAPI security requirement of a route that calls `authorise` (what FastAPI
# writes for a route with the `require_roles` dependencies).
AUTHORISED_ROUTE: Final[dict[str, Any]] = {"security": [
    {_bearer.scheme_name: []}, {_api_key_header.scheme_name: []}]}


AnyUser = Annotated[Principal, Depends(require_roles(*ROLES))]
TriageUser = Annotated[Principal, Depends(require_roles(TRIAGE, ADMIN))]
CaseReader = Annotated[Principal, Depends(require_roles(TRIAGE, GOVERNANCE, ADMIN))]
AuditReader = Annotated[Principal, Depends(require_roles(GOVERNANCE, ADMIN))]
