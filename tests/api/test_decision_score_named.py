"""A decision's `score_id` that is no score of its referral is refused as such (422), not
as "scored again since score N" (409), which is kept for an earlier score of the referral."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.schemas import MAX_ROW_ID
from api.store import AuditEntry, Store
from tests.api import factories
from tests.api.conftest import ApiEnv


def _scored(api: ApiEnv) -> tuple[str, int]:
    """A referral scored once, and its score's id."""
    case = factories.case(events=3)
    triage = api.headers("triage")
    assert api.client.post("/v1/score", json=case, headers=triage).status_code == 200
    referral = str(case["referral"]["referral_id"])
    view = api.client.get(f"/v1/referrals/{referral}", headers=triage).json()
    return referral, int(view["scores"][-1]["id"])


def _decision_entries(api: ApiEnv, referral: str) -> list[tuple[str, Any]]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        entries = [(entry.action, entry.details) for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.referral_id == referral)
            .order_by(AuditEntry.seq))]
    store.dispose()
    return [(action, details) for action, details in entries if action.startswith("decision")]


def test_a_score_id_of_another_referral_or_of_none_is_refused_naming_the_field(
    backend_api: ApiEnv
) -> None:
    """Another referral's score (newer than this one's) and an id no score has were
    answered 409 "referral 'R' was scored again (score 7) since score 8, the one decided
    on", which was false (an earlier score of the referral is still a 409:
    test_decisions.test_a_decision_on_a_score_no_longer_the_latest_is_refused). On each
    store."""
    api = backend_api
    referral, mine = _scored(api)
    _other, theirs = _scored(api)  # scored after: its score's id is the newer
    for named in (theirs, MAX_ROW_ID):
        refused = api.client.post("/v1/decisions", headers=api.headers("triage"),
                                  json=factories.decision(referral, score_id=named))
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["detail"]
        assert error["field"] == "score_id"
        assert error["message"] == (
            f"score {named} is not a score of referral {referral!r} (its latest is score "
            f"{mine}): give the score_id its referral view shows")
        assert "scored again" not in refused.text
    refusals = _decision_entries(api, referral)  # each entered once, as a decision refused
    assert [(action, details["status"]) for action, details in refusals] == [
        ("decision_refused", 422)] * 2
    assert all("is not a score of referral" in details["why"] for _, details in refusals)
    taken = api.client.post("/v1/decisions", headers=api.headers("triage"),
                            json=factories.decision(referral, score_id=mine))
    assert taken.status_code == 201 and taken.json()["score_id"] == mine



def test_a_score_id_past_the_stores_ids_is_refused_by_the_schema(backend_api: ApiEnv) -> None:
    """9223372036854775807 was taken (then answered 409 "scored again"); looked up, it is
    PostgreSQL's error (the store's ids are `integer`s): refused as any value out of
    range, naming the field, as previous_decision_id is. On each store."""
    api = backend_api
    referral, _mine = _scored(api)
    for named in (MAX_ROW_ID + 1, 2**63 - 1):
        refused = api.client.post("/v1/decisions", headers=api.headers("triage"),
                                  json=factories.decision(referral, score_id=named))
        assert refused.status_code == 422, refused.text
        assert [(e["field"], e["message"]) for e in refused.json()["detail"]] == [
            ("score_id", f"Input should be less than or equal to {MAX_ROW_ID}")]
