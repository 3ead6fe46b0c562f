"""Point-in-time features: what every agency knew about a referral's subject and household.

One definition serves the batch build and live cases: both encode their
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
`pipelines.links.CHUNK_ROWS` (link, record) rows, two chunks at a time on two threads
(100,000 referrals: 20-30 % less time than one at a time, about 70 MB more at the
peak), and every block of features is written straight into one preallocated float32
matrix, which the feature table then wraps without a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Final, cast

import numpy as np
import pandas as pd

from data_contracts.feed_threads import in_order
from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
)
from pipelines.encode import ATTENDANCE_CODE, N_TYPES, NO_DAY, EncodedExtract, encode_frames
from pipelines.links import (
    CHILDREN,
    SUBJECT,
    Joined,
    Links,
    chunk_links,
    chunks,
    group_items,
    join_records,
    referral_links,
)
from pipelines.manifest import FEATURE_NAMES, RELATIONS, WINDOWS
from pipelines.manifest_lookup import feature_blocks

AUDIT_COLUMNS: Final[tuple[str, ...]] = (
    "referral_id", "person_id", "household_id", "referral_date",
    "sex", "ethnicity_group", "disability", "imd_decile",
)
FEATURE_DTYPE: Final = np.float32

_N_REL: Final = len(RELATIONS)
_N_AGENCIES: Final = len(AGENCIES)
ProgressCallback = Callable[[str], None]


def _column_blocks() -> dict[str, slice]:
    """The manifest's blocks, checked against the widths this build writes."""
    blocks = feature_blocks()
    writes = {"counts": _N_REL * N_TYPES * len(WINDOWS), "recency_by_type": N_TYPES,
              "recency_by_agency": _N_AGENCIES * 2, "coverage": _N_AGENCIES,
              "attendance": 2, "history": len(WINDOWS) + 2}
    wrong = {name: (blocks[name].stop - blocks[name].start, width)
             for name, width in writes.items() if blocks[name].stop - blocks[name].start != width}
    if wrong:
        raise RuntimeError(f"the manifest's blocks (manifest width, built width) differ from "
                           f"what the feature build writes: {wrong}")
    return blocks


# Where each block of features sits in the matrix (manifest order).
_COLUMNS: Final = _column_blocks()


def _count_into(out: np.ndarray, joined: Joined, n: int) -> None:
    """Write the counts (relation x type x window, window fastest) into ``out``.

    Counted by (relation, type) then referral: each feature's counts are one run, written
    down one column of ``out`` (contiguous in the column-major matrix), not across rows.
    """
    counted = joined.type_code < N_TYPES
    key = (joined.relation[counted] * N_TYPES + joined.type_code[counted]) * n
    key = key + joined.referral[counted]
    delta = joined.delta[counted]
    by_feature = out.T
    for col, (_name, days) in enumerate(WINDOWS):
        selected = key if days is None else key[delta < days]
        counts = np.bincount(selected, minlength=n * _N_REL * N_TYPES)
        by_feature[col::len(WINDOWS)] = counts.reshape(_N_REL * N_TYPES, n)


def _min_delta(key: np.ndarray, delta: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.inf)
    np.minimum.at(out, key, delta.astype(np.float64))
    out[np.isinf(out)] = np.nan
    return out


def _recency_block(joined: Joined, n: int) -> tuple[np.ndarray, np.ndarray]:
    subject = (joined.relation == SUBJECT) & (joined.type_code < N_TYPES)
    by_type = _min_delta(joined.referral[subject] * N_TYPES + joined.type_code[subject],
                         joined.delta[subject], n * N_TYPES).reshape(n, N_TYPES)
    is_household = (joined.relation != SUBJECT).astype(np.int64)
    key = (joined.referral * _N_AGENCIES + joined.agency) * 2 + is_household
    by_agency = _min_delta(key, joined.delta, n * _N_AGENCIES * 2).reshape(n, _N_AGENCIES * 2)
    return by_type, by_agency


def _latest_per_key(key: np.ndarray, event_day: np.ndarray, known_day: np.ndarray,
                    value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latest record per key by event date (ties: the most recently known); keys, values."""
    if not len(key):
        return key, value
    order = np.lexsort((value, known_day, event_day, key))
    key_sorted = key[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = key_sorted[1:] != key_sorted[:-1]
    return key_sorted[last], value[order][last]


def _attendance_block(joined: Joined, links: Links, enc: EncodedExtract, n: int
                      ) -> np.ndarray:
    out = np.full((n, 2), np.nan)
    attendance = joined.type_code == ATTENDANCE_CODE
    subject = np.flatnonzero(attendance & (joined.relation == SUBJECT))
    keys, values = _latest_per_key(joined.referral[subject],
                                   enc.event_day[joined.record[subject]],
                                   enc.event_known_day[joined.record[subject]],
                                   enc.event_value[joined.record[subject]])
    out[keys, 0] = values
    children = np.flatnonzero(attendance & (joined.relation == CHILDREN))
    link_keys, link_values = _latest_per_key(joined.link[children],
                                             enc.event_day[joined.record[children]],
                                             enc.event_known_day[joined.record[children]],
                                             enc.event_value[joined.record[children]])
    if len(link_keys):
        lowest = np.full(n, np.inf)
        np.minimum.at(lowest, links.referral[link_keys], np.nan_to_num(link_values, nan=np.inf))
        out[:, 1] = np.where(np.isinf(lowest), np.nan, lowest)
    return out


def _fill_from_records(out: np.ndarray, joined: Joined, links: Links, enc: EncodedExtract
                       ) -> None:
    """Write the features computed from agency records for one chunk of referrals."""
    n = len(out)
    _count_into(out[:, _COLUMNS["counts"]], joined, n)
    by_type, by_agency = _recency_block(joined, n)
    out[:, _COLUMNS["recency_by_type"]] = by_type
    out[:, _COLUMNS["recency_by_agency"]] = by_agency
    out[:, _COLUMNS["coverage"]] = np.isfinite(by_agency.reshape(n, _N_AGENCIES, 2)).any(axis=2)
    out[:, _COLUMNS["attendance"]] = _attendance_block(joined, links, enc, n)


def _history_block(enc: EncodedExtract, links: Links) -> np.ndarray:
    """Earlier referrals to the hub: the subject's by window, the household's, days since."""
    n = enc.n_referrals
    ref_day = enc.ref_day
    valid = (enc.history_person >= 0) & (enc.history_day != NO_DAY)
    span = np.int64(1 << 32)  # pragma: no mutate (any span above the range of days works)
    sorted_keys = np.sort(enc.history_person[valid] * span + enc.history_day[valid])
    subject_key = enc.ref_person * span
    earlier_end = np.searchsorted(sorted_keys, subject_key + ref_day)
    person_start = np.searchsorted(sorted_keys, subject_key)
    out = np.full((n, _COLUMNS["history"].stop - _COLUMNS["history"].start), np.nan)
    for col, (_name, days) in enumerate(WINDOWS):
        lower = person_start if days is None else np.maximum(
            person_start, np.searchsorted(sorted_keys, subject_key + ref_day - days + 1))
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


def household_listed(enc: EncodedExtract) -> np.ndarray:
    """`HOUSEHOLD_KNOWN` of each referral: it names a household and ``household_members``
    lists someone in it. A household named but listed nowhere (the feed absent, or
    without its rows) is not known either: its counts of people read 0, which is not
    "no other children in the household" (a probe's explanations said that, as fact,
    of an extract without the feed)."""
    listed = np.bincount(enc.member_household,  # one entry at least: read at 0 for -1
                         minlength=max(int(enc.ref_household.max(initial=0)) + 1, 1)) > 0
    return (enc.ref_household >= 0) & listed[np.maximum(enc.ref_household, 0)]


def _context_block(enc: EncodedExtract, links: Links) -> np.ndarray:
    n = enc.n_referrals
    others = links.relation[n:]
    per_relation = [
        np.bincount(links.referral[n:][others == RELATIONS.index(rel)], minlength=n)
        for rel in ("parents_carers", "other_adults", "children")
    ]
    return np.column_stack([
        *per_relation,
        household_listed(enc),
        enc.ref_age,
        enc.ref_adult,
        _one_hot(enc.ref_need, len(PRESENTING_NEEDS)),
        _one_hot(enc.ref_source, len(REFERRAL_SOURCES)),
        _one_hot(enc.ref_sex, len(SEXES)),
        _one_hot(enc.ref_ethnicity, len(ETHNICITY_GROUPS)),
        enc.ref_disability,
        enc.ref_imd,
    ])


def _no_progress(_stage: str) -> None:
    """Progress reported to no one."""


def compute_features(enc: EncodedExtract, *, progress: ProgressCallback | None = None
                     ) -> np.ndarray:
    """The feature matrix (referrals x manifest features), float32, in manifest order."""
    step = progress or _no_progress
    n = enc.n_referrals
    # Column-major (the transpose of features x referrals): each feature is one contiguous
    # column, so the table wraps it without a copy and Arrow converts it for Parquet
    # without a strided gather per column.
    matrix = np.empty((len(FEATURE_NAMES), n), dtype=FEATURE_DTYPE).T
    step("linking households")
    links = referral_links(enc)
    step("joining and counting agency records")
    records = group_items(enc.event_person, enc.n_persons)

    def fill(bounds: tuple[int, int]) -> None:
        lo, hi = bounds
        chunk = chunk_links(links, n, lo, hi)
        joined = join_records(chunk, records, enc, enc.ref_day[lo:hi])
        _fill_from_records(matrix[lo:hi], joined, chunk, enc)

    # Two chunks at a time (NumPy's sorts, copies and sums release the GIL); one chunk, a
    # live case's, on this thread.
    in_order(fill, list(chunks(links, records, n)), thread_name="feature-chunks")
    step("history and context")
    matrix[:, _COLUMNS["history"]] = _history_block(enc, links)
    matrix[:, _COLUMNS["context"]] = _context_block(enc, links)
    return matrix


def build_features(
    frames: Mapping[str, pd.DataFrame],
    *,
    history: pd.DataFrame | None = None,
    progress: ProgressCallback | None = None,
    release: bool = False,
) -> pd.DataFrame:
    """Build the feature table: one row per referral, audit columns then features.

    Args:
        frames: Validated feeds by feed name (``referrals`` required; household members
            and ``events_<agency>`` optional; a missing agency means it shared nothing).
        history: Referrals to count as earlier referrals (``person_id``,
            ``referral_date``); defaults to the ``referrals`` feed itself.
        progress: Called with the name of each stage as it starts.
        release: Empty ``frames`` (then a mutable mapping) once encoded, so a caller that
            holds the feeds nowhere else frees them before the matrix is built (for
            100,000 referrals, about 0.6 GiB that `safeguard features` held beside it).

    Returns:
        A frame with `AUDIT_COLUMNS` followed by every feature of the manifest, in order.
    """
    step = progress or _no_progress
    referrals = frames[REFERRALS].reset_index(drop=True)
    audit = referrals.reindex(columns=list(AUDIT_COLUMNS))
    step("encoding feeds")
    enc = encode_frames({**frames, REFERRALS: referrals}, history)
    del referrals
    if release:
        cast(MutableMapping[str, pd.DataFrame], frames).clear()
    matrix = compute_features(enc, progress=progress)
    del enc
    features = pd.DataFrame(matrix, columns=list(FEATURE_NAMES), copy=False)
    return pd.concat([audit, features], axis=1)
