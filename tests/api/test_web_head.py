"""Pages answer HEAD as they answer GET: uptime monitors send HEAD (`HEAD /` was a 405)."""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.web.errors import API_PREFIXES
from tests.api.conftest import ApiEnv
from tests.api.web_client import scored_referral, signed_in_client


def test_each_page_answers_head_with_the_status_and_headers_of_get(api: ApiEnv) -> None:
    referral = scored_referral(api)
    visitor = TestClient(api.client.app, headers={"Accept": "text/html"})
    triage = signed_in_client(api.client, api.keys["triage"])
    admin = signed_in_client(api.client, api.keys["admin"])
    for browser, path in ((visitor, "/"), (visitor, "/sign-in"), (visitor, "/queue"),
                          (triage, "/"), (triage, "/queue"), (triage, "/score"),
                          (triage, f"/cases/{referral}"), (triage, "/home"),
                          (admin, "/governance"), (admin, "/governance/audit")):
        got = browser.get(path, follow_redirects=False)
        head = browser.head(path, follow_redirects=False)
        assert head.status_code == got.status_code, path
        assert head.headers.get("location") == got.headers.get("location"), path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path


def test_every_page_route_answers_head(api: ApiEnv) -> None:
    """A page added later takes HEAD too (the JSON API's routes are not pages)."""
    pages = [route for route in iter_route_contexts(api.client.app.routes)  # type: ignore[attr-defined]
             if route.path and "GET" in (route.methods or ())
             and not route.path.startswith(API_PREFIXES)]
    assert pages and [route.path for route in pages if "HEAD" not in route.methods] == []
