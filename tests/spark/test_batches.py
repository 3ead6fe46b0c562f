"""Batches leave the executors in the form PySpark's Arrow conversion takes."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from pipelines.spark.batches import InOneChunk, one_chunk


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
