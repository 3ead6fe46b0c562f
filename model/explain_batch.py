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


# contributions_by_agency as JSON: the agencies' names spelt once, each sum as repr (JSON's
# spelling of a finite float), as json.dumps writes it.
_BY_AGENCY: Final = "{" + ", ".join(f"{json.dumps(g)}: %r" for g in AGENCY_GROUPS) + "}"


def serialise(chunk: ChunkExplanations) -> dict[str, list[Any]]:
    """A chunk's explanations as columns: numbers as they are, the rest JSON text per row,
    the same JSON as ``json.dumps`` of the `model.explanation` records (texts shared by
    equal values are encoded once)."""
    starts, texts, sums = chunk.starts, chunk.texts, chunk.contributions
    factors = [texts[p].json(sums[p]) for p in range(len(sums))]
    lists: dict[tuple[str, ...], str] = {}
    n = len(chunk.raw)
    return {
        "raw_score": chunk.raw.tolist(),
        "base_value": [chunk.base] * n,
        "compared_with": [chunk.compared_with] * n,
        "top_factors": ["[" + ", ".join(factors[starts[i]:starts[i + 1]]) + "]"
                        for i in range(n)],
        "contributions_by_agency": [_BY_AGENCY % tuple(row) for row in chunk.by_agency.tolist()],
        "agencies_not_seen": [lists.get(v) or lists.setdefault(v, json.dumps(list(v)))
                              for v in chunk.not_seen],
        "warnings": [lists.get(v) or lists.setdefault(v, json.dumps(list(v)))
                     for v in chunk.warnings],
    }
