"""The audit chain's exact formats and side effects, which the tamper tests leave free:
the canonical JSON and hash an entry is stored under (a chain written by one version
must verify under the next), the operator's entries, signing and checkpoints of plain
inserts, and the lock file beside a SQLite database. Each test kills mutants mutmut
found surviving (MUTATION.md)."""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from api.audit import (
    GENESIS_HASH,
    AuditEvent,
    canonical_json,
    compute_entry_hash,
    operator_event,
    request_hash,
    store_with_audit,
)
from api.roles import ADMIN
from api.store import Store, init_db
from api.store.models import AuditEntry
from tests.api.tampering import make_anchor


def test_canonical_json_sorts_keys_drops_spaces_keeps_unicode_and_prints_other_values() -> None:
    moment = datetime(2024, 5, 1, 12, 30)
    body = {"b": [1, 2], "a": "Zoë", "c": moment}
    assert canonical_json(body) == '{"a":"Zoë","b":[1,2],"c":"2024-05-01 12:30:00"}'.encode()


def test_a_request_hash_is_the_sha256_of_the_canonical_json_of_the_body() -> None:
    body = {"referral_id": "R-1", "records": [{"agency": "police"}]}
    expected = hashlib.sha256(b'{"records":[{"agency":"police"}],"referral_id":"R-1"}')
    assert request_hash(body) == expected.hexdigest()
    assert request_hash({**body, "referral_id": "R-2"}) != request_hash(body)


def _stored_entry(created_at: datetime) -> AuditEntry:
    return AuditEntry(
        seq=7, created_at=created_at, user_name="ana", role="triage", action="score",
        referral_id="R-1", model_version="3", request_hash="a" * 64,
        details={"band": "high", "n": 2}, prev_hash="b" * 64,
    )


def test_an_entry_hash_covers_its_fields_as_canonical_json_then_the_previous_hash() -> None:
    # The stored format: a chain written by one version must verify under the next.
    fields = {"seq": 7, "created_at": "2024-05-01T12:30:00.000000", "user": "ana",
              "role": "triage", "action": "score", "referral_id": "R-1", "model_version": "3",
              "request_hash": "a" * 64, "details": {"band": "high", "n": 2}}
    text = json.dumps(fields, sort_keys=True, separators=(",", ":")) + "b" * 64
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert compute_entry_hash(_stored_entry(datetime(2024, 5, 1, 12, 30))) == expected
    # PostgreSQL hands the time back aware, SQLite naive: the same instant, the same hash.
    aware = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert compute_entry_hash(_stored_entry(aware)) == expected


def test_an_operator_event_names_the_system_user_as_admin_and_hashes_its_description() -> None:
    event = operator_event("model_promote", model_version="4", reason="board")
    assert event == AuditEvent(
        user_name=f"cli:{getpass.getuser()}", role=ADMIN, action="model_promote",
        model_version="4", details={"reason": "board"},
        request_hash=request_hash({"command": "model_promote", "model_version": "4",
                                   "reason": "board"}),
    )
    plain = operator_event("serve_start")
    assert plain.model_version is None and plain.details == {}
    assert plain.request_hash == request_hash({"command": "serve_start"})


def _event(n: int) -> AuditEvent:
    return AuditEvent(user_name="ana", role="triage", action="score", referral_id=f"R-{n}",
                      request_hash=f"{n:064x}")


def test_plain_inserts_are_signed_and_checkpointed_when_they_pass_a_multiple(
    tmp_path: Path,
) -> None:
    anchor = make_anchor(tmp_path, every=3)
    database = tmp_path / "chain.db"
    init_db(f"sqlite:///{database}")
    store = Store(f"sqlite:///{database}", audit_anchor=anchor)
    try:
        entries = store_with_audit(store.engine, [_event(1), _event(2)])
        assert anchor.read_checkpoints() == []
        entries += store_with_audit(store.engine, [_event(3), _event(4)])
        with store.session() as session:
            stored = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    finally:
        store.dispose()
    assert [entry.entry_mac for entry in stored] == [
        anchor.entry_mac(entry.entry_hash) for entry in stored]
    assert stored[0].prev_hash == GENESIS_HASH
    assert [(c.seq, c.entry_hash) for c in anchor.read_checkpoints()] == [
        (4, entries[3]["entry_hash"])]
    # Appends on a database file are serialised through a lock file beside it.
    assert (tmp_path / "chain.db.audit-lock").exists()

