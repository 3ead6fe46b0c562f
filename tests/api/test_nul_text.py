"""A NUL character in any text the API takes is refused with 422 on both stores
(PostgreSQL cannot store one and answered 500; SQLite stored it)."""

from __future__ import annotations

from typing import Any

from tests.api import factories
from tests.api.conftest import ApiEnv

NUL = "\x00"


def _scored(api: ApiEnv) -> str:
    case = factories.case(events=3)
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    return str(case["referral"]["referral_id"])


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["field"] == field and "NUL" in error["message"]


def test_a_nul_in_a_decision_is_refused_and_nothing_is_stored(backend_api: ApiEnv) -> None:
    api = backend_api
    rid = _scored(api)
    for field, body in (
        ("next_step", factories.decision(rid, next_step=f"visit{NUL}today")),
        ("reason", factories.decision(rid, agrees_with_band=False, reason=f"new{NUL}facts")),
    ):
        _refused(api.client.post("/v1/decisions", json=body, headers=api.headers("triage")), field)
    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    assert view["decisions"] == []


def test_a_nul_in_an_audit_filter_is_refused(backend_api: ApiEnv) -> None:
    api = backend_api
    for name in ("user", "referral_id", "model_version"):
        response = api.client.get(
            "/v1/audit", params={name: f"a{NUL}b"}, headers=api.headers("governance")
        )
        _refused(response, name)
    assert (
        api.client.get(
            "/v1/audit", params={"user": "nobody"}, headers=api.headers("governance")
        ).status_code
        == 200
    )


def test_a_nul_in_a_case_is_refused(backend_api: ApiEnv) -> None:
    api = backend_api
    case = factories.case(events=1)
    case["events"][0]["agency"] = f"police{NUL}"
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 422, response.text
    assert any("NUL" in error["message"] for error in response.json()["detail"])


def test_the_schema_says_text_holds_no_nul(backend_api: ApiEnv) -> None:
    schema = backend_api.client.get("/openapi.json").json()
    decision = schema["components"]["schemas"]["DecisionIn"]["properties"]
    assert decision["next_step"]["pattern"] == "^[^\\x00\\u202a-\\u202e\\u2066-\\u2069]*$"


def test_a_direction_control_in_a_decision_is_refused_and_right_to_left_text_is_not(
    backend_api: ApiEnv
) -> None:
    """U+202E in a reason showed its words reversed on the case page and in a subject
    access record; Arabic or Hebrew text needs no such control and is kept."""
    api = backend_api
    rid = _scored(api)
    for control in ("\u202e", "\u202a", "\u2066", "\u2069"):
        body = factories.decision(rid, agrees_with_band=False, reason=f"no {control}txen")
        response = api.client.post("/v1/decisions", json=body, headers=api.headers("triage"))
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["field"] == "reason" and "direction control" in error["message"]
    right_to_left = "\u0633\u0628\u0628 \u05e1\u05d9\u05d1\u05d4"  # Arabic, then Hebrew
    body = factories.decision(rid, practitioner_rag="amber", agrees_with_band=False,
                              reason=right_to_left)
    kept = api.client.post("/v1/decisions", json=body, headers=api.headers("triage"))
    assert kept.status_code == 201, kept.text
