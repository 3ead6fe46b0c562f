"""`safeguard features --engine spark`: the feature table built by Spark.

The extract is validated by the same validator as the single-machine path (so it is
refused with the same one-line error), the accepted rows are handed to Spark
(`pipelines.spark.frames`), and the plan compiled from the manifest
(`pipelines.spark.plan`) builds one row per referral: audit columns, then every
manifest feature in manifest order, float32, in the referrals feed's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from data_contracts.vocab import ETHNICITY_GROUPS, PRESENTING_NEEDS, REFERRAL_SOURCES, SEXES
from pipelines.feature_spec import (
    ADULT_AT_RISK,
    ethnicity_feature_name,
    household_count_feature_name,
    need_feature_name,
    sex_feature_name,
    source_feature_name,
)
from pipelines.features import AUDIT_COLUMNS
from pipelines.manifest import FEATURE_NAMES, MANIFEST, SPECS_BY_NAME
from pipelines.phrases import HOUSEHOLD_PEOPLE
from pipelines.spark.assemble import CELL_COLUMNS, COLUMN_FEATURES, assemble_batches
from pipelines.spark.frames import ROW, to_spark
from pipelines.spark.plan import (
    cell_aggregates,
    feature_column,
    history_aggregates,
    known_records,
    links,
    value_aggregates,
)

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import StructType


# A referral's household is listed in household_members (null: not named, or not listed).
LISTED = "_household_listed"


def _flags(column: str, values: tuple[str, ...], name: object) -> dict[str, Column]:
    from pyspark.sql import functions as F

    assert callable(name)
    return {name(value): F.when(F.col(column) == value, 1.0).otherwise(0.0) for value in values}


def referral_columns() -> dict[str, Column]:
    """The features that are details of the referral itself, by feature name."""
    from pyspark.sql import functions as F

    return {
        # as `pipelines.features.household_listed`: named, and listed in household_members
        "household_known": F.col(LISTED).isNotNull().cast("double"),
        "age_years": F.col("age_years").cast("double"),
        ADULT_AT_RISK: (F.col("subject_type") == "adult_at_risk").cast("double"),
        **_flags("presenting_need", PRESENTING_NEEDS, need_feature_name),
        **_flags("referral_source", REFERRAL_SOURCES, source_feature_name),
        **_flags("sex", SEXES, sex_feature_name),
        **_flags("ethnicity_group", ETHNICITY_GROUPS, ethnicity_feature_name),
        "disability_recorded": F.coalesce(F.col("disability"), F.lit(False)).cast("double"),
        "imd_decile_value": F.col("imd_decile").cast("double"),
    }


def _household_counts(linked: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return linked.groupBy(ROW).agg(
        *[
            F.count_if(F.col("relation") == relation).alias(household_count_feature_name(relation))
            for relation in HOUSEHOLD_PEOPLE
        ]
    )


def _specs(*kinds: str) -> list:
    return [spec for spec in MANIFEST if spec.kind in kinds]


def _output_schema(table: DataFrame) -> StructType:
    from pyspark.sql.types import FloatType, StructField, StructType

    audit = [table.schema[name] for name in AUDIT_COLUMNS]
    return StructType(audit + [StructField(name, FloatType()) for name in FEATURE_NAMES])


def spark_feature_table(spark: SparkSession, feeds: Mapping[str, pd.DataFrame]) -> DataFrame:
    """The feature table of validated feeds, as a Spark DataFrame ordered by referral.

    Args:
        spark: The session to run on.
        feeds: Validated feeds by feed name (`data_contracts.validate_extract`).

    Returns:
        `pipelines.features.AUDIT_COLUMNS` then every manifest feature, in order, float32.
    """
    from pyspark.sql import functions as F

    frames = to_spark(spark, feeds)
    linked = links(frames.referrals, frames.members).cache()
    # Not kept: the cell aggregation combines rows before its shuffle, and the attendance
    # aggregations' filter is pushed below the join (they read attendance records only).
    known = known_records(linked, frames.records)
    # Dates leave as wall-clock timestamps (no time zone), as the single-machine table has.
    audit = [
        F.col(name).cast("timestamp_ntz").alias(name) if name == "referral_date" else F.col(name)
        for name in AUDIT_COLUMNS
    ]
    details = [expr.alias(name) for name, expr in referral_columns().items()]
    listed = frames.members.select("household_id").distinct().withColumn(LISTED, F.lit(1.0))
    table = frames.referrals.join(listed, "household_id", "left").select(ROW, *audit, *details)
    for part in (
        cell_aggregates(known),
        value_aggregates(known, frames.referrals, _specs("attendance")),
        history_aggregates(linked, frames.referrals, _specs("previous_referrals")),
        _household_counts(linked),
    ):
        table = table.join(part, ROW, "left")
    columns = [feature_column(SPECS_BY_NAME[name]) for name in COLUMN_FEATURES]
    # Kept, so that the sort's sampling pass and the sort itself do not both recompute it.
    ready = table.cache().orderBy(ROW).select(*AUDIT_COLUMNS, *columns, *CELL_COLUMNS)
    return ready.mapInPandas(assemble_batches, _output_schema(ready))


def collect_feature_table(table: DataFrame) -> pd.DataFrame:
    """A Spark feature table as pandas, with the single-machine engine's column dtypes."""
    frame = table.toPandas()
    frame["referral_date"] = pd.to_datetime(frame["referral_date"])
    frame["imd_decile"] = frame["imd_decile"].astype("Int64")
    frame["disability"] = frame["disability"].astype(bool)
    return frame
