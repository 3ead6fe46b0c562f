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
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from data_contracts import validate_extract
from data_contracts.errors import FeedRejected
from data_contracts.validate import ValidatedExtract
from pipelines.manifest import manifest_json
from pipelines.spark.batches import copy_feed_files, is_uri, write_parquet, write_text
from pipelines.spark.errors import out_of_memory_refused
from pipelines.spark.features import spark_feature_table
from pipelines.spark.session import spark_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def validated(input_dir: Path, *, extract_date: dt.date | None = None) -> ValidatedExtract:
    """The extract validated: its accepted rows by feed, and what was quarantined.

    Raises:
        FeedRejected: If the extract fails validation (the single-machine path's error).
    """
    return validate_extract(input_dir, extract_date=extract_date, count_persons=False)


def session_and_extract(
    input_dir: str | Path, *, master: str | None, settings: Mapping[str, str] | None,
    extract_date: dt.date | None,
) -> tuple[SparkSession, ValidatedExtract]:
    """A Spark session and the extract, validated.

    A local folder is validated before any Spark work (a failing extract starts no
    session). An extract at a URI is first copied, feed files only, through Spark's own
    Hadoop file system to a temporary folder on the driver, and validated there by the
    same validator: the feeds must fit the driver either way.

    Raises:
        FeedRejected: If the extract fails validation, or the URI names no folder.
    """
    if isinstance(input_dir, Path) or not is_uri(input_dir):
        extract = validated(Path(input_dir), extract_date=extract_date)
        return spark_session(master, settings=settings), extract
    spark = spark_session(master, settings=settings)
    with tempfile.TemporaryDirectory(prefix="safeguard-extract-") as folder:
        copy_feed_files(spark, input_dir, Path(folder))
        try:
            return spark, validated(Path(folder), extract_date=extract_date)
        except FeedRejected as exc:  # named as the user named it, not the copy's folder
            raise FeedRejected(exc.source.replace(folder, input_dir.rstrip("/"), 1),
                               exc.problem.replace(folder, input_dir.rstrip("/"))) from None


def write_spark_features(
    input_dir: str | Path,
    output: str,
    *,
    master: str | None = None,
    settings: Mapping[str, str] | None = None,
    extract_date: dt.date | None = None,
    manifest: str | None = None,
) -> ValidatedExtract:
    """Validate an extract, build its feature table on Spark and write it as Parquet.

    Args:
        input_dir: The extract's folder: local, or any URI Spark reads (copied to the
            driver, where validation runs).
        output: Where Spark writes the table (any path Spark writes: local, HDFS, s3a://).
        manifest: Where to write the feature manifest (any such path), if anywhere.
        master: Spark master URL; None leaves it to the usual Spark settings.
        settings: Extra ``spark.*`` settings.
        extract_date: The extract date for the date rules (default: from the data).

    Returns:
        The extract as validated (its accepted referrals are the rows written).

    Raises:
        FeedRejected: If the extract fails validation; no Spark session is started.
        SparkOutOfMemory: If the job runs out of memory (the cause and the fix, one line).
    """
    spark, extract = session_and_extract(input_dir, master=master, settings=settings,
                                         extract_date=extract_date)
    with out_of_memory_refused(spark):
        write_parquet(spark_feature_table(spark, extract.feeds), output)
        if manifest is not None:
            write_text(spark, manifest, manifest_json())
    return extract
