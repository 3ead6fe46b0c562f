"""The case a referral is scored on (`POST /v1/score`, `/v1/score/batch`), in the feed
vocabulary: its fields and their types.

Vocabularies come from `data_contracts.vocab`, and the rules a case's records share
with the feeds (dates, event types, values, age and subject type) with their messages
from `data_contracts.rules`; each message names the field, the bad value and what was
expected, so a practitioner can fix the case. The rules over several fields or records
are checked by `api.case_rules`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Final, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from api.case_rules import (
    household_errors,
    record_errors,
    repeated_case_errors,
    repeated_referral_errors,
    utc_today,
)
from api.free_text import PlainText
from api.schemas import ReferralId
from data_contracts import rules, vocab
from data_contracts.parsing import HOLDS_A_TIME, NOT_A_DATE, date_text
from pipelines.case_records import EventColumns, event_columns

# The most a case may list: above any real case (an independent probe's busiest, 5,589
# records and a 34-person household, were refused at 5,000 and 100), within the request
# body's limit (`max_body_bytes`), which bounds the work a request can ask for anyway.
MAX_EVENTS_PER_CASE = 20_000
MAX_HOUSEHOLD_MEMBERS = 500  # a care home's residents
MAX_PREVIOUS_REFERRALS = 1_000
_LIST_LIMITS: Final = {"events": (MAX_EVENTS_PER_CASE, "records"),
                       "household_members": (MAX_HOUSEHOLD_MEMBERS, "household members"),
                       "previous_referrals": (MAX_PREVIOUS_REFERRALS, "earlier referrals")}


def _one_of(name: str, allowed: tuple[str, ...]) -> Callable[[str], str]:
    rule = rules.in_vocabulary(name, allowed)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(rule.explain({name: value}))
        return value

    return check


def _enum(name: str, allowed: tuple[str, ...]) -> Any:
    return Annotated[
        str,
        Field(json_schema_extra={"enum": list(allowed)}),
        AfterValidator(_one_of(name, allowed)),
    ]


def _in_plausible_range(value: date) -> date:
    problem = rules.date_out_of_range("referral_date", value, utc_today())
    if problem:
        raise ValueError(problem)
    return value


class CaseModel(BaseModel):
    """A part of a case: unknown fields refused, and, as in a feed, no value "fixed": a
    token, id, date or word with blanks around it is refused, never stripped."""

    model_config = ConfigDict(extra="forbid")


def _feed_date(value: object) -> object:
    """A date as the feeds write it and read it (`data_contracts.parsing.date_text`): text
    YYYY-MM-DD, alone or with a midnight time; not one followed by a line break, nor (as
    pydantic alone would take) a number of seconds."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    reason, message = NOT_A_DATE, ("expected a date written YYYY-MM-DD, alone or with a "
                                   "midnight time")
    if isinstance(value, str):
        try:
            return date_text(value)
        except ValueError as exc:
            if str(exc) == HOLDS_A_TIME:  # the feeds' reason: a time of day is no date
                reason = message = HOLDS_A_TIME
    raise PydanticCustomError("date_text", message, {"reason": reason})


Token = Annotated[str, Field(pattern=vocab.TOKEN_PATTERN, max_length=vocab.TOKEN_MAX_LENGTH)]
CaseDate = Annotated[date, BeforeValidator(_feed_date)]
# Not before the feeds' plausible range (rules.EARLIEST_DATE), not after today.
PastDate = Annotated[CaseDate, AfterValidator(_in_plausible_range)]
# Strict: `true` is not the number 1, nor `1` or "yes" a boolean, nor "9" a number.
WholeNumber = Annotated[int, Strict()]
Boolean = Annotated[bool, Strict()]

_ALL_EVENT_TYPES = tuple(sorted({t for types in vocab.EVENT_TYPES.values() for t in types}))


class ReferralIn(CaseModel):
    """The referral being triaged: its subject and context (no direct identifiers)."""

    referral_id: ReferralId
    person_id: Token
    household_id: Token | None = None
    referral_date: PastDate
    referral_source: _enum("referral_source", vocab.REFERRAL_SOURCES)  # type: ignore[valid-type]
    presenting_need: _enum("presenting_need", vocab.PRESENTING_NEEDS)  # type: ignore[valid-type]
    subject_type: _enum("subject_type", vocab.SUBJECT_TYPES)  # type: ignore[valid-type]
    age_years: WholeNumber = Field(ge=0, le=vocab.MAX_AGE)
    sex: _enum("sex", vocab.SEXES)  # type: ignore[valid-type]
    ethnicity_group: _enum("ethnicity_group", vocab.ETHNICITY_GROUPS)  # type: ignore[valid-type]
    disability: Boolean
    imd_decile: WholeNumber | None = Field(default=None, ge=min(vocab.IMD_DECILES),
                                   le=max(vocab.IMD_DECILES))

    @field_validator("age_years")
    @classmethod
    def _age_matches_subject_type(cls, age: int, info: ValidationInfo) -> int:
        subject_type = info.data.get("subject_type")
        if subject_type is not None and rules.age_mismatch(age, subject_type):
            raise ValueError(rules.AGE_NOT_SUBJECT_TYPE.explain(
                {"age_years": age, "subject_type": subject_type}))
        return age


class HouseholdMemberIn(CaseModel):
    """A member of the subject's household."""

    person_id: Token
    role: _enum("role", vocab.HOUSEHOLD_ROLES)  # type: ignore[valid-type]


class EventIn(TypedDict):
    """One agency record about the subject or a household member.

    The types are checked field by field; the rules of `data_contracts.rules` (the
    agency, its event types, which need a value and in what range, the dates) are
    checked by `api.case_rules` column by column over all records, since a case holds
    hundreds of them; each error still names its record and field.
    """

    # A validated record stays a plain dict (no model object per record): a case
    # holds hundreds, and the feature pipeline reads dicts.
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    agency: Annotated[
        PlainText, Field(max_length=64, json_schema_extra={"enum": list(vocab.AGENCIES)})]
    person_id: Token
    event_date: CaseDate
    recorded_date: NotRequired[CaseDate | None]
    event_type: Annotated[
        PlainText, Field(max_length=64, json_schema_extra={"enum": list(_ALL_EVENT_TYPES)})]
    value: NotRequired[Annotated[float | None, Field(allow_inf_nan=False, strict=True)]]


class PreviousReferralIn(CaseModel):
    """An earlier referral of the subject or a household member."""

    referral_id: ReferralId
    person_id: Token
    referral_date: PastDate


# The fields a case may leave out (or send as null): the feeds' optional columns.
OPTIONAL_CASE_FIELDS: Final = frozenset(
    {name for model in (ReferralIn, HouseholdMemberIn, PreviousReferralIn)
     for name, field in model.model_fields.items() if not field.is_required()}
    | {name for name, field in TypeAdapter(EventIn).core_schema["fields"].items()  # type: ignore[typeddict-item]
       if not field.get("required", True)})


class CasePayload(CaseModel):
    """Everything the model may see about one referral."""

    referral: ReferralIn
    household_members: list[HouseholdMemberIn] = Field(
        default_factory=list, max_length=MAX_HOUSEHOLD_MEMBERS
    )
    events: list[EventIn] = Field(default_factory=list, max_length=MAX_EVENTS_PER_CASE)
    previous_referrals: list[PreviousReferralIn] = Field(
        default_factory=list, max_length=MAX_PREVIOUS_REFERRALS
    )

    @field_validator("events", "household_members", "previous_referrals", mode="before")
    @classmethod
    def _within_limit(cls, value: Any, info: ValidationInfo) -> Any:
        """A list over its limit, refused in words that say what to do (it read "List
        should have at most 5000 items after validation, not 5589")."""
        limit, what = _LIST_LIMITS[str(info.field_name)]
        if isinstance(value, list) and len(value) > limit:
            raise ValueError(f"a case may list at most {limit:,} {what} ({len(value):,} "
                             "sent): score this referral in the hub's batch run "
                             "(safeguard score), which has no such limit")
        return value

    # The records as columns, read while checking them (`_follows_the_rules`).
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
    def _follows_the_rules(self) -> CasePayload:
        """The rules of `api.case_rules`: every one the case breaks, in one error."""
        columns = event_columns(self.events)
        self._event_columns = columns
        referral = self.referral
        errors = [
            *household_errors(members_listed=bool(self.household_members),
                              household_id=referral.household_id),
            *repeated_referral_errors(referral.referral_id, [
                (index, earlier.referral_id)
                for index, earlier in enumerate(self.previous_referrals)]),
            *record_errors(self.events, columns)]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


class BatchIn(CaseModel):
    """Several cases scored in one request (at most the configured `max_batch_cases`)."""

    cases: list[CasePayload] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_referral_once(self) -> BatchIn:
        """Refuse a batch naming one referral in two cases (once the cases are valid)."""
        errors = repeated_case_errors(
            (index, case.referral.referral_id) for index, case in enumerate(self.cases))
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self
