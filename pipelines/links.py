"""The vectorised join behind the features: referrals linked to people, people to records.

Every referral is linked to its subject and to the other members of its household
(one link per person, the most adult role winning; each role's group depends on the
referral's subject type, `pipelines.manifest.ROLE_TO_RELATION`), and every link is
expanded to that person's records, which are grouped by person so a link's records are
one contiguous slice. The expansion runs over chunks of referrals holding at most
`CHUNK_ROWS` (link, record) rows, which bounds the working memory whatever the extract
size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import HOUSEHOLD_ROLES
from pipelines.encode import EncodedExtract
from pipelines.manifest import RELATIONS, ROLE_TO_RELATION

SUBJECT: Final = 0
CHILDREN: Final = RELATIONS.index("children")
# The relation code of each household role (columns: `HOUSEHOLD_ROLES`, then an unknown
# role, code -1, which counts with the children), by the referral's subject type (rows:
# `ROLE_TABLE_ROWS`, so `EncodedExtract.ref_adult` picks the row).
ROLE_TABLE_ROWS: Final = ("child", "adult_at_risk")
ROLE_RELATION: Final = np.array([
    [RELATIONS.index(ROLE_TO_RELATION[subject_type][role]) for role in HOUSEHOLD_ROLES]
    + [CHILDREN]
    for subject_type in ROLE_TABLE_ROWS
])

# (link, record) rows expanded at once, and referrals per chunk: together they bound the
# build's working memory whatever the extract size (about 70 MB beside the output matrix
# for 100,000 referrals); larger chunks gain little speed.
CHUNK_ROWS: Final = 1 << 20
CHUNK_REFERRALS: Final = 1 << 14


@dataclass(frozen=True)
class Links:
    """Referral-to-person links: the subject and each other household member."""

    referral: np.ndarray
    person: np.ndarray
    relation: np.ndarray


@dataclass(frozen=True)
class Groups:
    """Items grouped: group g's items are ``order[start[g]:start[g] + size[g]]``."""

    order: np.ndarray
    start: np.ndarray
    size: np.ndarray


@dataclass(frozen=True)
class Joined:
    """One row per (link, record) known on or before the referral date, for one chunk."""

    referral: np.ndarray  # within the chunk
    relation: np.ndarray
    link: np.ndarray  # within the chunk
    # Days from the record's event date to the referral date, >= 0: windows ("in the last
    # 90 days") and recency say when a thing happened; when the hub learnt of it decides
    # only whether it counts (the point-in-time rule, `join_records`).
    delta: np.ndarray
    type_code: np.ndarray
    agency: np.ndarray
    record: np.ndarray


def stable_order(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for keys in ``[0, n_keys)``, four times faster.

    numpy sorts 16-bit keys by radix (linear time), so keys below 2**32 are ordered by
    their low 16 bits, then, stably, by their high 16 bits: the same order.
    """
    # no mutate: the fallback is for over 2**32 people, which no extract reaches; a lower
    # bound (`>=`, `1 >> 32`) only takes it sooner, for the same order, slower.
    if n_keys > 1 << 32:  # pragma: no mutate
        return np.argsort(keys, stable=True)
    order = np.argsort(keys.astype(np.uint16), stable=True)  # the low 16 bits
    if n_keys <= 1 << 16:
        return order
    return order[np.argsort((keys[order] >> 16).astype(np.uint16), stable=True)]


def group_items(group_of_item: np.ndarray, n_groups: int) -> Groups:
    size = np.bincount(group_of_item, minlength=n_groups)
    return Groups(stable_order(group_of_item, n_groups), np.cumsum(size) - size, size)


def expand(group_of_row: np.ndarray, groups: Groups) -> tuple[np.ndarray, np.ndarray]:
    """Pair every row with every item of its group: (row index, item index) arrays."""
    n_per_row = groups.size[group_of_row]
    row = np.repeat(np.arange(len(group_of_row)), n_per_row)
    first_item = groups.start[group_of_row] - (np.cumsum(n_per_row) - n_per_row)
    return row, groups.order[first_item[row] + np.arange(len(row))]


def referral_links(enc: EncodedExtract) -> Links:
    n = enc.n_referrals
    with_household = np.flatnonzero(enc.ref_household >= 0)
    n_households = 1 + int(np.concatenate([enc.ref_household, enc.member_household]
                                          ).max(initial=-1))
    valid = enc.member_household >= 0
    member_idx = np.flatnonzero(valid)
    row, item = expand(enc.ref_household[with_household],
                        group_items(enc.member_household[valid], n_households))
    ref, member = with_household[row], member_idx[item]
    person = enc.member_person[member]
    keep = person != enc.ref_person[ref]
    ref, person, role = ref[keep], person[keep], enc.member_role[member[keep]]
    relation = ROLE_RELATION[enc.ref_adult[ref].astype(np.intp), role]
    # One link per (referral, person): the most adult relation (the lowest code) wins.
    order = np.lexsort((relation, person, ref))
    ref, person, relation = ref[order], person[order], relation[order]
    first = np.ones(len(ref), dtype=bool)
    first[1:] = (ref[1:] != ref[:-1]) | (person[1:] != person[:-1])
    return Links(
        referral=np.concatenate([np.arange(n), ref[first]]),
        person=np.concatenate([enc.ref_person, person[first]]),
        relation=np.concatenate([np.full(n, SUBJECT), relation[first]]),
    )


def chunks(links: Links, records: Groups, n: int) -> Iterator[tuple[int, int]]:
    """Consecutive referral ranges, each expanding to at most `CHUNK_ROWS` rows when it can."""
    # Every referral has its subject link, so the counts have one entry per referral.
    rows = np.bincount(links.referral, weights=records.size[links.person])
    before = np.concatenate([[0.0], np.cumsum(rows)])
    lo = 0
    while lo < n:
        fits = int(np.searchsorted(before, before[lo] + CHUNK_ROWS, side="right")) - 1
        hi = min(max(fits, lo + 1), lo + CHUNK_REFERRALS)  # fits <= n
        yield lo, hi
        lo = hi


def chunk_links(links: Links, n: int, lo: int, hi: int) -> Links:
    """The links of referrals ``lo:hi``, referrals numbered from ``lo``."""
    first, last = n + np.searchsorted(links.referral[n:], [lo, hi])
    idx = np.r_[lo:hi, first:last]
    return Links(links.referral[idx] - lo, links.person[idx], links.relation[idx])


def join_records(links: Links, records: Groups, enc: EncodedExtract, ref_day: np.ndarray
          ) -> Joined:
    link, record = expand(links.person, records)
    ref = links.referral[link]
    keep = enc.event_known_day[record] <= ref_day[ref]  # known on or before the referral
    link, record, ref = link[keep], record[keep], ref[keep]
    delta = ref_day[ref] - enc.event_day[record]
    return Joined(ref, links.relation[link], link, delta, enc.event_type[record],
                  enc.event_agency[record], record)
