"""What lets a user trust the pages: signing out (or in again) ends a session wherever its
cookie is, and a score from a version governance has since rejected says so."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from api.store import Store
from api.web.session import SESSION_COOKIE, SessionCodec
from tests.api import factories
from tests.api.conftest import TEST_PEPPER, ApiEnv
from tests.api.web_client import csrf_token, signed_in_client


def test_signing_out_ends_the_session_wherever_its_cookie_is(backend_api: ApiEnv) -> None:
    """A copy of the cookie kept from before signing out no longer opens a page or
    records a decision (it did, until the cookie's 8 hours were up)."""
    api = backend_api
    started = datetime.now(UTC).isoformat()
    rid = factories.case(events=1)
    assert api.client.post("/v1/score", json=rid, headers=api.headers("triage")).status_code == 200
    referral = rid["referral"]["referral_id"]
    browser = signed_in_client(api.client, api.keys["triage"])
    kept = browser.cookies[SESSION_COOKIE]
    page = browser.get(f"/cases/{referral}").text
    signed_out = browser.post("/sign-out", data={"csrf_token": csrf_token(page)},
                              follow_redirects=False)
    assert signed_out.status_code == 303 and SESSION_COOKIE not in browser.cookies
    thief = TestClient(api.client.app, headers={"Accept": "text/html"})
    thief.cookies.set(SESSION_COOKIE, kept)
    assert thief.get("/queue", follow_redirects=False).status_code == 303
    # The sign-in page never renews a signed-in cookie (a renewed copy would outlive the
    # sign-out's record, and the 8 hours): it gives a visitor's session instead.
    visited = thief.get("/sign-in")
    assert visited.status_code == 200
    renewed = SessionCodec(TEST_PEPPER).loads(visited.cookies[SESSION_COOKIE])
    assert renewed is not None and renewed.key_id is None
    thief.cookies.clear()
    thief.cookies.set(SESSION_COOKIE, kept)
    posted = thief.post(f"/cases/{referral}/decisions", follow_redirects=False, data={
        "csrf_token": csrf_token(page), "practitioner_rag": "green", "next_step": "close",
        "reason": "", "previous_decision_id": ""})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/sign-in")
    view = api.client.get(f"/v1/referrals/{referral}", headers=api.headers("triage")).json()
    assert view["decisions"] == []
    again = signed_in_client(api.client, api.keys["triage"])  # a new session works at once
    assert again.get("/queue", follow_redirects=False).status_code == 200
    governance = api.headers("governance")
    triage_user = api.client.get("/v1/audit", params={"referral_id": referral},
                                 headers=governance).json()["entries"][0]["user_name"]
    entries = api.client.get("/v1/audit", headers=governance, params={
        "limit": 500, "since": started, "user": triage_user}).json()["entries"]
    assert [e["action"] for e in entries if e["action"].startswith("sign_")] == [
        "sign_in", "sign_out", "sign_in"]


def test_signing_in_again_ends_the_open_session_wherever_its_cookie_is(
    backend_api: ApiEnv,
) -> None:
    """Opening the sign-in page while signed in replaced the cookie in the browser only:
    no sign_out in the audit trail, and a kept copy of the old cookie still opened pages."""
    api = backend_api
    started = datetime.now(UTC).isoformat()
    browser = signed_in_client(api.client, api.keys["triage"])
    kept = browser.cookies[SESSION_COOKIE]
    page = browser.get("/sign-in")
    assert "You are signed in as" in page.text and "set-cookie" not in page.headers
    wrong = browser.post("/sign-in", data={"api_key": api.revoked_key,
                                           "csrf_token": csrf_token(page.text)})
    assert wrong.status_code == 401 and "You are signed in as" in wrong.text
    assert browser.get("/queue", follow_redirects=False).status_code == 200  # still signed in
    again = browser.post("/sign-in", data={"api_key": api.keys["governance"],
                                           "csrf_token": csrf_token(page.text)},
                         follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/governance"
    assert browser.get("/governance", follow_redirects=False).status_code == 200
    thief = TestClient(api.client.app, headers={"Accept": "text/html"})
    thief.cookies.set(SESSION_COOKIE, kept)
    assert thief.get("/queue", follow_redirects=False).status_code == 303
    entries = api.client.get("/v1/audit", headers=api.headers("governance"), params={
        "limit": 500, "since": started}).json()["entries"]
    assert [(e["role"], e["action"]) for e in entries if e["action"].startswith("sign_")] == [
        ("triage", "sign_in"), ("triage", "sign_out"), ("governance", "sign_in")]


def test_a_score_from_a_rejected_version_is_marked_and_an_unready_model_gives_its_reason(
        fresh_database_url: str) -> None:
    """A probe withdrew the served version by rejecting it: the case pages went on showing
    its scores with no word of it, and the score page said only "unavailable"."""
    from api.app import create_app
    from api.store.models import ModelApproval
    from tests.api.conftest import issue_keys, make_settings
    from tests.api.fakes import FakeScorer

    settings = make_settings(fresh_database_url)
    keys, _ = issue_keys(settings)
    scorer = FakeScorer()
    with TestClient(create_app(settings, scorer)) as client:
        case = factories.case(events=2)
        triage = {"Authorization": f"Bearer {keys['triage']}"}
        assert client.post("/v1/score", json=case, headers=triage).status_code == 200
        referral = case["referral"]["referral_id"]
        browser = signed_in_client(client, keys["triage"])
        assert "governance rejected" not in browser.get(f"/cases/{referral}").text
        assert "Rejected model" not in browser.get("/queue").text
        store = Store(fresh_database_url)
        with store.session() as session:
            session.add(ModelApproval(
                model_name=scorer.name, model_version=scorer.version, decision="reject",
                reason="miscalibrated for adults", waivers={}, user_name="board",
                model_sha256="0" * 64))
            session.commit()
        store.dispose()
        page = browser.get(f"/cases/{referral}").text
        assert (f"This score came from model version {scorer.version}, which governance "
                "rejected on") in " ".join(page.split())
        queue = " ".join(browser.get("/queue").text.split())  # the queue said nothing of it
        assert ("Rejected model</strong><br><span class=\"govuk-body-s\">Scored by a model "
                "version governance rejected: see the case") in queue
        scorer.ready = False
        token = csrf_token(browser.get("/score").text)
        refused = browser.post("/score", data={"csrf_token": token,
                                               "case_json": json.dumps(factories.case())})
        assert refused.status_code == 503 and "fake model not loaded" in refused.text
        said = " ".join(html.unescape(refused.text).split())
        assert "The service cannot score referrals at the moment" in said
        assert "Nothing is wrong with the case" in said
        assert "could not be scored" not in said and "Problems in the case" not in said
