"""Scoring: results stored and audited, limits, validation messages, readiness, metrics."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.case_payload import CasePayload
from api.routes import scores
from api.schemas import ScoreResult
from api.store import Store
from tests.api import factories
from tests.api.conftest import ApiEnv, issue_keys, make_settings
from tests.api.fakes import FakeScorer


def test_score_returns_the_result_and_stores_it_with_its_explanation(api: ApiEnv) -> None:
    case = factories.case(events=3)
    rid = case["referral"]["referral_id"]
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["referral_id"] == rid and result["rag"] == "green"
    assert "practitioner" in result["decision_support_notice"]

    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("governance")).json()
    assert view["scores"][0]["result"]["top_factors"] == result["top_factors"]
    audit = api.client.get(
        "/v1/audit", params={"referral_id": rid}, headers=api.headers("governance")
    ).json()
    assert [e["action"] for e in audit["entries"]] == ["score", "case_view"]
    assert audit["entries"][0]["model_version"] == "7"


def test_batch_scores_every_case_in_order(api: ApiEnv) -> None:
    cases = [factories.case(events=n) for n in (0, 10, 19)]
    body = json.dumps({"cases": cases}).encode()
    response = api.client.post("/v1/score/batch", content=body, headers={
        **api.headers("admin"), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    ids = [c["referral"]["referral_id"] for c in cases]
    assert [r["referral_id"] for r in results] == ids
    assert [r["rag"] for r in results] == ["green", "amber", "red"]
    for rid in ids:  # each case's audit entry carries the hash of the batch as sent
        audit = api.client.get("/v1/audit", params={"referral_id": rid},
                               headers=api.headers("governance")).json()
        assert [e["request_hash"] for e in audit["entries"]] == [
            hashlib.sha256(body).hexdigest()]


def test_a_batch_naming_one_referral_twice_is_refused_and_nothing_is_stored(
        api: ApiEnv) -> None:
    """A probe's batch naming one referral in two cases was scored twice without a word,
    the later standing as the referral's score (7 December)."""
    first, other, again = (factories.case(events=n) for n in (0, 10, 19))
    again["referral"]["referral_id"] = rid = first["referral"]["referral_id"]
    response = api.client.post("/v1/score/batch", json={"cases": [first, other, again]},
                               headers=api.headers("admin"))
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["field"] == "cases.2.referral.referral_id"
    assert error["message"] == (f"referral_id {rid!r} is an earlier case's in this batch: a "
                                "batch names each referral once")
    held = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("governance"))
    assert held.status_code == 404  # nothing stored


def test_a_batch_over_the_limit_is_refused_with_413(api: ApiEnv) -> None:
    cases = [factories.case(events=0) for _ in range(api.settings.max_batch_cases + 1)]
    response = api.client.post(
        "/v1/score/batch", json={"cases": cases}, headers=api.headers("triage")
    )
    assert response.status_code == 413
    assert "exceeds the limit" in response.json()["detail"]


def test_a_body_over_the_limit_is_refused_with_413(api: ApiEnv) -> None:
    case = factories.case(events=2_000)  # about 300 KB, over the 64 KB test limit
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 413


def test_a_streamed_body_over_the_limit_is_refused_with_413(
    api: ApiEnv, caplog: pytest.LogCaptureFixture
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 1024  # no Content-Length: the limit must count streamed bytes

    response = api.client.post(
        "/v1/score",
        content=chunks(),
        headers={**api.headers("triage"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "unhandled" not in caplog.text  # a refusal, not an error


def test_an_unknown_event_type_is_named_with_its_agency(api: ApiEnv) -> None:
    case = factories.case(events=0)
    case["events"] = [factories.event(event_type="ehcp")]
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "events.0.event_type"
    assert "'ehcp'" in error["message"] and "police vocabulary" in error["message"]


def test_an_impossible_date_is_a_field_level_422(api: ApiEnv) -> None:
    case = factories.case(referral_date="2024-02-30")
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "referral.referral_date"
    assert "day value is outside expected range" in error["message"]
    assert "input" not in error  # values are not echoed back


def test_a_future_referral_date_and_inconsistent_age_are_both_reported(api: ApiEnv) -> None:
    case = factories.case(referral_date="2999-01-01", subject_type="adult_at_risk", age_years=9)
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    fields = {e["field"]: e["message"] for e in response.json()["detail"]}
    assert "in the future" in fields["referral.referral_date"]
    assert "inconsistent with subject_type" in fields["referral.age_years"]


def test_every_record_breaking_a_vocabulary_rule_is_named_by_its_field(api: ApiEnv) -> None:
    case = factories.case(events=0)
    case["events"] = [
        factories.event(),  # a valid record between the bad ones keeps its place
        factories.event(agency="fire_service"),
        factories.event(event_date="2999-01-01", recorded_date=None),
        factories.event(event_date="2024-03-02", recorded_date="2024-03-01"),
        factories.event(agency="education", event_type="attendance_rate", value=None),
        factories.event(value=2.0),
    ]
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["detail"]}
    assert set(fields) == {"events.1.agency", "events.2.event_date", "events.3.recorded_date",
                           "events.4.value", "events.5.value"}
    assert "unknown agency 'fire_service'" in fields["events.1.agency"]
    assert "in the future" in fields["events.2.event_date"]
    assert "before event_date" in fields["events.3.recorded_date"]
    assert "needs a value from" in fields["events.4.value"]
    assert "must be empty" in fields["events.5.value"]


@pytest.mark.parametrize(("bad", "field"), [
    ({"agency": "fire_service"}, "agency"),
    ({"agency": "police", "event_type": "attendance_rate"}, "event_type"),
    ({"event_date": "2999-01-01", "recorded_date": None}, "event_date"),
    ({"recorded_date": "2999-01-01"}, "recorded_date"),
    ({"event_date": "2024-03-02", "recorded_date": "2024-03-01"}, "recorded_date"),
    ({"agency": "education", "event_type": "attendance_rate", "value": None}, "value"),
    ({"agency": "education", "event_type": "attendance_rate", "value": 101.0}, "value"),
    ({"agency": "education", "event_type": "attendance_rate", "value": -0.5}, "value"),
    ({"value": 2.0}, "value"),
])
def test_a_single_record_breaking_one_rule_among_valid_ones_is_named(
        api: ApiEnv, bad: dict[str, Any], field: str) -> None:
    # Valid cases are checked column by column and only a failing one record by
    # record: each rule must stop a case on its own.
    case = factories.case(events=0)
    case["events"] = [factories.event(), factories.event(**bad), factories.event()]
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == [f"events.1.{field}"]


@pytest.mark.parametrize("path", ["/v1/score", "/v1/score/batch", "/v1/decisions"])
def test_a_body_that_is_not_json_is_a_422_naming_the_body(api: ApiEnv, path: str) -> None:
    response = api.client.post(path, content=b'{"referral_id": "R1",, }',
                               headers={**api.headers("triage"),
                                        "Content-Type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "body" and error["type"] == "json_invalid"
    assert error["message"].startswith("Invalid JSON: ") and "22" in error["message"]  # where


def test_the_schema_documents_the_score_body_read_by_the_route(api: ApiEnv) -> None:
    schema = api.client.get("/openapi.json").json()
    body = schema["paths"]["/v1/score"]["post"]["requestBody"]
    assert body["required"] is True
    reference = body["content"]["application/json"]["schema"]["$ref"]
    assert reference == "#/components/schemas/CasePayload"
    assert "events" in schema["components"]["schemas"]["CasePayload"]["properties"]


def test_without_a_model_scoring_and_readiness_answer_503_with_a_reason(
    api: ApiEnv,
) -> None:
    with TestClient(create_app(api.settings)) as client:  # no scorer: NoModel
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert any("no model" in reason for reason in ready.json()["reasons"])
        scored = client.post("/v1/score", json=factories.case(), headers=api.headers("triage"))
        assert scored.status_code == 503
        assert "model not ready" in scored.json()["detail"]


def test_readiness_reports_an_unmigrated_store(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(settings, FakeScorer())) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["store"]["ok"] is False


def test_metrics_count_requests_by_route_template_and_scores_by_band(api: ApiEnv) -> None:
    case = factories.case(events=3)
    api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    api.client.get(f"/v1/referrals/{case['referral']['referral_id']}", headers=api.headers("admin"))
    text = api.client.get("/metrics").text
    assert 'route="/v1/referrals/{referral_id}"' in text
    assert case["referral"]["referral_id"] not in text
    assert 'safeguard_scores_total{band="low",rag="green"}' in text
    assert 'safeguard_model_info{name="fake-model",version="7"}' in text


class BatchRecordingScorer(FakeScorer):
    """The fake scorer, recording each call's cases and failing any call with a 'bad' case.

    Its first call takes a fifth of a second: time enough for the other requests to
    arrive, whether the key checks run inline (SQLite) or in the thread pool (PostgreSQL).
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        ids = [case.referral.referral_id for case in cases]
        if not self.calls:
            time.sleep(0.2)
        self.calls.append(ids)
        if any(rid.startswith("bad-") for rid in ids):
            raise RuntimeError("the model failed on a case")
        return super().score_cases(cases)


def _post_together(app: FastAPI, keys: dict[str, str],
                   posts: Iterable[tuple[str, bytes]]) -> list[httpx.Response]:
    """POST /v1/score bodies all at once, each with its role's key; the responses in order."""

    async def post_together() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for role in keys:  # a key's first check runs PBKDF2 in a thread: not timed
                await client.get("/v1/model", headers={"Authorization": f"Bearer {keys[role]}"})
            return await asyncio.gather(*(
                client.post("/v1/score", content=body, headers={
                    "Authorization": f"Bearer {keys[role]}", "Content-Type": "application/json"})
                for role, body in posts))

    return asyncio.run(post_together())


def test_concurrent_scores_share_a_model_call_yet_each_is_stored_and_audited_as_its_own(
    fresh_database_url: str,
) -> None:
    settings = make_settings(fresh_database_url)
    keys, _ = issue_keys(settings)
    scorer = BatchRecordingScorer()
    app = create_app(settings, scorer)
    roles = ["triage", "admin"] * 3
    cases = [factories.case(events=n) for n in range(5)]
    cases.append(factories.case(events=2, referral_id="bad-" + factories.referral_id()))
    bodies = [json.dumps(case).encode() for case in cases]

    responses = _post_together(app, keys, zip(roles, bodies, strict=True))
    assert [r.status_code for r in responses] == [200] * 5 + [500]
    assert "the model failed" not in responses[-1].text
    ids = [case["referral"]["referral_id"] for case in cases]
    assert [r.json()["referral_id"] for r in responses[:5]] == ids[:5]
    assert [r.json()["score"] for r in responses[:5]] == [
        FakeScorer().score_cases([CasePayload.model_validate(c)])[0].score for c in cases[:5]]
    # On SQLite all six share the first call; on PostgreSQL the key checks return from
    # the thread pool one by one, and those back while a call runs share the next.
    assert max(len(call) for call in scorer.calls) >= 2, "no two requests shared a call"
    assert {rid for call in scorer.calls for rid in call} == set(ids)

    with TestClient(app) as client:
        audit = client.get("/v1/audit",
                           headers={"Authorization": f"Bearer {keys['governance']}"}).json()
        metrics = client.get("/metrics").text
    calls = [line for line in metrics.splitlines()
             if line.startswith("safeguard_score_batch_cases_")]
    assert "safeguard_score_batch_cases_sum 6.0" in calls, calls
    entries = {entry["referral_id"]: entry for entry in audit["entries"]
               if entry["action"] == "score"}
    assert set(entries) == set(ids[:5]), "the failed case is neither stored nor audited"
    for role, rid, body in zip(roles, ids, bodies[:5], strict=False):
        assert entries[rid]["role"] == role
        assert entries[rid]["request_hash"] == hashlib.sha256(body).hexdigest()


def test_a_score_that_cannot_be_stored_fails_alone(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(fresh_database_url)
    keys, _ = issue_keys(settings)
    app = create_app(settings, BatchRecordingScorer())
    real_store = scores._store_and_audit

    def refuse_one(store: Store, scored: Sequence[tuple[Any, ScoreResult]]) -> None:
        if any(result.referral_id.startswith("unstorable-") for _, result in scored):
            raise RuntimeError("the database refused a row")
        real_store(store, scored)

    monkeypatch.setattr(scores, "_store_and_audit", refuse_one)
    cases = [factories.case(events=n) for n in range(3)]
    cases.insert(1, factories.case(referral_id="unstorable-" + factories.referral_id()))
    responses = _post_together(app, keys, [("triage", json.dumps(c).encode()) for c in cases])
    assert [r.status_code for r in responses] == [200, 500, 200, 200]
    with TestClient(app) as client:
        audit = client.get("/v1/audit",
                           headers={"Authorization": f"Bearer {keys['governance']}"}).json()
    stored = [c["referral"]["referral_id"] for c in cases if c is not cases[1]]
    assert sorted(e["referral_id"] for e in audit["entries"]
                  if e["action"] == "score") == sorted(stored)


def test_metrics_count_a_request_refused_before_routing_under_its_route(api: ApiEnv) -> None:
    """A probe's 413 and 415 on /v1/score were counted as route "unmatched", which the
    service documents as a path no route has."""

    def counted(method: str, route: str, status: int) -> float:
        found = re.search(rf'^safeguard_http_requests_total\{{method="{method}",'
                          rf'route="{re.escape(route)}",status="{status}"\}} (\S+)$',
                          api.client.get("/metrics").text, flags=re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    before = [counted("POST", "/v1/score", 413), counted("POST", "/v1/score", 415),
              counted("GET", "unmatched", 404)]
    too_big = api.client.post("/v1/score", content=b"x" * (api.settings.max_body_bytes + 1),
                              headers={**api.headers("triage"),
                                       "Content-Type": "application/json"})
    wrong_type = api.client.post("/v1/score", content=b"{}", headers={
        **api.headers("triage"), "Content-Type": "text/plain"})
    nowhere = api.client.get("/no/such/page")
    assert (too_big.status_code, wrong_type.status_code, nowhere.status_code) == (413, 415, 404)
    after = [counted("POST", "/v1/score", 413), counted("POST", "/v1/score", 415),
             counted("GET", "unmatched", 404)]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1.0, 1.0, 1.0]
