"""Signing in to the pages: back to a form's page after the session ended, a key locked
out after failed attempts, a session only a sign-in with the key gives, and signing out
of a session that has ended."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import update

from api.api_keys import KeyHasher
from api.store import Store
from api.store.models import USER_TABLE
from api.templating import case_path
from api.web.session import SESSION_COOKIE, SessionCodec, WebSession
from tests.api import factories
from tests.api.conftest import TEST_PEPPER, ApiEnv, issue_keys, make_settings
from tests.api.test_auth_limits import PER_KEY, worker
from tests.api.web_client import csrf_token, decisions_of, signed_in_client

HTML = {"Accept": "text/html"}
EXPIRED = {"safeguard_session": "expired"}


def _sign_in_again(browser: TestClient, location: str, key: str) -> str:
    """Follow a sign-in redirect, sign in with `key`; where the service sends the user."""
    sign_in = browser.get(location)
    assert sign_in.status_code == 200
    next_path = unescape(re.search(r'name="next" value="([^"]*)"', sign_in.text)[1])
    back = browser.post("/sign-in", data={"api_key": key, "next": next_path,
                                          "csrf_token": csrf_token(sign_in.text)},
                        follow_redirects=False)
    assert back.status_code == 303
    return str(back.headers["location"])


def test_a_form_posted_after_the_session_ended_returns_to_its_page_and_says_it_was_lost(
    api: ApiEnv,
) -> None:
    """It went back to the post's own address, whose page is "Page not found" (a
    decision's, a confirmed approval's), and nothing said that what was typed was lost."""
    case = factories.case(events=15)
    case["referral"]["referral_id"] = "MASH/2024/7#1"  # a slash and a hash, quoted
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    case_page = case_path("MASH/2024/7#1")
    version = "/governance/versions/7/decide"
    for posted, form_page, role, shown in (
        (f"{case_page}/decisions", case_page, "triage", "MASH/2024/7#1"),
        ("/score", "/score", "triage", "Or paste the case"),
        (f"{version}/confirm", version, "governance", None),  # no version 7 here to show
    ):
        browser = TestClient(api.client.app, headers=HTML, cookies=EXPIRED)
        refused = browser.post(posted, follow_redirects=False, data={
            "practitioner_rag": "red", "next_step": "a long note typed for an hour",
            "case_json": '{"referral": "pasted"}', "decision": "approve"})
        assert refused.status_code == 303
        location = refused.headers["location"]
        assert "long" not in location and "pasted" not in location  # never the form's text
        assert "You were signed out, so what you entered was not saved" in \
            browser.get(location).text
        assert _sign_in_again(browser, location, api.keys[role]) == form_page
        if shown:
            assert shown in unescape(browser.get(form_page).text)
    assert decisions_of(api, case_page.removeprefix("/cases/")) == []
    visitor = TestClient(api.client.app, headers=HTML, cookies=EXPIRED)
    asked = visitor.get("/queue", follow_redirects=False).headers["location"]
    assert asked == "/sign-in?next=/queue" and "not saved" not in visitor.get(asked).text


def test_a_locked_out_key_is_told_so_and_for_how_long(fresh_database_url: str) -> None:
    """The page said "not recognised, or has been revoked" of a lockout (the API's 429),
    the right key included: the user had no way to know that waiting would do."""
    keys, _ = issue_keys(make_settings(fresh_database_url))
    key_id = keys["triage"].partition(".")[0]

    def sign_in(browser: TestClient, key: str) -> tuple[int, str, str | None]:
        token = csrf_token(browser.get("/sign-in", headers=HTML).text)
        page = browser.post("/sign-in", headers=HTML, follow_redirects=False,
                            data={"api_key": key, "csrf_token": token})
        return page.status_code, unescape(page.text), page.headers.get("Retry-After")

    with worker(fresh_database_url, lockout=300) as browser:
        for attempt in range(PER_KEY):
            code, text, _ = sign_in(browser, f"{key_id}.wrong-{attempt}")
            assert code == 401 and "this one is not recognised" in text
        code, text, retry_after = sign_in(browser, keys["triage"])
    assert code == 429 and retry_after is not None and 240 < int(retry_after) <= 300
    assert "locked after too many failed attempts" in text and "wait 5 minutes" in text
    assert "not recognised" not in text and key_id not in text and "10.0.0.1" not in text


def test_a_cookie_signed_with_the_pepper_and_a_key_id_is_no_session(
    fresh_database_url: str,
) -> None:
    """Key ids are not secret (the log and the lock-out entries name them): a cookie signed
    with the pepper and a governance key id opened the audit trail as that user, with no
    sign-in. A signed-in cookie still works on every worker (no worker's memory in it)."""
    keys, _ = issue_keys(make_settings(fresh_database_url))
    key_id = keys["governance"].partition(".")[0]
    codec = SessionCodec(TEST_PEPPER)
    forged = [codec.dumps(WebSession(csrf="x" * 43, key_id=key_id, key_binding=binding))
              for binding in (None, "0" * 64)]
    with worker(fresh_database_url) as first, worker(fresh_database_url) as second:
        for cookie in forged:
            browser = TestClient(first.app, headers=HTML, cookies={SESSION_COOKIE: cookie})
            refused = browser.get("/governance/audit", follow_redirects=False)
            assert refused.status_code == 303
            assert refused.headers["location"] == "/sign-in?next=/governance/audit"
            assert "You are signed in as" not in browser.get("/sign-in").text
        signed_in = signed_in_client(first, keys["governance"]).cookies[SESSION_COOKIE]
        elsewhere = TestClient(second.app, headers=HTML, cookies={SESSION_COOKIE: signed_in})
        assert elsewhere.get("/governance/audit", follow_redirects=False).status_code == 200


def test_a_new_key_under_a_key_id_ends_the_sessions_of_the_old_one(
    fresh_database_url: str,
) -> None:
    keys, _ = issue_keys(make_settings(fresh_database_url))
    key_id = keys["triage"].partition(".")[0]
    salt = "ab" * 16
    with worker(fresh_database_url) as client:
        browser = signed_in_client(client, keys["triage"])
        assert browser.get("/queue", follow_redirects=False).status_code == 200
        store = Store(fresh_database_url)
        with store.session() as session:
            session.execute(update(USER_TABLE).where(USER_TABLE.c.key_id == key_id).values(
                key_salt=salt, key_hash=KeyHasher(TEST_PEPPER).hash("new-secret", salt)))
            session.commit()
        store.dispose()
        assert browser.get("/queue", follow_redirects=False).status_code == 303
        renewed = signed_in_client(client, f"{key_id}.new-secret")
        assert renewed.get("/queue", follow_redirects=False).status_code == 200


def test_signing_out_of_a_session_that_has_ended_signs_out(api: ApiEnv) -> None:
    """"Sign out" on a page left open past its session's end (its 8 hours, or a sign-out
    in another tab) gave the 403 expired-form page: there was no session to check the
    form's token against. A live session's sign-out still needs its own token."""
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/queue").text)
    ended = browser.cookies[SESSION_COOKIE]
    assert browser.post("/sign-out", data={"csrf_token": token},
                        follow_redirects=False).status_code == 303  # the other tab
    for cookies in ({}, EXPIRED, {SESSION_COOKIE: ended}):
        stale = TestClient(api.client.app, headers=HTML, cookies=cookies)
        out = stale.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed_out=true"
        cleared = out.headers["set-cookie"].lower()
        assert cleared.startswith(f"{SESSION_COOKIE}=") and "max-age=0" in cleared
        assert "You have signed out" in stale.get(out.headers["location"]).text
    live = signed_in_client(api.client, api.keys["triage"])
    for data in ({}, {"csrf_token": token}):  # none, or another session's
        refused = live.post("/sign-out", data=data, follow_redirects=False)
        assert refused.status_code == 403 and "Your form could not be sent" in refused.text
    assert live.get("/queue", follow_redirects=False).status_code == 200


def test_an_empty_key_is_asked_for_not_called_unrecognised(api: ApiEnv) -> None:
    """GOV.UK's pattern for a required field left empty: "Enter your API key" (the page said
    the key entered was not recognised, or revoked, when none was entered)."""
    for entered in ("", "   "):
        browser = TestClient(api.client.app, headers={"Accept": "text/html"})
        token = csrf_token(browser.get("/sign-in").text)
        page = browser.post("/sign-in", data={"api_key": entered, "csrf_token": token})

        assert page.status_code == 400 and "<title>Error: " in page.text
        summary = unescape(page.text.split("govuk-error-summary", 1)[1])
        assert re.search(r'href="#api-key"[^>]*>\s*Enter your API key\s*<', summary)
        assert "not recognised" not in page.text
        assert browser.get("/queue", follow_redirects=False).status_code == 303
