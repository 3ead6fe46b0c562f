"""Numpy arrays and Python strings as Arrow arrays, built from buffers.

``pa.array``, ``pa.scalar`` and compute functions given Python values import pandas
(pyarrow checks every such input for pandas types), which costs seconds of
``safeguard synth``'s start-up although generating and writing Parquet never needs it
(``data_contracts.csv_output.write_csv`` still imports it for the CSV files). These
helpers hand Arrow the buffers directly instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _bits(flags: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(flags, bitorder="little"))


def arrow(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """A numeric or boolean numpy array as an Arrow array, null where ``missing``."""
    values = np.ascontiguousarray(values)
    validity = None if missing is None else _bits(~missing)
    if values.dtype == np.bool_:
        return pa.Array.from_buffers(pa.bool_(), values.size, [validity, _bits(values)])
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, values.size, [validity, pa.py_buffer(values)])


def token_strings(tokens: np.ndarray) -> pa.Array:
    """Arrow strings of fixed-width ASCII byte strings (numpy ``S<width>``)."""
    offsets = np.arange(tokens.size + 1, dtype=np.int32) * tokens.dtype.itemsize
    data = pa.py_buffer(np.ascontiguousarray(tokens).view(np.uint8))
    return pa.Array.from_buffers(pa.string(), tokens.size, [None, pa.py_buffer(offsets), data])


def strings(texts: Sequence[str]) -> pa.Array:
    """Arrow strings of Python strings."""
    encoded = [text.encode() for text in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])


def text(value: str) -> pa.Scalar:
    """An Arrow string scalar (for compute functions' constant arguments)."""
    return strings([value])[0]



def true_positions(mask: pa.ChunkedArray) -> np.ndarray:
    """Positions (int64) where a boolean Arrow column is true."""
    positions = pc.indices_nonzero(mask.combine_chunks())  # uint64, no nulls
    buffer = np.frombuffer(positions.buffers()[1], dtype=np.uint64)
    return buffer[positions.offset:positions.offset + len(positions)].astype(np.int64)
