"""Point-in-time features: what every agency knew about a referral's subject and household.

One definition serves the batch build and the live single case: both encode their
input as an `EncodedExtract` (`pipelines.encode`) and run `compute_features` on it.
The rule that matters most: a record counts for a referral only when its known date
(``recorded_date``, or ``event_date`` when that is empty) is on or before the
``referral_date``.

The build is a vectorised join: every referral is linked to its subject and to the
other members of its household, every link is expanded to that person's records
(records grouped by person, so a link's records are one contiguous slice), and the
records known in time are counted with ``np.bincount``. Cost grows with (links x
records per linked person): linearly in referrals and in events.

Memory stays bounded: the expansion runs over chunks of referrals holding at most
`CHUNK_ROWS` (link, record) rows, and every block of features is written straight
into one preallocated float32 matrix, which the feature table then wraps without a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    HOUSEHOLD_ROLES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
)
from pipelines.encode import ATTENDANCE_CODE, N_TYPES, NO_DAY, EncodedExtract, encode_frames
from pipelines.manifest import FEATURE_NAMES, RELATIONS, ROLE_TO_RELATION, WINDOWS

AUDIT_COLUMNS: Final[tuple[str, ...]] = (
    "referral_id", "person_id", "household_id", "referral_date",
    "sex", "ethnicity_group", "disability", "imd_decile",
)
FEATURE_DTYPE: Final = np.float32

_N_REL: Final = len(RELATIONS)
_N_AGENCIES: Final = len(AGENCIES)
_SUBJECT: Final = 0
_CHILDREN: Final = RELATIONS.index("children")
# When a person holds several roles in one household, the most adult role wins.
_ROLE_PRIORITY: Final = np.array([
    {"parent_carer": 0, "other_adult": 1, "sibling": 2, "other_child": 3, "subject": 4}[role]
    for role in HOUSEHOLD_ROLES
] + [9])  # index -1: unknown role
_ROLE_RELATION: Final = np.array(
    [RELATIONS.index(ROLE_TO_RELATION[role]) for role in HOUSEHOLD_ROLES] + [_CHILDREN]
)

# (link, record) rows expanded at once, and referrals per chunk: together they bound the
# build's working memory whatever the extract size (about 70 MB beside the output matrix
# for 100,000 referrals); larger chunks gain little speed.
CHUNK_ROWS: Final = 1 << 20
CHUNK_REFERRALS: Final = 1 << 14

ProgressCallback = Callable[[str], None]


def _column_blocks() -> dict[str, slice]:
    widths = {
        "counts": _N_REL * N_TYPES * len(WINDOWS), "recency_by_type": N_TYPES,
        "recency_by_agency": _N_AGENCIES * 2, "coverage": _N_AGENCIES, "attendance": 2,
        "history": 5,
    }
    widths["context"] = len(FEATURE_NAMES) - sum(widths.values())
    ends = np.cumsum(list(widths.values()))
    return {name: slice(int(end - width), int(end))
            for (name, width), end in zip(widths.items(), ends, strict=True)}


# Where each block of features sits in the matrix (manifest order).
_COLUMNS: Final = _column_blocks()


@dataclass(frozen=True)
class _Links:
    """Referral-to-person links: the subject and each other household member."""

    referral: np.ndarray
    person: np.ndarray
    relation: np.ndarray


@dataclass(frozen=True)
class _Groups:
    """Items grouped: group g's items are ``order[start[g]:start[g] + size[g]]``."""

    order: np.ndarray
    start: np.ndarray
    size: np.ndarray


@dataclass(frozen=True)
class _Joined:
    """One row per (link, record) known on or before the referral date, for one chunk."""

    referral: np.ndarray  # within the chunk
    relation: np.ndarray
    link: np.ndarray  # within the chunk
    delta: np.ndarray  # days from known date to referral date, >= 0
    type_code: np.ndarray
    agency: np.ndarray
    record: np.ndarray


def _groups(group_of_item: np.ndarray, n_groups: int) -> _Groups:
    size = np.bincount(group_of_item, minlength=n_groups)
    return _Groups(np.argsort(group_of_item, kind="stable"), np.cumsum(size) - size, size)


def _expand(group_of_row: np.ndarray, groups: _Groups) -> tuple[np.ndarray, np.ndarray]:
    """Pair every row with every item of its group: (row index, item index) arrays."""
    n_per_row = groups.size[group_of_row]
    row = np.repeat(np.arange(len(group_of_row)), n_per_row)
    first_item = groups.start[group_of_row] - (np.cumsum(n_per_row) - n_per_row)
    return row, groups.order[first_item[row] + np.arange(len(row))]


def _links(enc: EncodedExtract) -> _Links:
    n = enc.n_referrals
    with_household = np.flatnonzero(enc.ref_household >= 0)
    n_households = 1 + int(max(enc.ref_household.max(initial=-1),
                               enc.member_household.max(initial=-1)))
    valid = enc.member_household >= 0
    member_idx = np.flatnonzero(valid)
    row, item = _expand(enc.ref_household[with_household],
                        _groups(enc.member_household[valid], n_households))
    ref, member = with_household[row], member_idx[item]
    person = enc.member_person[member]
    keep = person != enc.ref_person[ref]
    ref, person, role = ref[keep], person[keep], enc.member_role[member[keep]]
    # One link per (referral, person): the most adult role wins.
    order = np.lexsort((_ROLE_PRIORITY[role], person, ref))
    ref, person, role = ref[order], person[order], role[order]
    first = np.ones(len(ref), dtype=bool)
    first[1:] = (ref[1:] != ref[:-1]) | (person[1:] != person[:-1])
    return _Links(
        referral=np.concatenate([np.arange(n, dtype=np.int64), ref[first]]),
        person=np.concatenate([enc.ref_person, person[first]]),
        relation=np.concatenate([np.full(n, _SUBJECT, dtype=np.int64),
                                 _ROLE_RELATION[role[first]]]),
    )


def _chunks(links: _Links, records: _Groups, n: int) -> Iterator[tuple[int, int]]:
    """Consecutive referral ranges, each expanding to at most `CHUNK_ROWS` rows when it can."""
    rows = np.bincount(links.referral, weights=records.size[links.person], minlength=n)
    before = np.concatenate([[0.0], np.cumsum(rows)])
    lo = 0
    while lo < n:
        fits = int(np.searchsorted(before, before[lo] + CHUNK_ROWS, side="right")) - 1
        hi = min(max(fits, lo + 1), lo + CHUNK_REFERRALS, n)
        yield lo, hi
        lo = hi


def _chunk_links(links: _Links, n: int, lo: int, hi: int) -> _Links:
    """The links of referrals ``lo:hi``, referrals numbered from ``lo``."""
    first, last = n + np.searchsorted(links.referral[n:], [lo, hi])
    idx = np.r_[lo:hi, first:last]
    return _Links(links.referral[idx] - lo, links.person[idx], links.relation[idx])


def _join(links: _Links, records: _Groups, enc: EncodedExtract, ref_day: np.ndarray
          ) -> _Joined:
    link, record = _expand(links.person, records)
    ref = links.referral[link]
    delta = ref_day[ref] - enc.event_known_day[record]
    keep = delta >= 0
    link, record = link[keep], record[keep]
    return _Joined(ref[keep], links.relation[link], link, delta[keep], enc.event_type[record],
                   enc.event_agency[record], record)


def _count_into(out: np.ndarray, joined: _Joined, n: int) -> None:
    """Write the counts (relation x type x window, window fastest) into ``out``."""
    counted = joined.type_code < N_TYPES
    key = (joined.referral[counted] * _N_REL + joined.relation[counted]) * N_TYPES
    key = key + joined.type_code[counted]
    delta = joined.delta[counted]
    for col, (_name, days) in enumerate(WINDOWS):
        selected = key if days is None else key[delta < days]
        counts = np.bincount(selected, minlength=n * _N_REL * N_TYPES)
        out[:, col::len(WINDOWS)] = counts.reshape(n, _N_REL * N_TYPES)


def _min_delta(key: np.ndarray, delta: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.inf)
    np.minimum.at(out, key, delta.astype(np.float64))
    out[np.isinf(out)] = np.nan
    return out


def _recency_block(joined: _Joined, n: int) -> tuple[np.ndarray, np.ndarray]:
    subject = (joined.relation == _SUBJECT) & (joined.type_code < N_TYPES)
    by_type = _min_delta(joined.referral[subject] * N_TYPES + joined.type_code[subject],
                         joined.delta[subject], n * N_TYPES).reshape(n, N_TYPES)
    is_household = (joined.relation != _SUBJECT).astype(np.int64)
    key = (joined.referral * _N_AGENCIES + joined.agency) * 2 + is_household
    by_agency = _min_delta(key, joined.delta, n * _N_AGENCIES * 2).reshape(n, _N_AGENCIES * 2)
    return by_type, by_agency


def _latest_per_key(key: np.ndarray, event_day: np.ndarray, delta: np.ndarray,
                    value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latest record per key by event date (ties: the most recently known); keys, values."""
    if not len(key):
        return key, value
    order = np.lexsort((value, -delta, event_day, key))
    key_sorted = key[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = key_sorted[1:] != key_sorted[:-1]
    return key_sorted[last], value[order][last]


def _attendance_block(joined: _Joined, links: _Links, enc: EncodedExtract, n: int
                      ) -> np.ndarray:
    out = np.full((n, 2), np.nan)
    attendance = joined.type_code == ATTENDANCE_CODE
    subject = np.flatnonzero(attendance & (joined.relation == _SUBJECT))
    keys, values = _latest_per_key(joined.referral[subject],
                                   enc.event_day[joined.record[subject]],
                                   joined.delta[subject], enc.event_value[joined.record[subject]])
    out[keys, 0] = values
    children = np.flatnonzero(attendance & (joined.relation == _CHILDREN))
    link_keys, link_values = _latest_per_key(joined.link[children],
                                             enc.event_day[joined.record[children]],
                                             joined.delta[children],
                                             enc.event_value[joined.record[children]])
    if len(link_keys):
        lowest = np.full(n, np.inf)
        np.minimum.at(lowest, links.referral[link_keys], np.nan_to_num(link_values, nan=np.inf))
        out[:, 1] = np.where(np.isinf(lowest), np.nan, lowest)
    return out


def _fill_from_records(out: np.ndarray, joined: _Joined, links: _Links, enc: EncodedExtract
                       ) -> None:
    """Write the features computed from agency records for one chunk of referrals."""
    n = len(out)
    _count_into(out[:, _COLUMNS["counts"]], joined, n)
    by_type, by_agency = _recency_block(joined, n)
    out[:, _COLUMNS["recency_by_type"]] = by_type
    out[:, _COLUMNS["recency_by_agency"]] = by_agency
    out[:, _COLUMNS["coverage"]] = np.isfinite(by_agency.reshape(n, _N_AGENCIES, 2)).any(axis=2)
    out[:, _COLUMNS["attendance"]] = _attendance_block(joined, links, enc, n)


def _history_block(enc: EncodedExtract, links: _Links) -> np.ndarray:
    """Earlier referrals to the hub: the subject's by window, the household's, days since."""
    n = enc.n_referrals
    ref_day = enc.ref_day
    valid = (enc.history_person >= 0) & (enc.history_day != NO_DAY)
    span = np.int64(1 << 32)
    sorted_keys = np.sort(enc.history_person[valid] * span + enc.history_day[valid])
    subject_key = enc.ref_person * span
    earlier_end = np.searchsorted(sorted_keys, subject_key + ref_day, side="left")
    person_start = np.searchsorted(sorted_keys, subject_key, side="left")
    out = np.full((n, 5), np.nan)
    for col, (_name, days) in enumerate(WINDOWS):
        lower = person_start if days is None else np.maximum(
            person_start, np.searchsorted(sorted_keys, subject_key + ref_day - days + 1, "left"))
        out[:, col] = earlier_end - lower
    others = slice(n, None)
    member_key = links.person[others] * span
    member_earlier = (np.searchsorted(sorted_keys, member_key + ref_day[links.referral[others]])
                      - np.searchsorted(sorted_keys, member_key))
    out[:, 3] = np.bincount(links.referral[others], weights=member_earlier, minlength=n)
    if len(sorted_keys):
        prev_day = sorted_keys[np.maximum(earlier_end - 1, 0)] - subject_key
        out[:, 4] = np.where(earlier_end > person_start, ref_day - prev_day, np.nan)
    return out


def _one_hot(codes: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((len(codes), size))
    rows = np.flatnonzero(codes >= 0)
    out[rows, codes[rows]] = 1.0
    return out


def _context_block(enc: EncodedExtract, links: _Links) -> np.ndarray:
    n = enc.n_referrals
    others = links.relation[n:]
    per_relation = [
        np.bincount(links.referral[n:][others == RELATIONS.index(rel)], minlength=n)
        for rel in ("parents_carers", "other_adults", "children")
    ]
    return np.column_stack([
        *per_relation,
        (enc.ref_household >= 0).astype(np.float64),
        enc.ref_age,
        enc.ref_adult.astype(np.float64),
        _one_hot(enc.ref_need, len(PRESENTING_NEEDS)),
        _one_hot(enc.ref_source, len(REFERRAL_SOURCES)),
        _one_hot(enc.ref_sex, len(SEXES)),
        _one_hot(enc.ref_ethnicity, len(ETHNICITY_GROUPS)),
        enc.ref_disability,
        enc.ref_imd,
    ])


def compute_features(enc: EncodedExtract, *, progress: ProgressCallback | None = None
                     ) -> np.ndarray:
    """The feature matrix (referrals x manifest features), float32, in manifest order."""
    step = progress or (lambda _stage: None)
    n = enc.n_referrals
    matrix = np.empty((n, len(FEATURE_NAMES)), dtype=FEATURE_DTYPE)
    step("linking households")
    links = _links(enc)
    step("joining and counting agency records")
    records = _groups(enc.event_person, enc.n_persons)
    for lo, hi in _chunks(links, records, n):
        chunk = _chunk_links(links, n, lo, hi)
        joined = _join(chunk, records, enc, enc.ref_day[lo:hi])
        _fill_from_records(matrix[lo:hi], joined, chunk, enc)
    step("history and context")
    matrix[:, _COLUMNS["history"]] = _history_block(enc, links)
    matrix[:, _COLUMNS["context"]] = _context_block(enc, links)
    return matrix


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
    step("encoding feeds")
    enc = encode_frames({**frames, REFERRALS: referrals}, history)
    matrix = compute_features(enc, progress=progress)
    features = pd.DataFrame(matrix, columns=list(FEATURE_NAMES), copy=False)
    audit = referrals.reindex(columns=list(AUDIT_COLUMNS))
    return pd.concat([audit, features], axis=1)
