"""Limits on failed authentication: per key id and per client address, kept in the store.

Each wrong key costs the service a PBKDF2 run (tens of milliseconds), and guessing is
never cheap enough to be worth allowing. Failures are counted per key id and per client
address over a window (`Settings.auth_failure_window_seconds`); at
`auth_failures_per_key` (or `auth_failures_per_address`) the key id (or address) is
locked out for `auth_lockout_seconds`: requests that would need a PBKDF2 run are
refused with 429 and Retry-After, without running it. The count lives in the store's
`auth_failures` table, so every worker (and every process on the database) shares it,
on SQLite and PostgreSQL alike; each lockout is audited (`auth_lockout`).

A key already verified by a worker is still admitted while its key id is locked out
(`api.auth`): the holder of the key keeps working while someone guesses at its id; on
a worker that has not seen the key yet it waits for the lockout to end like a guess.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from fastapi import Request
from sqlalchemy import Connection, Engine, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from api.audit import AuditEvent, request_hash, store_with_audit
from api.settings import Settings
from api.store.db import Store
from api.store.models import AUTH_FAILURES_TABLE as FAILURES
from api.store.models import utcnow
from api.user_names import UNAUTHENTICATED

logger = logging.getLogger(__name__)

KEY_SCOPE: Final = "key_id"
ADDRESS_SCOPE: Final = "address"
TOO_MANY_FAILURES: Final = "too many failed authentications from this address or for this key id"


@dataclass(frozen=True)
class FailureLimits:
    """How many failures, over what window, lock a key id or address out for how long."""

    per_key: int
    per_address: int
    window: timedelta
    lockout: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> FailureLimits:
        """The limits the settings name."""
        return cls(per_key=settings.auth_failures_per_key,
                   per_address=settings.auth_failures_per_address,
                   window=timedelta(seconds=settings.auth_failure_window_seconds),
                   lockout=timedelta(seconds=settings.auth_lockout_seconds))


@dataclass(frozen=True)
class Lockout:
    """A lockout that a failure has just started."""

    scope: str
    subject: str
    failures: int
    until: datetime


def _subjects(key_id: str | None, address: str) -> list[tuple[str, str]]:
    subjects = [(ADDRESS_SCOPE, address[:100])]
    if key_id is not None:
        subjects.append((KEY_SCOPE, key_id))
    return subjects


def seconds_locked(engine: Engine, *, key_id: str | None, address: str,
                   now: datetime | None = None) -> int:
    """Seconds until neither the key id nor the address is locked out (0: not locked)."""
    now = now or utcnow()
    matches = or_(*(and_(FAILURES.c.scope == scope, FAILURES.c.subject == subject)
                    for scope, subject in _subjects(key_id, address)))
    query = select(FAILURES.c.locked_until).where(matches, FAILURES.c.locked_until > now)
    with engine.connect() as connection:
        ends = [until for (until,) in connection.execute(query)]
    if not ends:
        return 0
    return max(1, int((max(ends) - now).total_seconds() + 0.999))


def _insert_if_missing(connection: Connection, scope: str, subject: str, now: datetime) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    row = {"scope": scope, "subject": subject, "window_start": now, "failures": 0}
    connection.execute(dialect.insert(FAILURES).values(row).on_conflict_do_nothing())


def _count(connection: Connection, scope: str, subject: str, *, limit: int,
           limits: FailureLimits, now: datetime) -> Lockout | None:
    """Count one failure of (scope, subject); the lockout it starts, if it starts one."""
    # Written first, so that on SQLite the write lock is held from here on and on
    # PostgreSQL the row exists to be locked: two workers' failures never count as one.
    _insert_if_missing(connection, scope, subject, now)
    key = and_(FAILURES.c.scope == scope, FAILURES.c.subject == subject)
    row = connection.execute(
        select(FAILURES.c.window_start, FAILURES.c.failures, FAILURES.c.locked_until)
        .where(key).with_for_update()).one()
    window_start, failures, locked_until = row
    if (locked_until is not None and locked_until <= now) or window_start <= now - limits.window:
        window_start, failures, locked_until = now, 0, None  # a new window
    failures += 1
    started = None
    if failures >= limit and locked_until is None:
        locked_until = now + limits.lockout
        started = Lockout(scope=scope, subject=subject, failures=failures, until=locked_until)
    connection.execute(update(FAILURES).where(key).values(
        window_start=window_start, failures=failures, locked_until=locked_until))
    return started


def record_failure(engine: Engine, *, key_id: str | None, address: str, limits: FailureLimits,
                   now: datetime | None = None) -> list[Lockout]:
    """Count a failed authentication against the address (and the key id, when the key
    named one); the lockouts it starts."""
    now = now or utcnow()
    started = []
    with engine.begin() as connection:
        connection.execute(delete(FAILURES).where(  # forget what no longer counts
            FAILURES.c.window_start <= now - limits.window,
            or_(FAILURES.c.locked_until.is_(None), FAILURES.c.locked_until <= now)))
        for scope, subject in _subjects(key_id, address):
            limit = limits.per_key if scope == KEY_SCOPE else limits.per_address
            lockout = _count(connection, scope, subject, limit=limit, limits=limits, now=now)
            if lockout is not None:
                started.append(lockout)
    return started


def client_address(request: Request) -> str:
    """The address a request came from (the proxy's, behind one: see docs/service.md)."""
    return request.client.host if request.client else "unknown"


async def count_failure(request: Request, store: Store, *, key_id: str | None,
                        holder_name: str | None) -> None:
    """Count a failed authentication of ``request`` and audit any lockout it starts
    (``holder_name``: whose key the key id is, if anyone's)."""
    limits: FailureLimits = request.app.state.auth_limits
    lockouts = await store.write(record_failure, store.engine, key_id=key_id,
                                 address=client_address(request), limits=limits)
    if lockouts:
        events = [_lockout_event(request, lockout, holder_name) for lockout in lockouts]
        await store.write(store_with_audit, store.engine, events)


def _lockout_event(request: Request, lockout: Lockout, holder_name: str | None) -> AuditEvent:
    logger.warning("authentication locked out for %s %s after %d failures",
                   lockout.scope, lockout.subject, lockout.failures)
    details: dict[str, Any] = {"scope": lockout.scope, "subject": lockout.subject,
                               "failures": lockout.failures,
                               "locked_until": lockout.until.isoformat()}
    if holder_name is not None and lockout.scope == KEY_SCOPE:
        details["key_holder"] = holder_name
    described = {"method": request.method, "path": request.url.path, **details}
    return AuditEvent(user_name=UNAUTHENTICATED, role="none", action="auth_lockout",
                      request_hash=request_hash(described), details=details)
