"""The classifier's log-odds for many rows at once: a compiled walk of its trees.

Gives, to the bit, what ``classifier.decision_function(classifier_input(...))`` gives:
the same trees (`model.explain_kernel.Forest`), the same routing (empty goes the way the
node sends missing values, else left when the value is at most the threshold, a float32
value compared with a float64 threshold) and the same sum (0, plus the baseline, plus
each tree's leaf in the classifier's order). What it saves is work, not arithmetic:
scikit-learn copies the rows to float64 (400 MB for 100,000 referrals), then runs one
OpenMP parallel loop per tree over every row; this walk reads each referral's features
where they are, in the manifest feature matrix, and takes every tree for one row
before the next row (100,000 referrals: 0.1 s of CPU against 1.5-2.5 s).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

import numba
import numpy as np

from model.explain_kernel import Forest, routes_left

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

# Below this many rows one thread does it all: a thread costs more than the walk.
THREAD_ROWS: Final = 20_000
_BLOCK: Final = 256  # rows whose features are copied together (512 KB for 250 features)


class ForestPredictor:
    """The log-odds of a fitted binary classifier, read from feature rows."""

    def __init__(self, trees: HistGradientBoostingClassifier | Forest,
                 no_record: np.ndarray, no_record_value: float) -> None:
        """`trees`: the fitted classifier, or its trees (`Forest`). `no_record`: per
        classifier feature, whether an empty value is read as `no_record_value` (as
        `model.model_matrix.classifier_input` does) rather than as missing."""
        self.forest = trees if isinstance(trees, Forest) else Forest.of(trees)
        self.n_features = self.forest.n_features
        self.no_record = np.asarray(no_record, dtype=np.bool_)
        # The classifier reads float32 rows: the value as a float32, then as a float64.
        self.no_record_value = float(np.float32(no_record_value))
        if self.no_record.shape != (self.n_features,):
            raise ValueError(f"expected {self.n_features} no-record flags, "
                             f"got {self.no_record.shape}")
        # The features some node splits on, and each node's feature as a position among
        # them (a leaf's is 0 and never read).
        self.used = np.unique(self.forest.feature[~self.forest.is_leaf])
        self.node_feature = np.where(self.forest.is_leaf, 0, np.searchsorted(
            self.used, self.forest.feature)).astype(np.int64)

    def raw_scores(self, matrix: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Log-odds of every row of `matrix`, whose column ``columns[j]`` holds the
        classifier's feature j (values as float32, as the classifier reads them)."""
        matrix = np.asarray(matrix)
        if matrix.dtype != np.float32:
            matrix = matrix.astype(np.float32)
        columns = np.asarray(columns, dtype=np.int64)
        if matrix.ndim != 2 or columns.shape != (self.n_features,):
            raise ValueError(f"expected rows and {self.n_features} column positions, got "
                             f"{matrix.shape} and {columns.shape}")
        if len(columns) and (columns.min() < 0 or columns.max() >= matrix.shape[1]):
            raise ValueError(f"column positions outside the {matrix.shape[1]} columns")
        out = np.empty(len(matrix), dtype=np.float64)
        f, read, no_record = self.forest, columns[self.used], self.no_record[self.used]

        def walk(start: int, stop: int) -> None:
            _walk(matrix, read, no_record, self.no_record_value, self.node_feature,
                  f.threshold, f.missing_left, f.left, f.right, f.is_leaf, f.value, f.roots,
                  f.baseline, out, start, stop)

        threads = min(len(os.sched_getaffinity(0)), len(matrix) // THREAD_ROWS)
        if threads < 2:  # pragma: no mutate (the thread count: speed only)
            walk(0, len(matrix))
            return out
        bounds = np.linspace(0, len(matrix), threads + 1).astype(int)
        with ThreadPoolExecutor(threads) as pool:  # the walk releases the GIL
            for done in [pool.submit(walk, int(a), int(b))
                         for a, b in zip(bounds[:-1], bounds[1:], strict=True)]:
                done.result()
        return out


@numba.njit(cache=True, nogil=True)
def _walk(matrix, columns, no_record, no_record_value, feature, threshold,  # noqa: PLR0913
          missing_left, left, right, is_leaf, value, roots, baseline, out, start,
          stop):  # type: ignore[no-untyped-def]
    """``out[i]`` for rows ``start`` to ``stop``: the baseline plus each tree's leaf.

    The rows are taken `_BLOCK` at a time: their features are first copied, column by
    column, into a small row-major block (read in order, where a walk of the trees
    would jump from column to column), then every tree is walked for each row there.
    """
    block = np.empty((_BLOCK, len(columns)), dtype=np.float64)
    for first in range(start, stop, _BLOCK):
        rows = min(_BLOCK, stop - first)
        _fill(block, matrix, first, rows, columns, no_record, no_record_value)
        for r in range(rows):
            out[first + r] = _row(block[r], feature, threshold, missing_left, left, right,
                                  is_leaf, value, roots, baseline)


@numba.njit(cache=True, nogil=True)
def _fill(block, matrix, first, rows, columns, no_record,
          no_record_value):  # type: ignore[no-untyped-def]
    """Rows ``first`` to ``first + rows`` of the columns read, as the classifier reads
    them: float64 of the float32 value, empty as `no_record_value` where flagged."""
    for j in range(len(columns)):
        column, empty_is_days = columns[j], no_record[j]
        for r in range(rows):
            x = np.float64(matrix[first + r, column])
            block[r, j] = no_record_value if empty_is_days and np.isnan(x) else x


@numba.njit(cache=True, nogil=True)
def _row(x, feature, threshold, missing_left, left, right, is_leaf, value, roots,
         baseline):  # type: ignore[no-untyped-def]
    """One row's log-odds: 0, plus the baseline, plus each tree's leaf in order (the
    classifier's own sum)."""
    total = 0.0
    total += baseline
    for root in roots:
        total += value[_leaf(x, root, feature, threshold, missing_left, left, right, is_leaf)]
    return total


@numba.njit(cache=True, nogil=True)
def _leaf(x, node, feature, threshold, missing_left, left, right,
          is_leaf):  # type: ignore[no-untyped-def]
    """The leaf one row reaches from `node` (`model.explain_kernel.routes_left` at each)."""
    while not is_leaf[node]:
        node = left[node] if routes_left(x[feature[node]], node, threshold, missing_left) else (
            right[node])
    return node
