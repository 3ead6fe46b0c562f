"""Signing in to the web pages from a test client, as a browser does."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def signed_in_client(client: TestClient, key: str) -> TestClient:
    """A new client of the same app (its own cookies), signed in with `key`."""
    browser = TestClient(client.app, headers={"Accept": "text/html"})
    token = csrf_token(browser.get("/sign-in").text)
    response = browser.post("/sign-in", data={"api_key": key, "csrf_token": token},
                            follow_redirects=False)
    assert response.status_code == 303, response.text
    return browser
