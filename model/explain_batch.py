"""Batch explanations: many rows explained in chunks on threads, serialised as columns.

The rows go in chunks to threads; each chunk becomes the arrays of
`model.factors.ChunkExplanations` and then, per row, the JSON text ``json.dumps`` writes
of the `model.explanation` records the API returns (its pieces joined in Arrow), which
pandas gets as its ``str`` arrays in the same memory. Threads, not processes: the SHAP
walk, the sums and the choice of factors (numba) and Arrow's joins release the
interpreter lock, which only the rendering of new factor texts holds; worker processes
each had to import scikit-learn and the compiled explainer first (about 2.3 s, more than
they saved on 100,000 referrals in `safeguard score`) and hand the text back.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from model.contributions import AdditivityError
from model.explanation import AGENCY_GROUPS
from model.factor_text import JSON_CONTRIBUTION
from model.factors import ChunkExplanations

if TYPE_CHECKING:
    from model.explain import CaseExplainer

CHUNK_ROWS: Final = 2_500
# Below this many rows, one thread does it all: a second one has too little to share.
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
        gives a column of Python strings), kept in the Arrow memory the chunks wrote.

    Raises:
        AdditivityError: If some rows' contributions do not add up, naming them by
            position in `X`.
    """
    starts = range(0, len(X), CHUNK_ROWS)
    with _collector_paused():  # for the whole batch: the threads share one collector
        if n_jobs == 1 or len(X) < PARALLEL_MIN_ROWS:
            return _joined(starts, (explain_chunk(explainer, X[s:s + CHUNK_ROWS])
                                    for s in starts))
        with ThreadPoolExecutor(n_jobs, thread_name_prefix="explain") as pool:
            return _joined(starts, pool.map(
                lambda s: explain_chunk(explainer, X[s:s + CHUNK_ROWS]), starts))


def _joined(starts: range, parts: Iterable[tuple[dict[str, Any], list[int], float]]
            ) -> dict[str, Any]:
    """The chunks' columns joined (Arrow text kept as it is), or the additivity error."""
    pieces: dict[str, list[Any]] = {key: [] for key in COLUMNS}
    bad: list[int] = []
    worst = 0.0
    for start, (cols, rows, gap) in zip(starts, parts, strict=True):
        bad += [start + r for r in rows]
        worst = max(worst, gap)
        for key, values in cols.items():
            pieces[key].append(values)
    if bad:
        raise AdditivityError(bad, worst)
    return {key: np.concatenate([np.empty(0), *pieces[key]]) if key in NUMBERS else pd.array(
        pa.chunked_array(pieces[key], pa.string()), dtype=TEXT) for key in COLUMNS}


def explain_chunk(explainer: CaseExplainer, X: np.ndarray
                  ) -> tuple[dict[str, Any], list[int], float]:
    """Columns for one chunk (`serialise`), plus the rows failing the additivity check and
    the worst gap."""
    with _collector_paused():
        found = explainer.shap.of(explainer.layout.model_input(X))
        bad, gap = found.failures()
        if bad:
            return {}, bad, gap
        return serialise(explainer.builder().chunk(X, found)), bad, gap


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (as it was before, after).

    A chunk allocates a great many objects that form no cycles (lists, strings, the new
    texts), and each full collection walks every text the process keeps: on 10,000 rows,
    about a tenth of a chunk's time went to collections that freed nothing. Whatever a
    chunk leaves in cycles is collected once it is on again.

    A batch pauses it once for all its chunks (the threads explaining them share the
    collector; a chunk inside finds it paused and leaves it so).
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
    and the rows' texts are joined in Arrow: a few buffers, not a Python string per row)."""
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
