"""Every response carries a Content-Security-Policy that lets in nothing but the service,
and the headers that go with it."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from api.app import create_app
from api.case_payload import CasePayload
from api.schemas import ScoreResult
from api.security_headers import install_security_headers
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.fakes import FakeScorer

INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (directive.split() for directive in policy.split(";") if directive.strip())
    return {name: sources for name, *sources in parts}


def _sha256_source(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def test_html_pages_carry_a_strict_content_security_policy(api: ApiEnv) -> None:
    docs, sign_in = api.client.get("/docs"), api.client.get("/sign-in")

    policy = _directives(docs.headers["content-security-policy"])

    assert sign_in.headers["content-security-policy"] == docs.headers["content-security-policy"]
    assert policy["default-src"] == ["'self'"]
    docs_scripts = INLINE_SCRIPT.findall(docs.text)
    page_scripts = INLINE_SCRIPT.findall(sign_in.text)
    assert len(docs_scripts) == 1  # Swagger UI's start-up call, allowed by its hash only
    assert len(page_scripts) == 1  # GOV.UK's template marking the body `js-enabled`
    allowed = {_sha256_source(script) for script in docs_scripts + page_scripts}
    assert policy["script-src"][0] == "'self'" and set(policy["script-src"][1:]) == allowed
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    every_source = [source for sources in policy.values() for source in sources]
    assert not [s for s in every_source if "unsafe" in s or "*" in s or "//" in s]
    assert set(every_source) <= {"'self'", "'none'", "data:", *allowed}
    assert docs.headers["x-frame-options"] == "DENY"
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert docs.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/healthz", 200), ("GET", "/openapi.json", 200), ("GET", "/v1/model", 401),
    ("GET", "/nowhere", 404), ("POST", "/v1/score", 401), ("GET", "/redoc", 404),
])
def test_every_response_carries_the_security_headers(
    api: ApiEnv, method: str, path: str, status: int
) -> None:
    response = api.client.request(method, path)

    assert response.status_code == status
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


class _FailingScorer(FakeScorer):
    def score_cases(self, cases: Sequence[CasePayload]) -> list[ScoreResult]:
        raise RuntimeError("the model fell over")


def test_the_safe_500_carries_the_security_headers(api: ApiEnv) -> None:
    with TestClient(create_app(api.settings, _FailingScorer())) as client:
        response = client.post("/v1/score", json=factories.case(), headers=api.headers("triage"))

    assert response.status_code == 500
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_a_page_with_its_own_policy_keeps_it_and_gets_the_rest() -> None:
    app = FastAPI()

    @app.get("/page")
    def page() -> HTMLResponse:
        own_policy = {"Content-Security-Policy": "default-src 'none'"}
        return HTMLResponse("<p>hello</p>", headers=own_policy)

    install_security_headers(app)
    response = TestClient(app).get("/page")

    assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_data_is_never_cached_and_assets_are_left_to_the_browser(api: ApiEnv) -> None:
    case = factories.case()
    headers = api.headers("triage")
    scored = api.client.post("/v1/score", json=case, headers=headers)
    referral = api.client.get(f"/v1/referrals/{case['referral']['referral_id']}",
                              headers=api.headers("governance"))
    person = case["referral"]["person_id"]
    subject = api.client.get(f"/v1/subjects/{person}", headers=api.headers("governance"))
    refused = api.client.get("/v1/model")
    assert [r.status_code for r in (scored, referral, subject, refused)] == [200, 200, 200, 401]
    for response in (scored, referral, subject, refused, api.client.get("/sign-in")):
        assert response.headers["cache-control"] == "no-store", (response.url, response.text)
    stylesheet = next(path for path in re.findall(r'href="([^"]+\.css)"',
                                                  api.client.get("/sign-in").text))
    asset = api.client.get(stylesheet)
    assert asset.status_code == 200 and "cache-control" not in asset.headers
