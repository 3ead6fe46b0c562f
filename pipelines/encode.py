"""Feeds (batch) as integer-coded arrays for the feature build: `EncodedExtract`.

Live case payloads are encoded into the same `EncodedExtract` by `pipelines.case`;
the feature definitions in `pipelines.features` then run on either unchanged, so
batch and live features cannot drift apart. The batch encoder hashes millions of
identifiers with pandas; the case encoder reads a case's records column by column,
which is what makes a single case cost well under a millisecond to encode.

Identifier lookups in the batch encoder hash the Arrow strings directly
(``pyarrow.compute.index_in``): turning millions of identifiers into Python objects
for a pandas index took most of the build's time and a quarter of a gigabyte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

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
AGENCY_TYPE_CODES: Final[dict[str, dict[str, int]]] = {
    agency: {t: TYPE_CODES.get((agency, t), ATTENDANCE_CODE) for t in EVENT_TYPES[agency]}
    for agency in AGENCIES
}
ROLE_CODES: Final[dict[str, int]] = {role: i for i, role in enumerate(HOUSEHOLD_ROLES)}


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
    vocabulary = list(AGENCY_TYPE_CODES[agency])
    lookup = np.array([*AGENCY_TYPE_CODES[agency].values(), -1], dtype=np.int64)
    return lookup[_positions(event_types, _arrow_strings(vocabulary).combine_chunks())]


EVENT_ARRAYS: Final = ("event_person", "event_known_day", "event_day", "event_type",
                       "event_agency", "event_value")


def _event_arrays(frames: Mapping[str, pd.DataFrame], persons: pa.Array) -> dict[str, np.ndarray]:
    parts: list[dict[str, np.ndarray]] = []
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
        parts.append(dict(zip(EVENT_ARRAYS, (
            person[keep], known_day, event_day, type_code[keep],
            np.full(len(event_day), agency_idx, dtype=np.int64), value), strict=True)))
    if not parts:
        return {name: np.empty(0, np.float64 if name == "event_value" else np.int64)
                for name in EVENT_ARRAYS}
    # One array at a time, each agency's part let go once copied: joining all six at
    # once held every part and every result together (0.2 GiB more at 4.8M records).
    return {name: np.concatenate([part.pop(name) for part in parts]) for name in EVENT_ARRAYS}


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
