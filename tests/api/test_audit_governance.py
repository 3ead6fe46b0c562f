"""Who may do what, and which model may be served, are rows of the database: a user made
admin, a revoked key restored, an approval no governance user gave or a rejection
deleted, each written there directly, is refused by the gate (approvals) and named by
`safeguard audit verify`, against the signed entries that vouch for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from api.approval_content import content_hashes
from api.approvals import record_decision
from api.model_card import log_card
from api.roles import GOVERNANCE
from api.store import Store
from api.store.models import AuditEntry, ModelApproval
from model.acceptance import unmet
from model.card import acceptance_checks
from model.card_sources import read_sources
from model.registry import ModelRegistry
from tests.api.test_model_commands import Run, approve, registry, run  # noqa: F401


@pytest.fixture
def anchored(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:  # noqa: F811
    """The test's store, migrated, its chain anchored as a hub runs it."""
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    assert run("audit", "init-key")[0] == 0
    assert run("db", "upgrade")[0] == 0
    return Store(f"sqlite:///{tmp_path / 'api.db'}")


def _execute(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(sql), params)


def _verify(run: Run) -> str:  # noqa: F811
    assert run("audit", "checkpoint")[0] in (0, 1)  # anchored, unless already broken
    code, output = run("audit", "verify")
    assert code == 1 and "BROKEN" in output, output
    return " ".join(output.split())


def test_an_approval_written_into_the_database_is_no_approval(
    run: Run, registry: ModelRegistry, anchored: Store  # noqa: F811
) -> None:
    log_card(registry, registry.resolve("1"), board=None)
    info, sources = registry.resolve("1"), read_sources(registry, "1")
    hashes = content_hashes(registry, info, sources)
    with anchored.session() as session:  # hashes and waivers as an approval would name them
        session.add(ModelApproval(
            model_name=info.name, model_version="1", decision="approve", reason="forged",
            waivers={c.name: "forged" for c in unmet(acceptance_checks(sources))},
            user_name="governance-x", model_sha256=hashes.model,
            fairness_sha256=hashes.fairness, card_sha256=hashes.card,
            sources_sha256=dict(hashes.files)))
        session.commit()
    code, output = run("model", "promote", "1")
    assert code == 1 and "has no audit entry" in output, output
    assert registry.list_versions()[0].aliases == ()
    with anchored.session() as session:
        last = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq.desc()))
        assert last.first() == "model_promote_refused"
    assert "model_approvals row 1 has no audit entry" in _verify(run)


def test_a_deleted_rejection_does_not_bring_the_approval_before_it_back(
    run: Run, registry: ModelRegistry, anchored: Store, tmp_path: Path  # noqa: F811
) -> None:
    approve(tmp_path, registry, "1")
    with anchored.session() as session:
        record_decision(session, registry, user="governance-y", role=GOVERNANCE, version="1",
                        decision="reject", reason="unfair to one group", board=None)
    _execute(anchored, "DELETE FROM model_approvals WHERE decision = 'reject'")
    code, output = run("model", "promote", "1")
    output = " ".join(output.split())
    assert code == 1 and "is not the latest decision about it in the audit trail" in output
    assert registry.list_versions()[0].aliases == ()
    said = _verify(run)
    assert "a model_approvals row (a decision about version 1) is missing: audit entry" in said


@pytest.mark.parametrize(("sql", "named"), [
    ("UPDATE users SET role = 'admin' WHERE name = 'ann'", "users row 1 differs from audit "
     "entry 2: role"),
    ("UPDATE users SET revoked_at = NULL WHERE name = 'bob'", "users row 2 differs from audit "
     "entry 3: revoked_at"),
    ("UPDATE users SET key_salt = (SELECT key_salt FROM users WHERE name = 'bob'), key_hash = "
     "(SELECT key_hash FROM users WHERE name = 'bob') WHERE name = 'ann'",
     "users row 1 differs from audit entry 2: key_salt or key_hash"),
    ("INSERT INTO users (name, role, key_id, key_salt, key_hash, created_at) SELECT 'eve', "
     "'admin', 'e0e0e0e0e0e0e0e0', key_salt, key_hash, created_at FROM users WHERE name = "
     "'ann'", "users row 3 has no audit entry"),
    ("DELETE FROM users WHERE name = 'bob'", "a users row (user 'bob') is missing: audit "
     "entry 3 vouches for it"),
])
def test_a_user_changed_in_the_database_is_named(
    run: Run, anchored: Store, sql: str, named: str  # noqa: F811
) -> None:
    # Entry 1: the database upgrade; 2 adds ann, 3 bob, 4 revokes him.
    for name in ("ann", "bob"):
        assert run("users", "add", name, "--role", "triage")[0] == 0
    assert run("users", "revoke", "bob")[0] == 0
    code, output = run("audit", "verify")
    assert code == 0 and "2 users match their audit entries" in output, output
    _execute(anchored, sql)
    assert named in _verify(run)
