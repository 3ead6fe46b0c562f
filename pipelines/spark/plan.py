"""The manifest compiled to a Spark plan: a grouped join and conditional counts.

Referrals are linked to their subject and household members (the most adult role
winning), links are joined to the agency records known on or before the referral date,
and one grouped aggregation pivoted by (relation, record type) gives every count, recency
and coverage feature (`pipelines.spark.cells`). Every other feature is an expression
generated from its `FeatureSpec` (`feature_column`): the definitions live once, in
`pipelines.manifest`; this module says how each kind reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from pipelines.feature_spec import FeatureSpec
from pipelines.manifest import WINDOWS
from pipelines.spark.cells import RECORD_TYPES, SCATTERED_KINDS, relations_of, scattered_column
from pipelines.spark.frames import ROW

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SUBJECT: Final = 0  # the relation code of the referral's subject (`RELATIONS`)


def links(referrals: DataFrame, members: DataFrame) -> DataFrame:
    """One row per (referral, person): the subject, then each other household member."""
    from pyspark.sql import functions as F

    subject = referrals.select(ROW, "_person", F.lit(SUBJECT).alias("relation"), "ref_day")
    named = referrals.where(F.col("_household").isNotNull()).select(
        ROW, F.col("_person").alias("_subject"), "_household", "ref_day"
    )
    others = (
        named.join(members, "_household")
        .where(F.col("_person") != F.col("_subject"))
        .groupBy(ROW, "_person", "ref_day")
        .agg(F.min(F.struct("priority", "relation")).alias("best"))
        .select(ROW, "_person", F.col("best.relation").alias("relation"), "ref_day")
    )
    return subject.unionByName(others)


def known_records(linked: DataFrame, records: DataFrame) -> DataFrame:
    """Each link's records known on or before the referral date, ``delta`` days before it."""
    from pyspark.sql import functions as F

    delta = F.col("ref_day") - F.col("known_day")
    return linked.join(records, "_person").withColumn("delta", delta).where(delta >= 0)


def _latest_value() -> Column:
    """The value of the latest record by event date (ties: most recently known, then an
    empty value, then the largest), as the single-machine engine picks it."""
    from pyspark.sql import functions as F

    order = F.struct(
        F.col("event_day"),
        (-F.col("delta")).alias("known"),
        F.col("value").isNull().alias("empty"),
        F.col("value"),
    )
    return F.max(order).getField("value")


def _type_code(spec: FeatureSpec) -> int:
    return RECORD_TYPES.index((spec.agency, str(spec.event_type)))


def value_aggregates(known: DataFrame, specs: list[FeatureSpec]) -> DataFrame:
    """Latest values (attendance): the lowest of each covered person's latest value (for
    the subject, that is the subject's latest)."""
    from pyspark.sql import functions as F

    types = sorted({_type_code(spec) for spec in specs})
    latest = (
        known.where(F.col("type").isin(*types))
        .groupBy(ROW, "_person", "relation", "type")
        .agg(_latest_value().alias("_latest"))
    )
    return latest.groupBy(ROW).agg(
        *[
            F.min(
                F.when(
                    F.col("relation").isin(*relations_of(spec.relation))
                    & (F.col("type") == _type_code(spec)),
                    F.col("_latest"),
                )
            ).alias(spec.name)
            for spec in specs
        ]
    )


def history_aggregates(linked: DataFrame, history: DataFrame, specs: list[FeatureSpec]
                       ) -> DataFrame:
    """Earlier referrals of each linked person: counts per window, days since the latest."""
    from pyspark.sql import functions as F

    delta = F.col("ref_day") - F.col("day")
    earlier = linked.join(history, "_person").withColumn("delta", delta).where(delta > 0)
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


# How each kind of spec reads: the record features from the pivoted cells, the others as
# a column of that name, from an aggregate table of its own or from the referral itself.
COMPILERS: Final[dict[str, Callable[[FeatureSpec], Column]]] = {
    **{kind: scattered_column for kind in SCATTERED_KINDS},
    "attendance": _own_column,
    "previous_referrals": _history,
    "household": _own_column,
    "context": _own_column,
    "protected": _own_column,
}


def feature_column(spec: FeatureSpec) -> Column:
    """The Spark expression of one feature, float32 as in the single-machine table."""
    return COMPILERS[spec.kind](spec).cast("float").alias(spec.name)
