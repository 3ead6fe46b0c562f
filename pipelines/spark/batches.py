"""Running project code on the executors: pandas batches in, pandas batches out.

Layers above `pipelines` (the model's batch scoring) hand a plain function here and
never import pyspark themselves. Spark reuses its Python workers between tasks
(``spark.python.worker.reuse``, on by default), so state a function caches at module
level (a loaded model) is built once per worker, not once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

BatchFunction = Callable[[Iterable[pd.DataFrame]], Iterator[pd.DataFrame]]


def map_batches(table: DataFrame, function: BatchFunction, schema: str) -> DataFrame:
    """``table`` through ``function`` on the executors (`mapInPandas`), rows in order.

    Args:
        table: The input rows.
        function: Takes an iterator of pandas batches and yields output batches; it must
            be picklable (a module-level function or an instance of a module-level class).
        schema: The output's columns as a Spark DDL string (``"a string, b double"``).
    """
    return table.mapInPandas(function, schema)


def write_parquet(table: DataFrame, output: str) -> None:
    """Write ``table`` as Parquet (a folder of parts) to any path Spark writes."""
    table.write.mode("overwrite").parquet(output)


def worker_error(exc: BaseException, error_name: str) -> str | None:
    """The message of an error raised on an executor, from the Spark error wrapping it.

    Args:
        exc: What the Spark action raised (a ``PythonException`` carrying the worker's
            traceback as text).
        error_name: The worker-side exception's class name, e.g. ``RegistryError``.

    Returns:
        The worker error's message, or None when ``exc`` does not carry that error.
    """
    for line in reversed(str(exc).splitlines()):
        head, sep, message = line.partition(f"{error_name}: ")
        if sep and (not head or head.endswith(".")):
            return message.strip()
    return None
