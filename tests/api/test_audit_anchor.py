"""The anchored audit chain: every kind of tampering by someone with write access to the
database (but not to the key or checkpoint file) is found, with or without the hashes
recomputed; a clean chain names its last anchored entry; a missing or wrong key is one line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from api.admin import register
from api.app import create_app
from api.audit import AuditEvent, commit_with_audit, store_with_audit, verify_chain
from api.audit_anchor import AnchoredResult, checkpoint_head, verify_anchored
from api.audit_key import AuditAnchor, AuditAnchorError, create_key_file, load_key
from api.roles import ADMIN
from api.server import serve
from api.store import Store
from api.store.models import AUDIT_TABLE
from tests.api.conftest import TEST_PEPPER, issue_keys, make_settings
from tests.api.fakes import FakeScorer
from tests.api.tampering import TAMPERINGS, read_rows, rehash, replace_rows, tamper, without_guards

CHAIN_LENGTH = 6
EVERY = 2  # checkpoints at entries 2, 4 and 6: the whole chain is anchored


def _event(n: int) -> AuditEvent:
    return AuditEvent(user_name=f"user-{n}", role="triage", action="score",
                      referral_id=f"R-{n}", model_version="7", request_hash=f"{n:064x}",
                      details={"n": n, "band": "low"})


def make_anchor(folder: Path, *, every: int = EVERY) -> AuditAnchor:
    """A fresh key (mode 0600) and checkpoint file in ``folder``."""
    create_key_file(folder / "audit.key")
    return AuditAnchor(load_key(folder / "audit.key"), folder / "checkpoints.jsonl", every)


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
        chain: Store, anchor: AuditAnchor) -> None:
    result = _verify(chain, anchor)
    assert result.ok, result.reason
    assert result.last_anchored is not None and result.last_anchored.seq == CHAIN_LENGTH
    assert result.unanchored == 0
    assert f"last anchored entry {CHAIN_LENGTH} (written 20" in result.reason
    assert [c.seq for c in anchor.read_checkpoints()] == [2, 4, 6]


def test_entries_after_the_last_checkpoint_are_counted_as_not_yet_anchored(
        chain: Store, anchor: AuditAnchor) -> None:
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
        chain: Store, anchor: AuditAnchor, kind: str) -> None:
    tamper(chain, kind, recompute=True)
    assert _chain_alone_verifies(chain)  # the forgery links perfectly
    result = _verify(chain, anchor)
    assert not result.ok, kind
    assert ("signature" in result.reason or "truncated" in result.reason
            or "not the entry anchored" in result.reason)


def test_deleting_the_last_entry_is_named_as_a_truncation(chain: Store,
                                                          anchor: AuditAnchor) -> None:
    tamper(chain, "delete_last", recompute=False)
    result = _verify(chain, anchor)
    assert not result.ok
    assert result.reason.startswith(f"entries {CHAIN_LENGTH} to {CHAIN_LENGTH} are missing")


def test_a_rewrite_that_also_strips_the_signatures_is_caught_by_the_checkpoints(
        chain: Store, anchor: AuditAnchor) -> None:
    rows = rehash(TAMPERINGS["edit"](read_rows(chain)))
    replace_rows(chain, [{**row, "entry_mac": None} for row in rows])
    result = _verify(chain, anchor)
    assert not result.ok and result.chain.first_broken_seq is not None
    assert "carries no signature" in result.reason or "not the entry anchored" in result.reason


def test_an_unanchored_entry_edited_and_rehashed_is_caught_by_its_signature(
        chain: Store, anchor: AuditAnchor) -> None:
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


def test_a_signature_copied_from_another_entry_is_caught(chain: Store,
                                                         anchor: AuditAnchor) -> None:
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


def test_entries_written_before_the_key_must_be_adopted_once(fresh_database_url: str,
                                                             anchor: AuditAnchor) -> None:
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


# --- The command line, as an operator runs it ---


@pytest.fixture
def cli(fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`safeguard users|audit|db` on a database of each backend, anchored: key made by
    `audit init-key`, a checkpoint every 2 entries."""
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("SAFEGUARD_API_KEY_PEPPER", TEST_PEPPER)
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_EVERY", str(EVERY))
    app = typer.Typer()
    register(app)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.output

    code, output = run("audit", "init-key")
    assert code == 0 and "Created the audit key file" in output
    assert load_key(tmp_path / "keys" / "audit.key").hex() not in output
    for name in ("ann", "bob", "cat"):
        assert run("users", "add", name, "--role", "triage")[0] == 0
    return run


def test_verify_names_the_last_anchored_entry(cli) -> None:  # type: ignore[no-untyped-def]
    code, output = cli("audit", "verify")
    assert code == 0, output
    assert "OK: 3 entries, chain intact; last anchored entry 2 (written 20" in output
    assert "1 not yet anchored" in output
    code, output = cli("audit", "checkpoint")
    assert code == 0 and "Anchored entry 3" in output
    code, output = cli("audit", "verify")
    assert "last anchored entry 3" in output and "0 not yet anchored" in output


def test_verify_finds_the_deleted_last_entry(cli, fresh_database_url: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("audit", "checkpoint")[0] == 0  # entry 3, the last, anchored
    store = Store(fresh_database_url)
    tamper(store, "delete_last", recompute=False)
    store.dispose()
    code, output = cli("audit", "verify")
    assert code == 1 and "BROKEN" in output and "the chain was truncated" in output
    assert cli("audit", "checkpoint")[0] == 1  # nothing is anchored over a broken chain


@pytest.mark.parametrize("problem", ["missing", "wrong"])
def test_a_missing_or_wrong_key_is_one_line(cli, tmp_path: Path, problem: str) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "keys" / "audit.key"
    key_file.unlink()
    if problem == "wrong":
        create_key_file(key_file)
    code, output = cli("audit", "verify")
    assert code == 2
    assert output.startswith("ERROR: ") and output.count("\n") == 1, output
    assert ("does not exist" if problem == "missing" else "wrong key file") in output


def test_the_service_signs_what_it_audits_and_anchors_its_head_when_it_stops(
        fresh_database_url: str, tmp_path: Path) -> None:
    anchor = make_anchor(tmp_path, every=1000)
    settings = make_settings(fresh_database_url, audit_key_file=tmp_path / "audit.key",
                             audit_checkpoint_file=anchor.checkpoint_file,
                             audit_checkpoint_every=1000)
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        for _ in range(3):  # each read of the trail is itself audited
            response = client.get("/v1/audit", headers={"Authorization": f"Bearer {keys[ADMIN]}"})
            assert response.status_code == 200
            assert "entry_mac" not in response.text
        assert anchor.read_checkpoints() == []  # none due yet: every 1,000 entries
    checkpoints = anchor.read_checkpoints()
    assert [c.seq for c in checkpoints] == [3]
    store = Store(fresh_database_url)
    result = _verify(store, anchor)
    store.dispose()
    assert result.ok and result.unanchored == 0, result.reason


def test_init_key_works_where_production_settings_wait_for_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_ENVIRONMENT", "production")
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["audit", "init-key"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600


def test_deleting_unanchored_entries_from_the_end_is_the_residual_risk(
        chain: Store, anchor: AuditAnchor) -> None:
    """What the README says stays unseen: the tail after the last checkpoint."""
    _append(chain, 7, 1)
    assert _verify(chain, anchor).unanchored == 1
    tamper(chain, "delete_last", recompute=False)
    result = _verify(chain, anchor)
    assert result.ok and result.unanchored == 0 and result.chain.checked == CHAIN_LENGTH


def test_serve_with_a_missing_audit_key_stops_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "absent.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    app = typer.Typer()
    app.command("serve")(serve)
    app.command("other")(lambda: None)  # two commands: `serve` is named on the command line
    # Without the check, an address no host has ends it before anything starts.
    result = CliRunner().invoke(app, ["serve", "--host", "256.0.0.1"])
    assert result.exit_code != 0
    assert "absent.key does not exist" in result.output and result.output.count("\n") == 1
