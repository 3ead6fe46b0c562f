"""API keys, roles and the FastAPI dependencies that enforce them.

A key reads ``<key_id>.<secret>``. The key id finds the user in one indexed
lookup; the secret is checked against a PBKDF2-HMAC-SHA256 hash with a per-key
salt and the service-wide pepper. Keys are shown once, at creation, and never
stored. Because secrets are 256 random bits, a verified key is remembered in
memory (as a SHA-256 digest, keyed by the stored hash) so that each request
costs one hash, not a PBKDF2 run; revocation is still checked on every request.

Every key that is not admitted that way costs one PBKDF2 run, whether its key id is
unknown, revoked or right with a wrong secret, so the time of a refusal does not tell
which. Failures are counted per key id and per client address, and past a limit the
requests that would need a PBKDF2 run are refused with 429 (`api.auth_limits`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.access_refusals import refuse
from api.auth_limits import TOO_MANY_FAILURES, client_address, count_failure, seconds_locked
from api.roles import ADMIN as ADMIN  # (the roles, re-exported for the routes)
from api.roles import DATA_SCIENTIST as DATA_SCIENTIST
from api.roles import GOVERNANCE as GOVERNANCE
from api.roles import ROLES as ROLES
from api.roles import TRIAGE as TRIAGE
from api.routes.deps import StoreDep
from api.store.db import Store
from api.store.models import USER_TABLE, User
from api.user_names import MAX_USER_NAME, user_name_problem

logger = logging.getLogger(__name__)

PBKDF2_ITERATIONS: Final = 120_000
_VERIFIED_CACHE_MAX = 10_000
# What a refusal of a key that names no user checks the secret against: the same work.
_NO_SALT: Final = "00" * 16
_NO_HASH: Final = "00" * 32
# Key ids are issued as hex (`issue_key`); anything else is no key id at all.
_KEY_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    name: str
    role: str


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: ``key`` is shown to the user once and then forgotten."""

    user: User
    key: str


class KeyHasher:
    """Hashes and verifies API key secrets under one pepper."""

    def __init__(self, pepper: str) -> None:
        self._pepper = pepper.encode("utf-8")
        self._verified: dict[str, str] = {}
        self._lock = threading.Lock()

    def hash(self, secret: str, salt: str) -> str:
        """PBKDF2-HMAC-SHA256 of the peppered secret under ``salt``."""
        material = hmac.new(self._pepper, secret.encode("utf-8"), hashlib.sha256).digest()
        return hashlib.pbkdf2_hmac("sha256", material, bytes.fromhex(salt), PBKDF2_ITERATIONS).hex()

    def verify_cached(self, secret: str, *, stored_hash: str) -> bool | None:
        """Whether ``secret`` matches a key verified before; None when it needs `verify`."""
        cached = self._verified.get(stored_hash)
        if cached is None:
            return None
        return hmac.compare_digest(cached, hashlib.sha256(secret.encode("utf-8")).hexdigest())

    def verify(self, secret: str, *, salt: str, stored_hash: str) -> bool:
        """Whether ``secret`` matches the stored hash (constant-time comparison).

        Only a match with a key verified before skips the PBKDF2 run: a mismatch costs
        the run, as for a key never seen.
        """
        if self.verify_cached(secret, stored_hash=stored_hash):
            return True
        digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        if not hmac.compare_digest(self.hash(secret, salt), stored_hash):
            return False
        with self._lock:
            if len(self._verified) >= _VERIFIED_CACHE_MAX:
                self._verified.clear()
            self._verified[stored_hash] = digest
        return True

    def refuse(self, secret: str) -> bool:
        """False, after the work of checking ``secret`` against a key (for a key id that
        names no active user, so that its refusal takes as long as a wrong secret's)."""
        hmac.compare_digest(self.hash(secret, _NO_SALT), _NO_HASH)
        return False


def issue_key(session: Session, hasher: KeyHasher, *, name: str, role: str) -> IssuedKey:
    """Create a user with a new key (the caller commits).

    Raises:
        ValueError: A role not known, or a name that cannot be a user's (`user_name_problem`).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if problem := user_name_problem(name):
        raise ValueError(f"{problem} (got {name[:MAX_USER_NAME]!r})")
    key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    user = User(
        name=name, role=role, key_id=key_id, key_salt=salt, key_hash=hasher.hash(secret, salt)
    )
    session.add(user)
    return IssuedKey(user=user, key=f"{key_id}.{secret}")


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    key_id, _, secret = key.strip().partition(".")
    if not _KEY_ID.fullmatch(key_id) or not secret or len(secret) > 128:
        return None
    return key_id, secret


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


async def current_principal(
    request: Request,
    store: StoreDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """Authenticate the request from its bearer token or X-API-Key header (401 otherwise,
    `verified_key_holder`)."""
    user = await verified_key_holder(
        request, store, bearer.credentials if bearer is not None else api_key)
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
    principal = await current_principal(
        request, store, await _bearer(request), await _api_key_header(request))
    return await _admit(request, store, principal, roles)


# The OpenAPI security requirement of a route that calls `authorise` (what FastAPI
# writes for a route with the `require_roles` dependencies).
AUTHORISED_ROUTE: Final[dict[str, Any]] = {"security": [
    {_bearer.scheme_name: []}, {_api_key_header.scheme_name: []}]}


AnyUser = Annotated[Principal, Depends(require_roles(*ROLES))]
TriageUser = Annotated[Principal, Depends(require_roles(TRIAGE, ADMIN))]
CaseReader = Annotated[Principal, Depends(require_roles(TRIAGE, GOVERNANCE, ADMIN))]
AuditReader = Annotated[Principal, Depends(require_roles(GOVERNANCE, ADMIN))]
