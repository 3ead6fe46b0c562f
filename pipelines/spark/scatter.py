"""The manifest's record features as scatter rules: from grouped counts to feature columns.

Spark groups each referral's known records by (relation, agency, event type) — a
*cell* — into a count per window and the days since the latest (`MEASURES`). Every
count, recency and coverage feature of the manifest is a rule "take measure m of cell
k, keep the smallest (or largest)"; `compile_rules` derives the rules from the specs,
and `scatter` applies them to a batch of referrals with numpy (on the executors, in
`mapInPandas`). Plain numpy: no Spark is needed to read or test this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import AGENCIES, EVENT_TYPES
from pipelines.feature_spec import FeatureSpec
from pipelines.links import expand, group_items
from pipelines.manifest import MANIFEST, RELATIONS, WINDOWS

# A cell's measures, in order: one count per window, days since the latest, and "held".
MEASURES: Final[tuple[str, ...]] = (*(name for name, _days in WINDOWS), "latest", "held")
LATEST: Final = MEASURES.index("latest")
HELD: Final = MEASURES.index("held")
# Every (agency, event type) a record can have; a cell is (relation, one of these).
RECORD_TYPES: Final[tuple[tuple[str, str], ...]] = tuple(
    (agency, event_type) for agency in AGENCIES for event_type in EVENT_TYPES[agency]
)
N_CELLS: Final = len(RELATIONS) * len(RECORD_TYPES)
SCATTERED_KINDS: Final = frozenset({"count", "recency", "coverage"})


def cell_of(relation: str, agency: str, event_type: str) -> int:
    """The cell number of (relation, agency, event type)."""
    return RELATIONS.index(relation) * len(RECORD_TYPES) + RECORD_TYPES.index((agency, event_type))


def relations_of(relation: str) -> tuple[str, ...]:
    """The link relations a spec's relation covers (``household``: everyone but the subject)."""
    if relation == "household":
        return tuple(r for r in RELATIONS if r != RELATIONS[0])
    return (relation,)


@dataclass(frozen=True)
class Rules:
    """Rule i: feature ``position[i]`` takes measure ``measure[i]`` of cell ``cell[i]``,
    keeping the smallest when ``smallest[i]`` (else the largest); ``fill`` is each
    scattered feature's value when no rule fires (by manifest position, NaN elsewhere)."""

    cell: np.ndarray
    measure: np.ndarray
    position: np.ndarray
    smallest: np.ndarray
    fill: np.ndarray


def _spec_rules(spec: FeatureSpec) -> list[tuple[int, int, bool]]:
    """(cell, measure, smallest) of each rule of one spec."""
    types = (spec.event_type,) if spec.event_type else EVENT_TYPES[spec.agency]
    if spec.kind == "count":
        assert spec.window is not None and spec.event_type is not None
        return [
            (
                cell_of(spec.relation, spec.agency, spec.event_type),
                MEASURES.index(spec.window),
                False,
            )
        ]
    relations = RELATIONS if spec.kind == "coverage" else relations_of(spec.relation)
    measure, smallest = (HELD, False) if spec.kind == "coverage" else (LATEST, True)
    return [(cell_of(r, spec.agency, t), measure, smallest) for r in relations for t in types]


def compile_rules(specs: tuple[FeatureSpec, ...] = MANIFEST) -> Rules:
    """The scatter rules of every count, recency and coverage feature of `specs`."""
    rows = [
        (cell, measure, position, smallest)
        for position, spec in enumerate(specs)
        if spec.kind in SCATTERED_KINDS
        for cell, measure, smallest in _spec_rules(spec)
    ]
    cell, measure, position, smallest = (np.array(column) for column in zip(*rows, strict=True))
    fill = np.array([np.nan if s.no_record_value is None else s.no_record_value for s in specs])
    return Rules(cell, measure, position, smallest.astype(bool), fill)


def scatter(
    out: np.ndarray, row: np.ndarray, cell: np.ndarray, measures: np.ndarray, rules: Rules
) -> None:
    """Write every scattered feature of a batch into ``out`` (referrals x manifest).

    Args:
        out: The batch's feature matrix; scattered columns are overwritten.
        row: The batch row of each cell.
        cell: Each cell's number (`cell_of`).
        measures: Each cell's `MEASURES` (cells x measures).
        rules: `compile_rules()`.
    """
    targets = np.unique(rules.position)
    smallest = np.zeros(out.shape[1], dtype=bool)
    smallest[rules.position] = rules.smallest
    work = np.where(smallest, np.inf, -np.inf)[None, :].repeat(len(out), axis=0)
    cell_index, rule_index = expand(cell, group_items(rules.cell, N_CELLS))
    flat = row[cell_index] * out.shape[1] + rules.position[rule_index]
    value = measures[cell_index, rules.measure[rule_index]].astype(np.float64)
    low = rules.smallest[rule_index]
    np.minimum.at(work.reshape(-1), flat[low], value[low])
    np.maximum.at(work.reshape(-1), flat[~low], value[~low])
    chosen = work[:, targets]
    out[:, targets] = np.where(np.isinf(chosen), rules.fill[targets], chosen)
