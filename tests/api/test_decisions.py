"""Decisions are append-only and chained; a reason is required when the practitioner differs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from api.audit import request_hash, sha256_hex, verify_chain
from api.free_text import MAX_TEXT
from api.store import AuditEntry, Store, repository
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
    for reason in (None, "   ", "\u200b", "\ufeff\u2060 ", "\u3164"):
        body = factories.decision(rid, agrees_with_band=False, reason=reason)
        response = _decide(api, body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == "reason"


def test_an_invisible_reason_or_next_step_is_no_reason(api: ApiEnv) -> None:
    rid = _scored_referral(api)  # the service said green
    response = _decide(api, factories.decision(rid, practitioner_rag="red",
                                               agrees_with_band=False, reason="\u200b"))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "reason"
    response = _decide(api, factories.decision(rid, next_step="\u200b\u200b"))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "next_step"
    assert _decide(api, factories.decision(rid, practitioner_rag="red", agrees_with_band=False,
                                           reason="\u200bdisclosure")).status_code == 201


@pytest.mark.parametrize("field", ["next_step", "reason"])
def test_an_over_long_text_is_refused_in_characters(api: ApiEnv, field: str) -> None:
    """A next step past 2,000 characters was refused as "at most 2000 items"."""
    body = factories.decision("R-TOO-LONG", practitioner_rag="red", agrees_with_band=False,
                              reason="disclosure")
    response = _decide(api, {**body, field: "x" * (MAX_TEXT + 1)})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["field"] == field
    assert error["message"] == f"String should have at most {MAX_TEXT} characters"


@pytest.mark.parametrize(("field", "value"), [
    ("agrees_with_band", "yes"), ("agrees_with_band", 1), ("agrees_with_band", "true"),
    ("previous_decision_id", "4"), ("previous_decision_id", 5.0),
    ("previous_decision_id", True)])
def test_a_decisions_flag_and_id_are_taken_only_as_json_types(
        api: ApiEnv, field: str, value: object) -> None:
    rid = _scored_referral(api)
    response = _decide(api, {**factories.decision(rid), field: value})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field
    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    assert view["decisions"] == []


def test_reason_is_required_when_the_rag_differs_from_the_service(api: ApiEnv) -> None:
    rid = _scored_referral(api)  # the service said green
    response = _decide(api, factories.decision(rid, practitioner_rag="red"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "reason" and "'green'" in error["message"]
    body = factories.decision(rid, practitioner_rag="red", reason="disclosure at school today")
    contradicts = _decide(api, body)  # agrees_with_band true, though the RAG differs
    assert contradicts.status_code == 422
    [error] = contradicts.json()["detail"]
    assert error["field"] == "agrees_with_band" and "a different RAG is an override" in \
        error["message"]
    assert _decide(api, {**body, "agrees_with_band": False}).status_code == 201


def test_the_bands_own_rag_said_to_disagree_is_refused(api: ApiEnv) -> None:
    """The governance page and `safeguard monitor` count a decision by its RAG: one giving
    the band's RAG yet saying it disagrees would be read as agreement by one reader and as
    an override by the other, so it is refused."""
    rid = _scored_referral(api)  # the service said green
    body = factories.decision(rid, agrees_with_band=False, reason="I disagree")
    contradicts = _decide(api, body)
    assert contradicts.status_code == 422
    [error] = contradicts.json()["detail"]
    assert error["field"] == "agrees_with_band"
    assert "the same RAG agrees with the band" in error["message"]
    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    assert view["decisions"] == []
    assert _decide(api, {**body, "agrees_with_band": True}).status_code == 201


def test_a_decision_on_a_referral_never_scored_is_404_naming_the_referral(api: ApiEnv) -> None:
    # The detail tells this 404 from a mistyped URL's ("Not Found").
    rid = factories.referral_id()
    response = _decide(api, factories.decision(rid))
    assert response.status_code == 404
    assert response.json() == {"detail": f"referral {rid!r} was never scored"}


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


def test_a_decision_is_stored_and_returned_with_every_field_and_its_practitioner(
    api: ApiEnv,
) -> None:
    rid = _scored_referral(api)
    first = _decide(api, factories.decision(rid)).json()
    body = factories.decision(
        rid,
        practitioner_rag="red",
        next_step="strategy discussion",
        agrees_with_band=False,
        reason="disclosure at school today",
        previous_decision_id=first["id"],
    )
    response = _decide(api, body)
    assert response.status_code == 201, response.text
    created = response.json()
    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    score_entry = api.client.get(
        "/v1/audit", params={"referral_id": rid}, headers=api.headers("admin")
    ).json()["entries"][0]
    stored = view["decisions"][1]
    for decision in (created, stored):
        assert {k: decision[k] for k in body} == body
        assert decision["score_id"] == view["scores"][0]["id"]
        assert decision["practitioner"] == score_entry["user_name"]  # the triage key's user
        assert decision["practitioner"].startswith("triage-")


def test_a_decisions_audit_entry_names_its_user_role_referral_body_and_answer(
    api: ApiEnv,
) -> None:
    rid = _scored_referral(api)
    body = factories.decision(rid, practitioner_rag="amber", agrees_with_band=False,
                              reason="the school's new report")
    created = _decide(api, body)
    assert created.status_code == 201
    score, decision = api.client.get(
        "/v1/audit", params={"referral_id": rid}, headers=api.headers("admin")
    ).json()["entries"]
    assert decision["action"] == "decision" and decision["referral_id"] == rid
    assert (decision["user_name"], decision["role"]) == (score["user_name"], "triage")
    record = decision["details"].pop("record")  # the row it vouches for (api.audit_records)
    assert decision["details"] == {"rag": "amber", "agrees": False}
    assert (record["table"], record["id"]) == ("decisions", created.json()["id"])
    assert decision["request_hash"] == request_hash(body)  # the body's canonical JSON


def test_a_decision_that_loses_a_race_to_the_store_is_told_to_reload(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check of the latest decision made blind, as when two requests pass it at once:
    # the store's unique indexes still refuse a second first decision or a second successor.
    rid = _scored_referral(api)
    monkeypatch.setattr(repository, "latest_decision", lambda session, referral_id: None)
    first = _decide(api, factories.decision(rid))
    assert first.status_code == 201, first.text
    again = _decide(api, factories.decision(rid))
    assert again.status_code == 409
    assert again.json()["detail"] == (
        "another first decision on this referral was recorded at the same time; reload"
    )
    change = factories.decision(rid, previous_decision_id=first.json()["id"])
    assert _decide(api, change).status_code == 201
    second_change = _decide(api, change)
    assert second_change.status_code == 409
    assert second_change.json()["detail"] == "another decision replaced the same one first; reload"
    monkeypatch.undo()
    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    assert len(view["decisions"]) == 2


def test_a_decision_on_a_score_no_longer_the_latest_is_refused(api: ApiEnv) -> None:
    """A decision attached to whatever score was latest when it arrived, though the
    practitioner read an earlier one; naming the score read, it is refused once a newer
    one is held."""
    case = factories.case(events=3)
    triage = api.headers("triage")
    assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200
    rid = str(case["referral"]["referral_id"])
    read = api.client.get(f"/v1/referrals/{rid}", headers=triage).json()["scores"][-1]["id"]
    assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200
    stale = _decide(api, factories.decision(rid, score_id=read))
    assert stale.status_code == 409 and "scored again" in stale.json()["detail"], stale.text
    newest = api.client.get(f"/v1/referrals/{rid}", headers=triage).json()["scores"][-1]["id"]
    taken = _decide(api, factories.decision(rid, score_id=newest))
    assert taken.status_code == 201 and taken.json()["score_id"] == newest
    assert _decide(api, factories.decision(rid, score_id="1")).status_code == 422


def test_a_score_stored_while_a_decision_is_checked_refuses_it(
    backend_api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The score decided on was compared with the latest before the chain's lock was
    taken: a score stored in between left the decision on the older one."""
    from sqlalchemy import insert

    from api.routes import decisions
    from api.store.db import Store
    from api.store.models import SCORE_TABLE

    api = backend_api
    rid = _scored_referral(api)
    read = api.client.get(f"/v1/referrals/{rid}",
                          headers=api.headers("triage")).json()["scores"][-1]
    checked = decisions._check_previous

    def scored_meanwhile(session: Any, decision: Any) -> None:
        checked(session, decision)
        store = Store(api.settings.database_url)
        with store.engine.begin() as connection:  # another worker's score of the referral
            connection.execute(insert(SCORE_TABLE), [{
                "referral_id": rid, "model_name": "m", "model_version": "1",
                "probability": 0.5, "score": 10, "band": "medium", "rag": "amber",
                "result": read["result"], "user_name": "other-worker"}])
        store.dispose()

    monkeypatch.setattr(decisions, "_check_previous", scored_meanwhile)
    refused = _decide(api, factories.decision(rid, score_id=read["id"]))
    assert refused.status_code == 409 and "scored again" in refused.json()["detail"]
    monkeypatch.setattr(decisions, "_check_previous", checked)
    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    assert view["decisions"] == []


def test_a_decision_the_store_refuses_is_audited_with_its_answer(api: ApiEnv) -> None:
    """A refusal says what the store holds (never scored, a decision already made, a
    reason owed): it was an access the trail did not hold."""
    never = factories.referral_id()
    assert _decide(api, factories.decision(never)).status_code == 404
    rid = _scored_referral(api)
    assert _decide(api, factories.decision(rid)).status_code == 201
    assert _decide(api, factories.decision(rid)).status_code == 409
    owed = factories.decision(rid, practitioner_rag="red")  # the service said green
    assert _decide(api, owed).status_code == 422  # no reason given for the override
    unknown = factories.decision(rid, previous_decision_id=999_999,
                                 next_step="disclosure at school")
    assert _decide(api, unknown).status_code == 422

    def entries(referral_id: str) -> list[dict[str, Any]]:
        return list(api.client.get("/v1/audit", params={"referral_id": referral_id},
                                   headers=api.headers("admin")).json()["entries"])

    # A referral never scored names nothing held (a key pasted into the field, maybe): the
    # entry keeps its SHA-256, not the id, in no column and no detail (helper probe).
    assert entries(never) == []
    every: list[dict[str, Any]] = []
    while True:  # each read is an entry too: a page short of the limit is the last
        page = api.client.get("/v1/audit", params={"limit": 500, "after_seq": (
            every[-1]["seq"] if every else 0)}, headers=api.headers("admin")).json()["entries"]
        every += page
        if len(page) < 500:
            break
    [refused] = [e for e in every if e["action"] == "decision_refused"
                 and e["request_hash"] == request_hash(factories.decision(never))]
    assert refused["referral_id"] is None and never not in json.dumps(refused)
    assert refused["details"]["asked_sha256"] == sha256_hex(never.encode("utf-8"))
    assert refused["details"]["why"] == "the referral was never scored"
    assert refused["request_hash"] == request_hash(factories.decision(never))
    held = entries(rid)
    answers = [(e["action"], e["details"].get("status")) for e in held]
    assert answers == [("score", None), ("decision", None), ("decision_refused", 409),
                       ("decision_refused", 422), ("decision_refused", 422)]
    assert "reason is required" in held[-2]["details"]["why"]
    assert "does not exist" in held[-1]["details"]["why"]
    assert "disclosure" not in str(held)  # free text stays out of the trail
    view = api.client.get(f"/v1/referrals/{rid}", headers=api.headers("triage")).json()
    assert len(view["decisions"]) == 1  # nothing refused was stored
    store = Store(api.settings.database_url)
    with store.session() as session:
        assert verify_chain(session).ok
    store.dispose()


def _entries_made(api: ApiEnv, body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Every audit entry (action, referral) a decision posted with `body` made, whatever
    it names."""
    store = Store(api.settings.database_url)
    with store.session() as session:
        last = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    _decide(api, body)
    with store.session() as session:
        made = [(entry.action, entry.referral_id) for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.seq > (last or 0)).order_by(AuditEntry.seq))]
    store.dispose()
    return made


def test_a_refusal_on_what_the_store_holds_is_one_audit_entry(backend_api: ApiEnv) -> None:
    """A reason owed (422) was entered twice: `decision_refused` with the referral, then
    `request_invalid` without it, as if the request had been wrong on its own. A request
    wrong on its own is still `request_invalid`, once. On each store."""
    api = backend_api
    rid = _scored_referral(api)  # the service said green
    owed = factories.decision(rid, practitioner_rag="red")  # an override without a reason
    assert _entries_made(api, owed) == [("decision_refused", rid)]
    unknown = factories.decision(rid, previous_decision_id=999_999)
    assert _entries_made(api, unknown) == [("decision_refused", rid)]
    wrong = factories.decision(rid, practitioner_rag="purple")
    assert _entries_made(api, wrong) == [("request_invalid", None)]


def test_a_refused_decision_uses_no_deprecated_api(api: ApiEnv) -> None:
    """The first decision refused for a reason owed logged Starlette's deprecation warning
    (`HTTP_422_UNPROCESSABLE_ENTITY`, renamed `HTTP_422_UNPROCESSABLE_CONTENT`)."""
    import warnings

    rid = _scored_referral(api)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        owed = _decide(api, factories.decision(rid, practitioner_rag="red"))
    assert owed.status_code == 422
    assert [str(w.message) for w in seen if "HTTP_4" in str(w.message)] == []
