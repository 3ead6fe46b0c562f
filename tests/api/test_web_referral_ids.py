"""Referral ids as the feed specification allows them ("string"): with a slash, a space,
a `#` or a `%`, each case page is reached from the queue, takes its decision and comes
back after signing in, and a page a role may not open is refused in the audit trail."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.store.db import Store
from api.store.models import AuditEntry, Score
from api.templating import case_path
from tests.api import factories
from tests.api.conftest import ApiEnv, issue_keys
from tests.api.web_client import case_form, csrf_token, scored_referral, signed_in_client

ODD_IDS = ("MASH/2023/0001", "Ref #3", "a/../b", "50% done?")
INVISIBLE_IDS = ("R0003532\u200b", "\u200fR0003532", "R0003532\ufeff", "R0003532\u2060",
                 "\u061cR1", "R\u200b1")


def test_each_odd_referral_id_has_its_case_page_and_takes_its_decision(api: ApiEnv) -> None:
    for referral_id in ODD_IDS:
        case = factories.case()
        case["referral"]["referral_id"] = referral_id
        # A need no other test gives: the queue's first page, filtered by it, lists these.
        case["referral"]["presenting_need"] = "radicalisation"
        scored = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
        assert scored.status_code == 200, scored.text
    browser = signed_in_client(api.client, api.keys["triage"])
    queue = browser.get("/queue", params={"need": "radicalisation"}).text
    links = {unescape(text): unescape(href) for href, text in
             re.findall(r'<a class="govuk-link" href="(/cases/[^"]+)">([^<]+)</a>', queue)}
    for referral_id in ODD_IDS:
        page = browser.get(links[referral_id])
        assert page.status_code == 200, (referral_id, links[referral_id])
        assert referral_id in unescape(page.text)
        action = unescape(re.search(r'<form method="post" action="([^"]+/decisions)"',
                                    page.text)[1])
        decided = browser.post(action, data={
            **case_form(page.text), "practitioner_rag": "red",
            "next_step": "strategy discussion", "reason": "new information",
            "previous_decision_id": ""}, follow_redirects=False)
        assert decided.status_code == 303, (referral_id, decided.text[:500])
        assert browser.get(decided.headers["location"]).status_code == 200
        view = api.client.get("/v1/referrals/" + links[referral_id].removeprefix("/cases/"),
                              headers=api.headers("triage")).json()
        assert view["referral_id"] == referral_id and len(view["decisions"]) == 1


def test_signing_in_returns_to_the_case_whose_id_holds_a_hash_or_a_slash(api: ApiEnv) -> None:
    """The page asked for comes back as asked, still quoted: `Ref #3` read back unquoted
    would have lost `#3` to the address's fragment."""
    for referral_id in ("Ref #3", "MASH/2023/0001"):
        case = factories.case()
        case["referral"]["referral_id"] = referral_id
        assert api.client.post("/v1/score", json=case,
                               headers=api.headers("triage")).status_code == 200
        browser = TestClient(api.client.app, headers={"Accept": "text/html"})
        asked = browser.get(case_path(referral_id), follow_redirects=False)
        assert asked.status_code == 303
        sign_in = browser.get(asked.headers["location"])
        next_path = unescape(re.search(r'name="next" value="([^"]*)"', sign_in.text)[1])
        back = browser.post("/sign-in", data={"api_key": api.keys["triage"], "next": next_path,
                                              "csrf_token": csrf_token(sign_in.text)},
                            follow_redirects=False)
        assert back.headers["location"] == case_path(referral_id)
        assert referral_id in unescape(browser.get(back.headers["location"]).text)


def test_a_page_a_role_may_not_open_is_refused_and_audited(api: ApiEnv) -> None:
    keys, _ = issue_keys(api.settings)  # the shared app's own may be revoked by now
    browser = signed_in_client(api.client, keys["data_scientist"])
    wanted = scored_referral(api)  # named in the entry: the store holds it
    assert browser.get(case_path(wanted)).status_code == 403
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "access_refused").order_by(AuditEntry.seq.desc())).first()
    store.dispose()
    assert entry is not None and entry.role == "data_scientist"
    assert entry.referral_id == wanted and entry.details["method"] == "GET"


def _case_views_since(api: ApiEnv, seq: int) -> list[str | None]:
    """The referral ids of the case views audited after entry `seq`."""
    store = Store(api.settings.database_url)
    with store.session() as session:
        found = session.scalars(select(AuditEntry.referral_id).where(
            AuditEntry.action == "case_view", AuditEntry.seq > seq)).all()
    store.dispose()
    return list(found)


def _last_seq(api: ApiEnv) -> int:
    store = Store(api.settings.database_url)
    with store.session() as session:
        last = session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq.desc())).first()
    store.dispose()
    return int(last or 0)


def test_a_decision_forms_address_is_no_page_and_no_case_view(api: ApiEnv) -> None:
    """`GET /cases/R1/decisions` was audited as a view of a referral "R1/decisions"; a
    referral whose id ends so still has its page, at the address the service writes."""
    referral_id = scored_referral(api)
    named = factories.case()
    named["referral"]["referral_id"] = "MASH/decisions"
    assert api.client.post("/v1/score", json=named,
                           headers=api.headers("triage")).status_code == 200
    browser = signed_in_client(api.client, api.keys["triage"])
    before = _last_seq(api)

    for address in (f"/cases/{referral_id}/decisions", "/cases/R-none/decisions",
                    "/cases/MASH/decisions"):
        page = browser.get(address)
        assert page.status_code == 404, address
        assert "Page not found" in page.text
    assert _case_views_since(api, before) == []

    assert browser.get(case_path("MASH/decisions")).status_code == 200
    assert _case_views_since(api, before) == ["MASH/decisions"]


def test_an_id_holding_an_invisible_format_character_is_refused_saying_why(
        api: ApiEnv) -> None:
    """`R0003532` with a zero-width space, a right-to-left mark, a byte-order mark or a word
    joiner was scored as a referral of its own, listed in the queue reading `R0003532`."""
    for referral_id in INVISIBLE_IDS:
        case = factories.case()
        case["referral"]["referral_id"] = referral_id
        refused = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
        assert refused.status_code == 422, (referral_id, refused.text)
        [error] = refused.json()["detail"]
        assert error["field"] == "referral.referral_id"
        assert error["message"].startswith(
            "Not a referral id (1 to 100 characters, no control or invisible format character")
    store = Store(api.settings.database_url)
    with store.session() as session:
        assert session.scalars(select(Score.referral_id).where(
            Score.referral_id.in_(INVISIBLE_IDS))).all() == []
    store.dispose()
