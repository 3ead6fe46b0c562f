"""Response bodies and the decision body of the API (pydantic v2).

The case a referral is scored on (`CasePayload`) is in `api.case_payload`; the rules
its records share with the feeds are in `data_contracts.rules`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from api.free_text import ShortText, StatedText, visible
from data_contracts.identifiers import identifiers_written_in
from data_contracts.vocab import REFERRAL_ID_MAX_LENGTH
from data_contracts.vocab import REFERRAL_ID_PATTERN as REFERRAL_ID_PATTERN
from model.sentences import CONTRIBUTIONS_NOTE

DECISION_SUPPORT_NOTICE = (
    "Decision support only: this score informs, and never replaces, the practitioner's "
    "professional judgement. The practitioner decides and records the reason."
)

Rag = Literal["red", "amber", "green"]

def _refuse_identifiers(value: str) -> str:
    """A referral id holding a direct identifier in its text, refused as a feed is."""
    if kinds := identifiers_written_in(value):
        raise ValueError(f"must not hold a direct identifier ({kinds})")
    return value


ReferralId = Annotated[str, Field(min_length=1, max_length=REFERRAL_ID_MAX_LENGTH,
                                  pattern=REFERRAL_ID_PATTERN),
                       AfterValidator(_refuse_identifiers)]


# RFC 3339 `date-time`, as the OpenAPI document declares: a date, a time and a UTC offset.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)")


def _rfc3339_text(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("expected an RFC 3339 date-time with a UTC offset, "
                         "such as 2026-12-04T17:02:35Z")
    return value


def _in_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-23:59 is past the last UTC moment
        raise ValueError("the moment in UTC is outside years 1 to 9999") from None


UtcTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_in_utc)]
"""A moment in time, in and out of the API: RFC 3339 with its UTC offset (emitted in UTC,
as ``2026-12-04T17:02:35.163101Z``); a time without an offset is refused."""


class StrictModel(BaseModel):
    """A request body: unknown fields refused, text stripped of surrounding blanks."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Escalation(BaseModel):
    """A rule that sets a floor under the band, whatever the model says."""

    rule: str
    description: str
    minimum_band: str


class Factor(BaseModel):
    """One factor's contribution to the score, in words a practitioner can check.

    A factor sums the contributions of `features`: one concern (the counts over every
    window and the recency of one event type about one relation) or one other feature.
    """

    feature: str = Field(description="The factor's headline feature (for a concern, its "
                         "count on record).")
    value: float | str | bool | None = Field(description="The headline feature's value.")
    contribution: float
    direction: Literal["raises", "lowers"]
    agency: str | None
    sentence: str
    # Defaults keep scores stored before factors were grouped readable.
    features: list[str] = Field(default_factory=list, description="The manifest features "
                                "whose contributions the factor sums.")


class ReferralFacts(BaseModel):
    """The referral's own details a score was made from, as sent: its date, who was
    referred, by whom and for what (a probe's practitioner could not tell a referral dated
    23 days before it was scored from one that arrived that hour)."""

    referral_date: date
    subject_type: str
    age_years: int | None
    referral_source: str
    presenting_need: str


class ScoreResult(BaseModel):
    """The service's assessment of one referral, with its explanation."""

    referral_id: str
    # None in scores stored before it was kept (8 December 2026).
    referral: ReferralFacts | None = Field(default=None, description="The referral's details "
                                           "the score was made from, as sent.")
    model_name: str
    model_version: str
    probability: float = Field(ge=0.0, le=1.0)
    score: int = Field(ge=1, le=20)
    band: str
    rag: Rag
    response_timescale: str
    # None in scores stored before it was kept.
    model_band: str | None = Field(default=None, description="The band the score alone "
                                   "gives; `band` is higher when an escalation rule raised it.")
    escalations: list[Escalation] = Field(default_factory=list)
    top_factors: list[Factor] = Field(default_factory=list)
    contributions_by_agency: dict[str, float] = Field(default_factory=dict)
    agencies_not_seen: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    raw_score: float
    base_value: float = Field(description="The reference referral's score (log-odds): "
                              "base_value + the contributions = raw_score.")
    compared_with: str = Field(default="", description="The reference the contributions are "
                               "measured from, in one sentence (empty in scores stored before "
                               "explanations had a reference).")
    decision_support_notice: str = DECISION_SUPPORT_NOTICE
    explanation_note: str = CONTRIBUTIONS_NOTE


class BatchResult(BaseModel):
    """Results of a batch, in the order of the cases sent."""

    results: list[ScoreResult]


# The largest id a stored row can have (the store's ids are PostgreSQL `integer`s): a larger
# one names no row, and looking it up is an error of the database's own (a 500).
MAX_ROW_ID = 2**31 - 1

# The cross-field rule of a decision, in its JSON Schema too: disagreeing needs a reason.
_REASON_WHEN_DISAGREEING: dict[str, Any] = {
    "if": {"properties": {"agrees_with_band": {"const": False}},
           "required": ["agrees_with_band"]},
    "then": {"properties": {"reason": {"type": "string", "pattern": r"\S"}},
             "required": ["reason"]},
}


class DecisionIn(StrictModel):
    """A practitioner's decision on a scored referral."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=_REASON_WHEN_DISAGREEING)

    referral_id: ReferralId
    practitioner_rag: Rag
    next_step: StatedText
    # Strict: "yes", 1 or "4" are refused, not read as true or 4 (a case's fields are too).
    agrees_with_band: bool = Field(strict=True)
    reason: ShortText | None = Field(
        default=None,
        validate_default=True,
        description="Required, non-blank, when agrees_with_band is false or practitioner_rag "
        "differs from the service's RAG.",
    )
    previous_decision_id: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        le=MAX_ROW_ID,
        description="The decision this one replaces; required once the referral has a decision.",
    )
    score_id: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        le=MAX_ROW_ID,
        description="The score the practitioner decided on (as the referral view and the case "
        "page give it): refused with 409 once a newer score of the referral is held, with 422 "
        "when it is no score of the referral. Without it, the decision is on the latest score.",
    )

    @field_validator("reason")
    @classmethod
    def _reason_when_disagreeing(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("agrees_with_band") is False and not visible(reason):
            raise ValueError("reason is required when agrees_with_band is false")
        return reason


class DecisionOut(BaseModel):
    """A stored decision."""

    id: int
    referral_id: str
    score_id: int
    practitioner: str
    practitioner_rag: str
    next_step: str
    agrees_with_band: bool
    reason: str | None
    previous_decision_id: int | None
    created_at: UtcTime


class StoredScore(BaseModel):
    """A score as stored: when, by whom, and the full result with its explanation."""

    id: int
    created_at: UtcTime
    user_name: str
    result: ScoreResult


class ReferralView(BaseModel):
    """Everything the service holds about a referral: scores and decisions, oldest first."""

    referral_id: str
    scores: list[StoredScore]
    decisions: list[DecisionOut]


class AuditEntryOut(BaseModel):
    """One audit entry, hashes included so a reader can check the chain."""

    seq: int
    created_at: UtcTime
    user_name: str
    role: str
    action: str
    referral_id: str | None
    model_version: str | None
    request_hash: str = Field(description=(
        "SHA-256 of what was asked: a score's request body as received (shared by a "
        "batch's entries), a decision's canonical JSON, or a description of a read or "
        "an administrative action."))
    prev_hash: str
    entry_hash: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    """A page of audit entries in sequence order."""

    entries: list[AuditEntryOut]
    next_after_seq: int | None = Field(
        description="Pass as `after_seq` to get the next page; null on the last page."
    )


class Problem(BaseModel):
    """The body of every error answer but a 422: what went wrong, in one sentence."""

    detail: str = Field(description="What went wrong and, where it helps, what to do.")
    error_id: str | None = Field(default=None, description="500 only: the id under which "
                                 "the service logged the error (never its details).")


class FieldError(BaseModel):
    """One reason a request was refused: where in the request, and why."""

    field: str = Field(description="Where, as a dotted path within the body, query or path "
                       "(`referral.age_years`, `events.3.event_date`); `body` for the whole "
                       "body.")
    loc: list[str | int] = Field(description="The same place as a list, starting with "
                                 "`body`, `query` or `path`.")
    message: str = Field(description="Why, in words (the value sent is never repeated).")
    type: str = Field(description="A stable code for the kind of error (`missing`, "
                      "`json_invalid`, `value_error`, ...).")


class ValidationProblem(BaseModel):
    """The body of every 422 of the API: each field that broke a rule, with the rule."""

    detail: list[FieldError] = Field(min_length=1)
