"""A request sends one API key, in one header, once: `X-API-Key` with `Authorization:
Bearer` was taken (the bearer's key winning silently), and so was a header sent twice (its
first value winning), so what a proxy logged or checked need not be the key admitted."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.store import AuditEntry, Store
from tests.api import factories
from tests.api.conftest import ApiEnv, issue_keys, make_settings
from tests.api.fakes import FakeScorer

TWO_KEYS = ("more than one API key sent (X-API-Key and Authorization: Bearer, or either "
            "header twice): send one key, in one header, once")


def _sent(api: ApiEnv) -> dict[str, list[tuple[str, str]]]:
    """Headers carrying two keys, or a key's header twice, by what they are."""
    triage, governance = api.keys["triage"], api.keys["governance"]
    return {
        "X-API-Key and Bearer": [("X-API-Key", triage), ("Authorization", f"Bearer {governance}")],
        "X-API-Key twice": [("X-API-Key", triage), ("X-API-Key", governance)],
        "the same X-API-Key twice": [("X-API-Key", triage), ("X-API-Key", triage)],
        "Bearer twice": [("Authorization", f"Bearer {triage}"),
                         ("Authorization", f"bearer {governance}")],
        "Authorization twice, one Basic": [("Authorization", "Basic dXNlcjpwYXNz"),
                                           ("Authorization", f"Bearer {triage}")],
        "the same key in both": [("X-API-Key", triage), ("Authorization", f"Bearer {triage}")],
    }


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/model"),  # a route with the role dependencies
    ("POST", "/v1/score"),  # the route that checks its caller itself (`authorise`)
    ("POST", "/v1/decisions"),
])
def test_two_keys_or_a_key_header_twice_are_refused(api: ApiEnv, method: str, path: str) -> None:
    body = factories.case(events=3) if path == "/v1/score" else factories.decision("R1")
    for what, headers in _sent(api).items():
        refused = api.client.request(method, path, headers=headers,
                                     json=None if method == "GET" else body)
        assert refused.status_code == 401, (what, refused.text)
        assert refused.json() == {"detail": TWO_KEYS}, what
        assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_one_key_in_one_header_is_still_taken(api: ApiEnv) -> None:
    """Either header alone, and X-API-Key beside another scheme's Authorization (a proxy's
    basic authentication, passed on), as before."""
    key = api.keys["triage"]
    for headers in ([("X-API-Key", key)], [("Authorization", f"Bearer {key}")],
                    [("X-API-Key", key), ("Authorization", "Basic dXNlcjpwYXNz")],
                    [("X-API-Key", key), ("Authorization", "Bearer ")]):
        answer = api.client.get("/v1/model", headers=headers)
        assert answer.status_code == 200, (headers, answer.text)


def test_two_keys_count_as_a_failed_authentication_of_the_address(
    fresh_database_url: str
) -> None:
    """Counted as a malformed key is (the address, no key id: neither key is checked);
    past the address's limit the lockout is audited and a key that needs checking is
    refused with 429."""
    settings = make_settings(fresh_database_url, auth_failures_per_address=3,
                             auth_lockout_seconds=60)
    keys, _ = issue_keys(settings)
    two = [("X-API-Key", keys["triage"]), ("Authorization", f"Bearer {keys['governance']}")]
    with TestClient(create_app(settings, FakeScorer()), client=("10.0.0.9", 5000)) as client:
        assert [client.get("/v1/model", headers=two).status_code for _ in range(3)] == [401] * 3
        locked = client.get("/v1/model", headers={"X-API-Key": keys["admin"]})
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) <= 60
    store = Store(fresh_database_url)
    with store.session() as session:
        lockouts = [entry.details for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "auth_lockout"))]
    store.dispose()
    assert [(d["scope"], d["subject"], d["failures"]) for d in lockouts] == [
        ("address", "10.0.0.9", 3)]
