"""The audit anchor as an operator meets it: `safeguard audit verify|checkpoint|init-key`,
the service signing and anchoring its head when it stops, `serve` refusing a missing key."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.admin import register
from api.app import create_app
from api.audit_anchor import verify_anchored
from api.audit_key import create_key_file, load_key
from api.roles import ADMIN
from api.server import serve
from api.store import Store
from tests.api.conftest import TEST_PEPPER, issue_keys, make_settings
from tests.api.fakes import FakeScorer
from tests.api.tampering import CHECKPOINT_EVERY, make_anchor, tamper
from tests.api.web_client import signed_in_client


@pytest.fixture
def cli(fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`safeguard users|audit|db` on a database of each backend, anchored: key made by
    `audit init-key`, a checkpoint every 2 entries."""
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("SAFEGUARD_API_KEY_PEPPER", TEST_PEPPER)
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_EVERY", str(CHECKPOINT_EVERY))
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
    assert code == 1
    assert output.startswith("error: ") and output.count("\n") == 1, output
    assert ("does not exist" if problem == "missing" else "wrong key file") in output


def test_the_service_signs_what_it_audits_and_anchors_its_head_when_it_stops(
    fresh_database_url: str, tmp_path: Path
) -> None:
    anchor = make_anchor(tmp_path, every=1000)
    settings = make_settings(
        fresh_database_url,
        audit_key_file=tmp_path / "audit.key",
        audit_checkpoint_file=anchor.checkpoint_file,
        audit_checkpoint_every=1000,
    )
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        for _ in range(3):  # each read of the trail is itself audited
            response = client.get("/v1/audit", headers={"Authorization": f"Bearer {keys[ADMIN]}"})
            assert response.status_code == 200
            assert "entry_mac" not in response.text
        assert anchor.read_checkpoints() == []  # none due yet: every 1,000 entries
    checkpoints = anchor.read_checkpoints()
    assert [c.seq for c in checkpoints] == [9]  # 1 to 6: the users issue_keys adds, revokes
    store = Store(fresh_database_url)
    with store.session() as session:
        result = verify_anchored(session, anchor)
    store.dispose()
    assert result.ok and result.unanchored == 0, result.reason


def test_init_key_works_where_production_settings_wait_for_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_ENVIRONMENT", "production")
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["audit", "init-key"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600


def test_serve_with_a_missing_audit_key_stops_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "absent.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    app = typer.Typer()
    app.command("serve")(serve)
    app.command("other")(lambda: None)  # two commands: `serve` is named on the command line
    # Without the check, an address no host has ends it before anything starts.
    result = CliRunner().invoke(app, ["serve", "--host", "256.0.0.1"])
    assert result.exit_code != 0
    assert "absent.key does not exist" in result.output and result.output.count("\n") == 1


def test_the_audit_page_verifies_the_trail_as_the_command_does(
    fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.audit import commit_with_audit, operator_event
    from api.roles import GOVERNANCE

    anchor = make_anchor(tmp_path, every=1000)
    settings = make_settings(fresh_database_url, audit_key_file=tmp_path / "audit.key",
                             audit_checkpoint_file=anchor.checkpoint_file,
                             audit_checkpoint_every=1000)
    keys, _ = issue_keys(settings)

    def status(browser: TestClient) -> str:
        page = browser.get("/governance/audit").text
        return " ".join(page.split("<h2", 2)[1].split())  # the Verification section

    with TestClient(create_app(settings, FakeScorer())) as client:
        browser = signed_in_client(client, keys[GOVERNANCE])
        intact = status(browser)
        assert "Intact" in intact and "carries the audit key's signature" in intact
        unsigned = Store(fresh_database_url)  # no audit key: what `model approve` once did
        with unsigned.session() as session:
            commit_with_audit(session, [operator_event("model_approve", model_version="1")])
        unsigned.dispose()
        broken = status(browser)
    # Entries 1 to 6: the users added and the one revoked; 7 and 8: the sign-in and the
    # first view; 9: the unsigned one.
    assert "Intact" not in broken and "The audit trail is broken at entry 9" in broken
    assert "entry 9 carries no signature" in broken
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(anchor.checkpoint_file))
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN at entry 9: entry 9 carries no signature" in \
        " ".join(result.output.split())


@pytest.mark.parametrize("file", ["deleted", "emptied", "mistyped"])
def test_verify_fails_when_no_checkpoint_anchors_a_chain_that_was_due_one(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file: str  # type: ignore[no-untyped-def]
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    assert checkpoints.read_text()  # three entries, a checkpoint every 2: one was written
    if file == "deleted":
        checkpoints.unlink()
    elif file == "emptied":
        checkpoints.write_text("")
    else:
        monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoint.jsonl"))
    code, output = cli("audit", "verify")
    output = " ".join(output.split())
    assert code == 1 and "3 entries and no checkpoint" in output, output
    assert ("is empty" if file == "emptied" else "does not exist") in output
    assert "SAFEGUARD_AUDIT_CHECKPOINT_FILE names the wrong file" in output


def test_a_chain_no_checkpoint_was_due_for_yet_verifies_and_says_it_is_not_anchored(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    (tmp_path / "checkpoints.jsonl").unlink()
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_EVERY", "100")
    code, output = cli("audit", "verify")
    output = " ".join(output.split())
    assert code == 0 and "NOT ANCHORED yet" in output and "no checkpoint was due" in output
    assert cli("audit", "checkpoint")[0] == 0  # the first anchoring is not refused
    code, output = cli("audit", "verify")
    assert code == 0 and "last anchored entry 3" in output and "NOT ANCHORED" not in output
