"""Decisions on the case page: the history names the score each was made on, a referral
scored again after a decision waits again, and what the page says after a decision."""

from __future__ import annotations

import html
import re

from api.store import Store, repository
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import csrf_token, decisions_of, signed_in_client


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
    token = csrf_token(browser.get(f"/cases/{referral}").text)
    browser.post(f"/cases/{referral}/decisions", data={
        "csrf_token": token, "practitioner_rag": "red", "next_step": "strategy discussion"})
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
    return {"csrf_token": csrf_token(page), "practitioner_rag": "red",
            "next_step": "strategy discussion", "previous_decision_id": "",
            "score_id": re.search(r'name="score_id" value="(\d+)"', page)[1]}  # type: ignore[index]


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
