"""What the pages' forms say and keep when they refuse something: the decision form's
messages and limits, and the Score page's paste, its size limit and its errors."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from api.free_text import MAX_TEXT
from api.store import AuditEntry, Store
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import (
    case_form,
    csrf_token,
    decisions_of,
    scored_referral,
    signed_in_client,
)

MIB = 1024 * 1024


def _summary(page: str) -> dict[str, str]:
    """The error summary's links: where each goes, and what it says."""
    summary = page.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return {href: html.unescape(text.strip()) for href, text in
            re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary, re.DOTALL)}


def _textarea(page: str, textarea_id: str) -> str:
    found = re.search(rf'<textarea[^>]*id="{textarea_id}"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert found, f"no textarea {textarea_id}"
    return html.unescape(found.group(1))


def test_a_refused_next_step_or_reason_says_what_is_wrong(api: ApiEnv) -> None:
    """Each field had one fixed message: 2,001 characters, or a NUL, read "Enter the next
    step"; an over-long reason asked for a reason."""
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    hidden = case_form(browser.get(f"/cases/{referral}").text)

    def refused(next_step: str, *, rag: str = "red",
                reason: str = "") -> tuple[dict[str, str], str]:
        response = browser.post(f"/cases/{referral}/decisions", data={
            **hidden, "practitioner_rag": rag, "next_step": next_step,
            "reason": reason, "previous_decision_id": ""})
        assert response.status_code == 400
        return _summary(response.text), response.text

    limit = f"{MAX_TEXT:,}"
    assert refused("x" * (MAX_TEXT + 1))[0] == {
        "next-step": f"Next step must be {limit} characters or fewer"}
    assert refused("strategy", rag="amber", reason="y" * (MAX_TEXT + 1))[0] == {
        "reason": f"Reason must be {limit} characters or fewer"}
    assert refused("\u200b\x01")[0] == {"next-step": (
        "Next step must include some visible text, not only spaces or invisible characters")}
    assert refused("   ")[0] == {"next-step": "Enter the next step"}
    assert refused("close", rag="amber")[0] == {
        "reason": "Enter the reason your decision differs from the service's band"}
    errors, page = refused("close\x00 case")
    assert errors == {"next-step": "Next step must not include a hidden NUL character: "
                      "delete the \ufffd that marks where it was"}
    assert _textarea(page, "next-step") == "close\ufffd case" and "\x00" not in page
    errors, page = refused("strategy", rag="amber", reason="new \u202efacts")
    assert errors == {"reason": "Reason must not include a hidden direction control (it can "
                      "show words out of order): delete the \ufffd that marks where it was"}
    assert _textarea(page, "reason") == "new \ufffdfacts" and "\u202e" not in page
    assert decisions_of(api, referral) == []


def test_the_decision_form_states_the_limits_it_applies(api: ApiEnv) -> None:
    """The textareas count characters up to the schema's limit, and a browser's CRLF line
    breaks count once each, as its count shows them (they counted twice)."""
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    page = browser.get(f"/cases/{referral}").text
    assert page.count(f'data-maxlength="{MAX_TEXT}"') == 2
    assert page.count(f"You can enter up to {MAX_TEXT} characters") == 2

    lines = "a\r\n" * (MAX_TEXT // 2)  # MAX_TEXT characters as counted, half as many more sent
    recorded = browser.post(f"/cases/{referral}/decisions", follow_redirects=False, data={
        **case_form(page), "practitioner_rag": "red", "next_step": lines,
        "reason": "", "previous_decision_id": ""})

    assert recorded.status_code == 303
    [decision] = decisions_of(api, referral)
    assert decision["next_step"] == ("a\n" * (MAX_TEXT // 2)).strip()


def test_each_decision_in_the_history_is_headed_under_it(api: ApiEnv) -> None:
    """The cards' titles were h2s, level with "Decision history" itself."""
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    hidden = case_form(browser.get(f"/cases/{referral}").text)
    page = browser.post(f"/cases/{referral}/decisions", data={
        **hidden, "practitioner_rag": "red", "next_step": "strategy"}).text
    history = page.split('id="history">Decision history</h2>', 1)[1]
    assert re.search(r'<h3 class="govuk-summary-card__title">\s*Decision \d+ by ', history)
    assert "<h2" not in history


def _padded(case: dict[str, Any], size: int) -> str:
    """The case as JSON, padded with spaces (still the same JSON) to `size` characters."""
    text = json.dumps(case)
    return text + " " * (size - len(text))


def test_a_pasted_case_is_taken_up_to_the_body_limit(backend_api: ApiEnv) -> None:
    """A paste over 1 MiB (Starlette's default for one field) got the 400 page, "a problem
    with the address", and the paste was lost; the same case as a file was scored."""
    api = backend_api
    assert api.settings.max_body_bytes > 2 * MIB
    browser = signed_in_client(api.client, api.keys["triage"])
    case = factories.case(events=3)
    response = browser.post("/score", follow_redirects=False, files={"case_file": ("", b"")},
                            data={"csrf_token": csrf_token(browser.get("/score").text),
                                  "case_json": _padded(case, 2 * MIB)})
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{case['referral']['referral_id']}"


def _chunked_form(fields: dict[str, str]) -> tuple[Iterator[bytes], dict[str, str]]:
    """A multipart form sent in chunks, with no Content-Length (as a proxy may send it)."""
    boundary = "sg-test-boundary"

    def chunks() -> Iterator[bytes]:
        for name, value in fields.items():
            yield (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n").encode()
        yield f"--{boundary}--\r\n".encode()

    return chunks(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_a_case_over_the_body_limit_gets_the_score_page_stating_the_limit(api: ApiEnv) -> None:
    """Past the limit the form's reading stopped with the bare 413 page; the Score page
    now says how large a case may be, before and after."""
    browser = signed_in_client(api.client, api.keys["triage"])
    form = browser.get("/score").text
    assert api.settings.max_body_bytes == 64 * 1024  # the shared app's limit
    assert "either must be smaller than 64 KiB" in form
    fields = {"csrf_token": csrf_token(form),
              "case_json": _padded(factories.case(), 65 * 1024)}
    content, headers = _chunked_form(fields)
    chunked = browser.post("/score", content=content, headers=headers)
    # As a browser sends it: its size declared (a JSON 413 answered that before the page).
    declared = browser.post("/score", files={"case_file": ("", b"")}, data=fields)
    assert declared.request.headers["content-length"]

    for response in (chunked, declared):
        assert response.status_code == 413
        assert _summary(response.text) == {"case-file": "The case must be smaller than 64 KiB"}
        assert "<title>Error: Score a referral" in response.text


def test_the_score_page_keeps_the_pasted_case_when_it_refuses_it(api: ApiEnv) -> None:
    """The paste was lost on every refusal; now it is shown again, escaped."""
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    case = factories.case(events=2)
    case["events"][1]["event_date"] = "</textarea><script>alert(1)</script>"
    pasted = json.dumps(case, indent=2)

    refused = browser.post("/score", data={"csrf_token": token, "case_json": pasted},
                           files={"case_file": ("", b"")})
    empty = browser.post("/score", data={"csrf_token": token, "case_json": " "},
                         files={"case_file": ("", b"")})

    assert refused.status_code == 400 and _summary(refused.text) == {
        "problems": "1 problem in the case: see the list below"}
    assert _textarea(refused.text, "case-json") == pasted
    assert "<script>alert(1)" not in refused.text
    assert empty.status_code == 400 and _summary(empty.text) == {
        "case-file": "Upload a case file or paste the case"}



def test_a_decision_on_a_score_replaced_while_deciding_asks_to_read_the_new_one(
    api: ApiEnv
) -> None:
    case = factories.case(events=3)
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    rid = str(case["referral"]["referral_id"])
    browser = signed_in_client(api.client, api.keys["triage"])
    page = browser.get(f"/cases/{rid}").text
    shown = re.search(r'name="score_id" value="(\d+)"', page)[1]  # type: ignore[index]
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    fields = {"csrf_token": csrf_token(page), "practitioner_rag": "red",
              "next_step": "strategy discussion", "reason": "new information",
              "previous_decision_id": "", "score_id": shown}
    refused = browser.post(f"/cases/{rid}/decisions", data=fields, follow_redirects=False)
    assert refused.status_code == 409
    assert "scored again while you were deciding" in html.unescape(refused.text)
    newer = re.search(r'name="score_id" value="(\d+)"', refused.text)[1]  # type: ignore[index]
    assert int(newer) > int(shown)
    taken = browser.post(f"/cases/{rid}/decisions", data={**fields, "score_id": newer},
                         follow_redirects=False)
    assert taken.status_code == 303


def test_the_score_page_says_what_is_wrong_with_an_id_or_a_files_encoding(
        api: ApiEnv) -> None:
    """A referral id the rule refuses is named in the words a feed's quarantine uses (it
    gave the pattern, 400 characters of it); a file not in UTF-8 is said to be so (it was
    "Invalid JSON: expected value at line 1 column 1")."""
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    for bad_id in ("..", "R\u202e1", "R0003532\u200b"):
        case = factories.case(referral_id=bad_id)
        refused = browser.post("/score", data={"csrf_token": token,
                                               "case_json": json.dumps(case)})
        said = html.unescape(refused.text)
        assert refused.status_code == 400
        assert ("Not a referral id (1 to 100 characters, no control or invisible format "
                "character" in said), bad_id
        assert "String should match pattern" not in said
    latin1 = json.dumps(factories.case()).replace("police", "polic\u00e9").encode("latin-1")
    upload = browser.post("/score", data={"csrf_token": token},
                          files={"case_file": ("case.json", latin1, "application/json")})
    assert upload.status_code == 400 and _summary(upload.text) == {
        "case-file": "The case file must be UTF-8 text: save it as UTF-8 (JSON's encoding) "
                     "and upload it again"}


def test_a_case_file_saved_with_a_byte_order_mark_is_scored(api: ApiEnv) -> None:
    # Windows Notepad saves UTF-8 with a byte-order mark: the upload was refused as
    # "Invalid JSON: expected value at line 1 column 1", a character no one can see.
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    case = factories.case(referral_id="R-BOM-1")
    upload = browser.post("/score", data={"csrf_token": token}, follow_redirects=False,
                          files={"case_file": ("case.json", b"\xef\xbb\xbf" + json.dumps(case)
                                               .encode("utf-8"), "application/json")})
    assert upload.status_code == 303, _summary(upload.text)
    assert upload.headers["location"].endswith("/cases/R-BOM-1")


def test_the_score_page_lists_a_wrong_type_and_a_broken_rule_at_once(api: ApiEnv) -> None:
    # The rules over several fields were checked only once every field was valid: the
    # practitioner mended the type, sent the case again, and only then met the rule.
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    case = factories.case(events=0, disability="no")
    case["events"] = [factories.event(event_date="2024-03-02", recorded_date="2024-03-01")]
    refused = browser.post("/score", data={"csrf_token": token, "case_json": json.dumps(case)})
    assert refused.status_code == 400 and _summary(refused.text) == {
        "problems": "2 problems in the case: see the list below"}
    assert "recorded_date 2024-03-01 is before event_date 2024-03-02" in refused.text


def test_a_case_the_score_page_refuses_is_audited_as_the_apis_422_is(api: ApiEnv) -> None:
    """The page's refusals left no audit entry where the API's 422 for the same case did
    (7 December): each is `request_invalid`, the fields at fault named, no value kept."""
    def entries() -> list[dict[str, Any]]:
        store = Store(api.settings.database_url)
        with store.session() as session:
            found = [entry.details for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "request_invalid")
                .order_by(AuditEntry.seq))]
        store.dispose()
        return found

    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    case = factories.case(events=2)
    case["referral"]["sex"] = "robot"
    before = len(entries())
    refused = browser.post("/score", data={"csrf_token": token, "case_json": json.dumps(case)},
                           files={"case_file": ("", b"")})
    empty = browser.post("/score", data={"csrf_token": token, "case_json": " "},
                         files={"case_file": ("", b"")})
    assert (refused.status_code, empty.status_code) == (400, 400)
    assert entries()[before:] == [
        {"method": "POST", "route": "/score", "fields": ["referral.sex"]},
        {"method": "POST", "route": "/score", "fields": ["body"]}]
    assert "robot" not in json.dumps(entries())
