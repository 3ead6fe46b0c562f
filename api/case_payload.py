"""The case a referral is scored on (`POST /v1/score`, `/v1/score/batch`), in the feed
vocabulary.

Vocabularies come from `data_contracts.vocab`; each rule's message names the
field, the bad value and what was expected, so a practitioner can fix the case.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Final, NotRequired

import numpy as np
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from typing_extensions import TypedDict

from api.schemas import ReferralId, StrictModel
from data_contracts import vocab
from pipelines.case_records import EVENT_PAIRS, EventColumns, day_number, event_columns

MAX_EVENTS_PER_CASE = 5_000
MAX_HOUSEHOLD_MEMBERS = 100
MAX_PREVIOUS_REFERRALS = 1_000


def _unknown(name: str, value: str, allowed: tuple[str, ...]) -> str:
    return f"unknown {name} {value!r}: expected one of {', '.join(allowed)}"


def _future(value: date) -> str:
    return f"date {value.isoformat()} is in the future"


def _one_of(name: str, allowed: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(_unknown(name, value, allowed))
        return value

    return check


def _enum(name: str, allowed: tuple[str, ...]) -> Any:
    return Annotated[
        str,
        Field(json_schema_extra={"enum": list(allowed)}),
        AfterValidator(_one_of(name, allowed)),
    ]


_today_cache: tuple[float, date] = (0.0, date.min)


def _utc_today() -> date:
    """Today's UTC date, read from the clock once per UTC day (a case holds hundreds of dates)."""
    global _today_cache
    now = time.time()
    expires, day = _today_cache
    if now >= expires:
        day = datetime.now(UTC).date()
        _today_cache = ((now // 86_400 + 1) * 86_400, day)
    return day


def _not_in_future(value: date) -> date:
    if value > _utc_today():
        raise ValueError(_future(value))
    return value


Token = Annotated[str, Field(pattern=vocab.TOKEN_PATTERN, max_length=vocab.TOKEN_MAX_LENGTH)]
PastDate = Annotated[date, AfterValidator(_not_in_future)]

_ALL_EVENT_TYPES = tuple(sorted({t for types in vocab.EVENT_TYPES.values() for t in types}))


class ReferralIn(StrictModel):
    """The referral being triaged: its subject and context (no direct identifiers)."""

    referral_id: ReferralId
    person_id: Token
    household_id: Token | None = None
    referral_date: PastDate
    referral_source: _enum("referral_source", vocab.REFERRAL_SOURCES)  # type: ignore[valid-type]
    presenting_need: _enum("presenting_need", vocab.PRESENTING_NEEDS)  # type: ignore[valid-type]
    subject_type: _enum("subject_type", vocab.SUBJECT_TYPES)  # type: ignore[valid-type]
    age_years: int = Field(ge=0, le=vocab.MAX_AGE)
    sex: _enum("sex", vocab.SEXES)  # type: ignore[valid-type]
    ethnicity_group: _enum("ethnicity_group", vocab.ETHNICITY_GROUPS)  # type: ignore[valid-type]
    disability: bool
    imd_decile: int | None = Field(default=None, ge=1, le=10)

    @field_validator("age_years")
    @classmethod
    def _age_matches_subject_type(cls, age: int, info: ValidationInfo) -> int:
        subject_type = info.data.get("subject_type")
        if subject_type is not None and (subject_type == "child") != (age <= vocab.CHILD_MAX_AGE):
            raise ValueError(
                f"age_years {age} is inconsistent with subject_type {subject_type!r}: "
                f"a child is 0 to {vocab.CHILD_MAX_AGE}, an adult_at_risk "
                f"{vocab.CHILD_MAX_AGE + 1} or over"
            )
        return age


class HouseholdMemberIn(StrictModel):
    """A member of the subject's household."""

    person_id: Token
    role: _enum("role", vocab.HOUSEHOLD_ROLES)  # type: ignore[valid-type]


class EventIn(TypedDict):
    """One agency record about the subject or a household member.

    The types are checked field by field; the rules that need the vocabulary (the
    agency, its event types, which need a value and in what range) and today's date
    are checked by `CasePayload` column by column over all records, since a case holds
    hundreds of them; a case that breaks one is then asked record by record, so the
    errors still name each record's field.
    """

    # A validated record stays a plain dict (no model object per record): a case
    # holds hundreds, and the feature pipeline reads dicts.
    __pydantic_config__ = ConfigDict(extra="forbid", str_strip_whitespace=True)  # type: ignore[misc]

    agency: Annotated[str, Field(max_length=64, json_schema_extra={"enum": list(vocab.AGENCIES)})]
    person_id: Token
    event_date: date
    recorded_date: NotRequired[date | None]
    event_type: Annotated[
        str, Field(max_length=64, json_schema_extra={"enum": list(_ALL_EVENT_TYPES)})]
    value: NotRequired[Annotated[float | None, Field(allow_inf_nan=False)]]


# Every (agency, event type) pair in the vocabulary: its value bounds, or None
# when the type takes no value.
_EVENT_BOUNDS: Final[dict[tuple[str, str], tuple[float, float] | None]] = {
    (agency, event_type): vocab.VALUED_EVENT_TYPES.get((agency, event_type))
    for agency, types in vocab.EVENT_TYPES.items()
    for event_type in types
}


def _event_problems(event: EventIn, today: date) -> list[tuple[str, str]]:
    """(field, message) for each rule a record breaks, in field order."""
    problems = []
    agency, event_type, event_date = event["agency"], event["event_type"], event["event_date"]
    known_agency = agency in vocab.EVENT_TYPES
    if not known_agency:
        problems.append(("agency", _unknown("agency", agency, vocab.AGENCIES)))
    if event_date > today:
        problems.append(("event_date", _future(event_date)))
    recorded = event.get("recorded_date")
    if recorded is not None:
        if recorded > today:
            problems.append(("recorded_date", _future(recorded)))
        elif recorded < event_date:
            problems.append(("recorded_date",
                             f"recorded_date {recorded} is before event_date {event_date}"))
    if not known_agency:
        return problems
    key = (agency, event_type)
    if key not in _EVENT_BOUNDS:
        problems.append(
            ("event_type", f"event_type {event_type!r} is not in the {agency} "
                           f"vocabulary: expected one of "
                           f"{', '.join(vocab.EVENT_TYPES[agency])}"))
        return problems
    bounds = _EVENT_BOUNDS[key]
    value = event.get("value")
    if bounds is None:
        if value is not None:
            problems.append(("value", f"value must be empty for {agency} {event_type}"))
    elif value is None or not bounds[0] <= value <= bounds[1]:
        problems.append(("value", f"{agency} {event_type} needs a value from "
                                  f"{bounds[0]:g} to {bounds[1]:g}"))
    return problems


# Each vocabulary pair's value bounds, by `EVENT_PAIRS` index: NaN when it takes no value.
_PAIR_LOW, _PAIR_HIGH = (
    np.array([np.nan if bounds is None else bounds[end]
              for bounds in map(_EVENT_BOUNDS.__getitem__, EVENT_PAIRS)], np.float64)
    for end in (0, 1)
)


def _all_events_pass(columns: EventColumns, today: date) -> bool:
    """Whether every record keeps every rule of `_event_problems`, checked on the columns
    the scorer reads anyway: for hundreds of records a fraction of asking each record."""
    if not columns.person_id:
        return True
    if columns.unknown:  # an agency or event type outside the vocabulary
        return False
    today_day, day, known = day_number(today), columns.event_day, columns.known_day
    # known_day is the recorded date, or the event date when none is recorded
    if day.max() > today_day or known.max() > today_day or (known < day).any():
        return False
    value, low, high = columns.value, _PAIR_LOW[columns.pair], _PAIR_HIGH[columns.pair]
    given = ~np.isnan(value)  # a value is never NaN (`allow_inf_nan=False`): NaN is none
    if (given != ~np.isnan(low)).any():
        return False
    value, low, high = value[given], low[given], high[given]
    return bool(((low <= value) & (value <= high)).all())


class PreviousReferralIn(StrictModel):
    """An earlier referral of the subject or a household member."""

    referral_id: ReferralId
    person_id: Token
    referral_date: PastDate


class CasePayload(StrictModel):
    """Everything the model may see about one referral."""

    referral: ReferralIn
    household_members: list[HouseholdMemberIn] = Field(
        default_factory=list, max_length=MAX_HOUSEHOLD_MEMBERS
    )
    events: list[EventIn] = Field(default_factory=list, max_length=MAX_EVENTS_PER_CASE)
    previous_referrals: list[PreviousReferralIn] = Field(
        default_factory=list, max_length=MAX_PREVIOUS_REFERRALS
    )

    # The records as columns, read while checking them (`_events_follow_the_vocabulary`).
    _event_columns: EventColumns | None = PrivateAttr(default=None)

    def pipeline_payload(self) -> dict[str, Any]:
        """The case as `pipelines.case` reads it; the records are passed on, not copied,
        with the columns read from them while they were checked."""
        return {
            "referral": self.referral.model_dump(),
            "household_members": [member.model_dump() for member in self.household_members],
            "events": self.events,
            "event_columns": self._event_columns,
            "previous_referrals": [earlier.model_dump() for earlier in self.previous_referrals],
        }

    @model_validator(mode="after")
    def _events_follow_the_vocabulary(self) -> CasePayload:
        today = _utc_today()
        columns = event_columns(self.events)
        if _all_events_pass(columns, today):
            self._event_columns = columns
            return self
        errors = [
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{message}", {"message": message}),
                loc=("events", index, field),
                input=event.get(field),
            )
            for index, event in enumerate(self.events)
            for field, message in _event_problems(event, today)
        ]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


class BatchIn(StrictModel):
    """Several cases scored in one request (at most the configured `max_batch_cases`)."""

    cases: list[CasePayload] = Field(min_length=1)
