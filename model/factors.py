"""From contributions to factors: what a case's explanation names, and its context.

`Layout` knows where the explainer finds each piece of a case among the columns it is
given (looked up in the manifest, failing loudly), how the classifier's columns sum
into factors (`pipelines.manifest.FeatureSpec.concern`: counts over every window and the
recency of one event type about one relation are one factor) and into agencies.
`FactorBuilder` turns checked contributions into `model.explanation` records.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from model.contributions import Contributions
from model.explanation import AGENCY_GROUPS, Explanation, FactorRecord
from model.factor_sentences import factor_sentence
from model.factor_text import (
    SUBJECTS,
    Context,
    DaysText,
    FactorText,
    TextCache,
    days_text,
    distinct_rows,
)
from model.group_sums import group_sums
from model.household_sentences import unnamed_household_sentence
from model.model_matrix import classifier_input
from model.sentences import DAYS_SLOT, days_event, display_value
from model.top_columns import top_columns
from model.unused_records import NO_UNUSED, UnusedRecords
from pipelines.feature_spec import (
    ADULT_AT_RISK,
    HOUSEHOLD_KNOWN,
    coverage_feature_name,
    need_feature_name,
)
from pipelines.manifest_lookup import check_names, columns_of, spec_of


def _one_hot(labels: Sequence[str], keys: Sequence[str]) -> np.ndarray:
    """len(labels) x len(keys): 1 where a label is a key."""
    out = np.zeros((len(labels), len(keys)))
    out[np.arange(len(labels)), [list(keys).index(label) for label in labels]] = 1.0
    return out


@functools.lru_cache(maxsize=1024)
def headline(members: tuple[str, ...]) -> int:
    """The member whose value a factor reports: its count on record, else its first."""
    windows = [spec_of(name).window for name in members]
    counted = [i for i, name in enumerate(members) if spec_of(name).unit == "records"]
    ever = [i for i in counted if windows[i] == "ever"]
    return ever[0] if ever else 0


def _days_member(members: Sequence[str]) -> tuple[int, int]:
    """Where a factor's first days member sits among its members (-1: none), and what it
    counts back from (`model.sentences.days_event`; 0 without one)."""
    for i, name in enumerate(members):
        if spec_of(name).unit == "days":
            return i, days_event(name)
    return -1, 0


@dataclass(frozen=True)
class Layout:
    """Where the explainer finds each piece of a case among its columns."""

    names: tuple[str, ...]  # the classifier's columns
    columns: np.ndarray  # where they sit among the explainer's columns
    agency: tuple[str, ...]  # agency group of each classifier column
    agencies: np.ndarray  # classifier columns x AGENCY_GROUPS one-hot, to sum contributions
    factors: tuple[tuple[int, ...], ...]  # classifier columns of each factor, manifest order
    factor_matrix: np.ndarray  # classifier columns x factors one-hot, to sum contributions
    member_index: np.ndarray  # factors x widest factor: member columns, padded with len(names)
    coverage: tuple[int, ...]  # column of each agency's records-held flag, AGENCIES order
    needs: tuple[int, ...]  # column of each presenting need's flag, PRESENTING_NEEDS order
    adult: int  # column of the adult-at-risk flag
    factor_names: tuple[tuple[str, ...], ...]  # names of each factor's columns
    days_slot: np.ndarray  # per factor, where its (first) days member sits in it, else -1
    days_event: np.ndarray  # per factor, that member's `model.sentences.days_event`
    household: int  # column of the household-named flag (-1: the columns lack it)
    about_household: np.ndarray  # per factor, whether its members are about household members

    @classmethod
    def of(cls, names: Sequence[str], model_names: Sequence[str]) -> Layout:
        """The layout of manifest columns `names`, of which the classifier reads `model_names`.

        Raises:
            UnknownFeatureError: If a name is not a manifest feature.
            ValueError: If the columns lack a classifier column, or the records-held,
                presenting-need or adult-at-risk flags that the "not seen" warnings read.
        """
        check_names(names)
        agency = tuple(spec_of(n).agency for n in model_names)
        concern = [spec_of(n).concern for n in model_names]
        keys = list(dict.fromkeys(concern))
        factors = tuple(tuple(j for j, c in enumerate(concern) if c == key) for key in keys)
        factor_names = tuple(tuple(model_names[j] for j in factor) for factor in factors)
        days = np.array([_days_member(f) for f in factor_names], dtype=np.intp).reshape(-1, 2)
        about = np.array([all(spec_of(n).about_household_members for n in f)
                          for f in factor_names], dtype=bool)
        width = max((len(f) for f in factors), default=1)
        member_index = np.full((len(factors), width), len(model_names), dtype=np.intp)
        for k, factor in enumerate(factors):
            member_index[k, :len(factor)] = factor
        return cls(
            tuple(model_names), np.array(columns_of(names, model_names), dtype=np.intp), agency,
            _one_hot(agency, AGENCY_GROUPS), factors, _one_hot(concern, keys), member_index,
            tuple(columns_of(names, [coverage_feature_name(a) for a in AGENCIES])),
            tuple(columns_of(names, [need_feature_name(n) for n in PRESENTING_NEEDS])),
            columns_of(names, [ADULT_AT_RISK])[0], factor_names, days[:, 0], days[:, 1],
            names.index(HOUSEHOLD_KNOWN) if HOUSEHOLD_KNOWN in names else -1, about)

    @staticmethod
    def headline(members: Sequence[str]) -> int:
        """Which member's value a factor of `members` reports (see `headline`)."""
        return headline(tuple(members))

    def values(self, X: np.ndarray) -> np.ndarray:
        """The classifier's columns of the explainer's matrix, as recorded."""
        return X[:, self.columns]

    def model_input(self, X: np.ndarray) -> np.ndarray:
        """The classifier's columns of the explainer's matrix, as the classifier reads them."""
        identity = X.shape[1] == len(self.columns) and bool(
            (self.columns == np.arange(len(self.columns))).all())
        # classifier_input copies what it is given: no gathered copy before it when the
        # explainer's columns are the classifier's, in order.
        return classifier_input(X if identity else self.values(X), self.names)

    def not_seen(self, X: np.ndarray) -> np.ndarray:
        """Per row, the bit mask (`AGENCIES` order) of the agencies whose records-held flag
        is 0."""
        mask = X[:, list(self.coverage)] == 0
        return mask.astype(np.int64) @ (1 << np.arange(len(AGENCIES), dtype=np.int64))

    def need(self, X: np.ndarray) -> np.ndarray:
        """Per row, the presenting need's index in `PRESENTING_NEEDS` (-1: no flag set)."""
        hot = X[:, list(self.needs)] == 1
        return np.where(hot.any(axis=1), hot.argmax(axis=1), -1)

    def unnamed_household(self, X: np.ndarray) -> np.ndarray:
        """Per row, whether the referral names no household (its flag 0): its household
        features count nobody (`model.household_sentences`). Columns without the flag
        (explainers of a few columns, in tests) read every household as named."""
        if self.household < 0:
            return np.zeros(len(X), dtype=bool)
        return X[:, self.household] == 0

    def subject(self, X: np.ndarray) -> np.ndarray:
        """Per row, whether the person referred is a child, an adult at risk, or unknown
        (NaN), as an index in `model.factor_text.SUBJECTS`."""
        flags = X[:, self.adult]
        return np.where(np.isnan(flags), SUBJECTS.index("person"), (flags != 0).astype(np.int64))


# Texts kept per set of classifier columns in a process (its threads share them, from
# chunk to chunk), found by their keys: factor, direction and household not named,
# subject, member values.
_TEXTS: dict[tuple[str, ...], TextCache] = {}


def forget_texts() -> None:
    """Drop the texts this process keeps (the next chunks render theirs from scratch, as a
    new process would: for measuring)."""
    _TEXTS.clear()


def _known(values: Sequence[float]) -> tuple[float | None, ...]:
    """Values with None for empty (inf in a cache key)."""
    return tuple(None if v == np.inf else v for v in values)


@dataclass(frozen=True)
class ChunkExplanations:
    """The explanations of a chunk of rows, as arrays and shared texts (no record per row).

    Row i's factors are entries ``starts[i]:starts[i + 1]`` of `which` (each an index in
    `texts`, the chunk's distinct factor texts), `contributions` and `days_which` (an index
    in `days`, the chunk's distinct numbers of days, for a text that leaves its days open;
    else -1); its agencies not seen and warnings are those of context ``context.index[i]``.
    `model.factors.FactorBuilder.records` and `model.explain_batch` render them.
    """

    raw: np.ndarray
    base: float
    compared_with: str
    by_agency: np.ndarray  # rows x AGENCY_GROUPS
    starts: np.ndarray
    texts: list[FactorText]
    which: np.ndarray
    contributions: np.ndarray
    days: list[DaysText]
    days_which: np.ndarray
    context: Context


class FactorBuilder:
    """Turns checked contributions of a chunk of rows into explanations."""

    def __init__(self, layout: Layout, *, top_raising: int, top_lowering: int,
                 usual_agencies: Mapping[str, tuple[str, ...]], compared_with: str,
                 unused: UnusedRecords = NO_UNUSED,
                 shared_nothing: tuple[str, ...] = ()) -> None:
        self.layout = layout
        self.shared_nothing = shared_nothing  # agencies with no record in the whole extract
        self.top_raising = top_raising
        self.top_lowering = top_lowering
        self.usual_agencies = usual_agencies
        self.unused = unused
        self.compared_with = compared_with
        # Texts depend only on the classifier's columns: shared by every builder of the
        # process over the same columns (kept from chunk to chunk, shared by its threads).
        self._texts = _TEXTS.setdefault(layout.names, TextCache())
        # Each factor's members as columns of the explainer's matrix, padded with -1.
        self._member_columns = np.append(layout.columns, -1)[layout.member_index]

    def chunk(self, X: np.ndarray, found: Contributions) -> ChunkExplanations:
        """The explanations of the rows of `X` (the explainer's columns), as arrays."""
        layout = self.layout
        by_factor = group_sums(found.phi, layout.factor_matrix)
        top = top_columns(by_factor, self.top_raising, self.top_lowering)
        # The chosen factors of every row at once: their members' values (empty as inf,
        # which no feature takes, so equal values make equal cache keys) and sums.
        rows, slots = np.nonzero(top >= 0)
        chosen = top[rows, slots]
        columns = self._member_columns[chosen]
        values = X[rows[:, None], np.maximum(columns, 0)].astype(np.float64)
        values = np.where((columns < 0) | ~np.isfinite(values), np.inf, values)
        # Household members' values when no household is named: not known (empty), their
        # texts keyed apart from a named household's empty values.
        unnamed = layout.unnamed_household(X)[rows] & layout.about_household[chosen]
        values[unnamed] = np.inf
        days, days_which = self._open_days(chosen, values)
        sums = by_factor[rows, chosen]
        subjects = layout.subject(X)
        # One text per distinct (factor, direction and household unnamed as one code,
        # subject, member values): found in arrays, so only distinct keys reach Python (and
        # the cache); the code spares the hash a column.
        keys, which = distinct_rows(np.column_stack([chosen, (sums > 0) + 2 * unnamed,
                                                     subjects[rows], values]))
        texts = self._texts.get(keys, self._render)
        return ChunkExplanations(
            found.raw, found.base, self.compared_with, group_sums(found.phi, layout.agencies),
            np.searchsorted(rows, np.arange(len(X) + 1)), texts, which.reshape(-1), sums,
            days, days_which,
            Context.of(layout.not_seen(X), layout.need(X), subjects, self.usual_agencies,
                       self.unused, self.unused.present(X), self.shared_nothing))

    def _open_days(self, chosen: np.ndarray, values: np.ndarray
                   ) -> tuple[list[DaysText], np.ndarray]:
        """The distinct numbers of days of the chosen factors that have one, and each
        factor's index among them (-1: none); in `values` (chosen factors x members, empty
        as inf) those days become `DAYS_SLOT`, so texts are keyed without them."""
        slot = self.layout.days_slot[chosen]
        entries = np.flatnonzero(slot >= 0)
        entries = entries[np.isfinite(values[entries, slot[entries]])]
        days = values[entries, slot[entries]]
        values[entries, slot[entries]] = DAYS_SLOT
        events = self.layout.days_event[chosen[entries]]
        distinct, which = distinct_rows(np.column_stack([events, days]))
        days_which = np.full(len(chosen), -1, dtype=np.intp)
        days_which[entries] = which.reshape(-1)
        return [days_text(d, int(e)) for e, d in distinct.tolist()], days_which

    def explanations(self, X: np.ndarray, found: Contributions) -> list[Explanation]:
        """One record per row of `X` (the explainer's columns) and its contributions."""
        return self.records(self.chunk(X, found))

    @staticmethod
    def records(chunk: ChunkExplanations) -> list[Explanation]:
        """The chunk's explanations as `Explanation` records."""
        starts, which = chunk.starts.tolist(), chunk.which.tolist()
        texts, sums, context = chunk.texts, chunk.contributions.tolist(), chunk.context
        days = [*chunk.days, None]  # -1: no days left open
        days_which, by_agency = chunk.days_which.tolist(), chunk.by_agency.tolist()
        return [Explanation(
            float(chunk.raw[i]), chunk.base, chunk.compared_with,
            [texts[which[p]].filled(sums[p], days[days_which[p]])
             for p in range(starts[i], starts[i + 1])],
            dict(zip(AGENCY_GROUPS, by_agency[i], strict=True)), list(context.not_seen[c]),
            list(context.warnings[c])) for i, c in enumerate(context.index.tolist())]

    def _render(self, key: Sequence[float]) -> FactorText:
        """The text of a key row: factor, a code (1: raises the score, + 2: a factor about
        household members of a referral naming no household), subject, member values
        (empty as inf, days left open as `DAYS_SLOT`)."""
        k, subject = int(key[0]), SUBJECTS[int(key[2])]
        unnamed, raises = divmod(int(key[1]), 2)
        members, sign = self.layout.factor_names[k], 1.0 if raises else -1.0
        values = _known(key[3:3 + len(members)])
        head = headline(members)
        days_value = values[head] == DAYS_SLOT  # the factor reports its days: filled per row
        return FactorText.of(FactorRecord(
            members[head], None if days_value else display_value(members[head], values[head]),
            0.0, "raises" if raises else "lowers", self.layout.agency[self.layout.factors[k][0]],
            unnamed_household_sentence(members, sign) if unnamed else
            factor_sentence(members, values, sign, subject=subject), members),
            days_value=days_value)
