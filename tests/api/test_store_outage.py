"""While the store is unreachable every /v1 route answers 503 with Retry-After; the
service recovers by itself when the store is back, with every acknowledged write kept;
`safeguard serve` against an unreachable store says so in one line."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from api import service
from api.app import create_app
from api.audit import operator_event, verify_chain
from api.audit_key import create_key_file
from api.store import AuditEntry, Store, init_db, repository
from tests.api import factories
from tests.api.conftest import TEST_PEPPER, issue_keys, make_settings
from tests.api.fakes import FakeScorer
from tests.api.outage import Relay
from tests.api.served import SAFEGUARD, free_port

UNREACHABLE_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/safeguard"


def _routes() -> list[tuple[str, str, Any]]:
    case = factories.case(events=3)
    rid = case["referral"]["referral_id"]
    return [
        ("GET", "/v1/model", None),
        ("POST", "/v1/score", case),
        ("POST", "/v1/score/batch", {"cases": [case]}),
        ("POST", "/v1/decisions", factories.decision(rid)),
        ("GET", f"/v1/referrals/{rid}", None),
        ("GET", "/v1/audit?user=someone", None),
    ]


def _assert_unavailable(client: TestClient, key: str) -> None:
    for method, path, body in _routes():
        response = client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 503, (path, response.text)
        assert response.headers["Retry-After"] == "5"
        assert "store is unavailable" in response.json()["detail"]
    assert client.get("/readyz").status_code == 503


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(UNREACHABLE_POSTGRES, marks=pytest.mark.postgres, id="postgresql"),
        pytest.param("sqlite:///{tmp}/a-folder.db", id="sqlite"),
    ],
)
def test_every_route_answers_503_while_the_store_is_unreachable(url: str, tmp_path: Path) -> None:
    (tmp_path / "a-folder.db").mkdir()  # SQLite cannot open a folder as its file
    app = create_app(make_settings(url.format(tmp=tmp_path)), FakeScorer())
    with TestClient(app) as client:
        _assert_unavailable(client, "k1d.any-secret")


def test_every_v1_route_documents_the_503(tmp_path: Path) -> None:
    spec = create_app(make_settings(f"sqlite:///{tmp_path / 'api.db'}")).openapi()
    operations = [
        op for path, ops in spec["paths"].items() if path.startswith("/v1") for op in ops.values()
    ]
    assert len(operations) >= len(_routes())
    assert all("store is unreachable" in op["responses"]["503"]["description"] for op in operations)


def test_sqlite_recovers_when_its_file_becomes_usable(tmp_path: Path) -> None:
    path = tmp_path / "api.db"
    path.mkdir()
    url = f"sqlite:///{path}"
    with TestClient(create_app(make_settings(url), FakeScorer())) as client:
        _assert_unavailable(client, "k1d.any-secret")
        path.rmdir()
        init_db(url)
        keys, _ = issue_keys(make_settings(url))
        case = factories.case(events=3)
        answer = client.post(
            "/v1/score", json=case, headers={"Authorization": f"Bearer {keys['triage']}"}
        )
        assert answer.status_code == 200, answer.text


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_outage_answers_503_then_recovers_keeping_acknowledged_writes(
    database_url: str,
) -> None:
    target = make_url(database_url)
    relay = Relay((target.host or "127.0.0.1", target.port or 5432))
    relay.up()
    url = target.set(port=relay.port).render_as_string(hide_password=False)
    keys, _ = issue_keys(make_settings(url))
    headers = {"Authorization": f"Bearer {keys['triage']}"}
    acknowledged = factories.case(events=3)
    rid = acknowledged["referral"]["referral_id"]
    try:
        with TestClient(create_app(make_settings(url), FakeScorer())) as client:
            assert client.post("/v1/score", json=acknowledged, headers=headers).status_code == 200
            decided = client.post("/v1/decisions", json=factories.decision(rid), headers=headers)
            assert decided.status_code == 201

            relay.down()  # the server goes away, pooled connections with it
            _assert_unavailable(client, keys["triage"])

            relay.up()  # back: the next requests work without a restart
            assert client.get("/readyz").status_code == 200
            later = factories.case(events=3)
            assert client.post("/v1/score", json=later, headers=headers).status_code == 200
            view = client.get(f"/v1/referrals/{rid}", headers=headers).json()
            assert [d["id"] for d in view["decisions"]] == [decided.json()["id"]]
    finally:
        relay.down()
    store = Store(database_url)
    with store.session() as session:
        assert len(repository.scores_for(session, rid)) == 1
        assert verify_chain(session).ok
    store.dispose()


def _started_pids(url: str) -> list[int]:
    store = Store(url)
    with store.session() as session:
        pids = [
            e.details["pid"]
            for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "service_start"))
        ]
    store.dispose()
    return pids


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_starting_during_an_outage_boots_and_audits_its_start_once_back(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "START_AUDIT_RETRY_SECONDS", 0.2)
    target = make_url(database_url)
    relay = Relay((target.host or "127.0.0.1", target.port or 5432))
    relay.up()
    relay.down()
    url = target.set(port=relay.port).render_as_string(hide_password=False)
    pid = os.getpid() + 1_000_000  # a pid no other start in this database has
    try:
        service.audit_start(make_settings(url), operator_event("service_start", pid=pid))  # boots
        assert pid not in _started_pids(database_url)
        relay.up()
        deadline = time.monotonic() + 20
        while pid not in _started_pids(database_url):
            assert time.monotonic() < deadline, "the start was never audited"
            time.sleep(0.1)
    finally:
        relay.down()
    assert _started_pids(database_url).count(pid) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "url",
    [
        pytest.param(UNREACHABLE_POSTGRES, marks=pytest.mark.postgres, id="postgresql"),
        pytest.param("sqlite:///{tmp}", id="sqlite"),
    ],
)
def test_serve_against_an_unreachable_store_fails_in_one_line(url: str, tmp_path: Path) -> None:
    create_key_file(tmp_path / "audit.key")  # an anchored chain: no warning beside the error
    env = {
        **os.environ,
        "SAFEGUARD_DATABASE_URL": url.format(tmp=tmp_path),
        "SAFEGUARD_API_KEY_PEPPER": TEST_PEPPER,
        "SAFEGUARD_AUDIT_KEY_FILE": str(tmp_path / "audit.key"),
        "SAFEGUARD_AUDIT_CHECKPOINT_FILE": str(tmp_path / "checkpoints.jsonl"),
    }
    done = subprocess.run(
        [str(SAFEGUARD), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot bring the database up"), lines
