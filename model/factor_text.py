"""What an explanation says in words: a chosen factor's record and JSON, and a case's context.

A factor's text depends only on the factor, its members' values, its direction, whom
the case is about and, for a factor about household members, whether the referral names a
household (`model.household_sentences`), so it is rendered once per such key
(`FactorText`) and kept per process; a row's explanation reuses it with its own
contribution. The number of days of its recency is left open in the key and the text
(`model.sentences.DAYS_SLOT`): a `DaysText` per distinct number of days fills it, so a
text is not rendered again for every number of days. A case's context (the agencies
that held no record and the warnings about them and about a household whose members are
not known) depends only on which agencies held records, the presenting need, whom the case
is about and whether its household members are known (`Context`), so it too is rendered
once per distinct combination.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Final

import numpy as np

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from model.explanation import FactorRecord
from model.household_sentences import UNNAMED_HOUSEHOLD_WARNING
from model.late_warning import FeedNotice, notice_warning
from model.sentences import (
    DAYS_MARK,
    Subject,
    days_words,
    not_seen_warning,
    number_value,
    shared_nothing_warning,
)
from model.unused_records import NO_UNUSED, UnusedRecords, unused_types_warning, unused_warning

SUBJECTS: tuple[Subject, ...] = ("child", "adult", "person")


def json_text(value: object) -> str:
    """One value as ``json.dumps`` writes it (a string, None, a bool, an int or a finite
    float), without its encoder's set-up for the plain kinds."""
    kind = type(value)
    if isinstance(value, str):
        return str(encode_basestring_ascii(value))
    if value is None or kind is bool:
        return json.dumps(value)
    if kind is int:
        return int.__repr__(value)  # type: ignore[arg-type]
    if kind is float and math.isfinite(value):  # type: ignore[arg-type]
        return float.__repr__(value)  # type: ignore[arg-type]
    return json.dumps(value)


@functools.lru_cache(maxsize=4096)
def _names_json(names: tuple[str, ...]) -> str:
    """A tuple of names as ``json.dumps`` writes the list of them."""
    return json.dumps(list(names))


@dataclass(frozen=True)
class DaysText:
    """A number of days as a factor says it: the words that fill a sentence's
    `DAYS_MARK`, and the value (and its JSON) when the factor reports the days."""

    words: str
    value: int | float
    json_value: str


@functools.lru_cache(maxsize=16_384)
def days_text(days: float, event: int) -> DaysText:
    """`days` before `model.sentences.DAY_EVENTS[event]`, as a factor says it."""
    value = number_value(days)
    return DaysText(days_words(days, event), value, json_text(value))


@dataclass(frozen=True)
class FactorText:
    """What a factor says for one set of member values: its record without a contribution,
    and the same record as JSON text around the contribution.

    A sentence with its days left open (`model.sentences.DAYS_MARK`, the key's
    `DAYS_SLOT`) is completed by each row's `DaysText`: its words where the mark is, and
    its value when the factor reports the days (`days_value`; the record's value is then
    None). A sentence that does not say the days (no count above zero) has no mark. The
    JSON is `json_head`, the value, the contribution, `json_tail`, the days' words (where
    the sentence has the mark), `json_end`.
    """

    record: FactorRecord
    days_value: bool
    days_words: bool  # whether the sentence has the days' words (`DAYS_MARK`)
    json_head: str
    json_value: str
    json_tail: str
    json_end: str

    @classmethod
    def of(cls, record: FactorRecord, *, days_value: bool = False) -> FactorText:
        """The texts of a record (its contribution left out), as `FactorRecord.to_dict`
        gives it to ``json.dumps``."""
        before, mark, after = record.sentence.partition(DAYS_MARK)
        return cls(
            record, days_value, bool(mark), f'{{"feature": {json_text(record.feature)}, "value": ',
            "" if days_value else json_text(record.value),
            f', "direction": {json_text(record.direction)}, "agency": '
            f'{json_text(record.agency)}, "sentence": {json_text(before)[:-1]}',
            f'{json_text(after)[1:]}, "features": {_names_json(tuple(record.features))}}}')

    def filled(self, contribution: float, days: DaysText | None) -> FactorRecord:
        """The record of a row with this text, its contribution and its days (None when
        the sentence leaves none open)."""
        r = self.record
        value = days.value if days is not None and self.days_value else r.value
        sentence = r.sentence if days is None else r.sentence.replace(DAYS_MARK, days.words)
        return FactorRecord(r.feature, value, contribution, r.direction, r.agency, sentence,
                            r.features)


# Between a factor's value and its contribution in its JSON.
JSON_CONTRIBUTION: Final = ', "contribution": '


@functools.lru_cache(maxsize=8)
def _subsets(agencies: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every subset of `agencies`, indexed by its bit mask."""
    return [tuple(a for j, a in enumerate(agencies) if mask >> j & 1)
            for mask in range(1 << len(agencies))]


def worth_telling(not_seen: tuple[str, ...], subject: Subject,
                  shared_nothing: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The agencies of `not_seen` (which held no record about the case) whose silence the
    practitioner is told of: all but education for an adult at risk, since schools hold no
    records about adults (most adults' referrals would list it, as noise), unless education
    shared no records in the whole extract (`shared_nothing`), which they must be told."""
    return tuple(a for a in not_seen
                 if not (subject == "adult" and a == "education") or a in shared_nothing)


@functools.lru_cache(maxsize=4096)
def warnings_for(not_seen: tuple[str, ...], usual: tuple[str, ...], need: str | None,
                 subject: Subject, unused: tuple[str, ...] = (),
                 unused_types: tuple[tuple[str, str], ...] = (),
                 shared_nothing: tuple[str, ...] = (), unnamed: bool = False,
                 notices: tuple[FeedNotice, ...] = ()) -> tuple[str, ...]:
    """The warnings of a case: the agencies that shared no records in the whole extract
    (`shared_nothing`, first: whatever they hold, none could be seen), those whose records
    arrive late in it or that stopped recording (`notices`, `model.feed_notices`: its
    recent records of them mostly unseen; none of an agency the model makes no use of, whose
    records could not change the score), then its household
    members not known (`unnamed`: the warning every such case gets, whatever its top
    factors), then agencies that held nothing but usually matter for the need ("not
    seen"), those that held records the model makes no use of, and the types of record
    held that the model makes no use of (`model.unused_records`)."""
    return (*(shared_nothing_warning(a, subject) for a in shared_nothing),
            *(notice_warning(notice, subject) for notice in notices if notice.agency not in unused),
            *((UNNAMED_HOUSEHOLD_WARNING,) if unnamed else ()),
            *(not_seen_warning(a, need, subject) for a in worth_telling(not_seen, subject)
              if a in usual and a not in shared_nothing),
            *(unused_warning(a, subject) for a in unused if a not in not_seen),
            *((unused_types_warning(unused_types, subject),) if unused_types else ()))


@dataclass(frozen=True)
class Context:
    """The distinct contexts of a chunk's rows, and which one each row has."""

    # Per distinct context, the agencies that held nothing, as told (`worth_telling`).
    not_seen: list[tuple[str, ...]]
    warnings: list[tuple[str, ...]]  # per distinct context, the warnings about them
    index: np.ndarray  # per row, its context

    @classmethod
    def of(cls, not_seen: np.ndarray, need: np.ndarray, subject: np.ndarray,
           usual: Mapping[str, Sequence[str]], unused: UnusedRecords = NO_UNUSED,
           held: np.ndarray | None = None, shared_nothing: tuple[str, ...] = (),
           unnamed: np.ndarray | None = None, notices: tuple[FeedNotice, ...] = ()
           ) -> Context:
        """The contexts of rows given as codes: the bit mask of the agencies (`AGENCIES`
        order) whose records-held flag is 0, the presenting need (its index in
        `PRESENTING_NEEDS`, -1 for none) and the subject (its index in `SUBJECTS`);
        `unused`: what the model makes no use of, and `held` the bit mask of its unused
        types of which each row's family holds records (`UnusedRecords.present`);
        `shared_nothing`: the agencies that shared no records in the whole extract, and
        `notices` what applies to the rows of the agencies late or silent in it;
        `unnamed`: per row, whether its household members are not known
        (`model.factor_layout.Layout.unnamed_household`; None: no row's)."""
        code = ((not_seen * (len(PRESENTING_NEEDS) + 1) + need + 1) * len(SUBJECTS)
                + subject) * 2
        if unnamed is not None:
            code = code + unnamed.astype(np.int64)
        held_sets, held_index = np.unique(np.zeros(len(code), dtype=np.int64) if held is None
                                          else held, return_inverse=True)
        distinct, index = np.unique(code * len(held_sets) + held_index.reshape(-1),
                                    return_inverse=True)
        distinct, held_which = np.divmod(distinct, len(held_sets))
        distinct, unknown = np.divmod(distinct, 2)
        masks, rest = np.divmod(distinct, (len(PRESENTING_NEEDS) + 1) * len(SUBJECTS))
        needs, subjects = np.divmod(rest, len(SUBJECTS))
        table = _subsets(AGENCIES)
        seen, warnings = [], []
        for mask, n, s, h, u in zip(masks.tolist(), needs.tolist(), subjects.tolist(),
                                    held_sets[held_which].tolist(), unknown.tolist(),
                                    strict=True):
            named = None if n == 0 else PRESENTING_NEEDS[n - 1]
            seen.append(worth_telling(table[mask], SUBJECTS[s], shared_nothing))
            warnings.append(warnings_for(table[mask], tuple(usual.get(named or "", ())), named,
                                         SUBJECTS[s], unused.agencies, unused.types_of(h),
                                         shared_nothing, bool(u), notices))
        return cls(seen, warnings, index.reshape(-1))


def row_hashes(keys: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row of a float matrix (equal bits, equal hash)."""
    bits = np.ascontiguousarray(keys, dtype=np.float64).view(np.uint64)
    hashed = np.zeros(len(keys), dtype=np.uint64)
    for column in bits.T:  # splitmix64's finaliser of each value, folded in
        mixed = (column ^ (column >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        hashed = (hashed ^ mixed ^ (mixed >> np.uint64(31))) * np.uint64(0x9E3779B97F4A7C15)
    return hashed


def distinct_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a float matrix without NaN, and each row's index among them.

    ``np.unique(axis=0)`` sorts whole rows, slowly; rows are hashed to one integer instead,
    and the result checked, falling back to ``np.unique`` should two rows share a hash.
    """
    _, first, which = np.unique(row_hashes(keys), return_index=True, return_inverse=True)
    if np.array_equal(keys[first][which], keys):
        return keys[first], which
    distinct, which = np.unique(keys, axis=0, return_inverse=True)
    return distinct, which.reshape(-1)


class TextCache:
    """Factor texts by key row, found in arrays: a sorted hash of each kept row, checked
    against the row itself, so only rows not yet rendered reach Python. Threads explaining
    chunks of one batch share it: one at a time looks up and adds."""

    MAX_TEXTS = 500_000  # beyond this many texts, start again

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._empty()

    def _empty(self) -> None:
        self._hashes = np.empty(0, dtype=np.uint64)  # sorted
        self._slots = np.empty(0, dtype=np.intp)  # the text of each sorted hash
        self._keys = np.empty((0, 0))  # each text's key row
        self._texts: list[FactorText] = []

    def get(self, keys: np.ndarray, render: Callable[[list[float]], FactorText]
            ) -> list[FactorText]:
        """The text of each of the distinct `keys` rows, rendering those not yet kept."""
        with self._lock:
            return self._get(keys, render)

    def _get(self, keys: np.ndarray, render: Callable[[list[float]], FactorText]
             ) -> list[FactorText]:
        if len(self._texts) + len(keys) > self.MAX_TEXTS or (
                len(self._texts) and self._keys.shape[1] != keys.shape[1]):
            self._empty()
        hashes = row_hashes(keys)
        slot = np.full(len(keys), -1, dtype=np.intp)
        if len(self._texts):
            at = np.minimum(np.searchsorted(self._hashes, hashes), len(self._hashes) - 1)
            kept = self._slots[at]
            hit = (self._hashes[at] == hashes) & (self._keys[kept] == keys).all(axis=1)
            slot[hit] = kept[hit]
        missing = np.flatnonzero(slot < 0)
        if len(missing):
            slot[missing] = np.arange(len(self._texts), len(self._texts) + len(missing))
            self._texts.extend(map(render, keys[missing].tolist()))
            self._keys = keys[missing] if not len(self._keys) else np.concatenate(
                [self._keys, keys[missing]])
            hashes = np.concatenate([self._hashes, hashes[missing]])
            order = np.argsort(hashes, kind="stable")
            self._hashes = hashes[order]
            self._slots = np.concatenate([self._slots, slot[missing]])[order]
        texts = self._texts
        return [texts[s] for s in slot.tolist()]
