"""`POST /v1/models/{version}/approvals` says what is wrong in plain words: a reason missing
or too long, and a version number no version can have."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiEnv


def _approve(api: ApiEnv, version: str, **body: Any) -> Any:
    return api.client.post(f"/v1/models/{version}/approvals", headers=api.headers("governance"),
                           json={"decision": "reject", "reason": "board of 4 December", **body})


@pytest.mark.parametrize(("reason", "said"), [
    ("", "reason is required: say why (spaces or invisible characters alone are no reason)"),
    ("\u200b ", "reason is required: say why (spaces or invisible characters alone are no "
                "reason)"),
    ("x" * 5_001, "reason is at most 5,000 characters (5,001 sent)"),
])
def test_a_reason_missing_or_too_long_is_refused_in_plain_words(
    api: ApiEnv, reason: str, said: str
) -> None:
    """An empty reason was "Value should have at least 1 item after validation", one of
    5,001 characters "Value should have at most 5000 items after validation"."""
    refused = _approve(api, "1", reason=reason)
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["message"]) for e in refused.json()["detail"]] == [("reason", said)]


def test_a_reason_of_5000_characters_is_not_refused_for_its_length(api: ApiEnv) -> None:
    answer = _approve(api, "997", reason="x" * 5_000)  # no such version: 404, not 422
    assert answer.status_code == 404, answer.text


def test_a_waived_thresholds_name_over_100_characters_is_refused_in_characters(
    api: ApiEnv
) -> None:
    """It said "Value should have at most 100 items after validation"."""
    refused = _approve(api, "1", decision="approve", waivers={"t" * 101: "a reason"})
    assert refused.status_code == 422, refused.text
    assert [e["message"] for e in refused.json()["detail"]] == [
        "String should have at most 100 characters"]


@pytest.mark.parametrize(("version", "said"), [
    ("9999999999", "no version '9999999999': version numbers run from 1 to 2,147,483,647"),
    ("2147483648", "no version '2147483648': version numbers run from 1 to 2,147,483,647"),
    ("0", "no version '0': version numbers run from 1 to 2,147,483,647"),
    ("007", "no version '007': a decision names the version by its number as `safeguard "
            "model list` shows it: 7"),
    ("\u0663", "no version '\u0663': a decision names the version by its number in ASCII "
                "digits (0-9)"),
    ("champion", "no version 'champion': a decision names the version by its number, as "
                 "`safeguard model list` shows it, not an alias"),
])
def test_a_decision_on_a_number_no_version_can_have_says_so(
    api: ApiEnv, version: str, said: str
) -> None:
    """9999999999 was told "a decision names the version by its number ... not an alias",
    though it is a number: one past the registry's (MLflow's 32-bit) version numbers."""
    answer = _approve(api, version)
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"detail": said}
