"""Batch explanations: many rows explained in worker processes, serialised as columns.

The rows go in chunks to loky worker processes; each chunk becomes the arrays of
`model.factors.ChunkExplanations` and then, per row, the JSON text ``json.dumps`` writes
of the `model.explanation` records the API returns (its pieces joined in Arrow). Workers
hand the text back in Arrow files in shared memory, which the parent maps rather than
unpickles, and pandas gets it as its ``str`` arrays in that same memory. The first
parallel call in a process starts the workers, which import scikit-learn and load the
compiled explainer: a few seconds, once.
"""

from __future__ import annotations

import gc
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from joblib import Parallel, delayed

from model.contributions import AdditivityError
from model.explanation import AGENCY_GROUPS
from model.factor_text import JSON_CONTRIBUTION
from model.factors import ChunkExplanations

if TYPE_CHECKING:
    from model.explain import CaseExplainer

CHUNK_ROWS: Final = 10_000
# Below this many rows, starting worker processes costs more than it saves.
PARALLEL_MIN_ROWS: Final = 4_000
COLUMNS: Final = ("raw_score", "base_value", "compared_with", "top_factors",
                  "contributions_by_agency", "agencies_not_seen", "warnings")
NUMBERS: Final = ("raw_score", "base_value")  # the others are text
# pandas' dtype for a column of Python strings: the text columns come as it, in Arrow.
TEXT: Final = pd.StringDtype("pyarrow", na_value=np.nan)


def explain_columns(explainer: CaseExplainer, X: np.ndarray, *, n_jobs: int = 2
                    ) -> dict[str, Any]:
    """Explanations of the rows of `X` (the explainer's columns) as columns.

    Returns:
        ``raw_score`` and ``base_value`` (float64 arrays); ``compared_with`` (the
        reference, in a sentence); ``top_factors`` (JSON list of factor objects),
        ``contributions_by_agency`` (JSON object), ``agencies_not_seen`` and ``warnings``
        (JSON lists): one string per row, as pandas' ``str`` arrays (the dtype pandas
        gives a column of Python strings), kept in the Arrow memory the workers wrote.

    Raises:
        AdditivityError: If some rows' contributions do not add up, naming them by
            position in `X`.
    """
    starts = range(0, len(X), CHUNK_ROWS)
    if n_jobs == 1 or len(X) < PARALLEL_MIN_ROWS:
        return _joined(starts, (explain_chunk(explainer, X[s:s + CHUNK_ROWS]) for s in starts))
    with _folder_for(len(X)) as folder:  # each chunk is read back as it comes
        return _joined(starts, Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
            delayed(explain_chunk)(explainer, X[s:s + CHUNK_ROWS], Path(folder))
            for s in starts))


def _joined(starts: range, parts: Iterable[tuple[dict[str, Any], list[int], float]]
            ) -> dict[str, Any]:
    """The chunks' columns joined (Arrow text kept as it is), or the additivity error."""
    pieces: dict[str, list[Any]] = {key: [] for key in COLUMNS}
    bad: list[int] = []
    worst = 0.0
    for start, (cols, rows, gap) in zip(starts, parts, strict=True):
        bad += [start + r for r in rows]
        worst = max(worst, gap)
        for key, values in _read_back(cols).items():
            pieces[key].append(values)
    if bad:
        raise AdditivityError(bad, worst)
    return {key: np.concatenate([np.empty(0), *pieces[key]]) if key in NUMBERS else pd.array(
        pa.chunked_array(pieces[key], pa.string()), dtype=TEXT) for key in COLUMNS}


def explain_chunk(explainer: CaseExplainer, X: np.ndarray, folder: Path | None = None
                  ) -> tuple[dict[str, Any], list[int], float]:
    """Columns for one chunk (`serialise`), plus the rows failing the additivity check and
    the worst gap. With a `folder` (in a worker process), the text columns are written
    there as an Arrow file and their place holds its path (`_read_back` reads it)."""
    if folder is not None:
        gc.freeze()  # a worker's: see `_collector_paused`
    with _collector_paused():
        found = explainer.shap.of(explainer.layout.model_input(X))
        bad, gap = found.failures()
        if bad:
            return {}, bad, gap
        columns = serialise(explainer.builder().chunk(X, found))
        return (columns if folder is None else _written(columns, folder)), bad, gap


# About the bytes of text a row's explanation takes (3.3 kB measured), with room to spare.
_TEXT_BYTES_PER_ROW: Final = 5_000
_TEXT_FILE: Final = "text"  # the key of the written file's path among a chunk's columns


def _folder_for(rows: int) -> tempfile.TemporaryDirectory[str]:
    """Where workers hand back a batch's text: shared memory when it has room for it.

    A chunk's text (about 33 MB per 10,000 rows) pickled through the worker's pipe cost
    the parent process about 0.4 CPU seconds per 100,000 rows (and the workers 0.2),
    taken from the two cores the workers use; written to a file in shared memory, it is
    one copy in the worker and none in the parent, which maps the file.
    """
    shm = Path("/dev/shm")
    room = shm.is_dir() and shutil.disk_usage(shm).free > 2 * rows * _TEXT_BYTES_PER_ROW
    return tempfile.TemporaryDirectory(prefix="safeguard-explain-",
                                       dir=shm if room else None)


def _written(columns: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The text columns written to a new Arrow file in `folder`, replaced by its path."""
    text = {key: values for key, values in columns.items() if isinstance(values, pa.Array)}
    batch = pa.RecordBatch.from_pydict(text)
    path = folder / f"{uuid.uuid4().hex}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return {**{k: v for k, v in columns.items() if k not in text}, _TEXT_FILE: path}


def _read_back(columns: dict[str, Any]) -> dict[str, Any]:
    """A chunk's columns with its written text (if any) mapped back from its file."""
    if _TEXT_FILE not in columns:
        return columns
    columns = dict(columns)
    batch = pa.ipc.open_file(pa.memory_map(str(columns.pop(_TEXT_FILE)))).get_batch(0)
    return {**columns, **dict(zip(batch.schema.names, batch.columns, strict=True))}


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (as it was before, after).

    A chunk allocates a great many objects that form no cycles (lists, strings, the new
    texts), and each full collection walks every text the process keeps: on 10,000 rows,
    about a tenth of a chunk's time went to collections that freed nothing. Whatever a
    chunk leaves in cycles is collected once it is on again.

    A worker process also freezes what it holds before each chunk (``gc.freeze``: its
    imported libraries and kept texts, which stay until it ends), so the collection
    that follows a chunk does not walk them all again: such a collection took about
    0.15 s, twice in each worker's five chunks of 100,000 rows, against 0.3 s chunks.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


# contributions_by_agency as JSON: the agencies' names spelt once before each sum.
_BY_AGENCY: Final = tuple(("{" if k == 0 else ", ") + f"{json.dumps(g)}: "
                          for k, g in enumerate(AGENCY_GROUPS))
# Where Arrow's shortest spelling of a float is Python's (``repr``, JSON's), digit for digit:
# fixed-point numbers that are not whole, of magnitude in [1e-4, 1e10).
_ARROW_LOW: Final = 1e-4
_ARROW_HIGH: Final = 1e10


def json_floats(values: np.ndarray) -> pa.StringArray:
    """Each finite value as ``repr`` (and so ``json.dumps``) writes it, as Arrow strings.

    Arrow's cast to string writes the same shortest round-trip digits as ``repr``, but
    its own notation outside fixed-point numbers of magnitude in [1e-4, 1e10) that are not
    whole (``1`` for ``1.0``, ``1e-7`` for ``1e-07``, ``0.00001`` for ``1e-05``): those
    values are spelt by ``repr``, each distinct one (to the bit: 0.0 is not -0.0) once.
    """
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    size = np.abs(flat)
    own = ~((size >= _ARROW_LOW) & (size < _ARROW_HIGH) & (flat != np.trunc(flat)))
    text = pc.cast(pa.array(flat), pa.string())
    if not own.any():
        return text
    distinct, which = np.unique(flat[own].view(np.uint64), return_inverse=True)
    spelt = pa.array(list(map(repr, distinct.view(np.float64).tolist())), pa.string())
    return pc.replace_with_mask(text, pa.array(own), spelt.take(pa.array(which.ravel())))


def top_factors(chunk: ChunkExplanations) -> pa.StringArray:
    """Each row's factors as a JSON list, ``json.dumps`` of `FactorRecord.to_dict`s."""
    which, texts = pa.array(chunk.which), chunk.texts

    def of_texts(values: list[Any], kind: pa.DataType | None = None) -> pa.Array:
        return pa.array(values, kind or pa.string()).take(which)

    # The days left open (none: the empty entry at the end) fill each factor's sentence,
    # and its value when the factor reports them.
    days = pa.array(np.where(chunk.days_which < 0, len(chunk.days), chunk.days_which))
    words = pc.if_else(of_texts([t.days_words for t in texts], pa.bool_()),
                       pa.array([d.words for d in chunk.days] + [""], pa.string()).take(days), "")
    values = pc.if_else(of_texts([t.days_value for t in texts], pa.bool_()),
                        pa.array([d.json_value for d in chunk.days] + [""], pa.string()).take(days),
                        of_texts([t.json_value for t in texts]))
    each = pc.binary_join_element_wise(
        of_texts([t.json_head for t in texts]), values, JSON_CONTRIBUTION,
        json_floats(chunk.contributions), of_texts([t.json_tail for t in texts]), words,
        of_texts([t.json_end for t in texts]), "")
    rows = pa.ListArray.from_arrays(pa.array(chunk.starts, pa.int32()), each)
    return pc.binary_join_element_wise("[", pc.binary_join(rows, ", "), "]", "")


def by_agency(chunk: ChunkExplanations) -> pa.StringArray:
    """Each row's sums by agency as a JSON object, ``json.dumps`` of the dict."""
    sums = json_floats(chunk.by_agency)  # rows x AGENCY_GROUPS, row by row
    k = len(AGENCY_GROUPS)
    pieces: list[Any] = []
    for j, name in enumerate(_BY_AGENCY):
        pieces += [name, sums.take(pa.array(np.arange(j, len(sums), k)))]
    return pc.binary_join_element_wise(*pieces, "}", "")


def serialise(chunk: ChunkExplanations) -> dict[str, Any]:
    """A chunk's explanations as columns: numbers as NumPy arrays, text as Arrow strings
    (the reference's sentence, and JSON text per row), the same JSON as ``json.dumps``
    of the `model.explanation` records (texts shared by equal values are encoded once,
    and the rows' texts are joined in Arrow, which crosses between processes as a few
    buffers rather than a Python string per row)."""
    n, context = len(chunk.raw), chunk.context
    return {
        "raw_score": chunk.raw,
        "base_value": np.full(n, chunk.base),
        "compared_with": pa.array([chunk.compared_with], pa.string()).take(np.zeros(n, int)),
        "top_factors": top_factors(chunk),
        "contributions_by_agency": by_agency(chunk),
        "agencies_not_seen": _per_row(context.not_seen, context.index),
        "warnings": _per_row(context.warnings, context.index),
    }


def _per_row(lists: list[tuple[str, ...]], index: np.ndarray) -> pa.StringArray:
    """Each row's list as JSON text: each distinct context's list encoded once."""
    return pa.array([json.dumps(list(v)) for v in lists], pa.string()).take(index)
