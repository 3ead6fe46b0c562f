"""Signing in to the pages: back to a form's page after the session ended, a key locked
out after failed attempts, and signing in over a session that is still open."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

from api.templating import case_path
from tests.api import factories
from tests.api.conftest import ApiEnv, issue_keys, make_settings
from tests.api.test_auth_limits import PER_KEY, worker
from tests.api.web_client import csrf_token, decisions_of

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
