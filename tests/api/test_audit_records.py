"""The stored scores and decisions checked against the audit entries vouching for them:
`safeguard audit verify` (and the audit page, through `verify_trail`) names every row
edited, deleted or added behind the service's back, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api import audit
from api.admin import register
from api.app import create_app
from api.audit import AuditEvent, store_with_audit
from api.audit_anchor import TrailStatus, verify_trail
from api.roles import GOVERNANCE
from api.store import Store
from api.store.models import SCORE_TABLE, utcnow
from tests.api import factories
from tests.api.conftest import TEST_PEPPER, ApiEnv, issue_keys, make_settings
from tests.api.fakes import FakeScorer
from tests.api.web_client import signed_in_client


@dataclass
class Trail:
    """A store the service wrote: two scores (one alone, one in a batch of two) and a
    decision changed once, each with its audit entry."""

    store: Store
    url: str
    score_ids: list[int]
    decision_ids: list[int]  # the first decision and the one that replaced it

    def execute(self, sql: str, **params: Any) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(text(sql), params)

    def verify(self) -> TrailStatus:
        with self.store.session() as session:
            return verify_trail(session, None)


def _serve_and_record(url: str) -> list[int]:
    """Score and decide through the service; the ids of the two decisions."""
    settings = make_settings(url)
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        api = ApiEnv(client=client, keys=keys, revoked_key="", settings=settings)
        case = factories.case(events=3)
        rid = case["referral"]["referral_id"]
        assert client.post("/v1/score", json=case, headers=api.headers("triage")).is_success
        batch = {"cases": [factories.case(events=2), factories.case(events=14)]}
        assert client.post("/v1/score/batch", json=batch, headers=api.headers("triage")).is_success
        first = client.post("/v1/decisions", json=factories.decision(rid),
                            headers=api.headers("triage")).json()
        second = client.post("/v1/decisions", json=factories.decision(
            rid, practitioner_rag="amber", agrees_with_band=False, reason="new police report",
            previous_decision_id=first["id"]), headers=api.headers("triage")).json()
    return [first["id"], second["id"]]


def _trail(url: str, decision_ids: list[int]) -> Iterator[Trail]:
    store = Store(url)
    with store.engine.connect() as connection:
        score_ids = list(connection.execute(text("SELECT id FROM scores ORDER BY id")).scalars())
    yield Trail(store, url, score_ids, decision_ids)
    store.dispose()


@pytest.fixture
def trail(fresh_database_url: str) -> Iterator[Trail]:
    yield from _trail(fresh_database_url, _serve_and_record(fresh_database_url))


@pytest.fixture
def older_trail(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trail]:
    """The same, written as before entries recorded their rows."""
    with monkeypatch.context() as before:
        before.setattr(audit, "with_records", lambda events, written: list(events),
                       raising=False)  # (so this test also fails, not errs, before them)
        decision_ids = _serve_and_record(fresh_database_url)
    yield from _trail(fresh_database_url, decision_ids)


def _problems(status: TrailStatus) -> list[tuple[str, str, int | None, tuple[str, ...]]]:
    return [(p.table, p.kind, p.row_id, p.fields) for p in status.records]


def test_an_untouched_store_verifies_every_row(trail: Trail) -> None:
    status = trail.verify()
    assert status.ok and status.records == (), status.reason
    assert "3 scores match their audit entries; 2 decisions match their audit entries" in \
        status.reason
    assert "not checked" not in status.reason


def test_an_edited_decision_is_named_with_its_fields(trail: Trail) -> None:
    first = trail.decision_ids[0]
    trail.execute("UPDATE decisions SET practitioner_rag = 'red', reason = 'changed later', "
                  "next_step = 'no action' WHERE id = :id", id=first)
    status = trail.verify()
    assert not status.ok and status.first_broken_seq is None  # the chain itself holds
    assert _problems(status) == [
        ("decisions", "differs", first, ("practitioner_rag", "next_step", "reason"))]
    assert f"decisions row {first} differs from audit entry" in status.reason


@pytest.mark.parametrize("change", ["deleted", "stranger", "no score"])
def test_the_people_a_score_named_are_checked_against_its_entry(trail: Trail, change: str
                                                                ) -> None:
    """Subject access reads referral_people: a row deleted drops a referral from someone's
    report, a row added hands a stranger the scores of the referral."""
    scored = trail.score_ids[1]
    if change == "deleted":
        trail.execute("DELETE FROM referral_people WHERE score_id = :id AND role = 'subject'",
                      id=scored)
    else:
        named = scored if change == "stranger" else max(trail.score_ids) + 10
        trail.execute("INSERT INTO referral_people (referral_id, person_id, household_id, role, "
                      "created_at, score_id) SELECT referral_id, 'PSTRANGER1', household_id, "
                      "'other_adult', created_at, :named FROM referral_people WHERE score_id = "
                      ":id AND role = 'subject'", id=scored, named=named)
    status = trail.verify()
    assert not status.ok and status.first_broken_seq is None
    if change == "no score":
        [problem] = status.records
        assert (problem.table, problem.kind) == ("referral_people", "no entry")
        assert f"referral_people row {problem.row_id} has no audit entry" in status.reason
    else:
        assert _problems(status) == [("scores", "differs", scored, ("people",))]


@pytest.mark.parametrize(("column", "sql"), [
    ("result", "result = :result"),
    ("probability", "probability = 0.01"),
    ("band", "band = 'medium'"),
    ("created_at", "created_at = :created_at"),
    ("presenting_need", "presenting_need = 'neglect'"),
])
def test_an_edited_score_is_named_with_its_field(trail: Trail, column: str, sql: str) -> None:
    edited = trail.score_ids[1]  # one of the batch's
    trail.execute(f"UPDATE scores SET {sql} WHERE id = :id", id=edited,
                  result='{"referral_id": "R-other", "score": 1}',
                  created_at="2020-01-01 00:00:00")
    status = trail.verify()
    assert not status.ok
    assert _problems(status) == [("scores", "differs", edited, (column,))]


def test_a_deleted_decision_is_named(trail: Trail) -> None:
    latest = trail.decision_ids[1]
    trail.execute("DELETE FROM decisions WHERE id = :id", id=latest)
    status = trail.verify()
    assert not status.ok
    assert _problems(status) == [("decisions", "missing", latest, ())]
    assert f"decisions row {latest} is missing: audit entry" in status.reason


def test_a_row_without_an_audit_entry_is_named(trail: Trail) -> None:
    trail.execute(
        "INSERT INTO scores (referral_id, model_name, model_version, probability, score, "
        "band, rag, result, created_at, user_name) SELECT referral_id, model_name, "
        "model_version, probability, score, band, rag, result, created_at, user_name "
        "FROM scores WHERE id = :id", id=trail.score_ids[0])
    status = trail.verify()
    (problem,) = status.records
    assert (problem.table, problem.kind, problem.entry_seq) == ("scores", "no entry", None)
    assert problem.row_id not in trail.score_ids


def test_the_command_exits_1_naming_every_row(trail: Trail,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    trail.execute("UPDATE decisions SET next_step = 'no action' WHERE id = :id",
                  id=trail.decision_ids[0])
    trail.execute("UPDATE scores SET rag = 'green' WHERE id = :id", id=trail.score_ids[2])
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", trail.url)
    monkeypatch.setenv("SAFEGUARD_API_KEY_PEPPER", TEST_PEPPER)
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["audit", "verify"])
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert "BROKEN: " in output and "chain intact; 2 stored records differ" in output
    assert f"scores row {trail.score_ids[2]} differs from audit entry" in output
    assert f"decisions row {trail.decision_ids[0]} differs from audit entry" in output


def test_the_audit_page_says_the_trail_is_broken_naming_the_row(trail: Trail) -> None:
    trail.execute("UPDATE decisions SET reason = 'changed later' WHERE id = :id",
                  id=trail.decision_ids[1])
    settings = make_settings(trail.url)
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        page = signed_in_client(client, keys[GOVERNANCE]).get("/governance/audit").text
    verification = " ".join(page.split("<h2", 2)[1].split())
    assert "Intact" not in verification and "The audit trail is broken" in verification
    assert f"decisions row {trail.decision_ids[1]} differs from audit entry" in verification
    assert "reason" in verification.split("differs from audit entry", 1)[1]


def test_older_entries_check_what_they_hold_and_say_what_they_cannot(
    older_trail: Trail,
) -> None:
    with older_trail.store.engine.connect() as connection:
        details = connection.execute(text("SELECT details FROM audit_entries "
                                          "WHERE action IN ('score', 'decision')")).scalars()
        assert not any("record" in str(detail) for detail in details)
    status = older_trail.verify()
    assert status.ok, status.reason
    assert ("3 scores match their audit entries (3 against entries older than row records: "
            "their model_name, probability, presenting_need, result, created_at, people not "
            "checked)") in status.reason
    assert "their score_id, created_at not checked" in status.reason
    first, latest = older_trail.decision_ids
    older_trail.execute("UPDATE decisions SET practitioner_rag = 'red', reason = 'changed', "
                        "next_step = 'no action' WHERE id = :id", id=first)
    older_trail.execute("UPDATE scores SET band = 'medium' WHERE id = :id",
                        id=older_trail.score_ids[0])
    older_trail.execute("DELETE FROM decisions WHERE id = :id", id=latest)
    problems = older_trail.verify().records
    assert [(p.table, p.kind, p.row_id, p.fields) for p in problems] == [
        ("scores", "differs", older_trail.score_ids[0], ("band",)),
        ("decisions", "differs", first, ("practitioner_rag",)),
        ("decisions", "missing", None, ()),
    ]
    assert problems[1].maybe == ("next_step", "reason", "previous_decision_id")
    assert "a decisions row of referral R-" in problems[2].sentence()


def test_a_score_stored_with_another_referrals_entry_is_refused(trail: Trail) -> None:
    row = {"referral_id": "R-stored", "model_name": "m", "model_version": "7",
           "probability": 0.5, "score": 10, "band": "medium", "rag": "amber",
           "result": {}, "user_name": "u", "presenting_need": None, "created_at": utcnow()}
    event = AuditEvent(user_name="u", role="triage", action="score", referral_id="R-audited",
                       model_version="7", request_hash="0" * 64)
    with pytest.raises(ValueError, match="each vouches for one row"):
        store_with_audit(trail.store.engine, [event], inserts={SCORE_TABLE: [row]})
    with trail.store.engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM scores")).scalar()
    assert stored == len(trail.score_ids) and trail.verify().ok


def test_one_matching_row_is_counted_in_the_singular() -> None:
    """`safeguard audit verify` read "1 decisions match their audit entries"."""
    from api.audit_record_problems import RecordsResult

    said = RecordsResult((), {"scores": 2, "decisions": 1, "model_approvals": 1}).summary()
    assert said == ("2 scores match their audit entries; 1 decision matches its audit entry; "
                    "1 model_approval matches its audit entry")
