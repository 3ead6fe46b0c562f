"""A JSON body naming a key twice is refused (422) on every route taking one: the last
value was kept (`{"referral_id": "DUPKEY", "referral_id": "OTHER"}` scored OTHER) while the
audit's hash covers the raw bytes, which a reader keeping the first key reads as DUPKEY."""

from __future__ import annotations

import html
import json
from typing import Any

import pytest
from sqlalchemy import select

from api import json_keys
from api.case_payload import CasePayload
from api.json_keys import RepeatedKey, case_keys_named, repeated_key
from api.store import Score, Store
from api.store.models import AuditEntry
from tests.api import factories
from tests.api.conftest import ApiEnv
from tests.api.web_client import csrf_token, signed_in_client


def _twice(body: str, key: str, first: str) -> str:
    """``body`` with its first ``"key": `` preceded by the same key valued ``first``."""
    return _twice_at(body, key, first, 0)


def test_the_first_repeated_key_is_named_with_the_object_holding_it() -> None:
    assert repeated_key(b'{"a": 1, "b": {"c": [{"d": 1, "d": 2}]}, "a": 3}') == (
        RepeatedKey((), "a"))
    found = repeated_key(b'{"b": {"c": [{"e": 0}, {"d": 1, "d": 2}]}}')
    assert found is not None and found.within == ("b", "c", 1) and found.key == "d"
    assert found.message == "b.c.1 names d more than once: name each key once"
    assert repeated_key('{"k\\u0065y": 1, "key": 2}') == RepeatedKey((), "key")
    assert repeated_key(b'{"a": [{"a": 1}, {"a": 2}], "b": {"a": 1}}') is None
    assert repeated_key(b'{"a": ') is None  # not JSON: its validation says so


def test_a_colon_in_a_text_only_sends_the_body_the_slow_way() -> None:
    clean = b'{"time": "10:30", "note": "a: b"}'
    assert repeated_key(clean, keys_named=2) is None
    assert repeated_key(b'{"time": "10:30", "time": "11"}', keys_named=1) == (
        RepeatedKey((), "time"))


def _score(api: ApiEnv, content: str, role: str = "triage") -> Any:
    return api.client.post("/v1/score", content=content, headers={
        **api.headers(role), "Content-Type": "application/json"})


def _scores_of(api: ApiEnv, *referral_ids: str) -> list[str]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        found = session.scalars(select(Score.referral_id).where(
            Score.referral_id.in_(referral_ids))).all()
    store.dispose()
    return list(found)


def test_a_score_naming_the_referral_id_twice_is_refused_naming_the_key(api: ApiEnv) -> None:
    case = factories.case(events=3)
    other = case["referral"]["referral_id"]
    body = _twice(json.dumps(case), "referral_id", f"{other}-DUPKEY")
    answer = _score(api, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == [{
        "field": "referral.referral_id", "loc": ["body", "referral", "referral_id"],
        "message": "referral names referral_id more than once: name each key once",
        "type": "repeated_key"}]
    assert _scores_of(api, other, f"{other}-DUPKEY") == []
    stranger = api.client.post("/v1/score", content=body,
                               headers={"Content-Type": "application/json"})
    assert stranger.status_code == 401  # a stranger is asked for a key first


def test_a_typical_case_is_not_decoded_a_second_time(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path: as many colons as keys held, so no key was named twice."""
    body = json.dumps(factories.case(events=20))
    assert body.count(":") == case_keys_named(CasePayload.model_validate_json(body))

    def decoded_again() -> None:
        raise AssertionError("decoded a second time")

    monkeypatch.setattr(json_keys, "_Objects", decoded_again)
    assert _score(api, body).status_code == 200


def _twice_at(body: str, key: str, first: str, occurrence: int) -> str:
    """``body`` with the ``occurrence``-th (from 0) ``"key": `` named twice."""
    head, *tails = body.split(f'"{key}": ')
    tails[occurrence] = f'{json.dumps(first)}, "{key}": {tails[occurrence]}'
    return f'"{key}": '.join([head, *tails])


@pytest.mark.parametrize(("path", "field"), [
    ("/v1/score/batch", "cases"), ("/v1/score/batch", "cases.0.events.1.agency"),
    ("/v1/decisions", "next_step")])
def test_every_json_body_names_each_key_once(api: ApiEnv, path: str, field: str) -> None:
    case = factories.case(events=3)
    body = {"/v1/score/batch": json.dumps({"cases": [case]}),
            "/v1/decisions": json.dumps(factories.decision("R-TWICE"))}[path]
    key = field.rsplit(".", 1)[-1]
    body = _twice_at(body, key, "health" if key == "agency" else "", 1 if key == "agency" else 0)
    answer = api.client.post(path, content=body, headers={
        **api.headers("triage"), "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert (error["field"], error["type"]) == (field, "repeated_key")
    assert _scores_of(api, case["referral"]["referral_id"]) == []


def test_the_score_page_refuses_a_case_naming_a_key_twice(api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["triage"])
    case = factories.case(events=3)
    pasted = _twice(json.dumps(case), "referral_id", "DUPKEY")
    refused = browser.post("/score", data={
        "csrf_token": csrf_token(browser.get("/score").text), "case_json": pasted},
        files={"case_file": ("", b"")}, follow_redirects=False)
    assert refused.status_code == 400
    assert "referral names referral_id more than once" in refused.text
    assert _scores_of(api, case["referral"]["referral_id"], "DUPKEY") == []


def _with_other_problems() -> str:
    """A case naming its subject's sex twice (the first, "robot", was never checked: the
    last is kept), with an age that is no number and an event recorded before it happened."""
    case = factories.case(events=0, age_years="x")
    case["events"] = [factories.event(event_date="2024-03-02", recorded_date="2024-03-01")]
    return _twice(json.dumps(case), "sex", "robot")


def _fields_of_latest_refusal(api: ApiEnv) -> list[str]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "request_invalid").order_by(AuditEntry.seq.desc()).limit(1)).one()
    store.dispose()
    return list(entry.details["fields"])


@pytest.mark.parametrize("path", ["/v1/score", "/v1/score/batch"])
def test_a_key_named_twice_is_listed_with_the_cases_other_problems(
        api: ApiEnv, path: str) -> None:
    """One 422 names every problem: the key named twice was left out whenever the case had
    another (on `/v1/score`), or was named alone (on the batch route), and so in the
    audit entry too."""
    body = _with_other_problems()
    within = "" if path == "/v1/score" else "cases.0."
    answer = api.client.post(path, content=body if within == "" else f'{{"cases": [{body}]}}',
                             headers={**api.headers("triage"), "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert [(error["field"], error["type"]) for error in answer.json()["detail"]] == [
        (f"{within}referral.sex", "repeated_key"), (f"{within}referral.age_years", "int_type"),
        (f"{within}events.0.recorded_date", "value_error")]
    assert _fields_of_latest_refusal(api) == [
        f"body.{within}{field}" for field in
        ("events.0.recorded_date", "referral.age_years", "referral.sex")]


def test_a_key_named_twice_is_listed_first_when_the_fields_errors_fill_the_422(
        api: ApiEnv) -> None:
    case = factories.case(events=0)
    case["events"] = [factories.event(value="x") for _ in range(60)]
    answer = _score(api, _twice(json.dumps(case), "sex", "robot"))
    errors = answer.json()["detail"]
    assert (errors[0]["field"], errors[0]["type"]) == ("referral.sex", "repeated_key")
    assert errors[-1]["message"].startswith("11 more errors not listed")


def test_the_score_page_lists_a_key_named_twice_with_the_cases_other_problems(
        api: ApiEnv) -> None:
    browser = signed_in_client(api.client, api.keys["triage"])
    refused = browser.post("/score", data={
        "csrf_token": csrf_token(browser.get("/score").text), "case_json": _with_other_problems()},
        files={"case_file": ("", b"")}, follow_redirects=False)
    assert refused.status_code == 400
    said = " ".join(html.unescape(refused.text).split())
    assert "3 problems in the case" in said
    assert "referral names sex more than once: name each key once" in said
    assert "Input should be a valid integer" in said and "before event_date 2024-03-02" in said
