"""`parse_case`, the scoring route's reading of a body, judges every case as
`CasePayload.model_validate_json` does: the same case when valid, the same errors when not."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.case_payload import CasePayload, parse_case
from tests.api import factories


def _judged(parse: Any, body: bytes) -> tuple[str, Any]:
    """("valid", the case as JSON and its record columns) or ("refused", the errors)."""
    try:
        case = parse(body)
    except ValidationError as refused:
        return "refused", refused.json(include_url=False)
    columns = case._event_columns
    return "valid", (case.model_dump_json(), columns.pair.tolist(), columns.event_day.tolist(),
                     columns.known_day.tolist(), columns.unknown)


def _alike(case: dict[str, Any]) -> tuple[str, Any]:
    body = json.dumps(case).encode()
    judged = _judged(parse_case, body)
    assert judged == _judged(CasePayload.model_validate_json, body)
    return judged


TEXTS = st.one_of(
    st.sampled_from(["police", "arrest", " police ", "health", "ae_attendance", "", "x" * 64,
                     "x" * 65, "police\x00", "\x00" * 70, " " * 70 + "police"]),
    st.text(max_size=80),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agency=TEXTS, event_type=TEXTS, index=st.integers(0, 2))
def test_any_agency_and_event_type_are_judged_alike(agency: str, event_type: str,
                                                     index: int) -> None:
    case = factories.case(events=3)
    case["events"][index].update(agency=agency, event_type=event_type)
    _alike(case)


def test_a_valid_case_is_the_same_case() -> None:
    case = factories.case(events=5)
    case["events"][1]["agency"] = "  police\t"  # stripped by both
    verdict, _ = _alike(case)
    assert verdict == "valid"
    assert parse_case(json.dumps(case).encode()).events[1]["agency"] == "police"


def test_refusals_read_the_same() -> None:
    for agency in ("police\x00", "x" * 65, "\x00" + "x" * 70):
        case = factories.case(events=2)
        case["events"][0]["agency"] = agency
        verdict, errors = _alike(case)
        assert verdict == "refused" and "events" in errors, agency
    case = factories.case(events=2)
    case["events"][1]["event_date"] = "2024-02-30"
    assert _alike(case)[0] == "refused"
    case = factories.case(events=2)
    case["events"][0]["surprise"] = 1
    assert _alike(case)[0] == "refused"
    case = factories.case(events=3)  # a contract rule, checked on the records' columns
    case["events"][2].update(event_date="2024-01-10", recorded_date="2024-01-01")
    verdict, errors = _alike(case)
    assert verdict == "refused" and "recorded_date" in errors
    case = factories.case(events=2)  # a rule and a field at once: the field is named
    case["events"][0]["recorded_date"] = "1900-01-01"
    case["events"][1]["person_id"] = "not a token"
    verdict, errors = _alike(case)
    assert verdict == "refused" and "person_id" in errors
