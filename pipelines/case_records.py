"""A live case's agency records, read column by column into the arrays of an
`EncodedExtract` (a case holds hundreds of records; reading them one by one costs more).

`event_columns` reads every record of a case; `event_arrays` keeps those about the
case's persons, coded as the batch codes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import repeat
from operator import itemgetter
from typing import Any, Final

import numpy as np
import pandas as pd

from data_contracts.rules import OUTSIDE_VOCABULARY
from data_contracts.vocab import AGENCIES, EVENT_PAIRS
from pipelines.encode import AGENCY_TYPE_CODES, EPOCH, NO_DAY


def day_number(value: Any) -> int:
    """Days since 1970-01-01 of a date (date, datetime, Timestamp or ISO text); `NO_DAY`
    when missing (None, empty, NaT)."""
    if type(value) is date:  # the API's validated payloads
        return value.toordinal() - EPOCH
    if value is None or value is pd.NaT or value == "":  # missing, as in the batch path
        return int(NO_DAY)
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        value = date.fromisoformat(str(value))
    return value.toordinal() - EPOCH


_ONLY_DATES: Final = frozenset({date})


def _ordinal_days(dates: Sequence[date]) -> np.ndarray:
    """Days since 1970-01-01 of plain date objects (as validation leaves them), in C."""
    return np.fromiter(map(date.toordinal, dates), np.int64, len(dates)) - EPOCH


def _days(values: Sequence[Any]) -> np.ndarray:
    """Days since 1970-01-01 of dates (date or datetime objects, pandas Timestamps, ISO
    strings); `NO_DAY` where missing (None, empty, NaT)."""
    if _ONLY_DATES.issuperset(map(type, values)):
        return _ordinal_days(values)
    return np.array([day_number(value) for value in values], dtype=np.int64)


_AGENCY_CODES: Final[dict[str, int]] = {agency: i for i, agency in enumerate(AGENCIES)}
_EVENT_KEYS: Final = itemgetter("person_id", "agency", "event_type", "event_date")

# `EventColumns.pair` indexes the vocabulary's (agency, event type) pairs, `EVENT_PAIRS`.
_PAIR_CODES: Final[dict[str, dict[str, int]]] = {agency: {} for agency in AGENCIES}
for _code_of_pair, (_agency, _event_type) in enumerate(EVENT_PAIRS):
    _PAIR_CODES[_agency][_event_type] = _code_of_pair
_PAIR_AGENCY: Final = np.array([_AGENCY_CODES[a] for a, _ in EVENT_PAIRS], np.int64)
_PAIR_TYPE: Final = np.array([AGENCY_TYPE_CODES[a][t] for a, t in EVENT_PAIRS], np.int64)
UNKNOWN_PAIR: Final = OUTSIDE_VOCABULARY


@dataclass(frozen=True, slots=True)
class EventColumns:
    """A case's agency records as columns: every record, whoever it is about.

    `event_columns` reads them from the records. The API reads them once, while it
    checks a case's records, and passes them on in the payload as ``event_columns``,
    so the hundreds of records of a case are not read twice.
    """

    person_id: tuple[str, ...]
    pair: np.ndarray  # index into EVENT_PAIRS; UNKNOWN_PAIR outside the vocabulary
    event_day: np.ndarray
    known_day: np.ndarray  # the recorded date, or the event date when none is recorded
    value: np.ndarray  # NaN when the record has none
    # (agency, event type) of each record outside the vocabulary, by record index
    unknown: Mapping[int, tuple[Any, Any]] = field(default_factory=dict)


_EMPTY_DAYS: Final = np.empty(0, np.int64)
NO_EVENTS: Final = EventColumns((), _EMPTY_DAYS, _EMPTY_DAYS, _EMPTY_DAYS, np.empty(0))


def _pairs(agencies: Sequence[Any], types: Sequence[Any]
           ) -> tuple[np.ndarray, dict[int, tuple[Any, Any]]]:
    """Each record's index into EVENT_PAIRS, and the records outside the vocabulary."""
    try:
        codes = [_PAIR_CODES[a][t] for a, t in zip(agencies, types, strict=True)]
        return np.array(codes, np.int64), {}
    except (KeyError, TypeError):  # unknown (or unhashable) names: the slow way
        pass
    unknown: dict[int, tuple[Any, Any]] = {}
    codes = []
    for index, (agency, event_type) in enumerate(zip(agencies, types, strict=True)):
        try:
            codes.append(_PAIR_CODES[agency][event_type])
        except (KeyError, TypeError):
            codes.append(UNKNOWN_PAIR)
            unknown[index] = (agency, event_type)
    return np.array(codes, np.int64), unknown


def _known_days(recorded: list[Any], event_dates: Sequence[Any], event_day: np.ndarray
                ) -> np.ndarray:
    """When each record became known: its recorded date, or its event date when that is
    missing (as the batch path reads them)."""
    either = [r or d for r, d in zip(recorded, event_dates, strict=True)]
    if _ONLY_DATES.issuperset(map(type, either)):  # None and "" give way to the event date
        return _ordinal_days(either)
    known = np.array([day_number(r) for r in recorded], dtype=np.int64)
    return np.where(known == NO_DAY, event_day, known)


def event_columns(events: Sequence[Mapping[str, Any]]) -> EventColumns:
    """The records of a case as columns (see `pipelines.case` for a record's fields).
    An agency or event type outside the vocabulary is coded `UNKNOWN_PAIR`.

    Column by column rather than record by record: a case holds hundreds of records.
    """
    if not events:
        return NO_EVENTS
    persons, agencies, types, event_dates = zip(*map(_EVENT_KEYS, events), strict=True)
    event_day = _days(event_dates)
    pair, unknown = _pairs(agencies, types)
    return EventColumns(
        person_id=persons,
        pair=pair,
        unknown=unknown,
        event_day=event_day,
        known_day=_known_days([event.get("recorded_date") for event in events], event_dates,
                              event_day),
        # numpy reads None as NaN
        value=np.array([event.get("value") for event in events], np.float64),
    )


def event_arrays(columns: EventColumns, person_codes: Mapping[str, int]
                 ) -> dict[str, np.ndarray]:
    """The event arrays of one case: its records about the persons in `person_codes`."""
    persons = columns.person_id
    person = np.fromiter(map(person_codes.get, persons, repeat(-1)), np.int64, len(persons))
    mine = person >= 0
    outside = [pair for index, pair in columns.unknown.items() if mine[index]]
    if outside:
        raise KeyError(f"agency and event type outside the feed vocabulary: {outside[0]!r}")
    arrays = {"event_person": person, "pair": columns.pair, "event_day": columns.event_day,
              "event_known_day": columns.known_day, "event_value": columns.value}
    if not mine.all():
        arrays = {name: array[mine] for name, array in arrays.items()}
    pair = arrays.pop("pair")
    arrays["event_type"], arrays["event_agency"] = _PAIR_TYPE[pair], _PAIR_AGENCY[pair]
    return arrays
