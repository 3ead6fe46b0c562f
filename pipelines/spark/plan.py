"""The manifest compiled to a Spark plan: a grouped join and conditional counts.

Referrals are linked to their subject and household members (the most adult role
winning; each role's group by the referral's subject type, as `pipelines.links` has it),
links are joined to the agency records known on or before the referral date, and one
grouped aggregation turns each (relation, agency, event type) into conditional
counts per window and the days since the latest record (`cell_aggregates`), which
`pipelines.spark.scatter` turns into the count, recency and coverage features. Every
other feature is an expression generated from its `FeatureSpec` (`feature_column`): the
definitions live once, in `pipelines.manifest`; this module says how each kind reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from data_contracts.vocab import HOUSEHOLD_ROLES
from pipelines.feature_spec import FeatureSpec
from pipelines.links import ROLE_RELATION, ROLE_TABLE_ROWS
from pipelines.manifest import RELATIONS, WINDOWS
from pipelines.spark.frames import ROW
from pipelines.spark.scatter import LATEST, MEASURES, RECORD_TYPES, relations_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SUBJECT: Final = RELATIONS[0]


def _relation_code() -> Column:
    """A member's relation code (`pipelines.links.ROLE_RELATION`): by its role, in the row
    of the referral's subject type; the lowest code is the most adult."""
    from pyspark.sql import functions as F

    def by_role(row: int) -> Column:
        codes = ROLE_RELATION[row]
        table = F.create_map(*[F.lit(x) for role, code in zip(HOUSEHOLD_ROLES, codes[:-1],
                                                              strict=True)
                               for x in (role, int(code))])
        return F.coalesce(table[F.col("role")], F.lit(int(codes[-1])))

    adult = F.col("subject_type") == ROLE_TABLE_ROWS[1]  # as `EncodedExtract.ref_adult`
    return F.when(adult, by_role(1)).otherwise(by_role(0))


def links(referrals: DataFrame, members: DataFrame) -> DataFrame:
    """One row per (referral, person): the subject, then each other household member."""
    from pyspark.sql import functions as F

    names = F.array(*[F.lit(relation) for relation in RELATIONS])
    subject = referrals.select(ROW, "person_id", F.lit(SUBJECT).alias("relation"), "ref_day")
    named = referrals.where(F.col("household_id").isNotNull()).select(
        ROW, F.col("person_id").alias("_subject"), "household_id", "subject_type", "ref_day"
    )
    others = (
        named.join(members, "household_id")
        .where(F.col("person_id") != F.col("_subject"))
        .groupBy(ROW, "person_id", "ref_day")
        .agg(F.min(_relation_code()).alias("_code"))  # the most adult role wins
        .select(ROW, "person_id", names[F.col("_code")].alias("relation"), "ref_day")
    )
    return subject.unionByName(others)


def known_records(linked: DataFrame, records: DataFrame) -> DataFrame:
    """Each link's records known on or before the referral date (the point-in-time rule),
    ``delta`` the days from the event date to the referral date (`pipelines.links`)."""
    from pyspark.sql import functions as F

    known = F.col("known_day") <= F.col("ref_day")
    delta = F.col("ref_day") - F.col("event_day")
    return linked.join(records, "person_id").where(known).withColumn("delta", delta)


def cell_aggregates(known: DataFrame) -> DataFrame:
    """Per referral, its cells (`pipelines.spark.scatter`): ``_cell`` and each measure, as
    parallel arrays (one element per (relation, agency, event type) with records)."""
    from pyspark.sql import functions as F

    relation_code = F.create_map(*[F.lit(x) for i, r in enumerate(RELATIONS) for x in (r, i)])
    type_code = F.create_map(
        *[
            F.lit(x)
            for i, (agency, event_type) in enumerate(RECORD_TYPES)
            for x in (f"{agency}/{event_type}", i)
        ]
    )
    cell = (
        relation_code[F.col("relation")] * len(RECORD_TYPES)
        + type_code[F.concat_ws("/", "agency", "event_type")]
    )
    measures = [
        (F.count("delta") if days is None else F.count_if(F.col("delta") < days)).alias(name)
        for name, days in WINDOWS
    ] + [F.min("delta").alias(MEASURES[LATEST])]
    names = [name for name, _days in WINDOWS] + [MEASURES[LATEST]]
    per_cell = known.withColumn("_cell", cell).groupBy(ROW, "_cell").agg(*measures)
    cells = per_cell.groupBy(ROW).agg(F.collect_list(F.struct("_cell", *names)).alias("_c"))
    return cells.select(
        ROW, *[F.col(f"_c.{name}").alias(f"_cell_{name}") for name in ("_cell", *names)]
    )


def _latest_value() -> Column:
    """The value of the latest record by event date (ties: most recently known, then an
    empty value, then the largest), as the single-machine engine picks it."""
    from pyspark.sql import functions as F

    order = F.struct(
        F.col("event_day"),
        F.col("known_day").alias("known"),
        F.col("value").isNull().alias("empty"),
        F.col("value"),
    )
    return F.max(order).getField("value")


def value_aggregates(known: DataFrame, referrals: DataFrame, specs: list[FeatureSpec]) -> DataFrame:
    """Latest values (attendance): the subject's, or the lowest of each relative's latest."""
    from pyspark.sql import functions as F

    result = referrals.select(ROW)  # not `known`: that would join every record once more
    for spec in specs:
        rows = known.where(
            (F.col("agency") == spec.agency)
            & (F.col("event_type") == spec.event_type)
            & F.col("relation").isin(*relations_of(spec.relation))
        )
        if spec.relation == SUBJECT:
            table = rows.groupBy(ROW).agg(_latest_value().alias(spec.name))
        else:
            table = (
                rows.groupBy(ROW, "person_id")
                .agg(_latest_value().alias("_latest"))
                .groupBy(ROW)
                .agg(F.min("_latest").alias(spec.name))
            )
        result = result.join(table, ROW, "left")
    return result


def history_aggregates(
    linked: DataFrame, referrals: DataFrame, specs: list[FeatureSpec]
) -> DataFrame:
    """Earlier referrals of each linked person: counts per window, days since the latest."""
    from pyspark.sql import functions as F

    history = referrals.where(F.col("ref_day").isNotNull()).select(
        "person_id", F.col("ref_day").alias("_history_day")
    )
    delta = F.col("ref_day") - F.col("_history_day")
    earlier = linked.join(history, "person_id").withColumn("delta", delta).where(delta > 0)
    return earlier.groupBy(ROW).agg(*[_history_measure(spec) for spec in specs])


def _history_measure(spec: FeatureSpec) -> Column:
    from pyspark.sql import functions as F

    about = F.col("relation").isin(*relations_of(spec.relation))
    if spec.unit == "days":
        return F.min(F.when(about, F.col("delta"))).alias(spec.name)
    days = dict(WINDOWS)[spec.window or "ever"]
    within = about if days is None else about & (F.col("delta") < days)
    return F.count_if(within).alias(spec.name)


def _history(spec: FeatureSpec) -> Column:
    from pyspark.sql import functions as F

    own = F.col(spec.name)
    return own if spec.unit == "days" else F.coalesce(own, F.lit(0))


def _own_column(spec: FeatureSpec) -> Column:
    from pyspark.sql import functions as F

    return F.col(spec.name)


# How each kind of spec that is not scattered (`pipelines.spark.scatter`) reads: each is a
# column of that name, from an aggregate table of its own or from the referral itself.
COMPILERS: Final[dict[str, Callable[[FeatureSpec], Column]]] = {
    "attendance": _own_column,
    "previous_referrals": _history,
    "household": _own_column,
    "context": _own_column,
    "protected": _own_column,
}


def feature_column(spec: FeatureSpec) -> Column:
    """The Spark expression of one feature that is not scattered (float64; the table is
    float32 once assembled)."""
    return COMPILERS[spec.kind](spec).cast("double").alias(spec.name)
