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

from data_contracts.feed_threads import in_order
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
_SPLIT_FROM: Final = 1 << 16  # identifiers: fewer are looked up on one thread
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
    if isinstance(values.dtype, np.dtype):  # a plain datetime64 column: whole days by
        # integer division of its ticks, several times faster than converting the unit
        ticks = values.to_numpy().view(np.int64)
        tick = np.dtype(values.dtype.str.replace("M8", "m8"))  # a duration of the unit
        as_int = ticks // int(np.array(1, dtype="m8[D]").astype(tick).view(np.int64))
        as_int[ticks == np.iinfo(np.int64).min] = NO_DAY  # NaT
        return as_int
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
    return _positions_each([values], universe)[0]


def _positions_each(columns: Sequence[pd.Series], universe: pa.Array) -> list[np.ndarray]:
    """`_positions` of each column, in one look-up: Arrow hashes ``universe`` once per
    call (for the persons of 100,000 referrals, 244,000 identifiers), not once per column."""
    chunks = [chunk for column in columns for chunk in _arrow_strings(column).chunks]
    values = pa.chunked_array(chunks, type=pa.large_string())
    # Two halves on two threads (Arrow's look-up releases the GIL): 100,000 referrals'
    # 4.6 million identifiers took 0.62 s in one call, 0.40 s in two side by side.
    half = len(values) // 2
    parts = [values] if half < _SPLIT_FROM else [values.slice(0, half), values.slice(half)]
    found = in_order(lambda part: pc.index_in(part, value_set=universe), parts,
                     thread_name="lookup")
    every = np.concatenate([part.fill_null(-1).to_numpy() for part in found]).astype(np.int64)
    return np.split(every, np.cumsum([len(column) for column in columns])[:-1])


def _type_codes(event_types: pd.Series, agency: str) -> np.ndarray:
    """TYPE_CODES (or ATTENDANCE_CODE) of each record; -1 for a type outside the vocabulary."""
    vocabulary = list(AGENCY_TYPE_CODES[agency])
    lookup = np.array([*AGENCY_TYPE_CODES[agency].values(), -1], dtype=np.int64)
    return lookup[_positions(event_types, _arrow_strings(vocabulary).combine_chunks())]


EVENT_ARRAYS: Final = ("event_person", "event_known_day", "event_day", "event_type",
                       "event_agency", "event_value")


def _event_arrays(frames: Mapping[str, pd.DataFrame], persons: pa.Array,
                  history: pd.Series, referrals: pd.Series, members: pd.Series
                  ) -> dict[str, np.ndarray]:
    """The agencies' records as `EVENT_ARRAYS` (a record of an unknown person or of a type
    outside the vocabulary dropped), and the persons of `history`, `referrals` and
    `members` (`_positions`): every person identifier is looked up in one call."""
    feeds = [(i, frames[event_feed(agency)]) for i, agency in enumerate(AGENCIES)
             if event_feed(agency) in frames and len(frames[event_feed(agency)])]
    history_person, ref_person, member_person, *event_persons = _positions_each(
        [history, referrals, members, *(frame["person_id"] for _, frame in feeds)], persons)
    types = [_type_codes(frame["event_type"], AGENCIES[i]) for i, frame in feeds]
    keeps = [(person >= 0) & (type_code >= 0)
             for person, type_code in zip(event_persons, types, strict=True)]
    total = sum(int(keep.sum()) for keep in keeps)
    # Each agency's records are written straight into their place in the joined arrays:
    # no per-agency copies held beside the result, and no joining copy.
    out = {name: np.empty(total, np.float64 if name == "event_value" else np.int64)
           for name in EVENT_ARRAYS}
    starts = np.cumsum([0, *(int(keep.sum()) for keep in keeps)])

    def fill(i: int) -> None:  # on two threads: NumPy's copies release the GIL
        part = {name: array[starts[i]:starts[i + 1]] for name, array in out.items()}
        _fill_events(part, feeds[i][1], feeds[i][0], [event_persons[i], types[i]], keeps[i])

    in_order(fill, range(len(feeds)), thread_name="records")
    return {**out, "history_person": history_person, "ref_person": ref_person,
            "member_person": member_person}


def _fill_events(part: dict[str, np.ndarray], frame: pd.DataFrame, agency_idx: int,
                 codes: list[np.ndarray], keep: np.ndarray) -> None:
    """One agency's kept records into its slices of `EVENT_ARRAYS` (`part`); `codes`:
    each record's person and type codes."""
    np.compress(keep, codes[0], out=part["event_person"])
    np.compress(keep, codes[1], out=part["event_type"])
    np.compress(keep, to_days(frame["event_date"]), out=part["event_day"])
    known = part["event_known_day"]
    np.compress(keep, to_days(frame["recorded_date"]), out=known)
    np.copyto(known, part["event_day"], where=known == NO_DAY)
    np.compress(keep, pd.to_numeric(frame["value"], errors="coerce").to_numpy(np.float64),
                out=part["event_value"])
    part["event_agency"][:] = agency_idx


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
        ref_household=_positions(referrals["household_id"], households),
        **_referral_arrays(referrals),
        member_household=member_household[member_household >= 0],
        member_role=_codes(members["role"], HOUSEHOLD_ROLES),
        **_event_arrays(frames, persons, history["person_id"], referrals["person_id"],
                        members["person_id"]),
        history_day=to_days(history["referral_date"]),
        n_persons=len(persons),
    )
