"""The audit chain's exact formats and side effects, which the tamper tests leave free:
the canonical JSON and hash an entry is stored under (a chain written by one version
must verify under the next), the operator's entries, signing and checkpoints of plain
inserts, and the lock file beside a SQLite database. Each test kills mutants mutmut
found surviving (MUTATION.md)."""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from api.audit import (
    GENESIS_HASH,
    AuditEvent,
    VerifyResult,
    canonical_json,
    commit_with_audit,
    compute_entry_hash,
    operator_event,
    request_hash,
    store_with_audit,
    verify_chain,
)
from api.roles import ADMIN
from api.store import Store, init_db
from api.store.models import REFERRAL_PERSON_TABLE, AuditEntry
from tests.api.tampering import make_anchor, read_rows, replace_rows


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


def test_an_entry_hash_does_not_depend_on_the_servers_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aware = _stored_entry(datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))))
    naive = _stored_entry(datetime(2024, 5, 1, 12, 30))
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert compute_entry_hash(aware) == compute_entry_hash(naive)
    finally:
        monkeypatch.undo()
        time.tzset()


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



def _chain(folder: Path, length: int) -> Store:
    url = f"sqlite:///{folder / 'walk.db'}"
    init_db(url)
    store = Store(url)
    with store.session() as session:
        for n in range(1, length + 1):
            commit_with_audit(session, [_event(n)])
    return store


def test_the_chain_is_walked_in_sequence_order_whatever_order_its_rows_are_stored_in(
    tmp_path: Path,
) -> None:
    store = _chain(tmp_path, 5)
    rows = read_rows(store)
    replace_rows(store, rows[::-1])  # a restore that wrote the rows last first
    with store.session() as session:
        result = verify_chain(session, batch_size=2)
    store.dispose()
    assert result == VerifyResult(True, 5, None, "5 entries, chain intact", rows[-1]["entry_hash"])


def test_an_entry_check_runs_on_each_linked_entry_and_its_answer_breaks_the_chain(
    tmp_path: Path,
) -> None:
    store = _chain(tmp_path, 5)
    seen: list[int] = []

    def unsigned_third(entry: AuditEntry) -> str:
        seen.append(entry.seq)
        return "entry 3 is not signed" if entry.seq == 3 else ""

    with store.session() as session:
        result = verify_chain(session, entry_check=unsigned_third)
    rows = read_rows(store)
    store.dispose()
    assert seen == [1, 2, 3]
    assert result == VerifyResult(False, 2, 3, "entry 3 is not signed", rows[1]["entry_hash"])


def test_a_session_commit_writes_its_inserts_with_its_entries_and_checkpoints_them(
    tmp_path: Path,
) -> None:
    anchor = make_anchor(tmp_path, every=2)
    url = f"sqlite:///{tmp_path / 'session.db'}"
    init_db(url)
    store = Store(url, audit_anchor=anchor)
    people = [{"referral_id": "R-1", "person_id": p, "role": "subject"} for p in ("P-1", "P-2")]
    with store.session() as session:
        (first,) = commit_with_audit(session, [_event(1)], inserts={REFERRAL_PERSON_TABLE: people})
        assert anchor.read_checkpoints() == []
        (second,) = commit_with_audit(session, [_event(2)])
    with store.engine.connect() as connection:
        stored = connection.execute(
            select(REFERRAL_PERSON_TABLE.c.person_id).order_by(REFERRAL_PERSON_TABLE.c.id)).all()
    store.dispose()
    assert [row.person_id for row in stored] == ["P-1", "P-2"]
    assert [(c.seq, c.entry_hash) for c in anchor.read_checkpoints()] == [
        (2, second["entry_hash"])]
    assert second["prev_hash"] == first["entry_hash"]
