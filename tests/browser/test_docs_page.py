"""The API documentation page works with no network but the service's own."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest

from tests.browser.conftest import OfflinePage, ServedApp
from tests.browser.pages import ApiDocsPage

pytestmark = pytest.mark.browser


def _spec(served: ServedApp) -> dict[str, Any]:
    response = httpx.get(f"http://127.0.0.1:{served.port}/openapi.json", timeout=10)
    return cast(dict[str, Any], response.json())


def _documented_operations(served: ServedApp) -> set[tuple[str, str]]:
    return {(method, path) for path, item in _spec(served)["paths"].items() for method in item}


def test_docs_page_shows_every_operation_offline(
    offline_page: OfflinePage, served_app: ServedApp
) -> None:
    docs = ApiDocsPage(offline_page)

    shown = docs.operations()

    assert ("post", "/v1/score") in shown
    assert shown == _documented_operations(served_app)
    assert offline_page.outside_requests == []
    assert offline_page.errors == []


def test_an_operation_opens_with_its_request_body_and_responses(
    offline_page: OfflinePage, served_app: ServedApp
) -> None:
    docs = ApiDocsPage(offline_page)
    docs.operations()

    details = docs.open_operation("post", "/v1/score")

    assert "Request body" in details
    documented = _spec(served_app)["paths"]["/v1/score"]["post"]["responses"]
    assert {"200", "401", "503"} <= set(documented)
    assert all(code in details for code in documented)
    assert offline_page.outside_requests == []
    assert offline_page.errors == []


def test_a_user_tries_an_operation_with_their_key(
    offline_page: OfflinePage, served_app: ServedApp
) -> None:
    docs = ApiDocsPage(offline_page)
    docs.operations()

    docs.authorize(served_app.keys["triage"])
    status, body = docs.try_out("get", "/v1/model")

    assert status == "200"
    assert '"version": "7"' in body  # the served (fake) model's
    assert offline_page.outside_requests == []
    assert offline_page.errors == []


OUTSIDE_SCRIPT = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
LOAD_SCRIPT = """url => new Promise(resolve => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve(true);
    script.onerror = () => resolve(false);
    document.head.appendChild(script);
})"""


def test_the_offline_page_blocks_and_records_any_other_host(offline_page: OfflinePage) -> None:
    page = offline_page.page
    page.goto("about:blank")  # a page without the service's policy: only the routing stops it

    loaded = page.evaluate(LOAD_SCRIPT, OUTSIDE_SCRIPT)

    assert loaded is False
    assert offline_page.outside_requests == [OUTSIDE_SCRIPT]
    offline_page.outside_requests.clear()  # seen: the fixture's own check would fail the test
    offline_page.errors.clear()


def test_the_services_policy_refuses_a_script_from_another_host(
    offline_page: OfflinePage,
) -> None:
    page = offline_page.open("/docs")

    loaded = page.evaluate(LOAD_SCRIPT, OUTSIDE_SCRIPT)

    assert loaded is False
    assert offline_page.outside_requests == []  # refused before any request left the page
    assert len(offline_page.errors) == 1 and "Content Security Policy" in offline_page.errors[0]
    offline_page.errors.clear()
