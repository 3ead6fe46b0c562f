"""Override rates: how often practitioners' decisions differ from the service's band.

A pure computation for the governance board: it takes decisions as plain records
(the store's reader hands them in) and returns one typed row per model version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

_RAG_URGENCY: Final = {"green": 0, "amber": 1, "red": 2}
Direction = Literal["agreed", "up", "down"]


def override_direction(service_rag: str, practitioner_rag: str) -> Direction:
    """Whether a practitioner agreed with the service's RAG or overrode it: "up" (more
    concern than the band) or "down". By the RAG alone: the API refuses a decision whose
    ``agrees_with_band`` says otherwise, and one stored before is counted by its RAG (the
    governance page's override rates and `safeguard monitor` both count this way)."""
    change = _RAG_URGENCY.get(practitioner_rag, 0) - _RAG_URGENCY.get(service_rag, 0)
    return "up" if change > 0 else "down" if change < 0 else "agreed"


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
        direction = override_direction(record.service_rag, record.practitioner_rag)
        if direction == "up":
            row[1] += 1
        elif direction == "down":
            row[2] += 1
    return [OverrideRate(version, *row) for version, row in
            sorted(counts.items(), key=lambda item: (len(item[0]), item[0]))]
