"""The Spark session: `local[*]` by default, any cluster through the usual Spark settings."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from data_contracts import PYSPARK_PANDAS_WARNING
from pipelines.spark.errors import session_refused
from pipelines.spark.memory import driver_memory_default

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Settings every session gets unless the caller says otherwise (`--conf`): Arrow moves
# frames between pandas and the JVM, dates are days in UTC. Set in code, they take
# precedence over spark-defaults.conf, which sets everything else. In local mode the
# driver's memory is a share of this machine's unless anything else sets it
# (`pipelines.spark.memory.driver_memory_default`).
DEFAULT_SETTINGS: Final[dict[str, str]] = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.adaptive.enabled": "true",
}
# Small settings for tests and for one shared machine: two cores, no web UI.
LOCAL_TEST_SETTINGS: Final[dict[str, str]] = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "4",
}


def quiet_pandas_warning() -> None:
    """Silence PySpark's blanket pandas 3 warning (the paths used here are tested)."""
    # The paths used (Arrow conversion both ways, mapInPandas) are tested with pandas 3.1.
    warnings.filterwarnings("ignore", message=PYSPARK_PANDAS_WARNING, category=FutureWarning)


def spark_session(
    master: str | None = None,
    *,
    settings: Mapping[str, str] | None = None,
    app_name: str = "safeguard",
) -> SparkSession:
    """Get or create the Spark session.

    Args:
        master: A Spark master URL (``local[2]``, ``spark://...``, ``yarn``); None leaves it
            to ``spark-submit``, ``spark-defaults.conf`` and ``SPARK_*`` variables, whose
            own default is ``local[*]``.
        settings: Extra ``spark.*`` settings, over `DEFAULT_SETTINGS`.
        app_name: The application's name in the cluster's listings.

    Raises:
        SessionRefused: If Spark refuses a setting (``spark.sql.shuffle.partitions=0``) or
            the session does not start: Spark's reason in one line.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    quiet_pandas_warning()
    if (master or "local").startswith("local"):
        # Local workers run this interpreter (it has the project and its pinned libraries).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    # Spark's console progress bar redraws with carriage returns: noise in a log file.
    quiet = {} if sys.stderr.isatty() else {"spark.ui.showConsoleProgress": "false"}
    # The JVM's heap is fixed as it is launched: by this process's first session only.
    launching = SparkContext._gateway is None
    memory = driver_memory_default(master, settings or {}) if launching else {}
    for key, value in {**memory, **DEFAULT_SETTINGS, **quiet, **(settings or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
        # SQL settings are checked when first read, else at the job's first step.
        session.conf.get("spark.sql.session.timeZone")
    except Exception as exc:
        refused = session_refused(exc, settings or {})
        if refused is None:
            raise
        raise refused from None
    session.sparkContext.setLogLevel("ERROR")
    return session


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """``key=value`` pairs (as given to ``--conf``) as a dict.

    Raises:
        ValueError: If a pair has no ``=``.
    """
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{pair!r}: give a Spark setting as key=value")
        settings[key.strip()] = value.strip()
    return settings
