"""The rules of a case's records, over columns: one home for the feed validation and the API.

A rule is checked on whole columns with numpy (a feed holds millions of rows, a case
hundreds of records) and gives the mask of the rows that break it. Each `Rule` carries
the one pair of messages: its ``reason``, written to quarantine as ``"<field>: <reason>"``,
and its ``message``, a sentence about one record for the person fixing it (the API's
422s), filled in from that record's fields.

`data_contracts.schemas` runs these rules as pandera checks on each event feed;
`api.case_payload` runs them on the records of a live case. A date after the extract
date is a bad row; for a live case the extract date is today. A date before
:data:`EARLIEST_DATE` is a bad row too: no agency holds a record that old (the oldest
person a feed may name, 120, was born after it), so such a date is a mistake or a
placeholder such as 0001-01-01.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from data_contracts.vocab import (
    AGENCIES,
    CHILD_MAX_AGE,
    EVENT_PAIRS,
    EVENT_TYPES,
    VALUED_EVENT_TYPES,
)

if TYPE_CHECKING:
    import pandas as pd

MISSING_DAY: Final = np.iinfo(np.int64).min  # a missing date, in days since 1970-01-01
NO_LIMIT: Final = np.iinfo(np.int64).max  # no extract date: no date is after it
OUTSIDE_VOCABULARY: Final = -1  # the code of an agency or (agency, type) outside it
NO_EVENT_TYPE: Final = -2  # the pair code of a feed row whose event_type is missing
_EPOCH: Final = dt.date(1970, 1, 1).toordinal()
EARLIEST_DATE: Final = dt.date(1900, 1, 1)  # the plausible range of every date of a feed
EARLIEST_DAY: Final = EARLIEST_DATE.toordinal() - _EPOCH


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule of a record: the field it names and its messages."""

    field: str
    reason: str  # as quarantined, after "<field>: "
    message: str  # about one record, a template over its fields (``str.format_map``)

    @property
    def quarantine_reason(self) -> str:
        return f"{self.field}: {self.reason}"

    def explain(self, record: Mapping[str, Any]) -> str:
        """The message about `record` (a mapping of its fields)."""
        return self.message.format_map(record)


AFTER_EXTRACT_DATE: Final = "after extract date"
BEFORE_EARLIEST_DATE: Final = f"before {EARLIEST_DATE.isoformat()}"


def not_one_of(allowed: tuple[str, ...], vocabulary: str = "") -> str:
    """The reason of a value outside a vocabulary: the values it allows, so the person
    fixing a feed need not look them up. The value itself is not in it (the quarantined row
    holds it): a column's reason stays one line of the validation report's counts, however
    many different values a feed got wrong. ``vocabulary``: its name, when the field's
    vocabulary depends on another (an agency's event types)."""
    return f"not one of {f'the {vocabulary}: ' if vocabulary else ''}{', '.join(allowed)}"


def in_vocabulary(field: str, allowed: tuple[str, ...]) -> Rule:
    """A field whose value must be one of `allowed` (an enumeration of the specification)."""
    return Rule(field, not_one_of(allowed),
                f"unknown {field} {{{field}!r}}: expected one of {', '.join(allowed)}")


def after_extract_date(field: str) -> Rule:
    """A date after the extract date (for a live case, after today)."""
    return Rule(field, AFTER_EXTRACT_DATE, f"date {{{field}}} is in the future")


def before_earliest_date(field: str) -> Rule:
    """A date before the plausible range of the feeds (:data:`EARLIEST_DATE`)."""
    return Rule(field, BEFORE_EARLIEST_DATE,
                f"date {{{field}}} is before {EARLIEST_DATE.isoformat()}, earlier than any "
                "record the feeds hold")


def date_out_of_range(field: str, value: dt.date, today: dt.date) -> str | None:
    """The message about one date outside the plausible range, or None (a live case's
    dates: today is its extract date)."""
    if value < EARLIEST_DATE:
        return before_earliest_date(field).explain({field: value})
    if value > today:
        return after_extract_date(field).explain({field: value})
    return None


UNKNOWN_AGENCY: Final = in_vocabulary("agency", AGENCIES)
EVENT_TYPE_RULES: Final[dict[str, Rule]] = {
    agency: Rule("event_type", not_one_of(EVENT_TYPES[agency], f"{agency} event types"),
                 f"event_type {{event_type!r}} is not in the {agency} vocabulary: "
                 f"expected one of {', '.join(EVENT_TYPES[agency])}")
    for agency in AGENCIES
}
EVENT_DATE_AFTER: Final = after_extract_date("event_date")
RECORDED_DATE_AFTER: Final = after_extract_date("recorded_date")
REFERRAL_DATE_AFTER: Final = after_extract_date("referral_date")
EVENT_DATE_BEFORE: Final = before_earliest_date("event_date")
RECORDED_DATE_BEFORE: Final = before_earliest_date("recorded_date")
RECORDED_BEFORE_EVENT: Final = Rule(
    "recorded_date", "before event_date",
    "recorded_date {recorded_date} is before event_date {event_date}")
VALUE_NOT_ALLOWED: Final = Rule(
    "value", "not allowed for this event_type", "value must be empty for {agency} {event_type}")
AGE_NOT_SUBJECT_TYPE: Final = Rule(
    "age_years", "not consistent with subject_type",
    "age_years {age_years} is inconsistent with subject_type {subject_type!r}: a child is "
    f"0 to {CHILD_MAX_AGE}, an adult_at_risk {CHILD_MAX_AGE + 1} or over")


@dataclass(frozen=True, slots=True)
class ValuedPair:
    """An (agency, event type) whose record carries a value, with its rules."""

    code: int  # index into EVENT_PAIRS
    low: float
    high: float
    missing: Rule
    outside: Rule


def _valued_pair(agency: str, event_type: str, low: float, high: float) -> ValuedPair:
    needs = f"{agency} {event_type} needs a value from {low:g} to {high:g}"
    return ValuedPair(EVENT_PAIRS.index((agency, event_type)), low, high,
                      Rule("value", f"missing for {event_type}", needs),
                      Rule("value", f"outside {low:g} to {high:g}", needs))


VALUED_PAIRS: Final[tuple[ValuedPair, ...]] = tuple(
    _valued_pair(agency, event_type, low, high)
    for (agency, event_type), (low, high) in VALUED_EVENT_TYPES.items())


def event_rules(agency: str) -> tuple[Rule, ...]:
    """Every rule of an agency's records, in field order."""
    valued = [rule for pair in VALUED_PAIRS if EVENT_PAIRS[pair.code][0] == agency
              for rule in (pair.missing, pair.outside)]
    return (EVENT_DATE_BEFORE, EVENT_DATE_AFTER, RECORDED_DATE_BEFORE, RECORDED_DATE_AFTER,
            RECORDED_BEFORE_EVENT, EVENT_TYPE_RULES[agency], VALUE_NOT_ALLOWED, *valued)


@dataclass(frozen=True, slots=True)
class EventRows:
    """Agency records as the event rules read them, one array per field."""

    # index into AGENCIES, OUTSIDE_VOCABULARY for an unknown agency; None when every
    # record's pair is in the vocabulary (the agency is then known too)
    agency: np.ndarray | None
    pair: np.ndarray  # index into EVENT_PAIRS; OUTSIDE_VOCABULARY, or NO_EVENT_TYPE
    event_day: np.ndarray  # days since 1970-01-01; MISSING_DAY when missing
    recorded_day: np.ndarray  # MISSING_DAY when missing
    value: np.ndarray  # NaN when missing


Broken = list[tuple[Rule, np.ndarray]]


def _add(broken: Broken, rule: Rule, mask: np.ndarray) -> None:
    if mask.any():
        broken.append((rule, mask))


def broken_event_rules(rows: EventRows, extract_day: int) -> Broken:
    """Each rule some record breaks, with the mask of those records, in field order.

    A mask is only built where a cheap reduction says some record may break its rule:
    the API checks every case this way, and most break none.
    """
    broken: Broken = []
    agency, pair, event_day, recorded = rows.agency, rows.pair, rows.event_day, rows.recorded_day
    if agency is not None and agency.min(initial=0) < 0:
        _add(broken, UNKNOWN_AGENCY, agency == OUTSIDE_VOCABULARY)
    if event_day.min(initial=EARLIEST_DAY) < EARLIEST_DAY:
        _add(broken, EVENT_DATE_BEFORE, (event_day < EARLIEST_DAY) & (event_day != MISSING_DAY))
    if event_day.max(initial=MISSING_DAY) > extract_day:
        _add(broken, EVENT_DATE_AFTER, event_day > extract_day)
    if recorded.min(initial=EARLIEST_DAY) < EARLIEST_DAY:
        _add(broken, RECORDED_DATE_BEFORE, (recorded < EARLIEST_DAY) & (recorded != MISSING_DAY))
    if recorded.max(initial=MISSING_DAY) > extract_day:
        _add(broken, RECORDED_DATE_AFTER, recorded > extract_day)
    before = recorded < event_day
    if before.any():
        _add(broken, RECORDED_BEFORE_EVENT, before & (recorded != MISSING_DAY))
    if pair.min(initial=0) < 0:
        if agency is None:
            raise ValueError("the agency of each record is needed when a pair is unknown")
        outside = pair == OUTSIDE_VOCABULARY
        for code, name in enumerate(AGENCIES):
            _add(broken, EVENT_TYPE_RULES[name], outside & (agency == code))
    _value_rules(broken, pair, rows.value)
    return broken


def _value_rules(broken: Broken, pair: np.ndarray, value: np.ndarray) -> None:
    missing = np.isnan(value)  # NaN compares as in range below
    valued: np.ndarray | None = None
    checks = []
    for valued_pair in VALUED_PAIRS:
        of_type = pair == valued_pair.code
        valued = of_type if valued is None else valued | of_type
        checks.append((valued_pair.missing, of_type & missing))
        checks.append((valued_pair.outside,
                       of_type & ((value < valued_pair.low) | (value > valued_pair.high))))
    extra = ~missing if valued is None else ~(missing | valued)
    if extra.any():
        _add(broken, VALUE_NOT_ALLOWED, extra & (pair >= 0))
    for rule, mask in checks:
        _add(broken, rule, mask)


def age_mismatch(age: Any, subject_type: Any) -> Any:
    """Whether an age contradicts the subject type: of one referral, or of columns."""
    return ((subject_type == "child") & (age > CHILD_MAX_AGE)) | (
        (subject_type == "adult_at_risk") & (age <= CHILD_MAX_AGE))


def day_of(value: dt.date) -> int:
    """Days since 1970-01-01 of a date."""
    return value.toordinal() - _EPOCH


def _days(column: pd.Series) -> np.ndarray:
    return column.to_numpy("datetime64[ns]").astype("datetime64[D]").view(np.int64)


def feed_event_rows(agency: str, frame: pd.DataFrame) -> EventRows:
    """The rows of an agency's event feed (canonical dtypes) as the event rules read them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    types = frame["event_type"]
    offset = EVENT_PAIRS.index((agency, EVENT_TYPES[agency][0]))
    index = pc.index_in(pa.array(types.array, pa.string()),
                        value_set=pa.array(EVENT_TYPES[agency], pa.string()))
    index = index.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    pair = np.where(index >= 0, index + offset, OUTSIDE_VOCABULARY)
    pair[types.isna().to_numpy(bool)] = NO_EVENT_TYPE
    return EventRows(agency=np.full(len(frame), AGENCIES.index(agency), np.int64), pair=pair,
                     event_day=_days(frame["event_date"]),
                     recorded_day=_days(frame["recorded_date"]),
                     value=frame["value"].to_numpy(np.float64, na_value=np.nan))
