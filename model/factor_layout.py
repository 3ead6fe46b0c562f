"""Where the explainer finds each piece of a case among the columns it is given.

`Layout` looks each piece up in the manifest (failing loudly): the classifier's columns,
how they sum into factors (`pipelines.manifest.FeatureSpec.concern`: counts over every
window and the recency of one event type about one relation are one factor) and into
agencies, and the flags the "not seen" warnings and a factor's words read (records held,
presenting need, adult at risk, household named). `model.factors` builds explanations
with it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from model.explanation import AGENCY_GROUPS
from model.factor_text import SUBJECTS
from model.model_matrix import classifier_input
from model.sentences import days_event
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
