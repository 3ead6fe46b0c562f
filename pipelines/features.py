"""Point-in-time features: what every agency knew about a referral's subject and household.

One definition serves the batch build and the live single case: both call
`build_features` on feed-shaped frames. The rule that matters most: a record counts
for a referral only when its known date (``recorded_date``, or ``event_date`` when
that is empty) is on or before the ``referral_date``.

The build is a vectorised join: every referral is linked to its subject and to the
other members of its household, every link is expanded to that person's records
(events sorted by person, so a link's records are one contiguous slice), and the
records that were known in time are counted with ``np.bincount`` straight into the
dense feature matrix. Cost grows with (links x records per linked person), i.e.
linearly in referrals and in events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    EVENT_TYPES,
    HOUSEHOLD_MEMBERS,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
    event_feed,
)
from pipelines.manifest import COUNTED_EVENTS, FEATURE_NAMES, RELATIONS, ROLE_TO_RELATION, WINDOWS

logger = logging.getLogger(__name__)

AUDIT_COLUMNS: Final[tuple[str, ...]] = (
    "referral_id", "person_id", "household_id", "referral_date",
    "sex", "ethnicity_group", "disability", "imd_decile",
)
FEATURE_DTYPE: Final = np.float32

_TYPE_CODES: Final[dict[tuple[str, str], int]] = {key: i for i, key in enumerate(COUNTED_EVENTS)}
_N_TYPES: Final = len(COUNTED_EVENTS)
_ATTENDANCE_CODE: Final = _N_TYPES  # attendance records get their own code after counted types
_N_REL: Final = len(RELATIONS)
_N_AGENCIES: Final = len(AGENCIES)
_SUBJECT: Final = 0
_CHILDREN: Final = RELATIONS.index("children")
# When a person holds several roles in one household, the most adult role wins.
_ROLE_PRIORITY: Final[dict[str, int]] = {
    "parent_carer": 0, "other_adult": 1, "sibling": 2, "other_child": 3, "subject": 4,
}
_NO_DAY: Final = np.iinfo(np.int64).min

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class _Records:
    """Every agency record about a relevant person, sorted by person code."""

    person: np.ndarray  # int64 person code
    known_day: np.ndarray  # int64 days since epoch
    event_day: np.ndarray
    type_code: np.ndarray  # int64: counted-type code, or _ATTENDANCE_CODE
    agency: np.ndarray  # int64 agency index
    value: np.ndarray  # float64


@dataclass(frozen=True)
class _Links:
    """Referral-to-person links: the subject and each other household member."""

    referral: np.ndarray
    person: np.ndarray
    relation: np.ndarray


def to_days(values: pd.Series) -> np.ndarray:
    """Dates as int64 days since 1970-01-01; missing dates become a sentinel."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    days = values.to_numpy(dtype="datetime64[D]", na_value=np.datetime64("NaT"))
    as_int = days.astype(np.int64)
    as_int[np.isnat(days)] = _NO_DAY
    return as_int


def _links(referrals: pd.DataFrame, members: pd.DataFrame | None, persons: pd.Index) -> _Links:
    n = len(referrals)
    subject_codes = persons.get_indexer(referrals["person_id"])
    ref_idx = [np.arange(n, dtype=np.int64)]
    person_idx = [subject_codes.astype(np.int64)]
    relation = [np.full(n, _SUBJECT, dtype=np.int64)]
    if members is not None and len(members) and referrals["household_id"].notna().any():
        left = pd.DataFrame({"household_id": referrals["household_id"].to_numpy(),
                             "ref": np.arange(n), "subject": referrals["person_id"].to_numpy()})
        left = left[left["household_id"].notna()]
        joined = left.merge(members[["household_id", "person_id", "role"]], on="household_id")
        joined = joined[joined["person_id"] != joined["subject"]]
        joined = joined.assign(priority=joined["role"].map(_ROLE_PRIORITY))
        joined = joined.sort_values(["ref", "person_id", "priority"], kind="stable")
        joined = joined.drop_duplicates(["ref", "person_id"])
        rel_codes = joined["role"].map({r: RELATIONS.index(g) for r, g in ROLE_TO_RELATION.items()})
        ref_idx.append(joined["ref"].to_numpy(dtype=np.int64))
        person_idx.append(persons.get_indexer(joined["person_id"]).astype(np.int64))
        relation.append(rel_codes.to_numpy(dtype=np.int64))
    return _Links(np.concatenate(ref_idx), np.concatenate(person_idx), np.concatenate(relation))


def _relevant_persons(referrals: pd.DataFrame, members: pd.DataFrame | None) -> pd.Index:
    ids = [referrals["person_id"].to_numpy(dtype=object)]
    if members is not None and len(members):
        households = pd.Index(referrals["household_id"].dropna().unique())
        in_scope = members["household_id"].isin(households)
        ids.append(members.loc[in_scope, "person_id"].to_numpy(dtype=object))
    return pd.Index(pd.unique(np.concatenate(ids)))


def _records(events: Mapping[str, pd.DataFrame], persons: pd.Index) -> _Records:
    parts: list[tuple[np.ndarray, ...]] = []
    for agency_idx, agency in enumerate(AGENCIES):
        frame = events.get(agency)
        if frame is None or not len(frame):
            continue
        codes = persons.get_indexer(frame["person_id"])
        keep = codes >= 0
        if not keep.any():
            continue
        frame = frame[keep]
        event_day = to_days(frame["event_date"])
        recorded = to_days(frame["recorded_date"])
        known_day = np.where(recorded == _NO_DAY, event_day, recorded)
        type_map = {t: _TYPE_CODES.get((agency, t), _ATTENDANCE_CODE) for t in EVENT_TYPES[agency]}
        type_code = frame["event_type"].map(type_map).to_numpy(dtype=np.float64)
        known_type = ~np.isnan(type_code)
        value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
        parts.append((codes[keep][known_type].astype(np.int64), known_day[known_type],
                      event_day[known_type], type_code[known_type].astype(np.int64),
                      np.full(int(known_type.sum()), agency_idx, dtype=np.int64),
                      value[known_type]))
    if not parts:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
        return _Records(empty_i, empty_i, empty_i, empty_i, empty_i, empty_f)
    columns = [np.concatenate(col) for col in zip(*parts, strict=True)]
    order = np.argsort(columns[0], kind="stable")
    return _Records(*(col[order] for col in columns))


@dataclass(frozen=True)
class _Joined:
    """One row per (link, record) known on or before the referral date."""

    referral: np.ndarray
    relation: np.ndarray
    link: np.ndarray
    delta: np.ndarray  # days from known date to referral date, >= 0
    type_code: np.ndarray
    agency: np.ndarray
    event_day: np.ndarray
    value: np.ndarray


def _join(links: _Links, records: _Records, ref_day: np.ndarray, n_persons: int) -> _Joined:
    per_person = np.bincount(records.person, minlength=n_persons)
    starts = np.concatenate(([0], np.cumsum(per_person)[:-1]))
    n_per_link = per_person[links.person]
    link_rep = np.repeat(np.arange(len(links.person), dtype=np.int64), n_per_link)
    link_offsets = np.cumsum(n_per_link) - n_per_link
    pos = starts[links.person][link_rep] + (np.arange(len(link_rep)) - link_offsets[link_rep])
    ref = links.referral[link_rep]
    delta = ref_day[ref] - records.known_day[pos]
    keep = delta >= 0
    pos, link_rep, ref = pos[keep], link_rep[keep], ref[keep]
    return _Joined(ref, links.relation[link_rep], link_rep, delta[keep], records.type_code[pos],
                   records.agency[pos], records.event_day[pos], records.value[pos])


def _count_block(joined: _Joined, n: int) -> np.ndarray:
    counted = joined.type_code < _N_TYPES
    key = (joined.referral[counted] * _N_REL + joined.relation[counted]) * _N_TYPES
    key = key + joined.type_code[counted]
    delta = joined.delta[counted]
    size = n * _N_REL * _N_TYPES
    windows = [
        np.bincount(key if days is None else key[delta < days], minlength=size)
        for _name, days in WINDOWS
    ]
    stacked = np.stack(windows, axis=-1).astype(FEATURE_DTYPE)  # (size, n_windows)
    return stacked.reshape(n, _N_REL * _N_TYPES * len(WINDOWS))


def _min_delta(key: np.ndarray, delta: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.inf)
    np.minimum.at(out, key, delta.astype(np.float64))
    out[np.isinf(out)] = np.nan
    return out


def _recency_block(joined: _Joined, n: int) -> tuple[np.ndarray, np.ndarray]:
    subject = (joined.relation == _SUBJECT) & (joined.type_code < _N_TYPES)
    by_type = _min_delta(joined.referral[subject] * _N_TYPES + joined.type_code[subject],
                         joined.delta[subject], n * _N_TYPES).reshape(n, _N_TYPES)
    is_household = (joined.relation != _SUBJECT).astype(np.int64)
    key = (joined.referral * _N_AGENCIES + joined.agency) * 2 + is_household
    by_agency = _min_delta(key, joined.delta, n * _N_AGENCIES * 2).reshape(n, _N_AGENCIES * 2)
    return by_type, by_agency


def _latest_per_key(key: np.ndarray, event_day: np.ndarray, known_delta: np.ndarray,
                    value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latest record per key by event date (ties: the most recently known); keys, values."""
    if not len(key):
        return key, value
    order = np.lexsort((-known_delta, event_day, key))
    key_sorted = key[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = key_sorted[1:] != key_sorted[:-1]
    return key_sorted[last], value[order][last]


def _attendance_block(joined: _Joined, n: int) -> np.ndarray:
    out = np.full((n, 2), np.nan)
    attendance = joined.type_code == _ATTENDANCE_CODE
    subject = attendance & (joined.relation == _SUBJECT)
    keys, values = _latest_per_key(joined.referral[subject], joined.event_day[subject],
                                   joined.delta[subject], joined.value[subject])
    out[keys, 0] = values
    children = attendance & (joined.relation == _CHILDREN)
    link_keys, link_values = _latest_per_key(joined.link[children], joined.event_day[children],
                                             joined.delta[children], joined.value[children])
    if len(link_keys):
        ref_of_link = np.zeros(int(link_keys.max()) + 1, dtype=np.int64)
        ref_of_link[joined.link[children]] = joined.referral[children]
        lowest = np.full(n, np.inf)
        np.minimum.at(lowest, ref_of_link[link_keys], np.nan_to_num(link_values, nan=np.inf))
        out[:, 1] = np.where(np.isinf(lowest), np.nan, lowest)
    return out


def _history_block(history: pd.DataFrame, referrals: pd.DataFrame, links: _Links,
                   persons: pd.Index, ref_day: np.ndarray) -> np.ndarray:
    """Earlier referrals to the hub: the subject's by window, days since, and the household's."""
    n = len(referrals)
    hist_person = persons.get_indexer(history["person_id"]).astype(np.int64)
    hist_day = to_days(history["referral_date"])
    valid = (hist_person >= 0) & (hist_day != _NO_DAY)
    span = np.int64(1 << 32)
    sorted_keys = np.sort(hist_person[valid] * span + hist_day[valid])
    subject_key = links.person[:n] * span
    earlier_end = np.searchsorted(sorted_keys, subject_key + ref_day, side="left")
    person_start = np.searchsorted(sorted_keys, subject_key, side="left")
    out = np.full((n, 5), np.nan)
    for col, (_name, days) in enumerate(WINDOWS):
        lower = person_start if days is None else np.maximum(
            person_start, np.searchsorted(sorted_keys, subject_key + ref_day - days + 1, "left"))
        out[:, col] = earlier_end - lower
    has_prev = earlier_end > person_start
    prev_day = sorted_keys[np.maximum(earlier_end - 1, 0)] - subject_key if len(sorted_keys) else 0
    out[:, 4] = np.where(has_prev, ref_day - prev_day, np.nan)
    others = slice(n, None)
    member_key = links.person[others] * span
    member_earlier = (np.searchsorted(sorted_keys, member_key + ref_day[links.referral[others]])
                      - np.searchsorted(sorted_keys, member_key))
    out[:, 3] = np.bincount(links.referral[others], weights=member_earlier, minlength=n)
    return out


def _one_hot(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(vocabulary)).codes
    out = np.zeros((len(values), len(vocabulary)))
    rows = np.flatnonzero(codes >= 0)
    out[rows, codes[rows]] = 1.0
    return out


def _context_block(referrals: pd.DataFrame, links: _Links) -> np.ndarray:
    n = len(referrals)
    others = links.relation[n:]
    per_relation = [
        np.bincount(links.referral[n:][others == RELATIONS.index(rel)], minlength=n)
        for rel in ("parents_carers", "other_adults", "children")
    ]
    imd = pd.to_numeric(referrals["imd_decile"], errors="coerce").to_numpy(dtype=np.float64)
    disability = referrals["disability"].astype("boolean").fillna(False).to_numpy(dtype=np.float64)
    return np.column_stack([
        *per_relation,
        referrals["household_id"].notna().to_numpy(dtype=np.float64),
        pd.to_numeric(referrals["age_years"], errors="coerce").to_numpy(dtype=np.float64),
        (referrals["subject_type"] == "adult_at_risk").to_numpy(dtype=np.float64),
        _one_hot(referrals["presenting_need"], PRESENTING_NEEDS),
        _one_hot(referrals["referral_source"], REFERRAL_SOURCES),
        _one_hot(referrals["sex"], SEXES),
        _one_hot(referrals["ethnicity_group"], ETHNICITY_GROUPS),
        disability, imd,
    ])


def build_features(
    frames: Mapping[str, pd.DataFrame],
    *,
    history: pd.DataFrame | None = None,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Build the feature table: one row per referral, audit columns then features.

    Args:
        frames: Validated feeds by feed name (``referrals`` required; household members
            and ``events_<agency>`` optional; a missing agency means it shared nothing).
        history: Referrals to count as earlier referrals (``person_id``,
            ``referral_date``); defaults to the ``referrals`` feed itself.
        progress: Called with the name of each stage as it starts.

    Returns:
        A frame with `AUDIT_COLUMNS` followed by every feature of the manifest, in order.
    """
    step = progress or (lambda _stage: None)
    referrals = frames[REFERRALS].reset_index(drop=True)
    members = frames.get(HOUSEHOLD_MEMBERS)
    n = len(referrals)
    step("linking households")
    persons = _relevant_persons(referrals, members)
    links = _links(referrals, members, persons)
    ref_day = to_days(referrals["referral_date"])
    step("joining agency records")
    events = {a: frames[event_feed(a)] for a in AGENCIES if event_feed(a) in frames}
    records = _records(events, persons)
    joined = _join(links, records, ref_day, len(persons))
    step("counting")
    counts = _count_block(joined, n)
    by_type, by_agency = _recency_block(joined, n)
    coverage = np.isfinite(by_agency.reshape(n, _N_AGENCIES, 2)).any(axis=2)
    step("history and context")
    history_block = _history_block(referrals if history is None else history, referrals, links,
                                   persons, ref_day)
    matrix = np.concatenate([
        counts, by_type.astype(FEATURE_DTYPE), by_agency.astype(FEATURE_DTYPE),
        coverage.astype(FEATURE_DTYPE), _attendance_block(joined, n).astype(FEATURE_DTYPE),
        history_block.astype(FEATURE_DTYPE), _context_block(referrals, links).astype(FEATURE_DTYPE),
    ], axis=1)
    features = pd.DataFrame(matrix, columns=list(FEATURE_NAMES), copy=False)
    audit = referrals.reindex(columns=list(AUDIT_COLUMNS))
    return pd.concat([audit, features], axis=1)
