"""The append-only, hash-chained audit trail.

Every entry carries the hash of the entry before it (``prev_hash``) and its own
hash over its canonical fields plus ``prev_hash`` (``entry_hash``); sequence
numbers run 1, 2, 3... without gaps. Editing, inserting or deleting an entry
therefore breaks the chain at a place `verify_chain` can name. Appends are
serialised (a process lock on SQLite, a transaction-scoped advisory lock on
PostgreSQL, and a unique sequence number underneath both) so the chain never
forks. Nothing in the service updates or deletes an entry, and database
triggers refuse it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.store.models import AuditEntry, utcnow

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 0x5AFE_A0D1  # any constant shared by every writer of this database
_SQLITE_WRITE_LOCK = threading.Lock()


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def request_hash(body: Any) -> str:
    """SHA-256 of the canonical form of a request body (or of a request description)."""
    return sha256_hex(canonical_json(body))


@dataclass(frozen=True)
class AuditEvent:
    """What happened, before it gets its place in the chain."""

    user_name: str
    role: str
    action: str
    request_hash: str
    referral_id: str | None = None
    model_version: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking the chain: ``first_broken_seq`` names where it breaks."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH


def _timestamp(moment: datetime) -> str:
    # SQLite hands timestamps back naive, PostgreSQL aware: hash them the same way.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def compute_entry_hash(entry: AuditEntry) -> str:
    """Hash of an entry's canonical fields and the previous entry's hash."""
    fields = {
        "seq": entry.seq,
        "created_at": _timestamp(entry.created_at),
        "user": entry.user_name,
        "role": entry.role,
        "action": entry.action,
        "referral_id": entry.referral_id,
        "model_version": entry.model_version,
        "request_hash": entry.request_hash,
        "details": entry.details,
    }
    return sha256_hex(canonical_json(fields) + entry.prev_hash.encode("ascii"))


@contextmanager
def _serialised(session: Session) -> Iterator[None]:
    if session.get_bind().dialect.name == "sqlite":
        with _SQLITE_WRITE_LOCK:
            yield
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    yield


def _last_entry(session: Session) -> AuditEntry | None:
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()


def commit_with_audit(session: Session, events: Sequence[AuditEvent]) -> list[AuditEntry]:
    """Append ``events`` to the chain and commit them with the session's pending work.

    The pending rows (a score, a decision) and their audit entries commit in one
    transaction: either both are stored or neither is.

    Returns:
        The new entries, in chain order.
    """
    with _serialised(session):
        try:
            session.flush()
            last = _last_entry(session)
            seq, prev_hash = (last.seq, last.entry_hash) if last else (0, GENESIS_HASH)
            entries = []
            for event in events:
                seq += 1
                entry = _new_entry(event, seq=seq, prev_hash=prev_hash)
                session.add(entry)
                entries.append(entry)
                prev_hash = entry.entry_hash
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return entries


def _new_entry(event: AuditEvent, *, seq: int, prev_hash: str) -> AuditEntry:
    entry = AuditEntry(
        seq=seq,
        created_at=utcnow(),
        user_name=event.user_name,
        role=event.role,
        action=event.action,
        referral_id=event.referral_id,
        model_version=event.model_version,
        request_hash=event.request_hash,
        prev_hash=prev_hash,
        details=json.loads(canonical_json(event.details)),
    )
    entry.entry_hash = compute_entry_hash(entry)
    return entry


def verify_chain(session: Session, *, batch_size: int = 1000) -> VerifyResult:
    """Walk the whole chain in sequence order and report the first broken entry."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    stream = session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    )
    for entry in stream:
        problem = _check_entry(entry, expected_seq=expected_seq, prev_hash=prev_hash)
        if problem:
            broken = min(entry.seq, expected_seq)
            return VerifyResult(False, checked, broken, problem, prev_hash)
        checked += 1
        expected_seq, prev_hash = entry.seq + 1, entry.entry_hash
    return VerifyResult(True, checked, None, f"{checked} entries, chain intact", prev_hash)


def _check_entry(entry: AuditEntry, *, expected_seq: int, prev_hash: str) -> str:
    if entry.seq != expected_seq:
        if entry.seq > expected_seq:
            return f"entry {expected_seq} is missing (next entry is {entry.seq}): deleted"
        return f"entry {entry.seq} is out of sequence (expected {expected_seq}): inserted"
    if entry.prev_hash != prev_hash:
        return f"entry {entry.seq} does not link to entry {entry.seq - 1}: inserted or replaced"
    if compute_entry_hash(entry) != entry.entry_hash:
        return f"entry {entry.seq} does not match its hash: edited"
    return ""
