"""One 422 lists every problem of a case: the errors of its fields and the rules over
several fields or records (checked by pydantic only once every field is valid), on
`POST /v1/score` and `/v1/score/batch` alike; a rule reading an invalid field is left
out, not guessed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from api import case_rules
from api.routes.errors import MAX_ERRORS_LISTED
from api.store import Store
from api.store.models import AuditEntry
from tests.api import factories
from tests.api.conftest import ApiEnv

PATHS = ["/v1/score", "/v1/score/batch"]


def _post(api: ApiEnv, path: str, case: dict[str, Any]) -> dict[str, str]:
    """The 422's errors by field (without a batch's ``cases.0.``), each in the shape
    the service's 422s have, one a field."""
    body = case if path == "/v1/score" else {"cases": [case]}
    response = api.client.post(path, json=body, headers=api.headers("triage"))
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert all(set(error) == {"field", "loc", "message", "type"} for error in errors)
    fields = {error["field"].removeprefix("cases.0."): error["message"] for error in errors}
    assert len(fields) == len(errors), errors
    return fields


def _refusals(api: ApiEnv) -> int:
    store = Store(api.settings.database_url)
    with store.session() as session:
        count = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "request_invalid"))
    store.dispose()
    return int(count or 0)


@pytest.mark.parametrize("path", PATHS)
def test_a_wrong_type_and_a_broken_rule_are_both_in_one_422_audited_once(
        api: ApiEnv, path: str) -> None:
    case = factories.case(events=0, age_years="9")  # a number written as text
    case["events"] = [factories.event(event_date="2024-03-02", recorded_date="2024-03-01")]
    before = _refusals(api)
    fields = _post(api, path, case)
    assert set(fields) == {"referral.age_years", "events.0.recorded_date"}
    assert "before event_date 2024-03-02" in fields["events.0.recorded_date"]
    assert _refusals(api) == before + 1


@pytest.mark.parametrize("path", PATHS)
def test_every_rule_of_the_case_comes_with_a_bad_enum(api: ApiEnv, path: str) -> None:
    case = factories.case(events=0, sex="Female", household_id=None)
    case["previous_referrals"] = [{"referral_id": case["referral"]["referral_id"],
                                   "person_id": "P1", "referral_date": "2024-01-01"}]
    case["events"] = [factories.event(), factories.event(event_date="2999-01-01",
                                                         recorded_date=None)]
    fields = _post(api, path, case)
    assert set(fields) == {"referral.sex", "referral.household_id",
                           "previous_referrals.0.referral_id", "events.1.event_date"}
    assert "in the future" in fields["events.1.event_date"]


@pytest.mark.parametrize("path", PATHS)
def test_the_case_rules_are_listed_together_when_every_field_is_valid(
        api: ApiEnv, path: str) -> None:
    # The household's rule stopped the case before its records' rules were checked.
    case = factories.case(events=0, household_id=None)
    case["events"] = [factories.event(agency="fire_service")]
    assert set(_post(api, path, case)) == {"referral.household_id", "events.0.agency"}


@pytest.mark.parametrize(("bad", "fields"), [
    # the recorded date is not judged against an event date that is no date
    ({"event_date": "2024-13-01", "recorded_date": "2024-03-01"}, {"events.0.event_date"}),
    # nor a value against an event type that is no text
    ({"event_type": 7, "value": 2.0}, {"events.0.event_type"}),
    # nor an event type needing a value against a value that is no number
    ({"agency": "education", "event_type": "attendance_rate", "value": "95"},
     {"events.0.value"}),
    # a record that is no object is not judged at all
    (None, {"events.0"}),
])
def test_a_rule_reading_an_invalid_field_is_left_out(
        api: ApiEnv, bad: dict[str, Any] | None, fields: set[str]) -> None:
    case = factories.case(events=0)
    case["events"] = [None if bad is None else factories.event(**bad)]
    assert set(_post(api, "/v1/score", case)) == fields  # one error each


def test_a_batch_lists_each_cases_problems_in_turn_each_once(api: ApiEnv) -> None:
    first = factories.case(events=0, age_years="9")
    first["events"] = [factories.event(event_date="2024-03-02", recorded_date="2024-03-01")]
    second = factories.case(events=0, household_id=None)  # its rules were checked already
    response = api.client.post("/v1/score/batch", json={"cases": [first, second]},
                               headers=api.headers("triage"))
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["detail"]] == [
        "cases.0.referral.age_years", "cases.0.events.0.recorded_date",
        "cases.1.referral.household_id"]


def test_when_the_fields_errors_fill_the_422_the_rules_are_not_checked(api: ApiEnv) -> None:
    # They would not be listed, and checking them made a body of thousands of bad
    # records cost five times as much to answer; the last entry counts the fields' errors.
    case = factories.case(events=0)
    case["events"] = [factories.event(value="x", event_date="2024-03-02",
                                      recorded_date="2024-03-01") for _ in range(60)]
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    errors = response.json()["detail"]
    assert len(errors) == 51 and errors[-1]["type"] == "too_many_errors"
    assert errors[-1]["message"].startswith("10 more errors not listed")


def _broken(records: int, *, repeats: int = 0) -> dict[str, Any]:
    """A case with one wrong type, `records` records each recorded before its event and
    `repeats` earlier referrals each naming the referral itself."""
    case = factories.case(events=0, age_years="9")
    case["events"] = [factories.event(event_date="2024-03-02", recorded_date="2024-03-01")
                      for _ in range(records)]
    case["previous_referrals"] = [{"referral_id": case["referral"]["referral_id"],
                                   "person_id": "P1", "referral_date": "2024-01-01"}] * repeats
    return case


@pytest.fixture
def rule_errors_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rule errors the service builds (a one-item list), counted as they are."""
    built = [0]
    build = case_rules._error

    def counting(*args: Any, **kwargs: Any) -> Any:
        built[0] += 1
        return build(*args, **kwargs)

    monkeypatch.setattr(case_rules, "_error", counting)
    return built


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(("records", "repeats"), [(300, 0), (0, 300), (150, 150)])
def test_a_cases_broken_rules_past_the_422s_are_counted_not_built(
        api: ApiEnv, rule_errors_built: list[int], path: str, records: int,
        repeats: int) -> None:
    # A wrong type and thousands of broken records cost a second of CPU to answer a batch:
    # every rule error was built, of which the 422 lists the first few.
    body = _broken(records, repeats=repeats)
    response = api.client.post(path, json=body if path == "/v1/score" else {"cases": [body]},
                               headers=api.headers("triage"))
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    prefix = "" if path == "/v1/score" else "cases.0."
    first = [f"{prefix}previous_referrals.{i}.referral_id" for i in range(repeats)]
    first += [f"{prefix}events.{i}.recorded_date" for i in range(records)]
    assert [error["field"] for error in errors[:MAX_ERRORS_LISTED]] == [
        f"{prefix}referral.age_years", *first[:MAX_ERRORS_LISTED - 1]]
    assert errors[-1] == {"field": "body", "loc": ["body"], "type": "too_many_errors",
                          "message": "251 more errors not listed (the first 50 are)"}
    assert rule_errors_built[0] == MAX_ERRORS_LISTED - 1


@pytest.mark.parametrize(("records", "listed", "built"), [
    # the second case's rules fill the 422 after the first case's and its own wrong type
    ((10, 100, 5), [(0, 10), (1, 38)], 48),
    # the first case's alone: the second's wrong type is past the 422, its rules counted
    ((100, 5), [(0, 49)], 49),
])
def test_a_batchs_rule_errors_are_built_as_far_as_the_422_lists_them_in_turn(
        api: ApiEnv, rule_errors_built: list[int], records: tuple[int, ...],
        listed: list[tuple[int, int]], built: int) -> None:
    response = api.client.post("/v1/score/batch", json={"cases": [_broken(n) for n in records]},
                               headers=api.headers("triage"))
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert [error["field"] for error in errors[:MAX_ERRORS_LISTED]] == [
        field for index, shown in listed for field in (
            f"cases.{index}.referral.age_years",
            *(f"cases.{index}.events.{i}.recorded_date" for i in range(shown)))]
    more = len(records) + sum(records) - MAX_ERRORS_LISTED  # a wrong type and its records
    assert errors[-1]["message"] == f"{more} more errors not listed (the first 50 are)"
    assert rule_errors_built[0] == built
