"""SHAP contributions of a tree classifier's log-odds, checked to add up for every row.

`TreeContributions` computes interventional TreeSHAP of a fitted classifier's raw score
(its ``decision_function``, log-odds) against one reference row (`model.explain_kernel`:
the values ``shap.TreeExplainer`` gives against that row, computed exactly and faster),
and checks, row by row, that the base value plus the
contributions equals the classifier's score within `ADDITIVITY_TOLERANCE`. No SHAP
object leaves this module.

The base value is the classifier's own ``decision_function`` of the reference. A row's
score is what the classifier's trees give it, summed by the kernel in the same pass as
its contributions (bit for bit the classifier's own score: the tests compare them); for
a sample of up to `CROSS_CHECKED_ROWS` rows of every call, spread over it, it is the
classifier's own ``decision_function`` instead, so a kernel that ever read the trees
differently from the classifier fails the check on those rows rather than passing it
with its own numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from model.explain_kernel import ReferenceShap
from model.risk_model import one_openmp_thread

ADDITIVITY_TOLERANCE: Final = 1e-6
CROSS_CHECKED_ROWS: Final = 64
_PREDICT_ROWS: Final = 1_024


class AdditivityError(RuntimeError):
    """SHAP contributions do not add up to the classifier's log-odds for some rows."""

    def __init__(self, rows: Sequence[int], max_gap: float) -> None:
        self.rows = [int(r) for r in rows]
        self.max_gap = float(max_gap)
        shown = ", ".join(map(str, self.rows[:10])) + (", ..." if len(self.rows) > 10 else "")
        super().__init__(
            f"SHAP contributions do not add up to the model's log-odds for {len(self.rows)} "
            f"row(s): {shown} (largest gap {self.max_gap:.3g}, "
            f"tolerance {ADDITIVITY_TOLERANCE:g})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (AdditivityError, (self.rows, self.max_gap))


@dataclass(frozen=True)
class Contributions:
    """Rows' contributions (rows x columns) from a base value to the classifier's log-odds."""

    base: float
    phi: np.ndarray
    raw: np.ndarray

    def failures(self) -> tuple[list[int], float]:
        """Rows whose base + contributions misses the log-odds, and the worst gap."""
        gap = np.abs(self.base + self.phi.sum(axis=1) - self.raw)
        gap = np.where(np.isnan(gap), np.inf, gap)
        bad = np.flatnonzero(gap > ADDITIVITY_TOLERANCE)
        return bad.tolist(), float(gap.max(initial=0.0))

    def checked(self) -> Contributions:
        """These contributions, once every row is shown to add up.

        Raises:
            AdditivityError: Naming the rows (by position) that do not add up.
        """
        rows, gap = self.failures()
        if rows:
            raise AdditivityError(rows, gap)
        return self


def cross_checked(rows: int) -> np.ndarray:
    """The rows (positions) whose score comes from the classifier's ``decision_function``
    itself: all of them up to `CROSS_CHECKED_ROWS`, else that many spread evenly from the
    first to the last."""
    return np.unique(np.linspace(0, rows - 1, min(rows, CROSS_CHECKED_ROWS)).astype(np.intp))


class TreeContributions:
    """Interventional TreeSHAP of a classifier's log-odds against one reference row.

    The base value is the classifier's score of the reference row, and each contribution
    is the feature's Shapley share of the move from the reference to the case: a
    feature equal to the reference's value contributes exactly 0.
    """

    def __init__(self, classifier: HistGradientBoostingClassifier, reference: np.ndarray
                 ) -> None:
        self.classifier = classifier
        self.reference = np.atleast_2d(reference)
        self._tree = ReferenceShap(classifier, self.reference)
        self._base = float(self.log_odds(self.reference)[0])

    @property
    def base_value(self) -> float:
        """The classifier's log-odds of the reference row, where explanations start."""
        return self._base

    @property
    def split_columns(self) -> frozenset[int]:
        """The classifier's input columns that some split of its trees reads."""
        forest = self._tree.forest
        return frozenset(np.unique(forest.feature[~forest.is_leaf]).tolist())

    def of(self, X: np.ndarray) -> Contributions:
        """Contributions of the rows of the classifier's input matrix (not yet checked)."""
        phi, raw = self._tree.explain(X)
        sample = cross_checked(len(raw))
        raw[sample] = self.log_odds(X[sample])
        return Contributions(self._base, phi, raw)

    def log_odds(self, X: np.ndarray) -> np.ndarray:
        """The classifier's decision_function, in cache-sized slices on one OpenMP thread."""
        # One thread: parallel regions per tree cost more than they save on these slices,
        # and batch work is already spread over processes. Slices stay in cache.
        with one_openmp_thread():
            return np.concatenate([
                self.classifier.decision_function(X[s:s + _PREDICT_ROWS])
                for s in range(0, len(X), _PREDICT_ROWS)
            ] or [np.empty(0)])
