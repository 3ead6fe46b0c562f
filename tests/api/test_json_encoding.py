"""A JSON body is UTF-8 (RFC 8259), with or without a byte-order mark, on every route
that takes one, and a case file on the Score page: a body in UTF-16 or UTF-32 is refused
alike, saying what to send."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest

from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import csrf_token, signed_in_client


def _bodies() -> dict[str, tuple[str, Any]]:
    """Each JSON route: its role and a body it takes."""
    case = factories.case(events=1)
    return {"/v1/score": ("triage", case), "/v1/score/batch": ("triage", {"cases": [case]}),
            "/v1/decisions": ("triage", factories.decision(case["referral"]["referral_id"])),
            "/v1/models/1/approvals": ("governance", {"decision": "approve"})}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
@pytest.mark.parametrize("path", list(_bodies()))
def test_a_body_not_in_utf8_is_refused_alike_on_every_route(
        api: ApiEnv, path: str, encoding: str) -> None:
    # The batch route scored a UTF-16 body (json.loads, and so FastAPI, guesses the
    # encoding) that /v1/score refused as "Invalid JSON: expected value".
    role, document = _bodies()[path]
    response = api.client.post(path, content=json.dumps(document).encode(encoding), headers={
        **api.headers(role), "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["field"] == "body" and error["type"] == "json_invalid"
    assert f"reads as {encoding.upper()[:6]}, not UTF-8" in error["message"]


@pytest.mark.parametrize("path", ["/v1/score", "/v1/score/batch"])
def test_a_utf8_body_without_a_byte_order_mark_is_scored(api: ApiEnv, path: str) -> None:
    # (with the mark: tests/api/test_input_limits.py)
    role, document = _bodies()[path]
    response = api.client.post(path, content=json.dumps(document).encode("utf-8"), headers={
        **api.headers(role), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-16"])
def test_the_score_page_says_a_case_file_in_utf16_or_utf32_must_be_utf8(
        api: ApiEnv, encoding: str) -> None:
    # Without a byte-order mark, UTF-16-LE is valid UTF-8 (each ASCII character followed
    # by a NUL byte): the page said "Invalid JSON: expected value at line 1 column 1".
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    data = json.dumps(factories.case(events=1)).encode(encoding)
    upload = browser.post("/score", data={"csrf_token": token},
                          files={"case_file": ("case.json", data, "application/json")})
    said = html.unescape(upload.text)
    assert upload.status_code == 400
    assert (f"The case file reads as {encoding.upper()[:6]}, not UTF-8: a case must be UTF-8 "
            "JSON, so save it as UTF-8 and upload it again") in said
    assert "Invalid JSON" not in said
