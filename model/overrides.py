"""Override rates: how often practitioners' decisions differ from the service's band.

A pure computation for the governance board: it takes decisions as plain records
(the store's reader hands them in) and returns one typed row per model version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

_RAG_URGENCY = {"green": 0, "amber": 1, "red": 2}


@dataclass(frozen=True)
class DecisionRecord:
    """A practitioner's decision beside what the service said."""

    model_version: str
    service_rag: str
    practitioner_rag: str


@dataclass(frozen=True)
class OverrideRate:
    """Decisions on one model version's scores, and how many differed from it."""

    model_version: str
    decisions: int
    raised: int
    lowered: int

    @property
    def overridden(self) -> int:
        """Decisions whose RAG differs from the service's."""
        return self.raised + self.lowered

    @property
    def rate(self) -> float:
        """The share of decisions that differ (0 when there are none)."""
        return self.overridden / self.decisions if self.decisions else 0.0


def override_rates(records: Iterable[DecisionRecord]) -> list[OverrideRate]:
    """One row per model version (in version order): decisions, raised and lowered."""
    counts: dict[str, list[int]] = {}
    for record in records:
        row = counts.setdefault(record.model_version, [0, 0, 0])
        row[0] += 1
        change = (_RAG_URGENCY.get(record.practitioner_rag, 0)
                  - _RAG_URGENCY.get(record.service_rag, 0))
        if change > 0:
            row[1] += 1
        elif change < 0:
            row[2] += 1
    return [OverrideRate(version, *row) for version, row in
            sorted(counts.items(), key=lambda item: (len(item[0]), item[0]))]
