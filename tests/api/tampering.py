"""What someone with write access to the database can do to the audit trail, as helpers.

The strongest such forger rewrites the whole table: any change (edit, delete, reorder),
then every sequence number, link and hash recomputed with the project's own hash
function, so the chain alone links perfectly. They cannot sign: they keep the
signatures the entries had.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text

from api.audit import GENESIS_HASH, compute_entry_hash
from api.audit_key import AuditAnchor, create_key_file, load_key
from api.store import Store
from api.store.models import AUDIT_TABLE, AuditEntry

Rows = list[dict[str, Any]]
CHECKPOINT_EVERY = 2  # the tests' anchors: a checkpoint at every even entry


def without_guards(connection: Connection) -> None:
    """Remove the append-only triggers, as someone with direct database access could."""
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
        connection.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))
    else:
        connection.execute(
            text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
        )


def read_rows(store: Store) -> Rows:
    """Every audit entry as a plain row (column: value), in sequence order."""
    with store.engine.connect() as connection:
        result = connection.execute(select(AUDIT_TABLE).order_by(AUDIT_TABLE.c.seq))
        return [{k: v for k, v in row._asdict().items() if k != "id"} for row in result]


def replace_rows(store: Store, rows: Rows) -> None:
    """Swap the whole audit table for ``rows``, guards removed first."""
    with store.engine.begin() as connection:
        without_guards(connection)
        connection.execute(delete(AUDIT_TABLE))
        if rows:
            connection.execute(insert(AUDIT_TABLE), rows)


def rehash(rows: Rows) -> Rows:
    """Renumber from 1 and recompute every link and hash; signatures stay as they were."""
    prev_hash, rehashed = GENESIS_HASH, []
    for seq, row in enumerate(rows, 1):
        row = {**row, "seq": seq, "prev_hash": prev_hash}
        row["entry_hash"] = compute_entry_hash(AuditEntry(**row))
        rehashed.append(row)
        prev_hash = row["entry_hash"]
    return rehashed


def _edit(rows: Rows) -> Rows:
    rows[2] = {**rows[2], "details": {**rows[2]["details"], "band": "high"}}
    return rows


def _swap(rows: Rows) -> Rows:
    rows[1], rows[3] = rows[3], rows[1]
    return rows


# Each kind of tampering, as a change to the rows in sequence order (6 entries or more).
TAMPERINGS: dict[str, Callable[[Rows], Rows]] = {
    "edit": _edit,
    "delete_first": lambda rows: rows[1:],
    "delete_middle": lambda rows: rows[:2] + rows[3:],
    "delete_last": lambda rows: rows[:-1],
    "reorder": _swap,
}


def tamper(store: Store, kind: str, *, recompute: bool) -> None:
    """Apply one kind of tampering; ``recompute``: then rehash the chain as a forger would.

    Without ``recompute`` the rows keep their sequence numbers and hashes: a swap
    exchanges the two entries' sequence numbers, a deletion leaves a gap.
    """
    rows = read_rows(store)
    original_seqs = [row["seq"] for row in rows]
    changed = TAMPERINGS[kind]([dict(row) for row in rows])
    if recompute:
        changed = rehash(changed)
    elif kind == "reorder":
        changed = [{**row, "seq": seq} for row, seq in zip(changed, original_seqs, strict=True)]
    replace_rows(store, changed)


def make_anchor(folder: Path, *, every: int = CHECKPOINT_EVERY) -> AuditAnchor:
    """A fresh key (mode 0600) and checkpoint file in ``folder``."""
    create_key_file(folder / "audit.key")
    return AuditAnchor(load_key(folder / "audit.key"), folder / "checkpoints.jsonl", every)
