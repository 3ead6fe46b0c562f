"""The Spark jobs' entry points: validate on the driver, then build on Spark.

Validation reuses `data_contracts.validate_extract` unchanged, before any Spark work:
the contract's rules have one home (a Spark port would be a second copy to keep in
step), the refusal is the same `FeedRejected` one-line error as the single-machine
path, and the quarantine (rows dropped, not the whole extract) is exactly the same,
which engine parity needs. The cost: validation runs on one machine, so the extract
must fit the driver's memory (as it does for the single-machine engine).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from data_contracts import validate_extract
from pipelines.manifest import manifest_json
from pipelines.spark.batches import write_parquet, write_text
from pipelines.spark.features import spark_feature_table
from pipelines.spark.session import spark_session


def validated_feeds(
    input_dir: Path, *, extract_date: dt.date | None = None
) -> dict[str, pd.DataFrame]:
    """The accepted rows of an extract, by feed.

    Raises:
        FeedRejected: If the extract fails validation (the single-machine path's error).
    """
    return validate_extract(input_dir, extract_date=extract_date).feeds


def write_spark_features(
    input_dir: Path,
    output: str,
    *,
    master: str | None = None,
    settings: Mapping[str, str] | None = None,
    extract_date: dt.date | None = None,
    manifest: str | None = None,
) -> int:
    """Validate an extract, build its feature table on Spark and write it as Parquet.

    Args:
        input_dir: The extract's folder (read on the driver, where validation runs).
        output: Where Spark writes the table (any path Spark writes: local, HDFS, s3a://).
        manifest: Where to write the feature manifest (any such path), if anywhere.
        master: Spark master URL; None leaves it to the usual Spark settings.
        settings: Extra ``spark.*`` settings.
        extract_date: The extract date for the date rules (default: from the data).

    Returns:
        The number of referrals written.

    Raises:
        FeedRejected: If the extract fails validation; no Spark session is started.
    """
    feeds = validated_feeds(input_dir, extract_date=extract_date)
    spark = spark_session(master, settings=settings)
    write_parquet(spark_feature_table(spark, feeds), output)
    if manifest is not None:
        write_text(spark, manifest, manifest_json())
    return len(feeds["referrals"])
