"""A form a page refuses is audited once, as the API's refusal of the same request is: the
case page's decision form (`decision_refused` for a reason owed, `request_invalid` for
a form refused on its own, `form_refused` alone for a changed hidden field), the subject
access form, and the Score page given both a file and a paste."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from api.store import Store, repository
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import (
    audit_entries_since,
    case_form,
    csrf_token,
    decisions_of,
    last_audit_seq,
    scored_referral,
    signed_in_client,
)

# What an entry of a refused request is; views (a case page shown again) are not.
REFUSALS = ("decision_refused", "request_invalid", "form_refused", "access_refused")




def _summary(page: str) -> dict[str, str]:
    """The error summary's links: where each goes, and what it says."""
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return {href: html.unescape(text.strip()) for href, text in
            re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary, re.DOTALL)}


def _decide(browser: Any, referral: str, **fields: str) -> Any:
    form = {**case_form(browser.get(f"/cases/{referral}").text), "practitioner_rag": "green",
            "next_step": "information and advice", "reason": "", "previous_decision_id": ""}
    return browser.post(f"/cases/{referral}/decisions", data={**form, **fields})


def test_an_override_without_a_reason_is_audited_once_as_the_apis_is(api: ApiEnv) -> None:
    """The page's 400 left no entry, where `POST /v1/decisions` with the same decision is
    audited as `decision_refused`: now the page's is the same entry."""
    referral = scored_referral(api)  # high, red
    browser = signed_in_client(api.client, api.keys["triage"])
    for reason in ("", "   "):
        seq = last_audit_seq(api)

        refused = _decide(browser, referral, reason=reason)

        assert refused.status_code == 400
        assert _summary(refused.text) == {
            "reason": "Enter the reason your decision differs from the service's band"}
        [entry] = audit_entries_since(api, seq, REFUSALS)
        assert (entry.action, entry.referral_id, entry.role) == (
            "decision_refused", referral, "triage")
    seq = last_audit_seq(api)
    through_api = api.client.post("/v1/decisions", headers=api.headers("triage"), json=
                                  factories.decision(referral, practitioner_rag="green"))
    assert through_api.status_code == 422
    [by_api] = audit_entries_since(api, seq, REFUSALS)
    assert by_api.action == entry.action and by_api.details == entry.details == {
        "status": 422, "rag": "green",
        "why": "reason is required when practitioner_rag 'green' differs from the service's "
               "RAG 'red'"}
    assert decisions_of(api, referral) == []


def test_a_decision_form_refused_on_its_own_is_audited_with_its_fields_only(
    api: ApiEnv
) -> None:
    """No rating chosen, or a next step over its limit: a 400 with no entry; now
    `request_invalid` naming the fields the error summary names, never what was entered."""
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    long_step = "paste-" * 400
    seq = last_audit_seq(api)

    no_rating = _decide(browser, referral, practitioner_rag="")
    too_long = _decide(browser, referral, practitioner_rag="red", next_step=long_step)

    assert (no_rating.status_code, too_long.status_code) == (400, 400)
    assert list(_summary(no_rating.text)) == ["practitioner-rag"]
    assert list(_summary(too_long.text)) == ["next-step"]
    entries = audit_entries_since(api, seq, REFUSALS)
    assert [(e.action, e.referral_id, e.details) for e in entries] == [
        ("request_invalid", referral, {"method": "POST", "route": "/cases/{referral_id}/decisions",
                                       "referral_id": referral, "fields": [field]})
        for field in ("practitioner_rag", "next_step")]
    assert "paste-paste" not in json.dumps([e.details for e in entries])
    assert decisions_of(api, referral) == []


def test_a_score_id_changed_to_one_not_the_referrals_is_audited_once(api: ApiEnv) -> None:
    """Another referral's score, or a number no score has: `decision_refused` and
    `form_refused` were both written for one form; now `form_refused` alone."""
    referral, other = factories.referral_id(), factories.referral_id()
    for rid, events in ((other, 3), (referral, 15)):
        case = factories.case(events=events, referral_id=rid)
        assert api.client.post("/v1/score", json=case,
                               headers=api.headers("triage")).status_code == 200
    store = Store(api.settings.database_url)
    with store.session() as session:
        theirs = repository.latest_score(session, other).id  # type: ignore[union-attr]
        mine = repository.latest_score(session, referral).id  # type: ignore[union-attr]
    store.dispose()
    browser = signed_in_client(api.client, api.keys["triage"])
    for changed in (theirs, mine + 1000):
        seq = last_audit_seq(api)

        refused = _decide(browser, referral, practitioner_rag="red", score_id=str(changed))

        assert refused.status_code == 400 and "Your form could not be sent" in refused.text
        assert [e.action for e in audit_entries_since(api, seq, REFUSALS)] == ["form_refused"]
    assert decisions_of(api, referral) == []


SUBJECTS = "/governance/subjects"


def test_a_subject_access_form_refused_is_audited_without_what_was_entered(
    api: ApiEnv
) -> None:
    """Only a missing CSRF token was entered: a token that is none, an empty field or a
    70-character paste (a key, perhaps) now each leave `request_invalid`, the field named,
    the value never kept."""
    browser = signed_in_client(api.client, api.keys["governance"])
    token = csrf_token(browser.get(SUBJECTS).text)
    pasted = "k" * 70
    for asked in ("P 1", "", pasted):
        seq = last_audit_seq(api)

        page = browser.post(SUBJECTS, data={"csrf_token": token, "person_id": asked})

        assert page.status_code == 400
        [entry] = audit_entries_since(api, seq, REFUSALS)
        assert (entry.action, entry.role, entry.referral_id) == (
            "request_invalid", "governance", None)
        assert entry.details == {"method": "POST", "route": SUBJECTS, "fields": ["person_id"]}
    assert pasted not in page.text


def test_the_score_page_given_a_file_and_a_paste_asks_for_one_of_them(api: ApiEnv) -> None:
    """The file was scored and the paste silently ignored: now neither is, the summary
    asks for one, the paste is kept, and the refusal is audited as the page's others."""
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    in_file, pasted = factories.case(events=2), factories.case(events=3)
    seq = last_audit_seq(api)

    refused = browser.post("/score", data={"csrf_token": token,
                                           "case_json": json.dumps(pasted)},
                           files={"case_file": ("case.json", json.dumps(in_file).encode(),
                                                "application/json")},
                           follow_redirects=False)

    assert refused.status_code == 400
    assert _summary(refused.text) == {
        "case-file": "Upload a case file or paste the case, not both"}
    assert html.unescape(json.dumps(pasted)) in html.unescape(refused.text)
    for case in (in_file, pasted):
        rid = case["referral"]["referral_id"]
        assert api.client.get(f"/v1/referrals/{rid}",
                              headers=api.headers("admin")).status_code == 404
    assert [(e.action, e.details) for e in audit_entries_since(api, seq, REFUSALS)] == [
        ("request_invalid", {"method": "POST", "route": "/score",
                             "fields": ["case_file", "case_json"]})]
