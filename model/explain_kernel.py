"""Exact interventional TreeSHAP of a gradient-boosting classifier against one reference row.

With a single background row r, each feature of a case x takes either x's or r's value,
so a leaf of a tree is reached by a mix of the two only if, on its path, every split is
passed by the side the mix takes: the features on the path split into A (only x passes:
the mix must take x's value), B (only r passes: it must take r's) and the free ones
(both pass). The leaf's value then counts as a unanimity game over A and B, whose
Shapley values are known in closed form: each feature of A gets
``v (|A|-1)! |B|! / (|A|+|B|)!`` and each feature of B loses ``v |A|! (|B|-1)! / (|A|+|B|)!``.
A depth-first walk visits only the leaves some mix reaches (Laberge and Pequignot,
"Understanding interventional TreeSHAP: how and why it works", 2022). This gives the
values `shap.TreeExplainer(model, data=r, feature_perturbation="interventional")`
gives (the tests compare them), a few times faster, and releases the GIL.

The same walk also finds the leaf the row itself reaches in each tree, and adds those
leaves up from the classifier's baseline, in the classifier's order: its
``decision_function``, bit for bit (the tests compare them), for nothing more.
The classifier's own prediction walks every row once per tree, which on wide rows costs
about as much as the contributions themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from math import factorial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np

if TYPE_CHECKING:  # the trees are read from a fitted classifier, or from their file
    from sklearn.ensemble import HistGradientBoostingClassifier


@dataclass(frozen=True)
class Forest:
    """A fitted classifier's trees as flat node arrays (children as absolute indices)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int
    baseline: float  # the log-odds before the first tree
    n_features: int  # the classifier's input columns

    @classmethod
    def of(cls, classifier: HistGradientBoostingClassifier) -> Forest:
        """The trees of a binary classifier's log-odds (a clear error for other models)."""
        if getattr(classifier, "n_trees_per_iteration_", None) != 1:
            raise ValueError("explanations need a fitted binary HistGradientBoostingClassifier")
        nodes = [predictor.nodes for (predictor,) in classifier._predictors]
        if any(n["is_categorical"].any() for n in nodes):
            raise ValueError("explanations do not support categorical splits")
        offsets = np.cumsum([0] + [len(n) for n in nodes])[:-1]
        joined = np.concatenate(nodes)
        shift = np.repeat(offsets, [len(n) for n in nodes])
        return cls(joined["feature_idx"].astype(np.int64), joined["num_threshold"].copy(),
                   joined["missing_go_to_left"].astype(np.bool_),
                   (joined["left"].astype(np.int64) + shift),
                   (joined["right"].astype(np.int64) + shift),
                   joined["is_leaf"].astype(np.bool_), joined["value"].copy(),
                   offsets.astype(np.int64), int(joined["depth"].max()) + 1,
                   float(np.asarray(classifier._baseline_prediction).reshape(-1)[0]),
                   int(classifier.n_features_in_))

    def save(self, path: Path) -> None:
        """Write the node arrays to ``path`` (NumPy's ``.npz``: numbers only, no pickle)."""
        arrays: dict[str, Any] = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> Forest:
        """Read a file `save` wrote (never unpickling); a clear error when its nodes do
        not make trees the walks can follow (they index the arrays unchecked)."""
        with np.load(path, allow_pickle=False) as stored:
            missing = [f.name for f in fields(cls) if f.name not in stored.files]
            if missing:
                raise ValueError(f"{path}: not the trees of a classifier (no {missing[0]})")
            values = {f.name: stored[f.name] for f in fields(cls)}
        forest = cls(**{**values, **{name: kind(values[name]) for name, kind in (
            ("depth", int), ("baseline", float), ("n_features", int))}})
        if not _walkable(forest):
            raise ValueError(f"{path}: not the trees of a classifier")
        return forest

    def goes_left(self, row: np.ndarray) -> np.ndarray:
        """Per node, whether `row` (one case as the classifier reads it) goes left there."""
        x = np.asarray(row, dtype=np.float64)[self.feature]
        return np.where(np.isnan(x), self.missing_left, x <= self.threshold)


_NODE_ARRAYS = ("feature", "threshold", "missing_left", "left", "right", "is_leaf", "value")


def _walkable(forest: Forest) -> bool:
    """Whether every walk stays in the arrays and ends: node arrays of one length, roots
    and children inside them, each child after its parent (as scikit-learn numbers
    them: no cycle), features among the inputs, and the depth the walks' stacks are
    sized by."""
    nodes, inner = len(forest.feature), np.flatnonzero(~forest.is_leaf)
    if not (all(len(getattr(forest, name)) == nodes for name in _NODE_ARRAYS)
            and np.all((forest.roots >= 0) & (forest.roots < nodes))):
        return False
    left, right = forest.left[inner], forest.right[inner]
    if not (np.all((left > inner) & (right > inner) & (left < nodes) & (right < nodes))
            and np.all((forest.feature[inner] >= 0)
                       & (forest.feature[inner] < forest.n_features))):
        return False
    depth = np.zeros(nodes, dtype=np.int64)
    for node, low, high in zip(inner, left, right, strict=True):  # parents come first
        depth[low] = depth[high] = depth[node] + 1
    return forest.depth == int(depth.max()) + 1


def shapley_weights(depth: int) -> tuple[np.ndarray, np.ndarray]:
    """(|A|-1)!|B|!/(|A|+|B|)! and |A|!(|B|-1)!/(|A|+|B|)! for |A|, |B| up to `depth`."""
    wa, wb = np.zeros((depth + 1, depth + 1)), np.zeros((depth + 1, depth + 1))
    for a in range(depth + 1):
        for b in range(depth + 1 - a):
            if a:
                wa[a, b] = factorial(a - 1) * factorial(b) / factorial(a + b)
            if b:
                wb[a, b] = factorial(a) * factorial(b - 1) / factorial(a + b)
    return wa, wb


class ReferenceShap:
    """Interventional TreeSHAP of a classifier's log-odds against one reference row."""

    def __init__(self, classifier: HistGradientBoostingClassifier, reference: np.ndarray
                 ) -> None:
        self.forest = Forest.of(classifier)
        self.n_features = self.forest.n_features
        self.reference_left = self.forest.goes_left(np.asarray(reference).reshape(-1))
        self.wa, self.wb = shapley_weights(self.forest.depth)

    def values(self, X: np.ndarray) -> np.ndarray:
        """Contributions (rows x features) of the rows of the classifier's input matrix."""
        return self.explain(X)[0]

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Contributions (rows x features) of the rows of the classifier's input matrix,
        and each row's log-odds as the classifier's trees give it."""
        # The classifier's float32 input as it is (a float32 value compares with a float64
        # threshold exactly as its float64 copy would); anything else as float64.
        X = np.asarray(X)
        X = np.ascontiguousarray(X, dtype=X.dtype if X.dtype == np.float32 else np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got {X.shape}")
        out, raw = np.zeros(X.shape, dtype=np.float64), np.empty(len(X), dtype=np.float64)
        f = self.forest
        _walk(X, self.reference_left, f.feature, f.threshold, f.missing_left, f.left,
              f.right, f.is_leaf, f.value, f.roots, f.baseline, self.wa, self.wb, out, raw)
        return out, raw


@numba.njit(cache=True, nogil=True, inline="always")
def routes_left(value, node, threshold, missing_left):  # type: ignore[no-untyped-def]
    """Whether a row with `value` at a node's feature goes left there, as the classifier's
    predictor routes it: empty the node's missing-value way, else left when the value is
    at most the threshold."""
    return missing_left[node] if np.isnan(value) else value <= threshold[node]


@numba.njit(cache=True, nogil=True)
def _walk(X, ref_left, feature, threshold, missing_left, left, right, is_leaf, value,  # noqa: PLR0913
          roots, baseline, wa, wb, out, raw):  # type: ignore[no-untyped-def]
    side = np.zeros(X.shape[1], np.int8)  # 0: free, 1: takes x's value, 2: takes r's
    frames = np.empty((wa.shape[0] + 1, 4), np.int64)  # node, |A|, |B|, stage
    shares = np.empty((wa.shape[0] + 1, 2))  # the x branch's A and B shares
    for i in range(X.shape[0]):
        x, score = X[i], 0.0 + baseline  # as the classifier: 0, plus its baseline
        for root in roots:  # each tree's leaf added in the classifier's order
            score += _tree(root, x, ref_left, feature, threshold, missing_left, left, right,
                           is_leaf, value, wa, wb, side, frames, shares, out[i])
        raw[i] = score


@numba.njit(cache=True, nogil=True)
def _tree(root, x, ref_left, feature, threshold, missing_left, left, right,  # noqa: PLR0913
          is_leaf, value, wa, wb, side, frames, shares, out):  # type: ignore[no-untyped-def]
    """Adds one tree's contributions to `out`, walking it depth first without recursion,
    and returns the value of the leaf the row itself reaches.

    A feature that joins A (or B) at a node gets the A (or B) share of every reachable
    leaf below it, summed on the way back up, so a leaf costs O(1) whatever its depth.
    Stage 0 enters a node, 1 returns from its x branch, 2 from its reference branch. The
    one leaf reached with B empty is the row's own: every split on its way was passed the
    way the row's value goes (as the classifier's predictor routes it).
    """
    frames[0, 0], frames[0, 1], frames[0, 2], frames[0, 3] = root, 0, 0, 0
    sp, got_a, got_b = 1, 0.0, 0.0  # got_*: the shares of the subtree just finished
    own = 0.0
    while sp:
        top = sp - 1
        node, na, nb, stage = frames[top, 0], frames[top, 1], frames[top, 2], frames[top, 3]
        f = feature[node]
        if stage == 2:
            out[f] -= got_b
            side[f] = 0
            got_a, got_b = shares[top, 0] + got_a, shares[top, 1] + got_b
            sp -= 1
        elif stage == 1:
            out[f] += got_a
            shares[top, 0], shares[top, 1] = got_a, got_b
            side[f], frames[top, 3] = 2, 2
            frames[sp, 0] = left[node] if ref_left[node] else right[node]
            frames[sp, 1], frames[sp, 2], frames[sp, 3] = na, nb + 1, 0
            sp += 1
        elif is_leaf[node]:
            got_a, got_b = value[node] * wa[na, nb], value[node] * wb[na, nb]
            if nb == 0:
                own = value[node]
            sp -= 1
        else:
            x_left = routes_left(x[f], node, threshold, missing_left)
            if side[f] == 0 and x_left != ref_left[node]:  # both ways: f joins A, then B
                side[f], frames[top, 3] = 1, 1
                frames[sp, 0] = left[node] if x_left else right[node]
                frames[sp, 1], frames[sp, 2], frames[sp, 3] = na + 1, nb, 0
                sp += 1
            else:  # one way on: x's if f takes x's value, else r's (= x's if they agree)
                goes_left = x_left if side[f] == 1 else ref_left[node]
                frames[top, 0] = left[node] if goes_left else right[node]
    return own
