"""The audit chain: intact under concurrent appends; edits, insertions and deletions named."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.audit import AuditEvent, commit_with_audit, store_with_audit, verify_chain
from api.audit_anchor import verify_anchored
from api.audit_key import AuditAnchor
from api.store import Store
from tests.api.tampering import make_anchor, without_guards


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        user_name=f"user-{n % 3}",
        role="triage",
        action="score",
        referral_id=f"R-{n}",
        model_version="7",
        request_hash=f"{n:064x}",
        details={"n": n, "band": "low"},
    )


def _append(store: Store, count: int) -> None:
    with store.session() as session:
        for n in range(count):
            commit_with_audit(session, [_event(n)])


def _verify(store: Store):  # type: ignore[no-untyped-def]
    with store.session() as session:
        return verify_chain(session)


@pytest.fixture
def chain(fresh_database_url: str):  # type: ignore[no-untyped-def]
    store = Store(fresh_database_url)
    _append(store, 6)
    yield store
    store.dispose()


def test_an_untouched_chain_verifies(chain: Store) -> None:
    result = _verify(chain)
    assert result.ok and result.checked == 6 and result.first_broken_seq is None


def test_an_edited_entry_is_named(chain: Store) -> None:
    with chain.engine.begin() as connection:
        without_guards(connection)
        connection.execute(
            text("UPDATE audit_entries SET user_name = 'someone-else' WHERE seq = 3")
        )
    result = _verify(chain)
    assert not result.ok
    assert result.first_broken_seq == 3 and "edited" in result.reason
    assert result.checked == 2


def test_an_inserted_entry_is_named(chain: Store) -> None:
    with chain.engine.begin() as connection:
        without_guards(connection)
        # Make room at 3 (two steps, so the unique sequence never collides), then slip one in.
        connection.execute(text("UPDATE audit_entries SET seq = -(seq + 1) WHERE seq >= 3"))
        connection.execute(text("UPDATE audit_entries SET seq = -seq WHERE seq < 0"))
        connection.execute(
            text(
                "INSERT INTO audit_entries (seq, created_at, user_name, role, action, referral_id,"
                " model_version, request_hash, prev_hash, entry_hash, details) SELECT 3,"
                " created_at, user_name, role, 'case_view', referral_id, model_version,"
                " request_hash, entry_hash, entry_hash, details FROM audit_entries WHERE seq = 2"
            )
        )
    result = _verify(chain)
    assert not result.ok and result.first_broken_seq == 3


def test_a_deleted_entry_is_named(chain: Store) -> None:
    with chain.engine.begin() as connection:
        without_guards(connection)
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
    result = _verify(chain)
    assert not result.ok
    assert result.first_broken_seq == 4 and "missing" in result.reason


def test_the_database_refuses_updates_and_deletes_of_audit_entries(chain: Store) -> None:
    for statement in (
        "UPDATE audit_entries SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"), chain.engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(chain).ok


def test_concurrent_appends_never_fork_the_chain(fresh_database_url: str) -> None:
    store = Store(fresh_database_url)
    threads = [threading.Thread(target=_append, args=(store, 15)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = _verify(store)
    store.dispose()
    assert result.ok, result.reason
    assert result.checked == 90


def _append_from_a_process(url: str, start: int, count: int, ready: Any,
                           anchor: AuditAnchor) -> None:
    """One server process appending: sessions (decisions, views) and plain inserts (scores),
    signing its entries and writing checkpoints to the one checkpoint file."""
    store = Store(url, audit_anchor=anchor)
    with store.session() as session:
        verify_chain(session)  # connected and warmed up before the others are let go
    ready.wait()
    for n in range(start, start + count):
        if n % 2:
            with store.session() as session:
                commit_with_audit(session, [_event(n)])
        else:
            store_with_audit(store.engine, [_event(n)])
    store.dispose()


def test_appends_from_several_processes_never_fork_the_chain(fresh_database_url: str,
                                                             tmp_path: Path) -> None:
    # `safeguard serve --workers N` runs N processes on one database (SQLite: one file)
    # and one checkpoint file.
    anchor = make_anchor(tmp_path, every=7)
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(3)
    workers = [context.Process(target=_append_from_a_process,
                               args=(fresh_database_url, 1000 * w, 150, ready, anchor))
               for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    store = Store(fresh_database_url)
    result = _verify(store)
    with store.session() as session:
        anchored = verify_anchored(session, anchor)
    store.dispose()
    assert result.ok and result.checked == 450, result.reason
    assert anchored.ok, anchored.reason  # every checkpoint line whole, each matching its entry
    assert anchored.last_anchored is not None and anchored.last_anchored.seq >= 450 - 6
    assert len(anchor.read_checkpoints()) >= 450 // 7 - 2
