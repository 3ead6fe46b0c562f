"""The web pages over HTTP: sessions, CSRF, roles, audit of page views, error pages."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import itsdangerous.timed
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.audit import commit_with_audit
from api.audit_governance_check import user_revoked
from api.schemas import Escalation, ScoreResult
from api.store import AuditEntry, Score, Store, repository
from api.web.session import SESSION_COOKIE, SESSION_SECONDS, SessionCodec
from data_contracts.vocab import LABEL_WINDOW_DAYS, OUTCOME_TYPES
from tests.api import factories
from tests.api.conftest import TEST_PEPPER, ApiEnv, issue_keys
from tests.api.web_client import (
    case_form,
    csrf_token,
    decisions_of,
    scored_referral,
    signed_in_client,
)

HTML = {"Accept": "text/html"}


def _audit_actions(api: ApiEnv, referral_id: str) -> list[str]:
    page = api.client.get("/v1/audit", params={"referral_id": referral_id, "limit": 500},
                          headers=api.headers("governance")).json()
    return [entry["action"] for entry in page["entries"]]


def test_a_decision_posted_without_its_csrf_token_is_refused(api: ApiEnv) -> None:
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    form = {"practitioner_rag": "red", "next_step": "strategy discussion"}

    missing = browser.post(f"/cases/{referral}/decisions", data=form)
    forged = browser.post(f"/cases/{referral}/decisions", data={**form, "csrf_token": "x" * 43})

    assert missing.status_code == forged.status_code == 403
    for refused in (missing, forged):  # not the role's 403 page: the role may decide
        assert "Your form could not be sent" in refused.text
        assert "The form had expired" in refused.text and "Nothing in it was saved" in refused.text
        assert "Your role does not allow this" not in refused.text
        assert "You do not have access" not in refused.text
    assert decisions_of(api, referral) == []


def test_a_signed_in_users_form_refused_for_its_csrf_token_is_audited(api: ApiEnv) -> None:
    """The role's 403 was in the trail, the refused form's 403 was not: who posted what,
    to which referral, with a token not their session's."""
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    form = {"practitioner_rag": "red", "next_step": "strategy discussion"}

    refused = browser.post(f"/cases/{referral}/decisions", data={**form, "csrf_token": "x"})

    assert refused.status_code == 403 and "Signed in as" in refused.text
    assert _audit_actions(api, referral) == ["score", "form_refused"]
    entry = _latest_entry(api, "form_refused")
    assert entry is not None and entry.role == "triage" and entry.referral_id == referral
    assert entry.user_name.startswith("triage-")
    assert entry.details == {"method": "POST", "route": "/cases/{referral_id}/decisions",
                             "refused": "the form's CSRF token is not its session's",
                             "referral_id": referral}
    visitor = TestClient(api.client.app, headers=HTML)  # no one to name: not audited
    assert visitor.post("/sign-in", data={"api_key": "x"}).status_code == 403
    latest = _latest_entry(api, "form_refused")
    assert latest is not None and latest.seq == entry.seq


def test_the_sign_in_form_needs_its_csrf_token_too(api: ApiEnv) -> None:
    browser = TestClient(api.client.app, headers=HTML)
    response = browser.post("/sign-in", data={"api_key": api.keys["triage"]})
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_the_session_cookie_is_httponly_strict_and_secure_over_tls(api: ApiEnv) -> None:
    for base_url, secure in (("http://testserver", False), ("https://testserver", True)):
        browser = TestClient(api.client.app, base_url=base_url, headers=HTML)
        token = csrf_token(browser.get("/sign-in").text)
        response = browser.post("/sign-in", data={"api_key": api.keys["triage"],
                                                  "csrf_token": token}, follow_redirects=False)
        cookie = response.headers["set-cookie"].lower()
        assert response.status_code == 303 and cookie.startswith(SESSION_COOKIE)
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert ("; secure" in cookie) is secure


def test_a_wrong_or_revoked_key_is_refused_with_the_error_summary(api: ApiEnv) -> None:
    for key in ("nonsense", api.revoked_key, api.keys["triage"] + "x"):
        browser = TestClient(api.client.app, headers=HTML)
        token = csrf_token(browser.get("/sign-in").text)
        response = browser.post("/sign-in", data={"api_key": key, "csrf_token": token})
        assert response.status_code == 401
        assert "govuk-error-summary" in response.text and "<title>Error: " in response.text
        assert browser.get("/queue", follow_redirects=False).status_code == 303


def test_an_expired_or_altered_cookie_sends_the_user_to_sign_in(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = signed_in_client(api.client, api.keys["triage"]).cookies[SESSION_COOKIE]
    session = SessionCodec(TEST_PEPPER).loads(current)
    assert session is not None
    signed_at = int(time.time()) - SESSION_SECONDS - 60  # a shift and a minute ago
    with monkeypatch.context() as patched:
        patched.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda _signer: signed_at)
        expired = SessionCodec(TEST_PEPPER).dumps(session)
    forged = SessionCodec("another-pepper-" + "z" * 32).dumps(session)
    fresh = TestClient(api.client.app, headers=HTML, cookies={SESSION_COOKIE: current})
    assert fresh.get("/queue", follow_redirects=False).status_code == 200
    for value in (expired, forged):
        browser = TestClient(api.client.app, headers=HTML, cookies={SESSION_COOKIE: value})
        response = browser.get("/queue", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=/queue"


def test_revoking_a_key_ends_its_sessions(api: ApiEnv) -> None:
    # a key of its own: revoking the shared app's key failed every later test using it
    hasher_key = issue_keys(api.settings)[0]["data_scientist"]
    browser = signed_in_client(api.client, hasher_key)
    assert browser.get("/home").status_code == 200
    store = Store(api.settings.database_url)
    with store.session() as session:
        user = next(u for u in repository.list_users(session)
                    if u.key_id == hasher_key.partition(".")[0])
        name = user.name
    try:
        with store.session() as session:
            gone = repository.revoke_user(session, name)
            assert gone is not None  # audited, as `safeguard users revoke` does: the trail
            commit_with_audit(session, [user_revoked(gone)])  # verifies users against it
        assert browser.get("/home", follow_redirects=False).status_code == 303
    finally:
        store.dispose()


def test_sign_in_returns_only_to_this_services_pages(api: ApiEnv) -> None:
    browser = TestClient(api.client.app, headers=HTML)
    token = csrf_token(browser.get("/sign-in?next=//evil.example/").text)
    response = browser.post("/sign-in", data={"api_key": api.keys["triage"], "csrf_token": token,
                                              "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/queue"


def test_roles_decide_the_pages(api: ApiEnv) -> None:
    triage = signed_in_client(api.client, api.keys["triage"])
    governance = signed_in_client(api.client, api.keys["governance"])

    assert triage.get("/governance").status_code == 403
    assert triage.get("/governance/audit").status_code == 403
    assert governance.get("/queue").status_code == 403
    assert governance.get("/", follow_redirects=False).headers["location"] == "/governance"
    assert triage.get("/", follow_redirects=False).headers["location"] == "/queue"
    assert "Model governance" not in triage.get("/queue").text  # not in its navigation


def test_your_account_lists_the_pages_of_a_role_that_has_them(api: ApiEnv) -> None:
    """Triage, governance and admin were told their role "has no pages in this service"."""
    keys = api.keys
    for role, pages in (("triage", ["/queue", "/score"]),
                        ("governance", ["/governance", "/governance/audit",
                                        "/governance/subjects"]),
                        ("admin", ["/queue", "/score", "/governance", "/governance/audit",
                                   "/governance/subjects"]),
                        ("data_scientist", [])):
        main = signed_in_client(api.client, keys[role]).get("/home").text.split("<main")[1]
        assert re.findall(r'<li><a class="govuk-link" href="([^"]+)"', main) == pages, role
        assert ("has no pages in this service" in main) == (not pages), role


def test_every_page_view_of_a_case_is_audited(api: ApiEnv) -> None:
    referral = scored_referral(api)
    governance = signed_in_client(api.client, api.keys["governance"])

    page = governance.get(f"/cases/{referral}")

    assert page.status_code == 200 and "Record your decision" not in page.text
    assert _audit_actions(api, referral) == ["score", "case_view"]


def test_every_view_of_the_queue_is_audited_with_its_filters_and_count(api: ApiEnv) -> None:
    scored_referral(api)  # high
    browser = signed_in_client(api.client, api.keys["triage"])

    page = browser.get("/queue", params={"band": "high", "need": "domestic_abuse"})

    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "queue_view")
                                .order_by(AuditEntry.seq.desc()).limit(1)).one()
    store.dispose()
    listed = len(re.findall(r'href="/cases/', page.text))
    assert entry.role == "triage" and entry.referral_id is None
    assert entry.details == {"bands": ["high"], "need": "domestic_abuse", "page": 1,
                             "listed": listed, "waiting": entry.details["waiting"]}
    assert listed >= 1 and entry.details["waiting"] >= listed


def _latest_entry(api: ApiEnv, action: str) -> AuditEntry | None:
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.seq.desc()).limit(1)).one_or_none()
    store.dispose()
    return entry


def test_every_view_of_the_governance_page_is_audited(api: ApiEnv) -> None:
    """The page shows override rates read from practitioners' decisions; it was not audited."""
    browser = signed_in_client(api.client, api.keys["governance"])
    before = _latest_entry(api, "governance_view")

    assert browser.get("/governance").status_code == 200

    entry = _latest_entry(api, "governance_view")
    assert entry is not None and (before is None or entry.seq > before.seq)
    assert entry.user_name.startswith("governance-")
    assert entry.role == "governance" and entry.details is not None
    assert set(entry.details) == {"versions"}


def test_an_override_through_the_page_is_stored_as_the_api_stores_it(api: ApiEnv) -> None:
    referral = scored_referral(api)  # high, red
    browser = signed_in_client(api.client, api.keys["triage"])
    form = {**case_form(browser.get(f"/cases/{referral}").text), "practitioner_rag": "amber",
            "next_step": "partner checks"}

    refused = browser.post(f"/cases/{referral}/decisions", data=form)
    recorded = browser.post(f"/cases/{referral}/decisions",
                            data={**form, "reason": "historic incident"})

    assert refused.status_code == 400 and 'href="#reason"' in refused.text
    assert "historic incident" in recorded.text
    [decision] = decisions_of(api, referral)
    assert decision["agrees_with_band"] is False and decision["reason"] == "historic incident"
    assert "decision" in _audit_actions(api, referral)


def test_a_stale_form_does_not_overwrite_a_newer_decision(api: ApiEnv) -> None:
    referral = scored_referral(api)
    browser = signed_in_client(api.client, api.keys["triage"])
    other = signed_in_client(api.client, api.keys["admin"])
    form = {**case_form(browser.get(f"/cases/{referral}").text), "practitioner_rag": "red",
            "next_step": "strategy"}
    theirs = {**form, **case_form(other.get(f"/cases/{referral}").text)}
    assert other.post(f"/cases/{referral}/decisions", data=theirs).status_code == 200

    again = browser.post(f"/cases/{referral}/decisions", data=form)  # no previous decision named

    assert again.status_code == 409 and "Another decision was recorded" in again.text
    assert len(decisions_of(api, referral)) == 1


def test_browsers_get_error_pages_and_the_api_keeps_json(api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["triage"])
    page = browser.get("/cases/R-never-scored")
    api_error = browser.get("/v1/referrals/R-never-scored", headers=api.headers("triage"))

    assert page.status_code == 404 and "Page not found" in page.text
    assert "Signed in as" in page.text and 'href="/queue"' in page.text  # bar, navigation
    assert api_error.status_code == 404 and api_error.json()["detail"]
    assert api.client.get("/no-such-page").json() == {"detail": "Not Found"}


def test_a_500_page_gives_an_error_reference_and_no_trace(api: ApiEnv) -> None:
    app = api.client.app

    def explode() -> None:
        raise RuntimeError("secret case detail R-123")

    app.add_api_route("/test-explodes", explode, include_in_schema=False)
    try:  # the route goes again: the shared app's page crawls (test_docs) would find it
        page = TestClient(app, headers=HTML).get("/test-explodes")
        api_error = TestClient(app).get("/test-explodes")
    finally:
        app.router.routes[:] = [route for route in app.router.routes
                                if getattr(route, "path", "") != "/test-explodes"]

    assert page.status_code == 500 and "Sorry, there is a problem" in page.text
    assert "R-123" not in page.text and "Traceback" not in page.text
    assert re.search(r"error reference <strong[^>]*>[0-9a-f]{32}<", page.text)
    assert api_error.json()["detail"] == "internal error"


def test_an_uploaded_case_file_is_scored_and_opens_its_case_page(api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["triage"])
    token = csrf_token(browser.get("/score").text)
    case = factories.case(events=4)
    broken = factories.case(events=2)
    broken["events"][1]["event_date"] = "not a date"

    def upload(payload: dict[str, Any]) -> Any:
        return browser.post("/score", data={"csrf_token": token}, follow_redirects=False,
                            files={"case_file": ("case.json", json.dumps(payload), "text/json")})

    refused, scored = upload(broken), upload(case)

    assert refused.status_code == 400
    assert re.search(r"Event 2</td>\s*<td[^>]*>event_date</td>", refused.text)
    referral = case["referral"]["referral_id"]
    assert scored.status_code == 303 and scored.headers["location"] == f"/cases/{referral}"
    assert _audit_actions(api, referral) == ["score"]


def test_an_agency_that_moves_nothing_is_shown_as_no_effect_not_as_raising() -> None:
    from api.web.views import agency_bars

    bars = {bar.label: bar for bar in agency_bars(
        {"police": 0.8, "health": 0.0, "housing": -0.3, "education": 0.004, "probation": 0.0},
        ["health", "probation"])}
    assert [bars[a].direction for a in ("Police", "Housing", "Education", "Health")] == [
        "raises", "lowers", "none", "none"]
    assert bars["Health"].sentence == "No records shared with this referral"
    assert bars["Education"].sentence == ""
    assert bars["Health"].effect == "No effect on the score"
    assert bars["Education"].effect == "Raises the score by less than 0.01"


def test_an_agency_whose_listed_factors_cancel_out_is_not_said_to_have_no_effect() -> None:
    """A probe's page listed education factors of +0.14, -0.15 and -0.06, then
    "Education: No effect on the score" (their net, with the rest, -0.0019)."""
    from api.schemas import Factor
    from api.web.views import agency_bars

    factors = [Factor(feature=f"f{i}", value=1.0, contribution=c, direction="raises" if c > 0
                      else "lowers", agency="education", sentence="s", features=[f"f{i}"])
               for i, c in enumerate((0.14, -0.15, -0.06))]
    factors.append(Factor(feature="p", value=1.0, contribution=0.004, direction="raises",
                          agency="police", sentence="s", features=["p"]))
    bars = {bar.label: bar for bar in agency_bars(
        {"education": -0.0019, "police": 0.004, "health": 0.0}, [], factors)}
    assert bars["Education"].effect == ("Its factors raise and lower the score about equally "
                                        "(net -0.002)")
    assert bars["Police"].effect == "Raises the score by less than 0.01"  # its factor moved nothing
    assert bars["Health"].effect == "No effect on the score"


def test_the_case_page_says_an_agency_that_moved_nothing_had_no_effect(api: ApiEnv) -> None:
    referral = scored_referral(api)  # the fake scorer: each agency that shared records, 0.0
    page = " ".join(signed_in_client(api.client, api.keys["triage"]).get(
        f"/cases/{referral}").text.split())
    section = page.split("Contributions by agency", 1)[1]
    assert "Raises the score (+0.00)" not in section
    assert "</dt> <dd class=\"govuk-body-s govuk-!-margin-left-0 govuk-!-margin-bottom-3\">No " \
        "effect on the score</dd>" in section


def test_a_factor_that_moves_nothing_is_no_effect_as_an_agency_is() -> None:
    from api.schemas import Factor
    from api.web.views import factor_bars

    def factor(contribution: float) -> Factor:
        return Factor(feature="f", value=1, contribution=contribution,
                      direction="raises" if contribution > 0 else "lowers", agency=None,
                      sentence="s")

    assert [bar.direction for bar in factor_bars(
        [factor(0.8), factor(-0.004), factor(0.0049), factor(-0.3)])] == [
        "raises", "none", "none", "lowers"]


def test_a_factor_under_the_no_effect_line_says_which_way_as_its_sentence_does() -> None:
    """A probe's case page read "Aged 1 (lowers the score)" above "No effect on the score"
    for a contribution of -0.005."""
    from api.schemas import Factor
    from api.web.views import factor_bars

    def factor(contribution: float) -> Factor:
        return Factor(feature="f", value=1, contribution=contribution,
                      direction="raises" if contribution > 0 else "lowers", agency=None,
                      sentence="s")

    assert [bar.effect for bar in factor_bars(
        [factor(0.8), factor(-0.004), factor(0.0049), factor(0.0), factor(-0.3)])] == [
        "Raises the score (+0.80)", "Lowers the score by less than 0.01",
        "Raises the score by less than 0.01", "No effect on the score",
        "Lowers the score (-0.30)"]


def test_the_case_page_shows_what_its_explanation_note_speaks_of(api: ApiEnv) -> None:
    referral = scored_referral(api, events=0)  # the fake scorer: probability 0, factor 0.00
    page = " ".join(signed_in_client(api.client, api.keys["triage"]).get(
        f"/cases/{referral}").text.split())
    factors = page.split("What the score is based on", 1)[1].split("Contributions by agency")[0]
    assert "the score (+0.00)" not in factors and "(-0.00)" not in factors
    assert "No effect on the score" in factors
    assert "calibration then maps that score to the probability shown" in factors
    assert "Ranking score +0.00: the base value +0.00 plus the contributions" in factors
    # a chance below 0.05% is "under 0.1%", never "0.0%": nothing is ruled out
    assert re.search(r"Chance of a recorded safeguarding outcome\s*</dt>\s*<dd[^>]*>\s*under 0\.1%",
                     page)
    assert "0.0%" not in page


def test_the_case_page_says_what_its_probability_is_the_chance_of(api: ApiEnv) -> None:
    """It said "Probability 12.7%", of nothing named: read as the chance of harm, while the
    model estimates the chance that services record an outcome (the training label)."""
    referral = scored_referral(api)
    page = " ".join(re.sub(r"<[^>]+>", " ", signed_in_client(
        api.client, api.keys["triage"]).get(f"/cases/{referral}").text).split())
    shown = re.search(r"Chance of a recorded safeguarding outcome (\d+\.\d)% within (\d+) "
                      r"days of the referral: ([^.]+), as estimated from past referrals\. It "
                      r"measures what services went on to record, not the harm", page)
    assert shown, page[:2000]
    assert int(shown[2]) == LABEL_WINDOW_DAYS
    assert all(kind.replace("_", " ") in shown[3] for kind in OUTCOME_TYPES)
    assert "Probability" not in page


def test_the_audit_trail_is_verified_when_its_page_opens_not_on_each_search(
    api: ApiEnv
) -> None:
    """Every page and search verified the whole trail and every score and decision again
    (about 6 s of CPU at 50,000 of each); the opening view still does."""
    scored_referral(api)
    browser = signed_in_client(api.client, api.keys["governance"])
    opening = browser.get("/governance/audit").text
    assert "Intact" in opening and "verify it now" not in opening
    for query in ({"user_name": "nobody"}, {"after_seq": "1"}):
        searched = browser.get("/governance/audit", params=query).text
        assert "verify it now" in searched and "Intact" not in searched


@pytest.mark.parametrize("field", ["user_name", "referral_id", "model_version"])
@pytest.mark.parametrize("hidden", ["\x00", "\u202e"])
def test_an_audit_search_with_a_hidden_character_is_refused_on_the_page(
    backend_api: ApiEnv, field: str, hidden: str
) -> None:
    """A NUL reached PostgreSQL's comparison: a 500 there (a DataError); a 400 page with
    the error beside the field on both stores, as the API's 422."""
    browser = signed_in_client(backend_api.client, backend_api.keys["governance"])
    response = browser.get("/governance/audit", params={field: f"a{hidden}b"})
    assert response.status_code == 400 and "govuk-error-summary" in response.text
    assert f'href="#{field.replace("_", "-")}"' in response.text
    assert "must not include a hidden character" in response.text
    assert "a\ufffdb" in response.text and hidden not in response.text


def test_the_queue_says_which_bands_an_escalation_rule_raised(api: ApiEnv) -> None:
    """A score of 11 showed as "High (Red)" with nothing saying why; only the case page
    listed the rule. The row now says so in words (not by colour), the rule one click on."""
    rule = {"rule": "recent_dash_high_risk", "minimum_band": "very high",
            "description": "A police DASH high-risk assessment in the last 90 days"}
    arrived = datetime(2020, 1, 1, tzinfo=UTC)  # the longest waiting: first of its band
    store = Store(api.settings.database_url)
    with store.session() as session:
        for referral_id, own in ((f"RAISED-{uuid.uuid4().hex[:8]}", "medium"),
                                 (f"OWN-{uuid.uuid4().hex[:8]}", "very high")):
            result = ScoreResult(
                referral_id=referral_id, model_name="m", model_version="1", probability=0.4,
                score=11, band="very high", rag="red", response_timescale="within 2 hours",
                model_band=own, escalations=[Escalation(**rule)], raw_score=-0.4,
                base_value=-1.0)
            session.add(Score(referral_id=referral_id, model_name="m", model_version="1",
                              probability=0.4, score=11, band="very high", rag="red",
                              user_name="t", created_at=arrived, presenting_need="domestic_abuse",
                              result=result.model_dump(mode="json")))
        session.commit()
    store.dispose()
    browser = signed_in_client(api.client, api.keys["triage"])

    page = browser.get("/queue", params={"band": "very high"}).text

    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row
            for row in page.split('<th scope="row"')[1:]}
    raised = next(row for name, row in rows.items() if name.startswith("RAISED-"))
    own = next(row for name, row in rows.items() if name.startswith("OWN-"))
    assert "Raised from Medium by an escalation rule</span></summary>" in raised
    assert "A police DASH high-risk assessment in the last 90 days" in raised
    assert "Raised from" not in own and "A police DASH" not in own
    raised_id = next(name for name in rows if name.startswith("RAISED-"))
    case_page = " ".join(browser.get(f"/cases/{raised_id}").text.split())
    assert ("Raised from Medium by an escalation rule (<a class=\"govuk-link\" "
            "href=\"#escalation-rules\">see the rules that fired</a>)") in case_page
    assert 'id="escalation-rules">Escalation rules that fired' in case_page


def test_a_signed_in_users_invalid_request_is_audited_without_its_values(api: ApiEnv) -> None:
    """A 403 was in the trail, a 422 (or a page's 400) was not: who asked for what, with
    the fields at fault and never the values sent."""
    before = _latest_entry(api, "request_invalid")
    refused = api.client.get("/v1/audit", params={"limit": "0"}, headers=api.headers("governance"))
    assert refused.status_code == 422
    entry = _latest_entry(api, "request_invalid")
    assert entry is not None and (before is None or entry.seq > before.seq)
    assert entry.role == "governance" and entry.details == {
        "method": "GET", "route": "/v1/audit", "fields": ["query.limit"]}
    browser = signed_in_client(api.client, api.keys["triage"])
    page = browser.get("/queue", params={"page": "-1"})
    assert page.status_code == 400
    entry = _latest_entry(api, "request_invalid")
    assert entry is not None and entry.role == "triage"
    assert entry.details == {"method": "GET", "route": "/queue", "fields": ["query.page"]}
    anonymous = api.client.get("/v1/audit", params={"limit": "0"})  # names no one: not entered
    assert anonymous.status_code in (401, 422)
    latest = _latest_entry(api, "request_invalid")
    assert latest is not None and latest.seq == entry.seq
