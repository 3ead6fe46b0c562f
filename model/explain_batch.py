"""Batch explanations: many rows explained in worker processes, serialised as columns.

The rows go in chunks to loky worker processes (SHAP's C extension holds the GIL, so
threads would not run in parallel); each chunk becomes `model.explanation` records, the
same the API returns, and each record is serialised with `json.dumps`. The first
parallel call in a process starts the workers, which import shap: a few seconds, once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from joblib import Parallel, delayed

from model.contributions import AdditivityError
from model.explanation import AGENCY_GROUPS
from model.factors import ChunkExplanations

if TYPE_CHECKING:
    from model.explain import CaseExplainer

CHUNK_ROWS: Final = 10_000
# Below this many rows, starting worker processes costs more than it saves.
PARALLEL_MIN_ROWS: Final = 4_000
COLUMNS: Final = ("raw_score", "base_value", "compared_with", "top_factors",
                  "contributions_by_agency", "agencies_not_seen", "warnings")


def explain_columns(explainer: CaseExplainer, X: np.ndarray, *, n_jobs: int = 2
                    ) -> dict[str, list[Any]]:
    """Explanations of the rows of `X` (the explainer's columns) as columns.

    Returns:
        ``raw_score`` and ``base_value`` (floats); ``compared_with`` (the reference, in a
        sentence); ``top_factors`` (JSON list of factor
        objects), ``contributions_by_agency`` (JSON object), ``agencies_not_seen`` and
        ``warnings`` (JSON lists), one string per row.

    Raises:
        AdditivityError: If some rows' contributions do not add up, naming them by
            position in `X`.
    """
    starts = range(0, len(X), CHUNK_ROWS)
    if n_jobs == 1 or len(X) < PARALLEL_MIN_ROWS:
        parts = [explain_chunk(explainer, X[s:s + CHUNK_ROWS]) for s in starts]
    else:
        parts = Parallel(n_jobs=n_jobs, backend="loky")(
            delayed(explain_chunk)(explainer, X[s:s + CHUNK_ROWS]) for s in starts)
    bad = [s + r for s, (_cols, rows, _gap) in zip(starts, parts, strict=True) for r in rows]
    if bad:
        raise AdditivityError(bad, max(gap for _c, _r, gap in parts))
    return {key: [v for cols, _r, _g in parts for v in cols[key]] for key in COLUMNS}


def explain_chunk(explainer: CaseExplainer, X: np.ndarray
                  ) -> tuple[dict[str, list[Any]], list[int], float]:
    """Columns for one chunk, plus the rows failing the additivity check and the worst gap."""
    found = explainer.shap.of(explainer.layout.model_input(X))
    bad, gap = found.failures()
    if bad:
        return {key: [] for key in COLUMNS}, bad, gap
    return serialise(explainer.builder().chunk(X, found)), bad, gap


# Each row's JSON text ends with this, in one text of the whole chunk split into rows; JSON
# as ``json.dumps`` writes it never holds a control character.
_END: Final = "\x00"
# contributions_by_agency as JSON: the agencies' names spelt once before each sum.
_BY_AGENCY: Final = np.array(
    [("{" if k == 0 else ", ") + f"{json.dumps(g)}: " for k, g in enumerate(AGENCY_GROUPS)],
    dtype=object)


def _rows(pieces: np.ndarray) -> list[str]:
    """The texts of the rows whose pieces, in order, each row ending with `_END`, are given."""
    return "".join(pieces.ravel().tolist()).split(_END)[:-1]


def _floats(values: np.ndarray) -> np.ndarray:
    """Each value as ``repr`` writes it (JSON's spelling of a finite float); equal values
    (to the bit: 0.0 is not -0.0) are spelt once."""
    bits = np.ascontiguousarray(values, dtype=np.float64).ravel().view(np.uint64)
    distinct, which = np.unique(bits, return_inverse=True)
    spelt = list(map(repr, distinct.view(np.float64).tolist()))
    return np.array(spelt, dtype=object)[which.reshape(-1)]


def top_factors(chunk: ChunkExplanations) -> list[str]:
    """Each row's factors as a JSON list, ``json.dumps`` of `FactorRecord.to_dict`s."""
    counts = np.diff(chunk.starts)
    where = 4 * np.arange(len(chunk.which)) + np.repeat(np.arange(len(counts)), counts)
    first = np.zeros(len(chunk.which), dtype=np.intp)
    first[chunk.starts[:-1][counts > 0]] = 1
    pieces = np.empty(4 * len(chunk.which) + len(counts), dtype=object)
    pieces[where] = np.array([", ", "["], dtype=object)[first]
    pieces[where + 1] = np.array([t.json_head for t in chunk.texts], dtype=object)[chunk.which]
    pieces[where + 2] = _floats(chunk.contributions)
    pieces[where + 3] = np.array([t.json_tail for t in chunk.texts], dtype=object)[chunk.which]
    pieces[4 * chunk.starts[1:] + np.arange(len(counts))] = np.array(
        ["[]" + _END, "]" + _END], dtype=object)[(counts > 0).astype(np.intp)]
    return _rows(pieces)


def serialise(chunk: ChunkExplanations) -> dict[str, list[Any]]:
    """A chunk's explanations as columns: numbers as they are, the rest JSON text per row,
    the same JSON as ``json.dumps`` of the `model.explanation` records (texts shared by
    equal values are encoded once, and each column's rows are cut from one text)."""
    n, context = len(chunk.raw), chunk.context
    by_agency = np.empty((n, 2 * len(AGENCY_GROUPS) + 1), dtype=object)
    by_agency[:, :-1:2] = _BY_AGENCY
    by_agency[:, 1::2] = _floats(chunk.by_agency).reshape(n, len(AGENCY_GROUPS))
    by_agency[:, -1] = "}" + _END
    return {
        "raw_score": chunk.raw.tolist(),
        "base_value": [chunk.base] * n,
        "compared_with": [chunk.compared_with] * n,
        "top_factors": top_factors(chunk),
        "contributions_by_agency": _rows(by_agency),
        "agencies_not_seen": np.array([json.dumps(list(v)) for v in context.not_seen],
                                      dtype=object)[context.index].tolist(),
        "warnings": np.array([json.dumps(list(v)) for v in context.warnings],
                             dtype=object)[context.index].tolist(),
    }
