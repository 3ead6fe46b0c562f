"""Executable schemas of the feeds, one pandera schema per feed.

Each schema describes a feed's *accepted* frame in its canonical dtypes, with every
rule of the specification as a named pandera check whose ``error`` is the short
reason written to quarantine. Column checks carry the reason without the column
name (the validator prefixes it); frame-wide checks name their column themselves.

The validator (:mod:`data_contracts.validate`) runs these checks column by column
as vectorised operations to get per-row failures; ``schema.validate(frame)`` can
also be called on any accepted frame as a post-condition.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import pandas as pd
import pandera.pandas as pa

from data_contracts.vocab import (
    CHILD_MAX_AGE,
    ETHNICITY_GROUPS,
    EVENT_FEEDS,
    EVENT_TYPES,
    HOUSEHOLD_MEMBERS,
    HOUSEHOLD_ROLES,
    IMD_DECILES,
    MAX_AGE,
    OUTCOME_TYPES,
    OUTCOMES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
    SUBJECT_TYPES,
    TOKEN_PATTERN,
    VALUED_EVENT_TYPES,
)

STRING: Final = pd.StringDtype("pyarrow")
DATE: Final = "datetime64[ns]"
INTEGER: Final = "int64"
NULLABLE_INTEGER: Final = "Int64"
NUMBER: Final = "float64"
BOOLEAN: Final = "bool"


def _token(*, nullable: bool = False) -> pa.Column:
    check = pa.Check.str_matches(TOKEN_PATTERN, error="not a pseudonymous token")
    return pa.Column(STRING, check, nullable=nullable)


def _enum(values: tuple[str, ...], error: str = "not in vocabulary") -> pa.Column:
    return pa.Column(STRING, pa.Check.isin(list(values), error=error))


def _date(extract_date: dt.date | None, *, nullable: bool = False) -> pa.Column:
    checks = []
    if extract_date is not None:
        latest = pd.Timestamp(extract_date)
        checks.append(pa.Check.le(latest, error="after extract date"))
    return pa.Column(DATE, checks, nullable=nullable)


def _duplicate_referral(frame: pd.DataFrame) -> pd.Series:
    # The first copy (file order) is kept; later copies are quarantined.
    return ~frame["referral_id"].duplicated(keep="first") | frame["referral_id"].isna()


def _age_fits_subject_type(frame: pd.DataFrame) -> pd.Series:
    age, subject = frame["age_years"], frame["subject_type"]
    mismatch = ((subject == "child") & (age > CHILD_MAX_AGE)) | (
        (subject == "adult_at_risk") & (age <= CHILD_MAX_AGE)
    )
    return ~mismatch.fillna(False).astype(bool)


def referrals_schema(extract_date: dt.date | None = None) -> pa.DataFrameSchema:
    """Schema of accepted referrals."""
    return pa.DataFrameSchema(
        {
            "referral_id": pa.Column(STRING),
            "person_id": _token(),
            "household_id": _token(nullable=True),
            "referral_date": _date(extract_date),
            "referral_source": _enum(REFERRAL_SOURCES),
            "presenting_need": _enum(PRESENTING_NEEDS),
            "subject_type": _enum(SUBJECT_TYPES),
            "age_years": pa.Column(
                INTEGER, pa.Check.in_range(0, MAX_AGE, error="outside 0 to 120")
            ),
            "sex": _enum(SEXES),
            "ethnicity_group": _enum(ETHNICITY_GROUPS),
            "disability": pa.Column(BOOLEAN),
            "imd_decile": pa.Column(
                NULLABLE_INTEGER,
                pa.Check.in_range(min(IMD_DECILES), max(IMD_DECILES), error="outside 1 to 10"),
                nullable=True,
            ),
        },
        checks=[
            pa.Check(_duplicate_referral, error="referral_id: duplicate of an earlier row"),
            pa.Check(_age_fits_subject_type, error="age_years: not consistent with subject_type"),
        ],
        strict=True,
        ordered=True,
        name=REFERRALS,
    )


def household_members_schema() -> pa.DataFrameSchema:
    """Schema of accepted household memberships."""
    return pa.DataFrameSchema(
        {"household_id": _token(), "person_id": _token(), "role": _enum(HOUSEHOLD_ROLES)},
        strict=True,
        ordered=True,
        name=HOUSEHOLD_MEMBERS,
    )


def _valued_type_checks(etype: str, low: float, high: float) -> list[pa.Check]:
    """Checks of ``value`` for an event type that carries one: present and in range."""

    def present(frame: pd.DataFrame) -> pd.Series:
        return ~((frame["event_type"] == etype).fillna(False) & frame["value"].isna())

    def within_range(frame: pd.DataFrame) -> pd.Series:
        rows = (frame["event_type"] == etype).fillna(False)
        return ~(rows & ((frame["value"] < low) | (frame["value"] > high)))

    return [
        pa.Check(present, error=f"value: missing for {etype}"),
        pa.Check(within_range, error=f"value: outside {low:g} to {high:g}"),
    ]


def _value_checks(agency: str) -> list[pa.Check]:
    """Frame-wide checks of ``value``: required and in range where valued, else empty."""
    valued = {etype: bounds for (ag, etype), bounds in VALUED_EVENT_TYPES.items() if ag == agency}
    unvalued = [e for e in EVENT_TYPES[agency] if e not in valued]

    def empty_elsewhere(frame: pd.DataFrame) -> pd.Series:
        return ~(frame["event_type"].isin(unvalued).fillna(False) & frame["value"].notna())

    checks = [pa.Check(empty_elsewhere, error="value: not allowed for this event_type")]
    for etype, (low, high) in valued.items():
        checks.extend(_valued_type_checks(etype, low, high))
    return checks


def _recorded_not_before_event(frame: pd.DataFrame) -> pd.Series:
    return ~(frame["recorded_date"] < frame["event_date"]).fillna(False)


def events_schema(agency: str, extract_date: dt.date | None = None) -> pa.DataFrameSchema:
    """Schema of an agency's accepted events."""
    return pa.DataFrameSchema(
        {
            "person_id": _token(),
            "event_date": _date(extract_date),
            "recorded_date": _date(extract_date, nullable=True),
            "event_type": _enum(EVENT_TYPES[agency], error=f"not in {agency} vocabulary"),
            "value": pa.Column(NUMBER, nullable=True),
        },
        checks=[
            pa.Check(_recorded_not_before_event, error="recorded_date: before event_date"),
            *_value_checks(agency),
        ],
        strict=True,
        ordered=True,
        name=f"events_{agency}",
    )


def outcomes_schema(
    extract_date: dt.date | None = None, referral_dates: pd.Series | None = None
) -> pa.DataFrameSchema:
    """Schema of accepted outcomes.

    Args:
        extract_date: Dates after it are bad rows.
        referral_dates: ``referral_date`` of the accepted referrals, indexed by
            ``referral_id``; when given, outcomes must name one and not precede it.
    """
    checks = []
    if referral_dates is not None:
        known = referral_dates

        def names_accepted_referral(frame: pd.DataFrame) -> pd.Series:
            return frame["referral_id"].isin(known.index) | frame["referral_id"].isna()

        def not_before_referral(frame: pd.DataFrame) -> pd.Series:
            referred = frame["referral_id"].map(known)
            return ~(frame["outcome_date"] < referred).fillna(False).astype(bool)

        checks = [
            pa.Check(names_accepted_referral, error="referral_id: not an accepted referral"),
            pa.Check(not_before_referral, error="outcome_date: before referral_date"),
        ]
    return pa.DataFrameSchema(
        {
            "referral_id": pa.Column(STRING),
            "outcome_type": _enum(OUTCOME_TYPES),
            "outcome_date": _date(extract_date),
        },
        checks=checks,
        strict=True,
        ordered=True,
        name=OUTCOMES,
    )


def feed_schema(
    feed: str, *, extract_date: dt.date | None = None, referral_dates: pd.Series | None = None
) -> pa.DataFrameSchema:
    """The schema of any feed by name (see :data:`data_contracts.vocab.FEEDS`)."""
    if feed == REFERRALS:
        return referrals_schema(extract_date)
    if feed == HOUSEHOLD_MEMBERS:
        return household_members_schema()
    if feed == OUTCOMES:
        return outcomes_schema(extract_date, referral_dates)
    if feed in EVENT_FEEDS:
        return events_schema(feed.removeprefix("events_"), extract_date)
    raise KeyError(f"unknown feed {feed!r}")
