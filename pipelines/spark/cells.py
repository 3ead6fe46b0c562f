"""The manifest's record features as Spark columns over one pivot of grouped counts.

Spark groups each referral's known records by (relation, record type) — a *cell* — into
a count per window and the days since the latest (`MEASURES`), pivoted to one row per
referral (`pivot_cells`: Spark aggregates by (referral, cell) first, then places each
cell's measures by index, so no row is tested against every cell). Every count, recency
and coverage feature of the manifest is a rule "take measure m of cells k1, k2, ..., keep
the smallest (or largest)"; `cell_rules` derives the rules from a spec, and
`scattered_column` writes them as one Spark expression. The definitions live once, in
`pipelines.manifest`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from data_contracts.vocab import EVENT_TYPES
from pipelines.encode import AGENCY_TYPE_CODES, ATTENDANCE_CODE
from pipelines.feature_spec import FeatureSpec
from pipelines.manifest import COUNTED_EVENTS, RELATIONS, WINDOWS
from pipelines.spark.frames import ROW

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# Every (agency, event type) a record can have, by its code (`pipelines.encode.TYPE_CODES`,
# then `ATTENDANCE_CODE`); a cell is (relation, one of these).
RECORD_TYPES: Final[tuple[tuple[str, str], ...]] = (
    *COUNTED_EVENTS,
    *(
        (agency, event_type)
        for agency, codes in AGENCY_TYPE_CODES.items()
        for event_type, code in codes.items()
        if code == ATTENDANCE_CODE
    ),
)
N_CELLS: Final = len(RELATIONS) * len(RECORD_TYPES)
# A cell's measures: one count per window, days since the latest; "held" (the cell has
# a record) reads the "ever" count.
LATEST: Final = "latest"
HELD: Final = "held"
MEASURES: Final[tuple[str, ...]] = (*(name for name, _days in WINDOWS), LATEST)
EVER: Final = next(name for name, days in WINDOWS if days is None)
SCATTERED_KINDS: Final = frozenset({"count", "recency", "coverage"})


def cell_of(relation: str, agency: str, event_type: str) -> int:
    """The cell number of (relation, agency, event type)."""
    return RELATIONS.index(relation) * len(RECORD_TYPES) + RECORD_TYPES.index((agency, event_type))


def relations_of(relation: str) -> tuple[int, ...]:
    """The relation codes a spec's relation covers (``household``: everyone but the subject)."""
    if relation == "household":
        return tuple(range(1, len(RELATIONS)))
    return (RELATIONS.index(relation),)


def cell_rules(spec: FeatureSpec) -> tuple[list[tuple[int, str]], bool]:
    """The (cell, measure) pairs a scattered spec reads, and whether it keeps the smallest."""
    if spec.kind == "count":
        assert spec.window is not None and spec.event_type is not None
        return [(cell_of(spec.relation, spec.agency, spec.event_type), spec.window)], False
    types = (spec.event_type,) if spec.event_type else EVENT_TYPES[spec.agency]
    if spec.kind == "coverage":
        relations, measure, smallest = RELATIONS, HELD, False
    else:
        relations = tuple(RELATIONS[code] for code in relations_of(spec.relation))
        measure, smallest = LATEST, True
    cells = [(cell_of(r, spec.agency, t), measure) for r in relations for t in types]
    return cells, smallest


def pivot_cells(known: DataFrame) -> DataFrame:
    """One row per referral with records: column ``{cell}_{measure}`` per cell and measure
    (null where the referral has no record in that cell)."""
    from pyspark.sql import functions as F

    cell = F.col("relation") * len(RECORD_TYPES) + F.col("type")
    measures = [
        (F.count("delta") if days is None else F.count_if(F.col("delta") < days)).alias(name)
        for name, days in WINDOWS
    ] + [F.min("delta").alias(LATEST)]
    return (
        known.withColumn("_cell", cell)
        .groupBy(ROW)
        .pivot("_cell", list(range(N_CELLS)))
        .agg(*measures)
    )


def _measure(cell: int, measure: str) -> Column:
    from pyspark.sql import functions as F

    if measure == HELD:
        return F.when(F.col(f"{cell}_{EVER}").isNotNull(), F.lit(1))
    return F.col(f"{cell}_{measure}")


def scattered_column(spec: FeatureSpec) -> Column:
    """The Spark expression of a count, recency or coverage feature over `pivot_cells`."""
    from pyspark.sql import functions as F

    rules, smallest = cell_rules(spec)
    parts = [_measure(cell, measure) for cell, measure in rules]
    combine = F.least if smallest else F.greatest
    value = parts[0] if len(parts) == 1 else combine(*parts)
    fill = spec.no_record_value
    return value if fill is None else F.coalesce(value, F.lit(fill))
