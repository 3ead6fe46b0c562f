"""Running project code on the executors: pandas batches in, pandas batches out.

Layers above `pipelines` (the model's batch scoring) hand a plain function here and
never import pyspark themselves. Spark reuses its Python workers between tasks
(``spark.python.worker.reuse``, on by default), so state a function caches at module
level (a loaded model) is built once per worker, not once per batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from data_contracts.errors import FeedRejected
from data_contracts.feed_files import feed_named, not_a_folder
from pipelines.spark.errors import jvm_error_line

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

BatchFunction = Callable[[Iterable[pd.DataFrame]], Iterator[pd.DataFrame]]


def map_batches(table: DataFrame, function: BatchFunction, schema: str) -> DataFrame:
    """``table`` through ``function`` on the executors (`mapInPandas`), rows in order.

    Args:
        table: The input rows.
        function: Takes an iterator of pandas batches and yields output batches; it must
            be picklable (a module-level function or an instance of a module-level class).
        schema: The output's columns as a Spark DDL string (``"a string, b double"``).
    """
    return table.mapInPandas(InOneChunk(function), schema)


def one_chunk(batch: pd.DataFrame) -> pd.DataFrame:
    """``batch`` with each Arrow-backed column held in one Arrow array.

    PySpark hands each column of a batch to ``pyarrow.RecordBatch.from_arrays``, which
    takes arrays, not the chunked arrays such a column can hold (the explanation texts of
    a batch are joined from chunks of 2,500 rows): "Cannot convert ChunkedArray to Array".
    """
    joined: dict[str, pd.api.extensions.ExtensionArray] = {}
    for name in batch.columns:
        values = batch[name].array
        if isinstance(values, pd.arrays.ArrowExtensionArray):
            arrow = pa.array(values)
            if isinstance(arrow, pa.ChunkedArray) and arrow.num_chunks > 1:
                joined[name] = pd.array(arrow.combine_chunks(), dtype=values.dtype)
    return batch.assign(**joined) if joined else batch


@dataclass(frozen=True)
class InOneChunk:
    """A `BatchFunction` whose batches come out through `one_chunk` (picklable)."""

    function: BatchFunction

    def __call__(self, batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in self.function(batches):
            yield one_chunk(batch)


def write_parquet(table: DataFrame, output: str) -> None:
    """Write ``table`` as Parquet (a folder of parts) to any path Spark writes.

    The parts are written to a folder beside ``output`` and take its place only once all
    are written: a run that fails (a worker's error, a lost executor) leaves the previous
    output as it was, where Spark's own overwrite would have deleted it first.
    """
    spark = table.sparkSession
    named, system = _hadoop_path(spark, output)
    target = system.makeQualified(named)  # a relative path has no parent to write beside
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    # Named beside it as a string: Hadoop's Path(parent, child) parses the child alone,
    # and would read a colon in the name ("feat 09:00.parquet") as a URI scheme.
    partial = jvm.org.apache.hadoop.fs.Path(
        f"{str(target.getParent().toString()).rstrip('/')}/"
        f".{target.getName()}.partial-{uuid.uuid4().hex}"
    )
    try:
        table.write.parquet(str(partial.toString()))
        if system.exists(target):
            system.delete(target, True)
        if not system.rename(partial, target):
            raise OSError(f"{output}: cannot move the written parts into place")
    finally:
        if system.exists(partial):
            system.delete(partial, True)


def is_uri(path: str) -> bool:
    """Whether a path names a file system by scheme (hdfs://, s3a://, file://)."""
    return "://" in path


def _hadoop_path(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """A path as the JVM's Hadoop ``Path``, and the file system Spark uses for it.

    A relative path without a scheme is given a leading ``./``: Hadoop reads the text
    before a colon in its first part as a URI scheme ("feat 09:00.parquet" would be
    scheme "feat 09"), and with ``./`` the colon is part of a name, as on the local disk.
    """
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    if not is_uri(path) and not path.startswith("/"):
        path = f"./{path}"
    target = jvm.org.apache.hadoop.fs.Path(path)
    return target, target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small UTF-8 file to any path Spark writes (local, HDFS, s3a://, ...), through
    the Hadoop file system Spark itself uses for that path."""
    from py4j.java_gateway import is_instance_of

    target, system = _hadoop_path(spark, path)
    checksummed = "org.apache.hadoop.fs.ChecksumFileSystem"
    if is_instance_of(spark.sparkContext._gateway, system, checksummed):
        # The local disk's: written without its .crc file beside it, whose name Hadoop
        # would parse again (reading a colon in it as a URI scheme).
        system = system.getRawFileSystem()
    system.setWriteChecksum(False)  # nor one on a local disk mounted under another scheme
    stream = system.create(target, True)
    try:
        stream.write(text.encode("utf-8"))
    finally:
        stream.close()


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


def copy_feed_files(spark: SparkSession, folder: str, local: Path) -> None:
    """Copy an extract's feed files (not its other files) from any folder Spark reads
    into a local folder, through the Hadoop file system Spark uses for that path.

    Raises:
        FeedRejected: If the path names no folder.
    """
    try:
        source, system = _hadoop_path(spark, folder)
        if not system.exists(source) or not system.getFileStatus(source).isDirectory():
            raise FeedRejected(folder, not_a_folder(exists=bool(system.exists(source))))
        for status in system.listStatus(source):
            name = str(status.getPath().getName())
            if feed_named(name) and status.isDirectory():
                # A folder named as a feed (a Spark export's parts) is refused by the
                # validation of the copy, as on one machine: not copied, it was taken
                # for an agency that shared nothing.
                (local / name).mkdir()
            elif status.isFile() and feed_named(name):
                target, _ = _hadoop_path(spark, str(local / name))
                system.copyToLocalFile(False, status.getPath(), target, True)
    except FeedRejected:
        raise
    except Exception as exc:
        reason = jvm_error_line(exc)
        if reason is None:
            raise
        raise FeedRejected(folder, f"cannot be read ({reason})") from None
