"""The subject access page: a governance user's browser asks for a person's record."""

from __future__ import annotations

import html
import uuid

from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.test_subject_access_golden import subject_access_entries
from tests.api.web_client import csrf_token, signed_in_client

PAGE = "/governance/subjects"


def test_a_governance_user_reads_a_persons_record_in_the_browser(api: ApiEnv) -> None:
    """The API's address took a key, not a session: a board member's browser got a 401."""
    subject = f"T{uuid.uuid4().hex[:10]}"
    case = factories.case(events=2, person_id=subject)
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    browser = signed_in_client(api.client, api.keys["governance"])
    form = browser.get(PAGE)
    assert form.status_code == 200 and 'href="/governance/subjects"' in form.text
    before = len(subject_access_entries(api))
    page = browser.post(PAGE, data={"csrf_token": csrf_token(form.text),
                                    "person_id": f" {subject} "})
    said = " ".join(html.unescape(page.text).split())
    assert page.status_code == 200, said
    assert f"What this service holds about person {subject}" in said
    assert case["referral"]["referral_id"] in said and "Signed in as" in said
    entries = subject_access_entries(api)
    assert len(entries) == before + 1
    assert entries[-1].role == "governance" and entries[-1].details["person_id"] == subject


def test_a_token_that_is_not_one_is_an_error_on_the_form_and_discloses_nothing(
        api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["admin"])
    token = csrf_token(browser.get(PAGE).text)
    before = len(subject_access_entries(api))
    for asked in ("", "P 1", "<script>", "x" * 65):
        page = browser.post(PAGE, data={"csrf_token": token, "person_id": asked})
        said = " ".join(html.unescape(page.text).split())
        assert page.status_code == 400, said
        assert "There is a problem" in said and "Enter the person's pseudonymous token" in said
        assert 'href="#person_id"' in page.text
        assert asked != "<script>" or 'value="&lt;script&gt;"' in page.text  # escaped
    assert "x" * 65 not in page.text  # a long paste is not shown back: it may be a key
    assert len(subject_access_entries(api)) == before


def test_triage_may_not_open_it_and_a_form_without_its_token_is_refused(api: ApiEnv) -> None:
    triage = signed_in_client(api.client, api.keys["triage"])
    assert triage.get(PAGE).status_code == 403
    governance = signed_in_client(api.client, api.keys["governance"])
    before = len(subject_access_entries(api))
    assert governance.post(PAGE, data={"person_id": "P000001"}).status_code == 403
    assert len(subject_access_entries(api)) == before
