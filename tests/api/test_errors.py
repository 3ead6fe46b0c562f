"""Failures stay safe: a generic 500 with an error id, and no case details in logs."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.audit import verify_chain
from api.case_payload import CasePayload
from api.schemas import ScoreResult
from api.store import Store
from tests.api import factories
from tests.api.conftest import ApiEnv, issue_keys, make_settings
from tests.api.fakes import FakeScorer


class BrokenScorer(FakeScorer):
    """A scorer whose failure message would leak the case if anyone logged it."""

    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        raise ValueError(f"cannot score {cases[0].referral.person_id}")


def test_a_failing_model_gives_a_safe_500_and_logs_no_case_details(
    api: ApiEnv, caplog: pytest.LogCaptureFixture
) -> None:
    case = factories.case(person_id="SECRET-PERSON-TOKEN")
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(api.settings, BrokenScorer())) as client:
        response = client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 500
    assert set(response.json()) == {"detail", "error_id"}
    assert "SECRET-PERSON-TOKEN" not in response.text
    assert "SECRET-PERSON-TOKEN" not in caplog.text
    assert response.json()["error_id"] in caplog.text


def test_the_app_works_end_to_end_on_each_backend(database_url: str) -> None:
    """Score, decide and view on SQLite and PostgreSQL; the chain stays intact."""
    settings = make_settings(database_url)
    keys, _ = issue_keys(settings)
    headers = {"Authorization": f"Bearer {keys['triage']}"}
    case = factories.case(events=3)
    rid = case["referral"]["referral_id"]
    with TestClient(create_app(settings, FakeScorer())) as client:
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/score", json=case, headers=headers).status_code == 200
        decided = client.post("/v1/decisions", json=factories.decision(rid), headers=headers)
        assert decided.status_code == 201
        view = client.get(f"/v1/referrals/{rid}", headers=headers).json()
    assert len(view["scores"]) == 1 and len(view["decisions"]) == 1
    store = Store(database_url)
    with store.session() as session:
        assert verify_chain(session).ok
    store.dispose()


@pytest.mark.parametrize(("body", "said"), [
    (b"[" * 5000 + b"]" * 5000, "the body's JSON is nested too deeply to read"),
    (b'{"referral_id": "\xff"}', "the body is not JSON in UTF-8"),
])
def test_a_body_that_cannot_be_decoded_says_why(api: ApiEnv, body: bytes, said: str) -> None:
    """Valid JSON nested deeper than the decoder reads was called not JSON at all."""
    response = api.client.post("/v1/decisions", content=body, headers={
        **api.headers("triage"), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (error["field"], error["message"]) == ("body", said)


@pytest.mark.parametrize(("method", "path", "body", "field", "said"), [
    ("get", "/v1/referrals/%20R1", None, "referral_id", "Not a referral id (1 to 100"),
    ("post", "/v1/decisions", factories.decision(".."), "referral_id",
     "Not a referral id (1 to 100"),
    ("post", "/v1/score", factories.case(person_id="Jane Doe"), "referral.person_id",
     "Not a pseudonymous token (1 to 64 letters"),
])
def test_an_identifier_refused_is_named_in_words_not_by_its_pattern(
        api: ApiEnv, method: str, path: str, body: object, field: str, said: str) -> None:
    """The JSON API answered "String should match pattern '^(?:[^\\x00-...'"."""
    response = api.client.request(method.upper(), path, json=body, headers=api.headers("triage"))
    assert response.status_code == 422, response.text
    [error] = [e for e in response.json()["detail"] if e["field"] == field]
    assert error["message"].startswith(said)
    assert "should match pattern" not in response.text and "A-Za-z" not in response.text
