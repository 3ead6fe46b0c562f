"""The anchored audit chain: every kind of tampering by someone with write access to the
database (but not to the key or checkpoint file) is found, with or without the hashes
recomputed; a clean chain names its last anchored entry; a missing or wrong key is one line.
(The commands and the service: test_audit_anchor_commands.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from api.audit import AuditEvent, commit_with_audit, store_with_audit, verify_chain
from api.audit_anchor import AnchoredResult, checkpoint_head, verify_anchored
from api.audit_key import AuditAnchor, AuditAnchorError, create_key_file, load_key
from api.store import Store
from api.store.models import AUDIT_TABLE
from tests.api.tampering import (
    TAMPERINGS,
    make_anchor,
    read_rows,
    rehash,
    replace_rows,
    tamper,
    without_guards,
)

CHAIN_LENGTH = 6  # with a checkpoint every 2 entries: at 2, 4 and 6, the whole chain


def _event(n: int) -> AuditEvent:
    return AuditEvent(
        user_name=f"user-{n}",
        role="triage",
        action="score",
        referral_id=f"R-{n}",
        model_version="7",
        request_hash=f"{n:064x}",
        details={"n": n, "band": "low"},
    )


def _append(store: Store, first: int, count: int) -> None:
    with store.session() as session:
        for n in range(first, first + count):
            commit_with_audit(session, [_event(n)])


def _verify(store: Store, anchor: AuditAnchor) -> AnchoredResult:
    with store.session() as session:
        return verify_anchored(session, anchor)


def _chain_alone_verifies(store: Store) -> bool:
    with store.session() as session:
        return verify_chain(session).ok


@pytest.fixture
def anchor(tmp_path: Path) -> AuditAnchor:
    return make_anchor(tmp_path)


@pytest.fixture
def chain(fresh_database_url: str, anchor: AuditAnchor) -> Iterator[Store]:
    """Six signed entries, the last anchored, on each backend."""
    store = Store(fresh_database_url, audit_anchor=anchor)
    _append(store, 1, CHAIN_LENGTH)
    yield store
    store.dispose()


def test_an_untampered_chain_verifies_and_names_its_last_anchored_entry(
    chain: Store, anchor: AuditAnchor
) -> None:
    result = _verify(chain, anchor)
    assert result.ok, result.reason
    assert result.last_anchored is not None and result.last_anchored.seq == CHAIN_LENGTH
    assert result.unanchored == 0
    assert f"last anchored entry {CHAIN_LENGTH} (written 20" in result.reason
    assert [c.seq for c in anchor.read_checkpoints()] == [2, 4, 6]


def test_entries_after_the_last_checkpoint_are_counted_as_not_yet_anchored(
    chain: Store, anchor: AuditAnchor
) -> None:
    store_with_audit(chain.engine, [_event(7)])  # the scoring path's append signs too
    result = _verify(chain, anchor)
    assert result.ok and result.chain.checked == 7
    assert result.last_anchored is not None and result.last_anchored.seq == 6
    assert result.unanchored == 1 and "1 not yet anchored" in result.reason


@pytest.mark.parametrize("kind", TAMPERINGS)
def test_tampering_is_detected(chain: Store, anchor: AuditAnchor, kind: str) -> None:
    tamper(chain, kind, recompute=False)
    result = _verify(chain, anchor)
    assert not result.ok, kind


@pytest.mark.parametrize("kind", TAMPERINGS)
def test_tampering_with_every_hash_recomputed_fools_the_chain_but_not_the_anchor(
    chain: Store, anchor: AuditAnchor, kind: str
) -> None:
    tamper(chain, kind, recompute=True)
    assert _chain_alone_verifies(chain)  # the forgery links perfectly
    result = _verify(chain, anchor)
    assert not result.ok, kind
    assert (
        "signature" in result.reason
        or "truncated" in result.reason
        or "not the entry anchored" in result.reason
    )


def test_deleting_the_last_entry_is_named_as_a_truncation(
    chain: Store, anchor: AuditAnchor
) -> None:
    tamper(chain, "delete_last", recompute=False)
    result = _verify(chain, anchor)
    assert not result.ok
    assert result.reason.startswith(f"entries {CHAIN_LENGTH} to {CHAIN_LENGTH} are missing")


def test_a_rewrite_that_also_strips_the_signatures_is_caught_by_the_checkpoints(
    chain: Store, anchor: AuditAnchor
) -> None:
    rows = rehash(TAMPERINGS["edit"](read_rows(chain)))
    replace_rows(chain, [{**row, "entry_mac": None} for row in rows])
    result = _verify(chain, anchor)
    assert not result.ok and result.chain.first_broken_seq is not None
    assert "carries no signature" in result.reason or "not the entry anchored" in result.reason


def test_an_unanchored_entry_edited_and_rehashed_is_caught_by_its_signature(
    chain: Store, anchor: AuditAnchor
) -> None:
    _append(chain, 7, 1)  # entry 7: signed, not yet anchored
    rows = read_rows(chain)
    rows[6]["details"] = {"n": 7, "band": "high"}
    replace_rows(chain, rehash(rows))
    assert _chain_alone_verifies(chain)
    result = _verify(chain, anchor)
    assert not result.ok and result.chain.first_broken_seq == 7
    assert "does not match its signature" in result.reason


def test_an_entry_forged_onto_the_end_is_caught(chain: Store, anchor: AuditAnchor) -> None:
    rows = read_rows(chain)
    forged = {**rows[-1], "details": {"n": 99}, "entry_mac": None}
    replace_rows(chain, rehash([*rows, forged]))
    result = _verify(chain, anchor)
    assert not result.ok and result.chain.first_broken_seq == CHAIN_LENGTH + 1
    assert "carries no signature" in result.reason


def test_a_signature_copied_from_another_entry_is_caught(chain: Store, anchor: AuditAnchor) -> None:
    _append(chain, 7, 1)
    with chain.engine.begin() as connection:
        without_guards(connection)
        mac = connection.execute(AUDIT_TABLE.select().where(AUDIT_TABLE.c.seq == 6)).one().entry_mac
        connection.execute(update(AUDIT_TABLE).where(AUDIT_TABLE.c.seq == 7).values(entry_mac=mac))
    result = _verify(chain, anchor)
    assert not result.ok and result.chain.first_broken_seq == 7


def test_an_edited_checkpoint_file_is_refused(chain: Store, anchor: AuditAnchor) -> None:
    lines = anchor.checkpoint_file.read_text().splitlines()
    lines[-1] = lines[-1].replace('"seq": 6', '"seq": 5')
    anchor.checkpoint_file.write_text("\n".join(lines) + "\n")
    with pytest.raises(AuditAnchorError, match="line 3 does not match its signature: edited"):
        _verify(chain, anchor)


def test_the_wrong_key_is_named_in_one_line(chain: Store, tmp_path: Path) -> None:
    other = make_anchor(tmp_path / "other")
    wrong = AuditAnchor(other.key, tmp_path / "checkpoints.jsonl")
    with pytest.raises(AuditAnchorError, match="wrong key file") as raised:
        _verify(chain, wrong)
    assert "\n" not in str(raised.value)


def test_a_missing_key_file_is_named_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(AuditAnchorError, match="does not exist") as raised:
        load_key(tmp_path / "absent.key")
    assert "\n" not in str(raised.value) and "SAFEGUARD_AUDIT_KEY_FILE" in str(raised.value)


def test_the_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    anchor = make_anchor(tmp_path)
    assert (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(AuditAnchorError, match="already exists"):
        create_key_file(tmp_path / "audit.key")
    assert load_key(tmp_path / "audit.key") == anchor.key
    anchor.write_checkpoint(seq=1, entry_hash="a" * 64, entry_time=datetime.now(UTC))
    assert anchor.key.hex() not in anchor.checkpoint_file.read_text()
    assert anchor.key.hex() not in repr(anchor)


def test_entries_written_before_the_key_must_be_adopted_once(
    fresh_database_url: str, anchor: AuditAnchor
) -> None:
    legacy = Store(fresh_database_url)
    _append(legacy, 1, 3)
    legacy.dispose()
    store = Store(fresh_database_url, audit_anchor=anchor)
    _append(store, 4, 3)  # signed from here on; checkpoints at 4 and 6
    result = _verify(store, anchor)
    assert not result.ok and result.chain.first_broken_seq == 1
    assert "--adopt-unsigned" in result.reason
    with store.session() as session:
        assert verify_anchored(session, anchor, adopt_through=3).ok
        checkpoint_head(session, anchor, adopt_unsigned=3)
    assert _verify(store, anchor).ok
    store.dispose()


def test_deleting_unanchored_entries_from_the_end_is_the_residual_risk(
    chain: Store, anchor: AuditAnchor
) -> None:
    """What docs/audit-trail.md says stays unseen: the tail after the last checkpoint."""
    _append(chain, 7, 1)
    assert _verify(chain, anchor).unanchored == 1
    tamper(chain, "delete_last", recompute=False)
    result = _verify(chain, anchor)
    assert result.ok and result.unanchored == 0 and result.chain.checked == CHAIN_LENGTH
