"""Decisions are append-only and chained; a reason is required when the practitioner differs."""

from __future__ import annotations

from typing import Any

from tests.api import factories
from tests.api.conftest import ApiEnv


def _scored_referral(api: ApiEnv, events: int = 3) -> str:
    case = factories.case(events=events)
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    return str(case["referral"]["referral_id"])


def _decide(api: ApiEnv, body: dict[str, Any]) -> Any:
    return api.client.post("/v1/decisions", json=body, headers=api.headers("triage"))


def test_a_change_is_a_new_decision_naming_the_previous_one(api: ApiEnv) -> None:
    rid = _scored_referral(api)
    first = _decide(api, factories.decision(rid))
    assert first.status_code == 201, first.text
    second = _decide(
        api,
        factories.decision(
            rid,
            practitioner_rag="amber",
            agrees_with_band=False,
            reason="new police information since the score",
            previous_decision_id=first.json()["id"],
        ),
    )
    assert second.status_code == 201, second.text

    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    decisions = view["decisions"]
    assert [d["practitioner_rag"] for d in decisions] == ["green", "amber"]  # first kept intact
    assert decisions[1]["previous_decision_id"] == decisions[0]["id"]
    assert decisions[0]["score_id"] == view["scores"][0]["id"]


def test_a_second_decision_must_name_the_latest_one(api: ApiEnv) -> None:
    rid = _scored_referral(api)
    first = _decide(api, factories.decision(rid)).json()
    assert _decide(api, factories.decision(rid)).status_code == 409
    second = _decide(api, factories.decision(rid, previous_decision_id=first["id"])).json()
    stale = _decide(api, factories.decision(rid, previous_decision_id=first["id"]))
    assert stale.status_code == 409
    assert f"previous_decision_id={second['id']}" in stale.json()["detail"]


def test_previous_decision_must_exist_and_belong_to_the_referral(api: ApiEnv) -> None:
    rid, other = _scored_referral(api), _scored_referral(api)
    theirs = _decide(api, factories.decision(other)).json()
    for previous in (theirs["id"], 2_000_000_000):
        response = _decide(api, factories.decision(rid, previous_decision_id=previous))
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "previous_decision_id"
        assert f"decision {previous} does not exist for referral {rid!r}" in response.text


def test_reason_is_required_when_disagreeing_with_the_band(api: ApiEnv) -> None:
    rid = _scored_referral(api)
    for reason in (None, "   "):
        body = factories.decision(rid, agrees_with_band=False, reason=reason)
        response = _decide(api, body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "reason"


def test_reason_is_required_when_the_rag_differs_from_the_service(api: ApiEnv) -> None:
    rid = _scored_referral(api)  # the service said green
    response = _decide(api, factories.decision(rid, practitioner_rag="red"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "reason" and "'green'" in error["message"]
    body = factories.decision(rid, practitioner_rag="red", reason="disclosure at school today")
    assert _decide(api, body).status_code == 201


def test_a_decision_on_a_referral_never_scored_is_404(api: ApiEnv) -> None:
    response = _decide(api, factories.decision(factories.referral_id()))
    assert response.status_code == 404


def test_decisions_are_audited_with_the_model_version(api: ApiEnv) -> None:
    rid = _scored_referral(api)
    _decide(api, factories.decision(rid))
    entries = api.client.get(
        "/v1/audit", params={"referral_id": rid}, headers=api.headers("admin")
    ).json()["entries"]
    assert [(e["action"], e["model_version"]) for e in entries] == [
        ("score", "7"),
        ("decision", "7"),
    ]


def test_a_data_scientist_cannot_view_a_case(api: ApiEnv) -> None:
    rid = _scored_referral(api)
    response = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("data_scientist"))
    assert response.status_code == 403
