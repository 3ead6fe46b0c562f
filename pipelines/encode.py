"""Feeds (batch) or case payloads (live) as integer-coded arrays for the feature build.

Both encoders produce the same `EncodedExtract`; the feature definitions in
`pipelines.features` then run on it unchanged, so batch and live features cannot
drift apart. The batch encoder hashes millions of identifiers with pandas; the case
encoder uses plain dictionaries, which is what makes a single case cost well under
a millisecond to encode; `encode_cases` joins several encoded cases into one extract,
each in a person and household space of its own.

Identifier lookups in the batch encoder hash the Arrow strings directly
(``pyarrow.compute.index_in``): turning millions of identifiers into Python objects
for a pandas index took most of the build's time and a quarter of a gigabyte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    EVENT_TYPES,
    HOUSEHOLD_MEMBERS,
    HOUSEHOLD_ROLES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
    event_feed,
)
from pipelines.manifest import COUNTED_EVENTS

NO_DAY: Final = np.iinfo(np.int64).min
EPOCH: Final = date(1970, 1, 1).toordinal()
TYPE_CODES: Final[dict[tuple[str, str], int]] = {key: i for i, key in enumerate(COUNTED_EVENTS)}
N_TYPES: Final = len(COUNTED_EVENTS)
ATTENDANCE_CODE: Final = N_TYPES  # attendance records get their own code after counted types
_AGENCY_TYPE_CODES: Final[dict[str, dict[str, int]]] = {
    agency: {t: TYPE_CODES.get((agency, t), ATTENDANCE_CODE) for t in EVENT_TYPES[agency]}
    for agency in AGENCIES
}
_ROLE_CODES: Final[dict[str, int]] = {role: i for i, role in enumerate(HOUSEHOLD_ROLES)}


@dataclass(frozen=True)
class EncodedExtract:
    """Integer-coded referrals, household links, agency records and referral history."""

    ref_person: np.ndarray
    ref_household: np.ndarray  # -1 when the referral names no household
    ref_day: np.ndarray
    ref_age: np.ndarray
    ref_adult: np.ndarray
    ref_need: np.ndarray  # codes into PRESENTING_NEEDS, -1 unknown
    ref_source: np.ndarray
    ref_sex: np.ndarray
    ref_ethnicity: np.ndarray
    ref_disability: np.ndarray
    ref_imd: np.ndarray
    member_household: np.ndarray
    member_person: np.ndarray
    member_role: np.ndarray  # codes into HOUSEHOLD_ROLES
    event_person: np.ndarray
    event_known_day: np.ndarray
    event_day: np.ndarray
    event_type: np.ndarray  # TYPE_CODES, or ATTENDANCE_CODE
    event_agency: np.ndarray
    event_value: np.ndarray
    history_person: np.ndarray
    history_day: np.ndarray
    n_persons: int

    @property
    def n_referrals(self) -> int:
        return len(self.ref_person)


def to_days(values: pd.Series) -> np.ndarray:
    """Dates as int64 days since 1970-01-01; missing dates become `NO_DAY`."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    days = values.to_numpy(dtype="datetime64[D]", na_value=np.datetime64("NaT"))
    as_int = days.astype(np.int64)
    as_int[np.isnat(days)] = NO_DAY
    return as_int


def _codes(values: pd.Series, vocabulary: Sequence[str]) -> np.ndarray:
    return pd.Categorical(values, categories=list(vocabulary)).codes.astype(np.int64)


def _referral_arrays(referrals: pd.DataFrame) -> dict[str, np.ndarray]:
    disability = referrals["disability"].astype("boolean").fillna(False)
    return {
        "ref_day": to_days(referrals["referral_date"]),
        "ref_age": pd.to_numeric(referrals["age_years"], errors="coerce").to_numpy(np.float64),
        "ref_adult": (referrals["subject_type"] == "adult_at_risk").to_numpy(dtype=bool),
        "ref_need": _codes(referrals["presenting_need"], PRESENTING_NEEDS),
        "ref_source": _codes(referrals["referral_source"], REFERRAL_SOURCES),
        "ref_sex": _codes(referrals["sex"], SEXES),
        "ref_ethnicity": _codes(referrals["ethnicity_group"], ETHNICITY_GROUPS),
        "ref_disability": disability.to_numpy(dtype=np.float64),
        "ref_imd": pd.to_numeric(referrals["imd_decile"], errors="coerce").to_numpy(np.float64),
    }


def _arrow_strings(values: pd.Series | pd.Index | Sequence[str]) -> pa.ChunkedArray:
    """Values as Arrow large strings (zero-copy for Arrow-backed string columns)."""
    array = pa.array(values.array if isinstance(values, pd.Series | pd.Index) else values,
                     from_pandas=True)
    chunked = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
    return chunked.cast(pa.large_string())


def _positions(values: pd.Series, universe: pa.Array) -> np.ndarray:
    """Position of each value in ``universe`` (distinct values), -1 where absent."""
    found = pc.index_in(_arrow_strings(values), value_set=universe)
    return found.fill_null(-1).to_numpy().astype(np.int64)


def _type_codes(event_types: pd.Series, agency: str) -> np.ndarray:
    """TYPE_CODES (or ATTENDANCE_CODE) of each record; -1 for a type outside the vocabulary."""
    vocabulary = list(_AGENCY_TYPE_CODES[agency])
    lookup = np.array([*_AGENCY_TYPE_CODES[agency].values(), -1], dtype=np.int64)
    return lookup[_positions(event_types, _arrow_strings(vocabulary).combine_chunks())]


def _event_arrays(frames: Mapping[str, pd.DataFrame], persons: pa.Array) -> dict[str, np.ndarray]:
    parts: list[tuple[np.ndarray, ...]] = []
    for agency_idx, agency in enumerate(AGENCIES):
        frame = frames.get(event_feed(agency))
        if frame is None or not len(frame):
            continue
        person = _positions(frame["person_id"], persons)
        type_code = _type_codes(frame["event_type"], agency)
        keep = (person >= 0) & (type_code >= 0)
        event_day = to_days(frame["event_date"])[keep]
        recorded = to_days(frame["recorded_date"])[keep]
        known_day = np.where(recorded == NO_DAY, event_day, recorded)
        value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(np.float64)[keep]
        parts.append((person[keep], known_day, event_day, type_code[keep],
                      np.full(len(event_day), agency_idx, dtype=np.int64), value))
    names = ("event_person", "event_known_day", "event_day", "event_type", "event_agency",
             "event_value")
    if not parts:
        return {name: np.empty(0, np.float64 if name == "event_value" else np.int64)
                for name in names}
    return {name: np.concatenate(col) for name, col in zip(names, zip(*parts, strict=True),
                                                            strict=True)}


def encode_frames(frames: Mapping[str, pd.DataFrame],
                  history: pd.DataFrame | None = None) -> EncodedExtract:
    """Encode validated feed frames (the batch path)."""
    referrals = frames[REFERRALS]
    members = frames.get(HOUSEHOLD_MEMBERS)
    households = pc.unique(_arrow_strings(referrals["household_id"]).drop_null())
    ids = [_arrow_strings(referrals["person_id"])]
    if members is None or not len(members):
        members = pd.DataFrame({"household_id": [], "person_id": [], "role": []}, dtype=str)
    member_household = _positions(members["household_id"], households)
    members = members[member_household >= 0]
    ids.append(_arrow_strings(members["person_id"]))
    # First-seen order, as pandas.unique would give.
    persons = pc.unique(pa.chunked_array([chunk for array in ids for chunk in array.chunks]))
    history = referrals if history is None else history
    return EncodedExtract(
        ref_person=_positions(referrals["person_id"], persons),
        ref_household=_positions(referrals["household_id"], households),
        **_referral_arrays(referrals),
        member_household=member_household[member_household >= 0],
        member_person=_positions(members["person_id"], persons),
        member_role=_codes(members["role"], HOUSEHOLD_ROLES),
        **_event_arrays(frames, persons),
        history_person=_positions(history["person_id"], persons),
        history_day=to_days(history["referral_date"]),
        n_persons=len(persons),
    )


def _day(value: Any) -> int:
    if type(value) is date:  # the API's validated payloads
        return value.toordinal() - EPOCH
    if value is None or value == "":
        return int(NO_DAY)
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        value = date.fromisoformat(str(value))
    return value.toordinal() - EPOCH


def _days(values: Sequence[Any]) -> np.ndarray:
    """Days since 1970-01-01 of dates (date objects, ISO strings); `NO_DAY` where missing."""
    try:  # a case holds hundreds of dates: in C when they are all date objects
        return np.fromiter(map(date.toordinal, values), np.int64, len(values)) - EPOCH
    except TypeError:  # strings or missing dates among them
        return np.array([_day(value) for value in values], dtype=np.int64)


def _code(vocabulary: Sequence[str], value: Any) -> int:
    return vocabulary.index(value) if value in vocabulary else -1


_AGENCY_CODES: Final[dict[str, int]] = {agency: i for i, agency in enumerate(AGENCIES)}
_EVENT_KEYS: Final = itemgetter("person_id", "agency", "event_type", "event_date")


def _case_events(events: Sequence[Mapping[str, Any]], person_codes: Mapping[str, int]
                 ) -> dict[str, np.ndarray]:
    """The event arrays of one case: its records about the persons in `person_codes`.

    Column by column rather than record by record: a case holds hundreds of records.
    """
    if any(event["person_id"] not in person_codes for event in events):
        events = [event for event in events if event["person_id"] in person_codes]
    if not events:
        empty = np.empty(0, np.int64)
        return {"event_person": empty, "event_known_day": empty, "event_day": empty,
                "event_type": empty, "event_agency": empty,
                "event_value": np.empty(0, np.float64)}
    persons, agencies, types, event_dates = zip(*map(_EVENT_KEYS, events), strict=True)
    recorded = [event.get("recorded_date") for event in events]
    values = [event.get("value") for event in events]
    return {
        "event_person": np.fromiter(map(person_codes.__getitem__, persons), np.int64,
                                    len(persons)),
        # A record is known from its recorded date, or its event date when that is empty.
        "event_known_day": _days([r or d for r, d in zip(recorded, event_dates, strict=True)]),
        "event_day": _days(event_dates),
        "event_type": np.array([_AGENCY_TYPE_CODES[a][t] for a, t in zip(agencies, types,
                                                                        strict=True)],
                               dtype=np.int64),
        "event_agency": np.fromiter(map(_AGENCY_CODES.__getitem__, agencies), np.int64,
                                    len(agencies)),
        "event_value": np.array([np.nan if v is None else v for v in values], np.float64),
    }


def encode_case(case: Mapping[str, Any]) -> EncodedExtract:
    """Encode one case payload (the live path); see `pipelines.case` for its shape."""
    referral = case["referral"]
    person_codes: dict[str, int] = {referral["person_id"]: 0}
    household = referral.get("household_id")
    members = list(case.get("household_members") or []) if household else []
    for member in members:
        person_codes.setdefault(member["person_id"], len(person_codes))
    history = [p for p in case.get("previous_referrals") or [] if p["person_id"] in person_codes]
    imd = referral.get("imd_decile")
    age = referral.get("age_years")

    def ints(values: Sequence[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    return EncodedExtract(
        ref_person=ints([0]), ref_household=ints([0 if household else -1]),
        ref_day=ints([_day(referral["referral_date"])]),
        ref_age=np.array([np.nan if age is None else float(age)]),
        ref_adult=np.array([referral.get("subject_type") == "adult_at_risk"]),
        ref_need=ints([_code(PRESENTING_NEEDS, referral.get("presenting_need"))]),
        ref_source=ints([_code(REFERRAL_SOURCES, referral.get("referral_source"))]),
        ref_sex=ints([_code(SEXES, referral.get("sex"))]),
        ref_ethnicity=ints([_code(ETHNICITY_GROUPS, referral.get("ethnicity_group"))]),
        ref_disability=np.array([1.0 if referral.get("disability") else 0.0]),
        ref_imd=np.array([np.nan if imd is None else float(imd)]),
        member_household=ints([0] * len(members)),
        member_person=ints([person_codes[m["person_id"]] for m in members]),
        member_role=ints([_ROLE_CODES.get(m["role"], -1) for m in members]),
        **_case_events(case.get("events") or [], person_codes),
        history_person=ints([person_codes[p["person_id"]] for p in history]),
        history_day=ints([_day(p["referral_date"]) for p in history]),
        n_persons=len(person_codes),
    )


_PERSON_FIELDS: Final = ("ref_person", "member_person", "event_person", "history_person")
_HOUSEHOLD_FIELDS: Final = ("ref_household", "member_household")


def encode_cases(cases: Sequence[Mapping[str, Any]]) -> EncodedExtract:
    """Encode several case payloads as one extract: referral i is case i.

    Each case keeps a person and household space of its own (its codes are shifted
    past the cases before it), so no case sees another's records, even when two
    cases name the same person: features are computed from each payload alone, in
    one pass of the batch feature code.
    """
    parts = [encode_case(case) for case in cases]
    if not parts:
        raise ValueError("encode_cases needs at least one case")
    if len(parts) == 1:
        return parts[0]
    person_offsets = np.cumsum([0] + [part.n_persons for part in parts[:-1]])
    household_counts = [int(part.ref_household.max(initial=-1)) + 1 for part in parts]
    household_offsets = np.cumsum([0] + household_counts[:-1])
    arrays: dict[str, np.ndarray] = {}
    for name in (f.name for f in fields(EncodedExtract) if f.name != "n_persons"):
        columns = [getattr(part, name) for part in parts]
        if name in _PERSON_FIELDS:
            columns = [column + offset for column, offset in zip(columns, person_offsets,
                                                                 strict=True)]
        elif name in _HOUSEHOLD_FIELDS:
            columns = [np.where(column >= 0, column + offset, column)
                       for column, offset in zip(columns, household_offsets, strict=True)]
        arrays[name] = np.concatenate(columns)
    return EncodedExtract(**arrays, n_persons=sum(part.n_persons for part in parts))
