"""Executable schemas of the feeds, one pandera schema per feed.

Each schema describes a feed's *accepted* frame in its canonical dtypes, with every
rule of the specification as a named pandera check whose ``error`` is the short
reason written to quarantine. Column checks carry the reason without the column
name (the validator prefixes it); frame-wide checks name their column themselves.

The rules a feed row shares with a record of a live case (dates, event types, values,
age and subject type) live in :mod:`data_contracts.rules`, with their reasons; the
checks here run them. The validator (:mod:`data_contracts.validate`) runs these checks
column by column as vectorised operations to get per-row failures;
``schema.validate(frame)`` can also be called on any accepted frame as a post-condition.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from typing import Final

import numpy as np
import pandas as pd

from data_contracts import rules
from data_contracts.pandera_import import pa
from data_contracts.parsing import matches_fully
from data_contracts.reading import is_in
from data_contracts.vocab import (
    ETHNICITY_GROUPS,
    EVENT_FEEDS,
    HOUSEHOLD_MEMBERS,
    HOUSEHOLD_ROLES,
    IMD_DECILES,
    MAX_AGE,
    NOT_A_REFERRAL_ID,
    NOT_A_TOKEN,
    OUTCOME_TYPES,
    OUTCOMES,
    PRESENTING_NEEDS,
    REFERRAL_ID_PATTERN,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
    SUBJECT_TYPES,
    TOKEN_PATTERN,
)

STRING: Final = pd.StringDtype("pyarrow")
DATE: Final = "datetime64[ns]"
INTEGER: Final = "int64"
NULLABLE_INTEGER: Final = "Int64"
NUMBER: Final = "float64"
BOOLEAN: Final = "bool"


def _shaped(pattern: str, error: str) -> pa.Check:
    """Every cell matches ``pattern`` in full (`matches_fully`: as the service checks it)."""
    def check(values: pd.Series) -> pd.Series:
        return pd.Series(matches_fully(values, pattern), index=values.index)

    return pa.Check(check, error=error, name="str_matches")


def _token(*, nullable: bool = False) -> pa.Column:
    check = _shaped(TOKEN_PATTERN, error=NOT_A_TOKEN)
    return pa.Column(STRING, check, nullable=nullable)


def _referral_id(*, unique: bool = False) -> pa.Column:
    # `unique` is for `schema.validate` on an accepted frame (a post-condition); the
    # validator quarantines repeated keys itself (UNIQUE_KEY, below).
    return pa.Column(STRING, _shaped(REFERRAL_ID_PATTERN, error=NOT_A_REFERRAL_ID),
                     unique=unique)


def _enum(values: tuple[str, ...]) -> pa.Column:
    return pa.Column(STRING, pa.Check.isin(list(values), error=rules.not_one_of(values)))


def _date(extract_date: dt.date | None) -> pa.Column:
    earliest = pd.Timestamp(rules.EARLIEST_DATE)
    checks = [pa.Check.ge(earliest, error=rules.BEFORE_EARLIEST_DATE)]
    if extract_date is not None:
        latest = pd.Timestamp(extract_date)
        checks.append(pa.Check.le(latest, error=rules.AFTER_EXTRACT_DATE))
    return pa.Column(DATE, checks)


# A feed's unique key (the schema's metadata: checked by `checking.feed_failures` once the
# other rules are, among the rows that keep them). Rows of a key that hold the same values
# are one record sent more than once: the first (file order) is kept, the later ones are
# duplicates. Rows of a key that differ cannot tell which is right: none is kept.
UNIQUE_KEY: Final = "unique_key"
DUPLICATE_ROW: Final = "duplicate of an earlier row"
DUPLICATE_DIFFERING: Final = ("on more than one row, with other values (which is right "
                              "cannot be told: none of them is used)")


# The cross-feed rules of an outcome, which read the accepted referrals.
# An outcome naming a referral the feed never sent, or one its quarantine holds (a
# duplicate, a bad row): until 7 December "not an accepted referral", which a probe read
# as saying nothing of the quarantined duplicate its outcome named.
NOT_AN_ACCEPTED_REFERRAL: Final = ("referral_id: names no accepted referral (the referrals "
                                   "feed has no such row, or quarantined it)")
OUTCOME_BEFORE_REFERRAL: Final = "outcome_date: before referral_date"


def is_date_after_extract(reason: str) -> bool:
    """Whether a check (by its reason, ``<field>: <reason>``) is of a date after the extract
    date."""
    return reason.partition(": ")[2] == rules.AFTER_EXTRACT_DATE


def turns_on_extract_date(reason: str) -> bool:
    """Whether a check's outcome (by its reason) can change with the extract date: a date
    after it, and an outcome's referral, accepted or not by that date."""
    return is_date_after_extract(reason) or reason in (NOT_AN_ACCEPTED_REFERRAL,
                                                       OUTCOME_BEFORE_REFERRAL)


def _age_fits_subject_type(frame: pd.DataFrame) -> pd.Series:
    mismatch = rules.age_mismatch(frame["age_years"], frame["subject_type"])
    return ~mismatch.fillna(False).astype(bool)


def referrals_schema(extract_date: dt.date | None = None) -> pa.DataFrameSchema:
    """Schema of accepted referrals."""
    return pa.DataFrameSchema(
        {
            "referral_id": _referral_id(unique=True),
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
            pa.Check(_age_fits_subject_type,
                     error=rules.AGE_NOT_SUBJECT_TYPE.quarantine_reason),
        ],
        strict=True,
        ordered=True,
        name=REFERRALS,
        metadata={UNIQUE_KEY: "referral_id"},
    )


def household_members_schema() -> pa.DataFrameSchema:
    """Schema of accepted household memberships."""
    return pa.DataFrameSchema(
        {"household_id": _token(), "person_id": _token(), "role": _enum(HOUSEHOLD_ROLES)},
        strict=True,
        ordered=True,
        name=HOUSEHOLD_MEMBERS,
    )


def _event_checks(agency: str, extract_date: dt.date | None) -> list[pa.Check]:
    """One check per rule of :func:`data_contracts.rules.event_rules`; the rules are run
    together once per frame and each check reads its own mask."""
    extract_day = rules.NO_LIMIT if extract_date is None else rules.day_of(extract_date)
    last: list[tuple[weakref.ref[pd.DataFrame], dict[rules.Rule, np.ndarray]]] = []

    def broken(frame: pd.DataFrame) -> dict[rules.Rule, np.ndarray]:
        if not last or last[0][0]() is not frame:
            rows = rules.feed_event_rows(agency, frame)
            last[:] = [(weakref.ref(frame), dict(rules.broken_event_rules(rows, extract_day)))]
        return last[0][1]

    def keeps(rule: rules.Rule) -> Callable[[pd.DataFrame], pd.Series]:
        def check(frame: pd.DataFrame) -> pd.Series:
            mask = broken(frame).get(rule)
            return pd.Series(True if mask is None else ~mask, index=frame.index)

        return check

    return [pa.Check(keeps(rule), error=rule.quarantine_reason)
            for rule in rules.event_rules(agency)]


def events_schema(agency: str, extract_date: dt.date | None = None) -> pa.DataFrameSchema:
    """Schema of an agency's accepted events."""
    return pa.DataFrameSchema(
        {
            "person_id": _token(),
            "event_date": pa.Column(DATE),
            "recorded_date": pa.Column(DATE, nullable=True),
            "event_type": pa.Column(STRING),
            "value": pa.Column(NUMBER, nullable=True),
        },
        checks=_event_checks(agency, extract_date),
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
            return is_in(frame["referral_id"], known.index) | frame["referral_id"].isna()

        def not_before_referral(frame: pd.DataFrame) -> pd.Series:
            if known.empty:  # every referral quarantined (`map` of an empty date series fails)
                return pd.Series(True, index=frame.index)
            referred = frame["referral_id"].map(known)
            return ~(frame["outcome_date"] < referred)  # bool: NaT compares as False

        checks = [
            pa.Check(names_accepted_referral, error=NOT_AN_ACCEPTED_REFERRAL),
            pa.Check(not_before_referral, error=OUTCOME_BEFORE_REFERRAL),
        ]
    return pa.DataFrameSchema(
        {
            "referral_id": _referral_id(),
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
