"""Decisions on the case page: the history names the score each was made on, a referral
scored again after a decision waits again, and what the page says after a decision."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from api.store import AuditEntry, Store, repository
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import case_form, csrf_token, decisions_of, signed_in_client


def _text(page: str) -> str:
    """A page's text, its markup and runs of blanks gone (as a reader sees it)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _score(api: ApiEnv, referral_id: str, *, events: int) -> None:
    case = factories.case(events=events, referral_id=referral_id)
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 200, response.text


def _queue_ids(browser: object, query: str = "") -> list[str]:
    page = browser.get(f"/queue{query}").text  # type: ignore[attr-defined]
    return re.findall(r'href="/cases/([^"]+)"', page)


def test_a_referral_scored_again_after_a_decision_is_back_in_the_queue(api: ApiEnv) -> None:
    referral = factories.referral_id()
    _score(api, referral, events=3)  # low, green
    decided = api.client.post("/v1/decisions", json=factories.decision(
        referral, next_step="NFA"), headers=api.headers("triage"))
    assert decided.status_code == 201, decided.text
    browser = signed_in_client(api.client, api.keys["triage"])
    assert referral not in _queue_ids(browser)

    _score(api, referral, events=15)  # high, red: the decision was on the low score

    assert referral in _queue_ids(browser)
    assert referral in _queue_ids(browser, "?band=high")
    page = _text(browser.get(f"/cases/{referral}").text)
    history = page.split("Decision history", 1)[1]
    assert "Made on Score 4 out of 20, band Low (Green), scored" in history
    assert "(an earlier score than the one above)" in history
    assert "Green (agrees with that score's band)" in history


def test_the_history_says_a_decision_on_the_score_shown_is_on_it(api: ApiEnv) -> None:
    referral = factories.referral_id()
    _score(api, referral, events=15)
    browser = signed_in_client(api.client, api.keys["triage"])
    browser.post(f"/cases/{referral}/decisions", data={
        **case_form(browser.get(f"/cases/{referral}").text), "practitioner_rag": "red",
        "next_step": "strategy discussion"})
    store = Store(api.settings.database_url)
    with store.session() as session:
        score = repository.latest_score(session, referral)
    store.dispose()
    assert score is not None and len(decisions_of(api, referral)) == 1

    history = _text(browser.get(f"/cases/{referral}").text).split("Decision history", 1)[1]

    assert f"Made on Score {score.score} out of 20, band High (Red), scored" in history
    assert "earlier score" not in history


def _decision_form(browser: object, referral: str) -> dict[str, str]:
    page = browser.get(f"/cases/{referral}").text  # type: ignore[attr-defined]
    return {**case_form(page), "practitioner_rag": "red",
            "next_step": "strategy discussion", "previous_decision_id": ""}


def test_a_second_click_on_ones_own_first_decision_says_it_was_recorded(api: ApiEnv) -> None:
    referral = factories.referral_id()
    _score(api, referral, events=15)
    browser = signed_in_client(api.client, api.keys["triage"])
    form = _decision_form(browser, referral)
    assert browser.post(f"/cases/{referral}/decisions", data=form).status_code == 200

    again = browser.post(f"/cases/{referral}/decisions", data=form)

    assert again.status_code == 409
    said = _text(again.text)
    assert "Your decision on this referral was already recorded on" in said
    assert "Another decision" not in said and "Your decision has been recorded" not in said
    # The form is not filled again: submitting it once more would record it twice.
    assert "strategy discussion</textarea>" not in again.text
    assert len(decisions_of(api, referral)) == 1


def test_the_recorded_banner_shows_only_over_the_users_own_decision(api: ApiEnv) -> None:
    referral = factories.referral_id()
    _score(api, referral, events=15)
    triage = signed_in_client(api.client, api.keys["triage"])
    governance = signed_in_client(api.client, api.keys["governance"])
    banner = "Your decision has been recorded"
    address = f"/cases/{referral}?recorded=true"
    assert banner not in triage.get(address).text  # no decision yet

    recorded = triage.post(f"/cases/{referral}/decisions", data=_decision_form(triage, referral))

    assert banner in recorded.text
    assert banner not in governance.get(address).text  # not theirs (they cannot decide)
    assert banner not in triage.get(f"/cases/{referral}").text


def test_a_different_decision_from_a_second_tab_is_kept_to_record_again(api: ApiEnv) -> None:
    """Decided in one tab, then differently in a second one opened before: the second was
    answered as a repeated click, its form emptied, and what the user wrote there lost."""
    referral = factories.referral_id()
    _score(api, referral, events=15)
    browser = signed_in_client(api.client, api.keys["triage"])
    first_tab, second_tab = _decision_form(browser, referral), _decision_form(browser, referral)
    assert browser.post(f"/cases/{referral}/decisions", data=first_tab).status_code == 200
    second_tab |= {"practitioner_rag": "amber", "next_step": "partner checks",
                   "reason": "the school confirms attendance is good"}

    refused = browser.post(f"/cases/{referral}/decisions", data=second_tab)

    assert refused.status_code == 409
    said = _text(refused.text)
    assert "You recorded a different decision on this referral on" in said
    assert "already recorded" not in said
    assert "the school confirms attendance is good</textarea>" in refused.text
    assert "partner checks</textarea>" in refused.text
    assert re.search(r'value="amber"\s+checked', refused.text)
    assert len(decisions_of(api, referral)) == 1
    kept = {"csrf_token": csrf_token(refused.text), **{name: second_tab[name] for name in (
        "practitioner_rag", "next_step", "reason", "score_id")},
        "previous_decision_id": re.search(r'name="previous_decision_id" value="(\d+)"',
                                          refused.text)[1]}  # type: ignore[index]
    assert browser.post(f"/cases/{referral}/decisions", data=kept).status_code == 200
    assert [d["reason"] for d in decisions_of(api, referral)][-1] == second_tab["reason"]


def test_a_form_without_a_rating_asks_for_the_rating_not_for_a_reason(api: ApiEnv) -> None:
    """With no RAG rating chosen the summary also said "Enter the reason your decision
    differs from the service's band": no decision was there to differ."""
    referral = factories.referral_id()
    _score(api, referral, events=15)  # high, red
    browser = signed_in_client(api.client, api.keys["triage"])
    for next_step in ("", "strategy discussion"):
        page = browser.post(f"/cases/{referral}/decisions", data={
            **_decision_form(browser, referral), "practitioner_rag": "",
            "next_step": next_step})
        assert page.status_code == 400
        summary = _text(page.text.split('class="govuk-error-summary', 1)[1].split("</ul>")[0])
        assert "Select the RAG rating you decide on" in summary
        assert "reason" not in summary.lower(), summary
    differs = browser.post(f"/cases/{referral}/decisions", data={
        **_decision_form(browser, referral), "practitioner_rag": "green", "next_step": "NFA"})
    assert "Enter the reason your decision differs from the service" in _text(differs.text)
    assert decisions_of(api, referral) == []


def _audit_entries(api: ApiEnv, action: str) -> list[AuditEntry]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        entries = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == action).order_by(AuditEntry.seq)))
    store.dispose()
    return entries


# What a changed hidden score_id was: not a number, empty, missing (None), a number no
# score has, another script's digit.
CHANGED_SCORE_IDS = ("abc", "", None, "0", "-1", "1.5", "99999999999999999999", "\u0663")


def test_a_form_whose_score_id_was_changed_is_refused_and_audited(api: ApiEnv) -> None:
    """The hidden score_id, changed, showed pydantic's own words ("Input should be greater
    than or equal to 1"), or (not a number, or empty) recorded the decision on whatever
    score was latest, unaudited as a refusal."""
    referral = factories.referral_id()
    _score(api, referral, events=15)
    browser = signed_in_client(api.client, api.keys["triage"])
    before = len(_audit_entries(api, "form_refused"))
    for changed in CHANGED_SCORE_IDS:
        form = {**_decision_form(browser, referral), "score_id": changed}
        if changed is None:
            del form["score_id"]

        refused = browser.post(f"/cases/{referral}/decisions", data=form)

        said = _text(refused.text)
        assert refused.status_code == 400, (changed, said[:300])
        assert "Your form could not be sent" in said and "This form could not be read" in said
        assert "Input should" not in said and "Nothing in it was saved" in said
    assert decisions_of(api, referral) == []
    entries = _audit_entries(api, "form_refused")[before:]
    assert len(entries) == len(CHANGED_SCORE_IDS)
    assert {(e.role, e.referral_id) for e in entries} == {("triage", referral)}
    assert all(e.user_name.startswith("triage-") for e in entries)
    assert entries[-1].details == {
        "method": "POST", "route": "/cases/{referral_id}/decisions", "referral_id": referral,
        "refused": "the form's hidden score_id field is not as its page made it"}
    assert browser.post(f"/cases/{referral}/decisions",  # the page's own form is taken
                        data=_decision_form(browser, referral)).status_code == 200


def test_the_apis_decision_with_a_score_id_no_score_has_is_refused_and_audited(
    api: ApiEnv
) -> None:
    """The API's route refuses the same values with a 422 naming the field, audited as a
    request refused (`request_invalid`), never with the value sent."""
    referral = factories.referral_id()
    _score(api, referral, events=3)
    before = len(_audit_entries(api, "request_invalid"))
    for changed in ("abc", "", "7", 0, -1, 1.5, 2**63, True):
        refused = api.client.post("/v1/decisions", headers=api.headers("triage"),
                                  json=factories.decision(referral, score_id=changed))
        assert refused.status_code == 422, (changed, refused.text)
        assert [error["field"] for error in refused.json()["detail"]] == ["score_id"]
    entries = _audit_entries(api, "request_invalid")[before:]
    assert [e.details for e in entries] == [
        {"method": "POST", "route": "/v1/decisions", "fields": ["body.score_id"]}] * 8
    assert decisions_of(api, referral) == []


def test_a_score_id_changed_to_a_score_the_referral_never_had_is_refused_and_audited(
    api: ApiEnv
) -> None:
    """A hidden score_id changed to another number (another referral's score, or one no
    score has yet) said "the referral was scored again while you were deciding", which it
    was not, and went unaudited: only the referral's own earlier score, from a page shown
    before it was scored again, says so."""
    referral, other = factories.referral_id(), factories.referral_id()
    _score(api, other, events=3)
    _score(api, referral, events=15)
    browser = signed_in_client(api.client, api.keys["triage"])
    store = Store(api.settings.database_url)
    with store.session() as session:
        theirs = repository.latest_score(session, other).id  # type: ignore[union-attr]
        mine = repository.latest_score(session, referral).id  # type: ignore[union-attr]
    store.dispose()
    before = len(_audit_entries(api, "form_refused"))
    for changed in (theirs, mine + 1000):
        refused = browser.post(f"/cases/{referral}/decisions",
                               data={**_decision_form(browser, referral), "score_id": changed})
        said = _text(refused.text)
        assert refused.status_code == 400, (changed, said[:300])
        assert "This form could not be read" in said and "scored again" not in said
    assert len(_audit_entries(api, "form_refused")) == before + 2
    assert decisions_of(api, referral) == []
    stale = _decision_form(browser, referral)  # the page shown before it is scored again
    _score(api, referral, events=15)
    again = browser.post(f"/cases/{referral}/decisions", data=stale)
    assert again.status_code == 409 and "scored again" in _text(again.text)
