"""No API key, pepper or pseudonymisation key of the suite ever shows in the logs, an answer
(error bodies included) or the audit trail, whatever a caller does."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.store import AuditEntry, Store
from api.store.models import AUDIT_TABLE
from data_contracts.pseudonymise import KEY_ENV_VAR
from tests.api.conftest import TEST_PEPPER, issue_keys, make_settings
from tests.api.factories import case as case_payload
from tests.api.fakes import FakeScorer
from tests.data_contracts.test_pseudonymise import KEY as PSEUDONYMISATION_KEY


def secrets_of(keys: Iterable[str]) -> list[str]:
    """Each key whole and its secret part, the pepper, and the pseudonymisation key in
    each form it is written in."""
    found = [TEST_PEPPER, PSEUDONYMISATION_KEY.decode(), PSEUDONYMISATION_KEY.hex()]
    for key in keys:
        found += [key, key.split(".", 1)[1]]
    return found


def assert_nowhere(secrets: list[str], texts: dict[str, str]) -> None:
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret shows in {where}"


def service_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the service logged (not the test's HTTP client, which logs the URLs it calls)."""
    return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
                     if not r.name.startswith(("httpx", "httpcore")))


def _audit_text(url: str) -> str:
    store = Store(url)
    with store.session() as session:
        rows = session.scalars(select(AuditEntry)).all()
        columns = [column.name for column in AUDIT_TABLE.columns]
        text = json.dumps([{c: str(getattr(r, c)) for c in columns} for r in rows])
    store.dispose()
    return text


def test_no_secret_in_logs_answers_or_audit_whatever_the_caller_does(
    fresh_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(fresh_database_url, auth_failures_per_key=2,
                             auth_failures_per_address=8, max_body_bytes=4096)
    keys, revoked = issue_keys(settings)
    triage, wrong = keys["triage"], keys["triage"][:-3] + "abc"
    answers = []
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings, FakeScorer())) as client:

        def call(method: str, path: str, key: str, *, content_type: str = "application/json",
                 **kwargs: object) -> None:
            headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
            answer = client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
            answers.append(f"{answer.status_code} {dict(answer.headers)} {answer.text}")

        case = case_payload(referral_id="leak-1")
        call("POST", "/v1/score", triage, json=case)
        call("POST", "/v1/decisions", triage, json={
            "referral_id": "leak-1", "practitioner_rag": "red", "next_step": "visit",
            "agrees_with_band": False, "reason": "known to police"})
        call("POST", "/v1/score", triage, json={**case, "referral": {}})  # 422
        call("POST", "/v1/score", triage, content=b"x" * 5000)  # 413
        call("POST", "/v1/score", triage, content=triage.encode(), content_type="text/plain")
        for key in (wrong, wrong, wrong, revoked, "no-dot", triage + "x", keys["admin"]):
            call("GET", "/v1/model", key)  # 401s, a key id locked out (429), an address
        call("GET", "/v1/referrals/leak-1", keys["governance"])
        call("GET", "/v1/audit", keys["governance"], params={"user": triage})
    texts = {"the logs": service_log(caplog), "the answers": "\n".join(answers),
             "the audit trail": _audit_text(fresh_database_url)}
    assert "auth_lockout" in texts["the audit trail"]  # the refusals did happen
    assert_nowhere(secrets_of([*keys.values(), revoked]), texts)


def test_no_pseudonymisation_key_in_the_command_line_output_or_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = tmp_path / "people.csv"
    source.write_text("person_id,household_id\nP1,H1\nP2,H2\n")
    runner = CliRunner()
    monkeypatch.setenv(KEY_ENV_VAR, PSEUDONYMISATION_KEY.decode())
    done = runner.invoke(cli, ["pseudonymise", str(source), str(tmp_path / "out.csv")])
    monkeypatch.setenv(KEY_ENV_VAR, PSEUDONYMISATION_KEY.decode()[:8])  # too short
    refused = runner.invoke(cli, ["pseudonymise", str(source), str(tmp_path / "out2.csv")])
    assert done.exit_code == 0 and refused.exit_code != 0
    assert_nowhere(secrets_of([]), {"the output": done.output + refused.output,
                                    "the logs": service_log(caplog),
                                    "the tokens": (tmp_path / "out.csv").read_text()})
