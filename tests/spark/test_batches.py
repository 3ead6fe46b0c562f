"""Batches leave the executors in the form PySpark's Arrow conversion takes; tables and
files are written where the user named them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from pipelines.spark.batches import InOneChunk, one_chunk, write_parquet, write_text


def _chunked_text() -> pd.Series:
    chunks = pa.chunked_array([pa.array(["a", None], pa.large_string()),
                               pa.array(["c"], pa.large_string())])
    return pd.Series(pd.array(chunks, dtype=pd.StringDtype("pyarrow")))


def _as_spark_converts(frame: pd.DataFrame) -> pa.RecordBatch:
    # What PySpark does with each column of a mapInPandas batch.
    return pa.RecordBatch.from_arrays([pa.Array.from_pandas(frame[c]) for c in frame.columns],
                                      list(frame.columns))


def test_a_column_in_arrow_chunks_is_joined_into_one_array() -> None:
    frame = pd.DataFrame({"text": _chunked_text(), "n": [1, 2, 3]})
    joined = one_chunk(frame)
    batch = _as_spark_converts(joined)
    assert batch.column(0).to_pylist() == ["a", None, "c"]
    assert batch.column(1).to_pylist() == [1, 2, 3]
    assert joined["text"].dtype == frame["text"].dtype


def test_a_batch_function_yields_batches_in_one_chunk() -> None:
    def texts(batches):  # type: ignore[no-untyped-def]
        for batch in batches:
            yield batch.assign(text=_chunked_text())

    out = list(InOneChunk(texts)(iter([pd.DataFrame({"n": [1, 2, 3]})])))
    assert _as_spark_converts(out[0]).column(1).to_pylist() == ["a", None, "c"]


@pytest.fixture
def hadoop_in(spark: Any, tmp_path: Path) -> Iterator[Path]:
    """``tmp_path`` as the working folder of the local file system Spark uses (the JVM's
    own, not this process's: it resolves a relative path), set back afterwards."""
    jvm = spark.sparkContext._jvm
    local = jvm.org.apache.hadoop.fs.FileSystem.getLocal(
        spark.sparkContext._jsc.hadoopConfiguration())
    before = local.getWorkingDirectory()
    local.setWorkingDirectory(jvm.org.apache.hadoop.fs.Path(str(tmp_path)))
    yield tmp_path
    local.setWorkingDirectory(before)


@pytest.mark.parametrize("name", ["feat 09:00.parquet", "out/ré #1/s 09:30.parquet"])
def test_a_local_output_named_with_a_colon_is_written_as_named(
    spark: Any, hadoop_in: Path, name: str
) -> None:
    # Hadoop reads "feat 09" in "feat 09:00.parquet" as a URI scheme unless told otherwise.
    table = spark.createDataFrame([(1, "a"), (2, "b")], "n int, s string")
    write_parquet(table, name)
    write_parquet(table.limit(1), name)  # and written over, through the folder beside it
    manifest = name.replace(".parquet", ".json")
    write_text(spark, manifest, "{}")
    assert pd.read_parquet(hadoop_in / name).to_dict("list") == {"n": [1], "s": ["a"]}
    assert spark.read.parquet(str(hadoop_in / name)).count() == 1
    assert (hadoop_in / manifest).read_text() == "{}"
    assert sorted(p.name for p in (hadoop_in / name).parent.iterdir()) == sorted(
        [Path(name).name, Path(manifest).name])
