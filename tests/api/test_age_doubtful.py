"""A record about the person referred of a kind kept only at another age is told of: an
independent probe's 70-year-old had "9 free-school-meals records involving this adult"
counted without a word (7 December). Counted still: the specification refuses none."""

from __future__ import annotations

from typing import Any

from api.age_doubtful import age_doubtful_warnings
from api.case_payload import CasePayload
from tests.api import factories


def _warnings(events: list[dict[str, Any]], **referral: Any) -> list[str]:
    body = factories.case(events=0, **referral)
    body["events"] = events
    case = CasePayload.model_validate(body)
    return age_doubtful_warnings(case, case.pipeline_payload()["event_columns"])


def _school(kind: str, day: str, person: str = "P1") -> dict[str, Any]:
    return factories.event(agency="education", event_type=kind, event_date=day,
                           recorded_date=day, person_id=person)


ADULT = {"subject_type": "adult_at_risk", "age_years": 70}  # referred 2024-06-01


def test_a_record_of_childhood_about_an_older_adult_is_told_of() -> None:
    events = [_school("free_school_meals", "2023-01-10"), _school("sen_support", "2023-02-01"),
              _school("free_school_meals", "2023-03-01", person="P2"),  # another person
              factories.event()]  # police: any age
    assert _warnings(events, **ADULT) == [
        "2 records about the person referred are of a kind kept only about children, dated "
        "when this person was 20 or older (SEN support records, free-school-meals "
        "records): check they are this person's, not another's under the same token; "
        "counted in the score."]


def test_a_young_adults_school_records_are_not_doubted() -> None:
    """A 19-year-old referred in June 2024 was 18 or 19 a year before: a sixth former."""
    events = [_school("attendance_rate", "2023-07-20") | {"value": 91.0},
              _school("free_school_meals", "2024-03-01")]
    assert _warnings(events, subject_type="adult_at_risk", age_years=19) == []


def test_the_birthday_known_within_a_year_decides_nothing_it_cannot() -> None:
    """Aged 40 on 1 June 2024: 20 on some day from 2 June 2003 to 1 June 2004."""
    inside = _warnings([_school("suspension", "2004-05-31")], subject_type="adult_at_risk",
                       age_years=40)
    on = _warnings([_school("suspension", "2004-06-01")], subject_type="adult_at_risk",
                   age_years=40)
    assert (inside, len(on)) == ([], 1)


def test_a_record_of_adulthood_about_a_child_is_told_of() -> None:
    enquiry = factories.event(agency="social_care", event_type="adult_safeguarding_enquiry",
                              event_date="2024-01-05", recorded_date="2024-01-05")
    [warning] = _warnings([enquiry], subject_type="child", age_years=9)
    assert warning.startswith("1 record about the person referred is of a kind kept only "
                              "about adults, dated when this person was under 16 (adult "
                              "safeguarding enquiries): check it is this person's")
    assert _warnings([_school("free_school_meals", "2024-01-05")], subject_type="child",
                     age_years=9) == []
