"""`GET /v1/audit`: filters and pages over the chain, for governance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api import factories
from tests.api.conftest import ApiEnv


def _score(api: ApiEnv, role: str = "triage") -> str:
    case = factories.case()
    assert api.client.post("/v1/score", json=case, headers=api.headers(role)).status_code == 200
    return str(case["referral"]["referral_id"])


def _entries(api: ApiEnv, **params: object) -> dict:  # type: ignore[type-arg]
    response = api.client.get("/v1/audit", params=params, headers=api.headers("governance"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_filters_by_user_model_version_and_time(api: ApiEnv) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    rid = _score(api, "admin")
    admin_name = _entries(api, referral_id=rid)["entries"][0]["user_name"]
    by_user = _entries(api, user=admin_name, since=before.isoformat())["entries"]
    assert rid in {e["referral_id"] for e in by_user}
    assert {e["user_name"] for e in by_user} == {admin_name}
    assert _entries(api, model_version="no-such-version")["entries"] == []
    assert _entries(api, referral_id=rid, until=before.isoformat())["entries"] == []


def test_pages_follow_the_sequence_without_gaps(api: ApiEnv) -> None:
    for _ in range(3):
        _score(api)
    seen: list[int] = []
    page = _entries(api, limit=2)
    while True:
        seen += [e["seq"] for e in page["entries"]]
        if page["next_after_seq"] is None:
            break
        page = _entries(api, limit=2, after_seq=page["next_after_seq"])
    assert seen == list(range(1, len(seen) + 1))


def test_entries_link_to_each_other(api: ApiEnv) -> None:
    _score(api)
    entries = _entries(api, limit=500)["entries"]
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry["prev_hash"] == previous["entry_hash"]


def test_a_moment_past_either_end_of_utc_time_is_refused_not_a_500(api: ApiEnv) -> None:
    for name, moment in (("since", "9999-12-31T23:59:59-23:59"),
                         ("until", "0001-01-01T00:00:00+14:00")):
        response = api.client.get("/v1/audit", params={name: moment},
                                  headers=api.headers("governance"))
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["field"] == name and "outside years 1 to 9999" in error["message"]


def test_a_filter_the_route_does_not_take_is_refused_not_ignored(api: ApiEnv) -> None:
    """`user_name` (the web page's name for `user`) returned the whole trail unfiltered."""
    _score(api)
    for params in ({"user_name": "nobody"}, {"action": "score"}, {"user": "nobody", "x": "1"}):
        response = api.client.get("/v1/audit", params=params, headers=api.headers("governance"))
        assert response.status_code == 422, (params, response.text)
        [error] = response.json()["detail"]
        assert "takes no parameter" in error["message"] and "user, referral_id" in error["message"]
    stranger = api.client.get("/v1/audit", params={"user_name": "nobody"})
    assert stranger.status_code == 401
    assert _entries(api, user="nobody")["entries"] == []


def test_a_filter_given_twice_is_refused_not_half_used(api: ApiEnv) -> None:
    """Of `referral_id=A&referral_id=B` only B was used, silently."""
    response = api.client.get("/v1/audit?referral_id=A&referral_id=B",
                              headers=api.headers("governance"))
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "referral_id" and "more than once" in error["message"]


def test_a_search_of_the_trail_is_recorded_with_what_it_searched_for(api: ApiEnv) -> None:
    """The entry of a search held only its number of results, so the trail could not say
    who searched a referral's history; it now names the referral (in its column too)."""
    from sqlalchemy import select

    from api.store import AuditEntry, Store

    rid = _score(api)
    since = datetime.now(UTC) - timedelta(hours=1)
    _entries(api, referral_id=rid, since=since.isoformat())
    [searched] = [e for e in _entries(api, referral_id=rid)["entries"]
                  if e["action"] == "audit_view"]
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == searched["seq"])).one()
        details = entry.details
    store.dispose()
    assert details == {"entries": 1, "search": {"referral_id": rid,  # its score
                                                "since": since.isoformat()}}


def test_a_search_for_text_the_store_does_not_hold_is_recorded_as_its_digest(
    api: ApiEnv,
) -> None:
    """A caller may paste a key into a filter: only names and referrals the store holds
    are written as they are; anything else as its SHA-256, never in the entry's columns."""
    import hashlib

    from sqlalchemy import select

    from api.store import AuditEntry, Store

    pasted = api.keys["triage"]
    _entries(api, user=pasted, referral_id=pasted)
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit_view")
                                .order_by(AuditEntry.seq.desc()).limit(1)).one()
        details, column = entry.details, entry.referral_id
    store.dispose()
    digest = hashlib.sha256(pasted.encode("utf-8")).hexdigest()
    assert details["search"] == {"user_sha256": digest, "referral_id_sha256": digest}
    assert column is None and pasted not in str(details)


def test_a_filter_too_long_is_counted_in_characters_and_a_reversed_period_refused(
        api: ApiEnv) -> None:
    """A probe's 300-character referral id was refused as "at most 100 items", and a
    `since` after `until` answered an empty trail as if nothing had happened then."""
    governance = api.headers("governance")
    for name in ("user", "referral_id", "model_version"):
        long = api.client.get("/v1/audit", params={name: "R" * 300}, headers=governance)
        assert long.status_code == 422
        [error] = long.json()["detail"]
        assert (error["field"], error["message"]) == (
            name, "String should have at most 100 characters")
    now = datetime.now(UTC)
    reversed_period = api.client.get("/v1/audit", headers=governance, params={
        "since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()})
    assert reversed_period.status_code == 422
    [error] = reversed_period.json()["detail"]
    assert (error["field"], error["message"]) == ("since", "since must not be later than until")
    same_moment = {"since": now.isoformat(), "until": now.isoformat()}  # an instant: allowed
    assert api.client.get("/v1/audit", params=same_moment, headers=governance).status_code == 200
