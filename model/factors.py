"""From contributions to factors: what a case's explanation names, and its context.

`model.factor_layout.Layout` knows where the explainer finds each piece of a case among
the columns it is given, and how the classifier's columns sum into factors and agencies.
`FactorBuilder` turns checked contributions into `model.explanation` records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from model.contributions import Contributions
from model.explanation import AGENCY_GROUPS, Explanation, FactorRecord
from model.factor_layout import Layout, headline
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
from model.late_warning import FeedNotice
from model.sentences import DAYS_SLOT, display_value
from model.top_columns import top_columns
from model.unused_records import NO_UNUSED, UnusedRecords

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
                 shared_nothing: tuple[str, ...] = (), notices: tuple[FeedNotice, ...] = ()
                 ) -> None:
        self.layout = layout
        self.shared_nothing = shared_nothing  # agencies with no record in the whole extract
        self.notices = notices  # of agencies late or silent in it (`model.feed_notices`)
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
        household_unknown = layout.unnamed_household(X)  # per row: warned of (`Context`)
        unnamed = household_unknown[rows] & layout.about_household[chosen]
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
                       self.unused, self.unused.present(X), self.shared_nothing,
                       household_unknown, self.notices))

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
            unnamed_household_sentence(members, sign, subject=subject) if unnamed else
            factor_sentence(members, values, sign, subject=subject), members),
            days_value=days_value)
