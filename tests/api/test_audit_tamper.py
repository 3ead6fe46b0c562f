"""Tampering with the audit trail, column by column, and a forger who recomputes hashes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from api.audit import AuditEvent, VerifyResult, commit_with_audit, compute_entry_hash, verify_chain
from api.store import Store
from api.store.models import AuditEntry
from tests.api.tampering import without_guards

TAMPERED = 3
CHAIN_LENGTH = 6


def _event(n: int) -> AuditEvent:
    return AuditEvent(user_name=f"user-{n}", role="triage", action="score",
                      referral_id=f"R-{n}", model_version="7", request_hash=f"{n:064x}",
                      details={"n": n, "band": "low"})


def _verify(store: Store) -> VerifyResult:
    with store.session() as session:
        return verify_chain(session)


def _entry(store: Store, seq: int) -> AuditEntry:
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
        session.expunge(entry)
        return entry


def _overwrite(store: Store, seq: int, values: dict[str, Any]) -> None:
    with store.engine.begin() as connection:
        without_guards(connection)
        connection.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(values))


@pytest.fixture
def chain(fresh_database_url: str) -> Iterator[Store]:
    store = Store(fresh_database_url)
    with store.session() as session:
        for n in range(1, CHAIN_LENGTH + 1):
            commit_with_audit(session, [_event(n)])
    assert _verify(store).ok
    yield store
    store.dispose()


# Every column the entry hash covers, with an edit someone covering their tracks might make.
HASHED_COLUMN_EDITS: dict[str, Any] = {
    "created_at": lambda entry: entry.created_at + timedelta(seconds=1),
    "user_name": lambda entry: "someone-else",
    "role": lambda entry: "admin",
    "action": lambda entry: "case_view",
    "referral_id": lambda entry: "R-999",
    "model_version": lambda entry: "8",
    "request_hash": lambda entry: "f" * 64,
    "details": lambda entry: {**entry.details, "band": "high"},
}


@pytest.mark.parametrize("column", HASHED_COLUMN_EDITS)
def test_editing_any_hashed_column_is_detected_and_the_entry_named(chain: Store,
                                                                   column: str) -> None:
    entry = _entry(chain, TAMPERED)
    _overwrite(chain, TAMPERED, {column: HASHED_COLUMN_EDITS[column](entry)})
    result = _verify(chain)
    assert not result.ok
    assert result.first_broken_seq == TAMPERED and result.checked == TAMPERED - 1
    assert f"entry {TAMPERED} does not match its hash: edited" == result.reason


def test_erasing_an_entrys_referral_is_detected(chain: Store) -> None:
    _overwrite(chain, TAMPERED, {"referral_id": None})
    result = _verify(chain)
    assert not result.ok and result.first_broken_seq == TAMPERED and "edited" in result.reason


def test_renumbering_an_entry_is_detected_as_a_gap(chain: Store) -> None:
    _overwrite(chain, TAMPERED, {"seq": 30})
    result = _verify(chain)
    assert not result.ok and result.first_broken_seq == TAMPERED and "missing" in result.reason


def test_relinking_an_entry_to_another_predecessor_is_detected(chain: Store) -> None:
    _overwrite(chain, TAMPERED, {"prev_hash": _entry(chain, 1).entry_hash})
    result = _verify(chain)
    assert not result.ok and result.first_broken_seq == TAMPERED
    assert "does not link to entry 2" in result.reason


def test_a_forger_who_recomputes_the_edited_entrys_hash_is_caught_at_the_next_link(
        chain: Store) -> None:
    forged = _entry(chain, TAMPERED)
    forged.referral_id = "R-999"
    _overwrite(chain, TAMPERED, {"referral_id": "R-999",
                                 "entry_hash": compute_entry_hash(forged)})
    assert compute_entry_hash(_entry(chain, TAMPERED)) == _entry(chain, TAMPERED).entry_hash
    result = _verify(chain)
    assert not result.ok
    assert result.first_broken_seq == TAMPERED + 1 and result.checked == TAMPERED
    assert f"entry {TAMPERED + 1} does not link to entry {TAMPERED}" in result.reason


def test_a_forger_who_rewrites_the_rest_of_the_chain_changes_its_head(chain: Store) -> None:
    """Recomputing every later hash hides an edit from the walk, not from a noted head."""
    noted_head = _verify(chain).head_hash
    assert noted_head == _entry(chain, CHAIN_LENGTH).entry_hash
    prev_hash = _entry(chain, TAMPERED - 1).entry_hash
    for seq in range(TAMPERED, CHAIN_LENGTH + 1):
        entry = _entry(chain, seq)
        entry.prev_hash = prev_hash
        if seq == TAMPERED:
            entry.referral_id = "R-999"
        entry.entry_hash = compute_entry_hash(entry)
        _overwrite(chain, seq, {"referral_id": entry.referral_id, "prev_hash": entry.prev_hash,
                                "entry_hash": entry.entry_hash})
        prev_hash = entry.entry_hash
    result = _verify(chain)
    assert result.ok and result.checked == CHAIN_LENGTH
    assert result.head_hash != noted_head
