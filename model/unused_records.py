"""What the model in use makes no use of: agencies and record types no split reads.

A tree reads a column only where one of its splits does, and training drops a column that
never varies. Records of an agency, or of one type of an agency the model does read, that
no split reads cannot change any score: none reached the training data, or none helped.
A case whose family has such records says so, by agency or by type, so that a
practitioner does not read the explanation's silence about them as "weighed and found not
to matter".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import AGENCIES, AGENCY_LABELS
from pipelines.feature_spec import count_feature_name
from pipelines.manifest import COUNTED_EVENTS, RELATIONS
from pipelines.manifest_lookup import columns_of, spec_of
from pipelines.phrases import EVENT_LABELS, SUBJECT_PHRASES

# Why records no split reads cannot count, in the words of both warnings.
_WHY: Final = "none reached its training data, or none helped it"


def unused_warning(agency: str, subject: str) -> str:
    """The warning that an agency shared records the model in use makes no use of."""
    label = AGENCY_LABELS[agency]
    return (f"{label} records were shared about {SUBJECT_PHRASES[subject]} or household, "
            f"but the model in use makes no use of {label.lower()} records ({_WHY}): they "
            "cannot change this score.")


def unused_types_warning(types: Sequence[tuple[str, str]], subject: str) -> str:
    """The warning that records of `types` ((agency, event type) pairs) were shared about
    the case's family but the model in use makes no use of records of those types."""
    by_agency: dict[str, list[str]] = {}
    for agency, event_type in types:
        by_agency.setdefault(agency, []).append(EVENT_LABELS[event_type][1])
    listed = "; ".join(f"{AGENCY_LABELS[agency].lower()}: {', '.join(labels)}"
                       for agency, labels in by_agency.items())
    return (f"Records of these types were shared about {SUBJECT_PHRASES[subject]} or "
            f"household, but the model in use makes no use of records of these types "
            f"({_WHY}), so they cannot change this score: {listed}.")


def _ever_counts(agency: str, event_type: str) -> list[str]:
    """The "ever" counts of one type of record, one per relation (`RELATIONS` order)."""
    return [count_feature_name(relation, agency, event_type, "ever") for relation in RELATIONS]


@dataclass(frozen=True)
class UnusedRecords:
    """The agencies and record types a classifier's splits never read, and where an
    explainer finds whether a case's family holds records of those types."""

    agencies: tuple[str, ...]  # AGENCIES order: no split reads any column of theirs
    types: tuple[tuple[str, str], ...]  # COUNTED_EVENTS order, of agencies that are read
    columns: np.ndarray  # types x RELATIONS: the explainer's columns of their "ever" counts

    @classmethod
    def of(cls, read: Iterable[str], names: Sequence[str]) -> UnusedRecords:
        """What a classifier whose splits read the manifest columns `read` makes no use of,
        with the explainer's columns `names`. A type is looked for only where `names` hold
        its "ever" counts for every relation (the service's and `safeguard score`'s
        explainers are given the whole feature table, so every type is)."""
        specs = [spec_of(name) for name in read]
        agencies_read = {spec.agency for spec in specs}
        types_read = {(spec.agency, spec.event_type) for spec in specs}
        # A feature of an agency's records of any type (days since its latest record)
        # reads every type: a record of one no count reads still moves it.
        every_type_read = {spec.agency for spec in specs
                           if spec.from_records and spec.event_type is None}
        present = set(names)
        types = tuple(pair for pair in COUNTED_EVENTS
                      if pair[0] in agencies_read and pair[0] not in every_type_read
                      and pair not in types_read and set(_ever_counts(*pair)) <= present)
        wanted = [name for pair in types for name in _ever_counts(*pair)]
        columns = np.array(columns_of(names, wanted), dtype=np.intp)
        return cls(tuple(a for a in AGENCIES if a not in agencies_read), types,
                   columns.reshape(len(types), len(RELATIONS)))

    def present(self, X: np.ndarray) -> np.ndarray:
        """Per row of `X` (the explainer's columns), the bit mask (`types` order; at most
        63 types, and `COUNTED_EVENTS` has fewer) of the unused types of which anyone the
        referral links has a record."""
        if not self.types:
            return np.zeros(len(X), dtype=np.int64)
        counts = np.nan_to_num(X[:, self.columns.reshape(-1)].astype(np.float64))
        held = (counts > 0).reshape(len(X), *self.columns.shape).any(axis=2)
        return held.astype(np.int64) @ (1 << np.arange(len(self.types), dtype=np.int64))

    def types_of(self, mask: int) -> tuple[tuple[str, str], ...]:
        """The unused types a bit mask from `present` names."""
        return tuple(pair for j, pair in enumerate(self.types) if mask >> j & 1)


NO_UNUSED: Final = UnusedRecords((), (), np.zeros((0, len(RELATIONS)), dtype=np.intp))
