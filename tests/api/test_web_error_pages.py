"""Error pages for a bad address: they say what is wrong with it, and their status code."""

from __future__ import annotations

import re

from tests.api.conftest import ApiEnv
from tests.api.web_client import signed_in_client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_referral_id_too_long_for_the_address_is_named_with_the_error_code(
    api: ApiEnv,
) -> None:
    """The 400 page read "The service could not do what was asked (error )." and no more."""
    browser = signed_in_client(api.client, api.keys["triage"])
    page = browser.get("/cases/" + "A" * 101)

    assert page.status_code == 400
    text = _text(page.text)
    assert "(error 400)" in text
    assert "referral_id in the address must be 100 characters or fewer." in text
    assert "A" * 101 not in page.text  # the address's value is never shown back


def test_a_bad_query_value_is_named(api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["admin"])
    queue = _text(browser.get("/queue?page=0").text)

    assert "page in the address must be 1 or more." in queue


def test_a_report_not_offered_is_page_not_found_as_any_unknown_address(api: ApiEnv) -> None:
    """It was a 400 page, "name in the address: ...", as if the address were mistyped."""
    browser = signed_in_client(api.client, api.keys["admin"])
    report = browser.get("/governance/reports/secret-key-pasted")
    unknown = browser.get("/governance/no-such-page")

    assert report.status_code == unknown.status_code == 404
    assert "<h1 class=\"govuk-heading-l\">Page not found</h1>" in report.text
    assert "secret-key-pasted" not in report.text  # a pasted key is never shown back
