"""What frames every page: its <title> begins with its <h1> (GOV.UK's pattern, so a screen
reader's tab list and the heading agree), a page under another links back to it, and its
times read as people read them."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from tests.api import factories
from tests.api.conftest import ApiEnv, TrainedModel
from tests.api.web_client import csrf_token, scored_referral, signed_in_client

_BACK_LINK = re.compile(r'<a href="([^"]+)" class="govuk-back-link">([^<]+)</a>')


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _heading_and_title(html: str) -> tuple[str, str]:
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
    title = re.search(r"<title[^>]*>(.*?)</title>", html, re.DOTALL)
    assert heading and title, "a page without its <h1> or <title>"
    return _text(heading[1]), _text(title[1]).removeprefix("Error: ")


def _titles_begin_with_headings(browser: TestClient, paths: list[str]) -> dict[str, str]:
    """Each page whose title does not begin with its heading: path -> "title | heading"."""
    wrong = {}
    for path in paths:
        page = browser.get(path)
        assert page.status_code in (200, 404), (path, page.status_code)
        heading, title = _heading_and_title(page.text)
        if not title.startswith(heading):
            wrong[path] = f"{title} | {heading}"
    return wrong


def _back_link(html: str) -> tuple[str, str] | None:
    found = _BACK_LINK.search(html)
    return (unescape(found[1]), found[2]) if found else None


def test_each_triage_pages_title_begins_with_its_heading(api: ApiEnv) -> None:
    """The case page's title was "Referral R1", its heading "R1"."""
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    paths = ["/queue", "/score", f"/cases/{referral}", "/home", "/sign-in", "/no-such-page"]
    assert _titles_begin_with_headings(browser, paths) == {}


def test_each_governance_pages_title_begins_with_its_heading(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """The approval page's title was "Approve model version 1", its heading "Approval task
    list"; the model card's "Model card: ... version 1", its heading "... version 1"."""
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    base = f"/governance/versions/{trained_model.version}"
    paths = ["/governance", "/governance/audit", base, f"{base}/card", f"{base}/fairness",
             f"{base}/approval", f"{base}/decide"]
    assert _titles_begin_with_headings(browser, paths) == {}
    checked = browser.post(f"{base}/decide", data={
        "csrf_token": csrf_token(browser.get(f"{base}/decide").text), "decision": "reject",
        "reason": "a title test: never confirmed"})
    assert checked.status_code == 200
    heading, title = _heading_and_title(checked.text)
    assert heading == "Check your answers before recording your decision"
    assert title.startswith(heading)


def test_a_case_page_links_back_to_where_its_reader_came_from(api: ApiEnv) -> None:
    """Triage open a case from the queue, governance from the audit trail (they may not
    open the queue); the case page had no back link."""
    referral = scored_referral(api)
    queue, trail = ("/queue", "Triage queue"), ("/governance/audit", "Audit trail")
    for role, back in (("triage", queue), ("admin", queue), ("governance", trail)):
        page = signed_in_client(api.client, api.keys[role]).get(f"/cases/{referral}")
        assert page.status_code == 200 and _back_link(page.text) == back, role


def test_a_model_card_and_fairness_report_link_back_to_their_version(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    version = trained_model.version
    back = (f"/governance/versions/{version}", f"Model version {version}")
    for page in ("card", "fairness"):
        html = browser.get(f"/governance/versions/{version}/{page}").text
        assert _back_link(html) == back, page


def test_the_fairness_page_shows_when_it_was_audited_as_pages_show_times(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """It printed "audited 2026-12-06T11:42:56Z"."""
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    text = _text(browser.get(f"/governance/versions/{trained_model.version}/fairness").text)
    audited = re.search(r"audited ([^.]+)\.", text)
    assert audited, text[:500]
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC", audited[1]), audited[1]


def test_the_subject_access_reports_title_begins_with_its_heading(
    api: ApiEnv, tmp_path: Path
) -> None:
    """The report served as HTML and the one `safeguard subject-access` writes for offline
    reading were titled "Subject access", their heading "What this service holds about
    person ..."."""
    case = factories.case(events=1)
    person = str(case["referral"]["person_id"])
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).is_success
    served = api.client.get(f"/v1/subjects/{person}",
                            headers={**api.headers("governance"), "Accept": "text/html"})
    output = tmp_path / "sar.html"
    written = CliRunner().invoke(
        app, ["subject-access", "--person-id", person, "--output", str(output)],
        env={"SAFEGUARD_DATABASE_URL": api.settings.database_url,
             "SAFEGUARD_ENVIRONMENT": "test"})
    assert served.status_code == 200 and written.exit_code == 0, written.output
    for html in (served.text, output.read_text(encoding="utf-8")):
        heading, title = _heading_and_title(html)
        assert heading == f"What this service holds about person {person}"
        assert title.startswith(heading), title


def test_check_your_answers_goes_back_to_the_decision_form_with_the_answers(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """GOV.UK's "check answers" pattern has a back link to the question; this page had
    none (only its "Change your answers" button). Back submits that button's form: a link
    would open the form empty."""
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    base = f"/governance/versions/{trained_model.version}"
    reason = "a back link test: never confirmed"
    checked = browser.post(f"{base}/decide", data={
        "csrf_token": csrf_token(browser.get(f"{base}/decide").text), "decision": "reject",
        "reason": reason})
    assert checked.status_code == 200
    back = re.search(r'<nav aria-label="Back">\s*<button type="submit" form="([^"]+)"'
                     r' class="govuk-back-link[^"]*">([^<]+)</button>', checked.text)
    assert back and back[2] == "Approve or reject this version", checked.text[:3000]
    form = re.search(rf'<form method="post" action="([^"]+)" id="{back[1]}"[^>]*>(.*?)</form>',
                     checked.text, re.DOTALL)
    assert form and form[1] == f"{base}/decide"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[2]))
    again = browser.post(form[1], data=fields)
    assert again.status_code == 200
    heading, _ = _heading_and_title(again.text)
    assert heading == "Approve or reject this version"
    assert re.search(r'value="reject" checked', again.text)
    assert f">{reason}</textarea>" in again.text
