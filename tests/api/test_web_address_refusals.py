"""A page's address refused in plain words, and no filter silently ignored: an unknown
band or presenting need on the queue, an audit search field given twice, a version that is
no number; and a 404 page saying what fits the page asked for."""

from __future__ import annotations

import html
import re

import pytest

from tests.api.conftest import ApiEnv
from tests.api.web_client import audit_entries_since, last_audit_seq, signed_in_client

# pydantic's own words, and a pattern's, which no page shows.
PYDANTIC = ("Input should", "String should", "List should", "should match pattern", "^[")


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())




@pytest.mark.parametrize(("query", "field", "said"), [
    ("band=purple", "band", "band in the address must name a band: very high, high, medium "
                            "or low."),
    ("band=high&band=purple", "band", "band in the address must name a band"),
    ("need=astrology", "need", "need in the address must name a presenting need: "
                               "abuse_neglect, domestic_abuse"),
])
def test_an_unknown_queue_filter_is_refused_not_ignored(
    api: ApiEnv, query: str, field: str, said: str
) -> None:
    """`/queue?band=purple` listed the whole queue (its audit entry said `bands: []`),
    while `?page=0` was refused: now it is refused the same way, and audited so."""
    browser = signed_in_client(api.client, api.keys["triage"])
    seq = last_audit_seq(api)

    page = browser.get(f"/queue?{query}")

    assert page.status_code == 400
    assert said in _text(page.text) and "purple" not in page.text
    assert [(e.action, e.details) for e in audit_entries_since(api, seq)] == [
        ("request_invalid", {"method": "GET", "route": "/queue", "fields": [f"query.{field}"]})]


def test_the_queue_forms_own_filters_are_taken(api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["triage"])
    for query in ("need=", "band=very+high&band=low&need=domestic_abuse", ""):
        assert browser.get(f"/queue?{query}").status_code == 200, query


@pytest.mark.parametrize(("field", "label", "values"), [
    ("user_name", "User", ("a", "b")),
    ("since", "From", ("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z")),
])
def test_an_audit_search_field_given_twice_is_refused_as_the_api_refuses_it(
    api: ApiEnv, field: str, label: str, values: tuple[str, str]
) -> None:
    """`?user_name=a&user_name=b` searched for b alone, where `GET /v1/audit?user=a&user=b`
    is a 422: now the page refuses it with an error summary, searches nothing, and the
    refusal is audited (the field, not the values)."""
    api_field = "user" if field == "user_name" else field
    assert api.client.get("/v1/audit", params=[(api_field, v) for v in values],
                          headers=api.headers("governance")).status_code == 422
    browser = signed_in_client(api.client, api.keys["governance"])
    seq = last_audit_seq(api)

    page = browser.get("/governance/audit", params=[(field, value) for value in values])

    assert page.status_code == 400 and "govuk-error-summary" in page.text
    assert f'href="#{field.replace("_", "-")}"' in page.text
    text = _text(page.text)
    assert f"{label} must be given once: the address gave it more than once" in text
    assert "Nothing was searched." in text and "Entries, oldest first" not in text
    assert [(e.action, e.details) for e in audit_entries_since(api, seq)] == [
        ("request_invalid", {"method": "GET", "route": "/governance/audit",
                             "fields": [field]})]


def test_a_paging_link_given_twice_is_refused(api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["governance"])
    page = browser.get("/governance/audit?after_seq=1&after_seq=2")
    assert page.status_code == 400
    assert "after_seq in the address must be given once." in _text(page.text)


def test_a_refused_audit_search_by_time_is_audited(api: ApiEnv) -> None:
    """The page's 400 for a time the API refuses left no entry, where the API's 422 does."""
    browser = signed_in_client(api.client, api.keys["governance"])
    seq = last_audit_seq(api)

    page = browser.get("/governance/audit", params={"until": "2026-13-45T00:00:00Z"})

    assert page.status_code == 400
    assert "To must be a real date and time (its month must be 1 to 12)" in _text(page.text)
    assert [(e.action, e.details) for e in audit_entries_since(api, seq)] == [
        ("request_invalid", {"method": "GET", "route": "/governance/audit",
                             "fields": ["until"]})]


@pytest.mark.parametrize(("role", "address", "said"), [
    ("governance", "/governance/versions/abc",
     "version in the address is not a model version number (1, 2, 3 and so on)."),
    ("governance", "/governance/versions/0/card",
     "version in the address is not a model version number"),
    ("triage", "/queue?page=0", "page in the address must be 1 or more."),
    ("triage", "/queue?page=100001", "page in the address must be 100,000 or less."),
    ("triage", "/queue?page=two", "page in the address must be a whole number."),
    ("triage", "/queue?" + "&".join(["band=high"] * 11),
     "band in the address must not be given more than 10 times."),
    ("triage", "/cases/" + "A" * 101, "referral_id in the address must be 100 characters "
                                      "or fewer."),
    ("governance", "/governance/audit?after_seq=-1", "after_seq in the address must be 0 or "
                                                     "more."),
    ("governance", "/governance/audit?user_name=" + "u" * 101,
     "user_name in the address must be 100 characters or fewer."),
])
def test_an_address_refused_is_named_in_plain_words(
    api: ApiEnv, role: str, address: str, said: str
) -> None:
    """`/governance/versions/abc` said "String should match pattern '^[1-9][0-9]{0,9}$'",
    `/queue?page=0` "Input should be greater than or equal to 1"."""
    browser = signed_in_client(api.client, api.keys[role])

    page = browser.get(address)

    assert page.status_code == 400
    text = _text(page.text)
    assert said in text
    assert not [words for words in PYDANTIC if words in text], text


def test_a_page_not_found_says_what_fits_the_page_asked_for(api: ApiEnv) -> None:
    """Every 404 said "If you followed a link to a referral, it may not have been scored
    yet", a model version's and a report's too."""
    referral_hint = "it may not have been scored yet"
    triage = signed_in_client(api.client, api.keys["triage"])
    governance = signed_in_client(api.client, api.keys["governance"])

    case = _text(triage.get("/cases/R-never-scored").text)
    version = _text(governance.get("/governance/versions/987654").text)
    card = _text(governance.get("/governance/versions/987654/card").text)
    report = _text(governance.get("/governance/reports/monitor").text)
    other = _text(governance.get("/governance/no-such-page").text)

    assert referral_hint in case
    for page in (version, card):
        assert referral_hint not in page
        assert "If you followed a link to a model version, it may not be registered" in page
    assert referral_hint not in report
    assert "If you followed a link to an oversight report, it may not have been written" \
        in report
    assert referral_hint not in other and "If you typed the web address" in other
