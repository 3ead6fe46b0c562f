"""The append-only, hash-chained audit trail.

Every entry carries the hash of the entry before it (``prev_hash``) and its own
hash over its canonical fields plus ``prev_hash`` (``entry_hash``); sequence
numbers run 1, 2, 3... without gaps. Editing, inserting or deleting an entry
therefore breaks the chain at a place `verify_chain` can name; a rewrite that
recomputes every later hash, or a deleted tail, is caught only against what the
database does not hold (the key and checkpoints of `api.audit_key`, checked by
`api.audit_anchor`). Appends are serialised so the chain never forks
(`api.audit_lock`): on SQLite by a thread lock and an exclusive lock on a file beside
the database (so several server processes and the CLI can append to one file), on
PostgreSQL by a transaction-scoped advisory lock, and by a unique sequence number
underneath both. The service's event loop never takes
these locks itself: it hands its appends to the store's writer thread
(`Store.write`). Nothing in the service updates or deletes an entry, and database
triggers refuse it.

``request_hash`` ties an entry to what was asked. For a score it is the SHA-256
of the HTTP request body exactly as received (a batch's entries share their
batch's), so whoever kept the request they sent can show it is the one audited;
for a decision, the canonical JSON of the decision; for a read or an
administrative action, the canonical JSON of its description. The entry of a score or
a decision also records the row it vouches for (`api.audit_records`).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.orm import Session

from api.audit_key import AuditAnchor, anchor_of, checkpoint_if_due
from api.audit_lock import append_lock, lock_server_chain
from api.audit_records import Rows, flush_records, insert_rows, with_records
from api.roles import ADMIN
from api.store.models import AUDIT_TABLE, AuditEntry, utcnow

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        value,
        ensure_ascii=False,  # pragma: no mutate (json reads only its truth: None is False)
        sort_keys=True, separators=(",", ":"), default=str,
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


def operator_event(action: str, *, model_version: str | None = None, by: str = "cli",
                   **details: object) -> AuditEvent:
    """An entry for something the operating-system user running a command or the service
    did (role ``admin``): a command line action (``by`` "cli"), or the service's own act
    (``by`` "service": its start, a model swap or withdrawal), named ``by:os-user``."""
    described = {"command": action, **details}
    if model_version is not None:
        described["model_version"] = model_version
    return AuditEvent(
        user_name=f"{by}:{getpass.getuser()}",
        role=ADMIN,
        action=action,
        model_version=model_version,
        request_hash=request_hash(described),
        details=dict(details),
    )


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
    return _row_hash({column: getattr(entry, column) for column in _HASHED_COLUMNS})


_HASHED_COLUMNS = ("seq", "created_at", "user_name", "role", "action", "referral_id",
                   "model_version", "request_hash", "details", "prev_hash")


def _row_hash(row: Mapping[str, Any]) -> str:
    fields = {
        "seq": row["seq"],
        "created_at": _timestamp(row["created_at"]),
        "user": row["user_name"],
        "role": row["role"],
        "action": row["action"],
        "referral_id": row["referral_id"],
        "model_version": row["model_version"],
        "request_hash": row["request_hash"],
        "details": row["details"],
    }
    return sha256_hex(canonical_json(fields) + row["prev_hash"].encode("ascii"))


# Rows per table; a table's rows may also be a function of the rows written before it
# (with their ids), for rows that name another's id: a score's people name the score.
Inserts = Mapping[Table, Sequence[Mapping[str, Any]]
                  | Callable[[Mapping[str, Sequence[Mapping[str, Any]]]],
                             Sequence[Mapping[str, Any]]]]

# Built once: every score appends, and building a statement costs more than running it.
_CHAIN_HEAD = select(AUDIT_TABLE.c.seq, AUDIT_TABLE.c.entry_hash).order_by(
    AUDIT_TABLE.c.seq.desc()).limit(1)
_INSERT_ENTRY = insert(AUDIT_TABLE)


def _append(connection: Connection, events: Sequence[AuditEvent], inserts: Inserts | None,
            *, written: Rows | None = None) -> list[dict[str, Any]]:
    written = dict(written or {})
    for table, given in (inserts or {}).items():
        rows = given(written) if callable(given) else given
        if rows:
            written.update(insert_rows(connection, table, rows=rows))
    events = with_records(events, written)  # a score's or decision's entry records its row
    head = connection.execute(_CHAIN_HEAD).first()
    seq, prev_hash = (head.seq, head.entry_hash) if head else (0, GENESIS_HASH)
    anchor, entries = anchor_of(connection.engine), []
    for event in events:
        seq += 1
        entry = _new_entry(event, seq=seq, prev_hash=prev_hash, anchor=anchor)
        entries.append(entry)
        prev_hash = entry["entry_hash"]
    if entries:
        connection.execute(_INSERT_ENTRY, entries)
    return entries


def commit_with_audit(
    session: Session, events: Sequence[AuditEvent], *, inserts: Inserts | None = None,
    first: Callable[[Connection], None] | None = None,
) -> list[dict[str, Any]]:
    """Append ``events`` to the chain and commit them with the session's pending work.

    The pending rows (a decision, say, and any ``inserts``: rows per table, written
    as plain inserts) and their audit entries commit in one transaction: either all
    are stored or none is. Nothing may have been flushed before the call: writes
    happen only once the append lock is held, so two writers can never each hold
    what the other waits for. ``first`` (a check) runs under the lock before anything is
    written, as `store_with_audit`'s does; whatever it raises rolls the session back.

    Returns:
        The new entries' rows (column: value), in chain order.
    """
    engine = session.get_bind().engine
    with append_lock(engine):
        try:
            connection = session.connection()
            lock_server_chain(connection)
            if first is not None:
                first(connection)
            written = flush_records(session)
            entries = _append(connection, events, inserts, written=written)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    checkpoint_if_due(engine, entries)
    return entries


def store_with_audit(
    engine: Engine, events: Sequence[AuditEvent], *, inserts: Inserts | None = None,
    first: Callable[[Connection], None] | None = None,
) -> list[dict[str, Any]]:
    """`commit_with_audit` for plain inserts, on a connection of its own (no ORM session).

    The scoring path uses it: a session's bookkeeping costs more than the two inserts.
    ``first`` (a check, or a clean-up) runs first in the same transaction, under the
    chain's lock, so no other writer slips in between; whatever it raises rolls it back.
    """
    with append_lock(engine), engine.begin() as connection:
        lock_server_chain(connection)
        if first is not None:
            first(connection)
        entries = _append(connection, events, inserts)
    checkpoint_if_due(engine, entries)
    return entries


def _new_entry(event: AuditEvent, *, seq: int, prev_hash: str, anchor: AuditAnchor | None
               ) -> dict[str, Any]:
    # A plain row rather than an ORM object: the scoring path appends one per score,
    # and an ORM object's attribute bookkeeping costs more than its insert.
    row = {
        "seq": seq,
        "created_at": utcnow(),
        "user_name": event.user_name,
        "role": event.role,
        "action": event.action,
        "referral_id": event.referral_id,
        "model_version": event.model_version,
        "request_hash": event.request_hash,
        "prev_hash": prev_hash,
        "details": json.loads(canonical_json(event.details)),
    }
    row["entry_hash"] = _row_hash(row)
    row["entry_mac"] = anchor.entry_mac(row["entry_hash"]) if anchor else None
    return row


def verify_chain(session: Session, *, batch_size: int = 1000,
                 entry_check: Callable[[AuditEntry], str] | None = None) -> VerifyResult:
    """Walk the whole chain in sequence order and report the first broken entry.

    ``entry_check`` (the anchor's signature and checkpoint checks) runs on each entry
    that links; what it returns, when not empty, is why the entry is broken.
    """
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    stream = session.scalars(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    )
    for entry in stream:
        problem = _check_entry(entry, expected_seq=expected_seq, prev_hash=prev_hash)
        if not problem and entry_check is not None:
            problem = entry_check(entry)
        if problem:
            broken = min(entry.seq, expected_seq)
            return VerifyResult(False, checked, broken, problem, prev_hash)
        checked += 1
        expected_seq, prev_hash = entry.seq + 1, entry.entry_hash
    return VerifyResult(True, checked, None, f"{checked} entries, chain intact", prev_hash)


def _check_entry(entry: AuditEntry, *, expected_seq: int, prev_hash: str) -> str:
    if entry.seq > expected_seq:
        return f"entry {expected_seq} is missing (next entry is {entry.seq}): deleted"
    if entry.seq < expected_seq:
        return f"entry {entry.seq} is out of sequence (expected {expected_seq}): inserted"
    if entry.prev_hash != prev_hash:
        return f"entry {entry.seq} does not link to entry {entry.seq - 1}: inserted or replaced"
    if compute_entry_hash(entry) != entry.entry_hash:
        return f"entry {entry.seq} does not match its hash: edited"
    return ""
