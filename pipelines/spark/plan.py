"""The manifest compiled to a Spark plan: a grouped join and conditional counts.

Referrals are linked to their subject and household members (the most adult role
winning), links are joined to the agency records known on or before the referral date,
and one grouped aggregation pivots (relation, agency, event type) into a count per
window and the days since the latest record. Every feature column is then an expression
generated from its `FeatureSpec` (`feature_column`): the definitions live once, in
`pipelines.manifest`, and this module only says how each kind of spec reads in Spark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from data_contracts.vocab import AGENCIES, EVENT_TYPES, HOUSEHOLD_ROLES
from pipelines.feature_spec import FeatureSpec
from pipelines.links import _ROLE_PRIORITY, _ROLE_RELATION
from pipelines.manifest import RELATIONS, WINDOWS
from pipelines.spark.frames import ROW

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SUBJECT: Final = RELATIONS[0]
KEY_SEP: Final = "__"
LATEST: Final = "latest"
# Every (relation, agency, event type) the records pivot into, counted types or not.
RECORD_KEYS: Final[tuple[str, ...]] = tuple(
    KEY_SEP.join((relation, agency, event_type))
    for relation in RELATIONS for agency in AGENCIES for event_type in EVENT_TYPES[agency]
)


def relations_of(relation: str) -> tuple[str, ...]:
    """The link relations a spec's relation covers (``household``: everyone but the subject)."""
    if relation == "household":
        return tuple(r for r in RELATIONS if r != SUBJECT)
    return (relation,)


def record_column(relation: str, agency: str, event_type: str, measure: str) -> str:
    """Name of a pivoted column: a window's count, or `LATEST` (days since the latest)."""
    return f"{KEY_SEP.join((relation, agency, event_type))}_{measure}"


def links(referrals: DataFrame, members: DataFrame) -> DataFrame:
    """One row per (referral, person): the subject, then each other household member."""
    from pyspark.sql import functions as F

    priority = F.create_map(*[F.lit(x) for role, code in zip(
        HOUSEHOLD_ROLES, _ROLE_PRIORITY, strict=False) for x in (role, int(code))])
    relation = F.create_map(*[F.lit(x) for role, code in zip(
        HOUSEHOLD_ROLES, _ROLE_RELATION, strict=False) for x in (role, RELATIONS[code])])
    subject = referrals.select(ROW, "person_id", F.lit(SUBJECT).alias("relation"), "ref_day")
    named = referrals.where(F.col("household_id").isNotNull()).select(
        ROW, F.col("person_id").alias("_subject"), "household_id", "ref_day")
    others = (
        named.join(members, "household_id")
        .where(F.col("person_id") != F.col("_subject"))
        .groupBy(ROW, "person_id", "ref_day")
        .agg(F.min(F.struct(
            F.coalesce(priority[F.col("role")], F.lit(int(_ROLE_PRIORITY[-1]))).alias("p"),
            F.coalesce(relation[F.col("role")], F.lit(RELATIONS[_ROLE_RELATION[-1]]))
            .alias("relation"))).alias("best"))
        .select(ROW, "person_id", F.col("best.relation").alias("relation"), "ref_day")
    )
    return subject.unionByName(others)


def known_records(linked: DataFrame, records: DataFrame) -> DataFrame:
    """Each link's records known on or before the referral date, ``delta`` days before it."""
    from pyspark.sql import functions as F

    delta = F.col("ref_day") - F.col("known_day")
    return linked.join(records, "person_id").withColumn("delta", delta).where(delta >= 0)


def record_aggregates(known: DataFrame) -> DataFrame:
    """Per referral, per (relation, agency, event type): a count per window, and `LATEST`."""
    from pyspark.sql import functions as F

    measures = [
        (F.count("delta") if days is None else F.count_if(F.col("delta") < days)).alias(name)
        for name, days in WINDOWS
    ] + [F.min("delta").alias(LATEST)]
    keyed = known.withColumn("_key", F.concat_ws(KEY_SEP, "relation", "agency", "event_type"))
    return keyed.groupBy(ROW).pivot("_key", list(RECORD_KEYS)).agg(*measures)


def _latest_value() -> Column:
    """The value of the latest record by event date (ties: most recently known, then an
    empty value, then the largest), as the single-machine engine picks it."""
    from pyspark.sql import functions as F

    order = F.struct(F.col("event_day"), (-F.col("delta")).alias("known"),
                     F.col("value").isNull().alias("empty"), F.col("value"))
    return F.max(order).getField("value")


def value_aggregates(known: DataFrame, specs: list[FeatureSpec]) -> DataFrame:
    """Latest values (attendance): the subject's, or the lowest of each relative's latest."""
    from pyspark.sql import functions as F

    result = known.select(ROW).distinct()
    for spec in specs:
        rows = known.where((F.col("agency") == spec.agency)
                           & (F.col("event_type") == spec.event_type)
                           & F.col("relation").isin(*relations_of(spec.relation)))
        if spec.relation == SUBJECT:
            table = rows.groupBy(ROW).agg(_latest_value().alias(spec.name))
        else:
            table = (rows.groupBy(ROW, "person_id").agg(_latest_value().alias("_latest"))
                     .groupBy(ROW).agg(F.min("_latest").alias(spec.name)))
        result = result.join(table, ROW, "left")
    return result


def history_aggregates(linked: DataFrame, referrals: DataFrame,
                       specs: list[FeatureSpec]) -> DataFrame:
    """Earlier referrals of each linked person: counts per window, days since the latest."""
    from pyspark.sql import functions as F

    history = referrals.where(F.col("ref_day").isNotNull()).select(
        "person_id", F.col("ref_day").alias("_history_day"))
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


def _count(spec: FeatureSpec) -> Column:
    from pyspark.sql import functions as F

    assert spec.event_type is not None and spec.window is not None
    name = record_column(spec.relation, spec.agency, spec.event_type, spec.window)
    return F.coalesce(F.col(name), F.lit(0))


def _latest_of(agency: str, relations: tuple[str, ...], types: tuple[str, ...]) -> Column:
    from pyspark.sql import functions as F

    columns = [F.col(record_column(r, agency, t, LATEST)) for r in relations for t in types]
    return columns[0] if len(columns) == 1 else F.least(*columns)


def _recency(spec: FeatureSpec) -> Column:
    types = (spec.event_type,) if spec.event_type else EVENT_TYPES[spec.agency]
    return _latest_of(spec.agency, relations_of(spec.relation), types)


def _coverage(spec: FeatureSpec) -> Column:
    from pyspark.sql import functions as F

    held = _latest_of(spec.agency, RELATIONS, EVENT_TYPES[spec.agency]).isNotNull()
    return F.when(held, 1.0).otherwise(0.0)


def _history(spec: FeatureSpec) -> Column:
    from pyspark.sql import functions as F

    own = F.col(spec.name)
    return own if spec.unit == "days" else F.coalesce(own, F.lit(0))


def _own_column(spec: FeatureSpec) -> Column:
    from pyspark.sql import functions as F

    return F.col(spec.name)


# How each kind of spec reads; kinds computed by an aggregate table of their own (or from
# the referral itself) are columns of that name.
COMPILERS: Final[dict[str, Callable[[FeatureSpec], Column]]] = {
    "count": _count, "recency": _recency, "coverage": _coverage, "attendance": _own_column,
    "previous_referrals": _history, "household": _own_column, "context": _own_column,
    "protected": _own_column,
}


def feature_column(spec: FeatureSpec) -> Column:
    """The Spark expression of one manifest feature, as float32 like the other engine."""
    return COMPILERS[spec.kind](spec).cast("float").alias(spec.name)
