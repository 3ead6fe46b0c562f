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
from model.risk_model import classifier_input
from model.sentences import Subject, display_value, factor_sentence, not_seen_warning
from pipelines.feature_spec import ADULT_AT_RISK, coverage_feature_name, need_feature_name
from pipelines.manifest_lookup import check_names, columns_of, spec_of


def _one_hot(labels: Sequence[str], keys: Sequence[str]) -> np.ndarray:
    """len(labels) x len(keys): 1 where a label is a key."""
    out = np.zeros((len(labels), len(keys)))
    out[np.arange(len(labels)), [list(keys).index(label) for label in labels]] = 1.0
    return out


def headline(members: Sequence[str]) -> int:
    """The member whose value a factor reports: its count on record, else its first."""
    windows = [spec_of(name).window for name in members]
    counted = [i for i, name in enumerate(members) if spec_of(name).unit == "records"]
    ever = [i for i in counted if windows[i] == "ever"]
    return ever[0] if ever else 0


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
        width = max((len(f) for f in factors), default=1)
        member_index = np.full((len(factors), width), len(model_names), dtype=np.intp)
        for k, factor in enumerate(factors):
            member_index[k, :len(factor)] = factor
        return cls(
            tuple(model_names), np.array(columns_of(names, model_names), dtype=np.intp), agency,
            _one_hot(agency, AGENCY_GROUPS), factors, _one_hot(concern, keys), member_index,
            tuple(columns_of(names, [coverage_feature_name(a) for a in AGENCIES])),
            tuple(columns_of(names, [need_feature_name(n) for n in PRESENTING_NEEDS])),
            columns_of(names, [ADULT_AT_RISK])[0])

    @staticmethod
    def headline(members: Sequence[str]) -> int:
        """Which member's value a factor of `members` reports (see `headline`)."""
        return headline(members)

    def values(self, X: np.ndarray) -> np.ndarray:
        """The classifier's columns of the explainer's matrix, as recorded."""
        return X[:, self.columns]

    def model_input(self, X: np.ndarray) -> np.ndarray:
        """The classifier's columns of the explainer's matrix, as the classifier reads them."""
        return classifier_input(self.values(X), self.names)

    def not_seen(self, X: np.ndarray) -> list[tuple[str, ...]]:
        """Per row, the agencies whose records-held flag is 0."""
        mask = X[:, list(self.coverage)] == 0
        code = mask.astype(np.int64) @ (1 << np.arange(len(AGENCIES), dtype=np.int64))
        table = _subsets(AGENCIES)
        return [table[c] for c in code.tolist()]

    def need(self, X: np.ndarray) -> list[str | None]:
        """Per row, the presenting need (None when no one-hot column is set)."""
        hot = X[:, list(self.needs)] == 1
        first = np.where(hot.any(axis=1), hot.argmax(axis=1), -1)
        return [None if j < 0 else PRESENTING_NEEDS[j] for j in first.tolist()]

    def subject(self, X: np.ndarray) -> list[Subject]:
        """Per row, whether the person referred is a child, an adult at risk, or unknown."""
        flags = X[:, self.adult]
        return ["person" if f != f else "adult" if f else "child" for f in flags.tolist()]


@functools.lru_cache(maxsize=8)
def _subsets(agencies: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every subset of `agencies`, indexed by its bit mask."""
    return [tuple(a for j, a in enumerate(agencies) if mask >> j & 1)
            for mask in range(1 << len(agencies))]


@functools.lru_cache(maxsize=4096)
def warnings_for(not_seen: tuple[str, ...], usual: tuple[str, ...], need: str | None,
                 subject: Subject) -> tuple[str, ...]:
    """The "not seen" warnings: agencies that held nothing but usually matter for the need."""
    return tuple(not_seen_warning(a, need, subject) for a in not_seen
                 if a in usual and not (subject == "adult" and a == "education"))


def top_columns(phi: np.ndarray, n_raise: int, n_lower: int) -> np.ndarray:
    """Per row, the columns of the largest positive then the most negative contributions.

    Each group is ordered by absolute size; -1 marks a slot with no nonzero contribution.
    """
    m = phi.shape[1]
    n_raise, n_lower = min(n_raise, m), min(n_lower, m)
    kth = sorted({k for k in (n_lower - 1, m - n_raise) if 0 <= k < m})
    part = np.argpartition(phi, kth, axis=1) if kth else np.zeros((len(phi), 0), dtype=np.intp)
    groups = []
    for cols, sign in ((part[:, m - n_raise:], 1.0), (part[:, :n_lower], -1.0)):
        signed = sign * np.take_along_axis(phi, cols, axis=1)
        order = np.argsort(-signed, axis=1, kind="stable")
        keep = np.take_along_axis(signed, order, axis=1) > 0
        groups.append(np.where(keep, np.take_along_axis(cols, order, axis=1), -1))
    return np.concatenate(groups, axis=1)


FactorKey = tuple[int, tuple[float | None, ...], bool, Subject]


def _known(values: Sequence[float]) -> tuple[float | None, ...]:
    """Values with None for empty (inf in a cache key)."""
    return tuple(None if v == np.inf else v for v in values)


class FactorBuilder:
    """Turns checked contributions of a chunk of rows into `Explanation` records."""

    def __init__(self, layout: Layout, *, top_raising: int, top_lowering: int,
                 usual_agencies: Mapping[str, tuple[str, ...]], compared_with: str) -> None:
        self.layout = layout
        self.top_raising = top_raising
        self.top_lowering = top_lowering
        self.usual_agencies = usual_agencies
        self.compared_with = compared_with
        self._factors: dict[FactorKey, FactorRecord] = {}

    def explanations(self, X: np.ndarray, found: Contributions) -> list[Explanation]:
        """One record per row of `X` (the explainer's columns) and its contributions."""
        layout = self.layout
        by_factor = found.phi @ layout.factor_matrix
        top = top_columns(by_factor, self.top_raising, self.top_lowering)
        # The chosen factors of every row at once: their members' values (empty as inf,
        # which no feature takes, so equal values make equal cache keys) and sums.
        rows, slots = np.nonzero(top >= 0)
        chosen = top[rows, slots]
        padded = np.concatenate([layout.values(X), np.full((len(X), 1), np.inf)], axis=1)
        values = padded[rows[:, None], layout.member_index[chosen]]
        keys = np.where(np.isnan(values), np.inf, values).tolist()
        sums = by_factor[rows, chosen].tolist()
        starts = np.searchsorted(rows, np.arange(len(X) + 1)).tolist()
        chosen_list = chosen.tolist()
        by_agency = (found.phi @ layout.agencies).tolist()
        not_seen, needs, subjects = layout.not_seen(X), layout.need(X), layout.subject(X)
        out = []
        for i in range(len(X)):
            factors = [self._factor(chosen_list[p], tuple(keys[p]), sums[p], subjects[i])
                       for p in range(starts[i], starts[i + 1])]
            usual = self.usual_agencies.get(needs[i] or "", ())
            out.append(Explanation(
                float(found.raw[i]), found.base, self.compared_with, factors,
                dict(zip(AGENCY_GROUPS, by_agency[i], strict=True)), list(not_seen[i]),
                list(warnings_for(not_seen[i], usual, needs[i], subjects[i]))))
        return out

    def _factor(self, k: int, key_values: tuple[float, ...], contribution: float,
                subject: Subject) -> FactorRecord:
        key = (k, key_values, contribution > 0, subject)
        template = self._factors.get(key)
        if template is None:
            members = tuple(self.layout.names[j] for j in self.layout.factors[k])
            values = _known(key_values[:len(members)])
            head = headline(members)
            template = self._factors[key] = FactorRecord(
                members[head], display_value(members[head], values[head]), 0.0,
                "raises" if key[2] else "lowers", self.layout.agency[self.layout.factors[k][0]],
                factor_sentence(members, values, 1.0 if key[2] else -1.0, subject=subject),
                members)
        return FactorRecord(template.feature, template.value, contribution, template.direction,
                            template.agency, template.sentence, template.features)
