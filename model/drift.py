"""Population stability: how far a population has moved from the one a model was trained on.

The population stability index (PSI) compares the share of rows in each bin of a
reference population with the share now: the sum over bins of
``(now - reference) * ln(now / reference)``. Bins are the reference's deciles (fewer
when values repeat, as counts of rare records do) plus one bin for "no value"; a
share of zero is floored so that a bin emptied or newly filled counts as a large
but finite change. The usual reading: under 0.1 no material shift, 0.1 to 0.25 a
shift worth watching, over 0.25 a shift that needs action.

A few lines of numpy rather than Evidently: the index is one formula, the bins must be
stored with the model version (JSON, so monitoring needs no training extract), and
numpy bins 100,000 rows of 540 features in well under a second, where a reporting
library would add a large dependency tree for the same number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np

N_BINS: Final = 10
SHARE_FLOOR: Final = 1e-4


@dataclass(frozen=True)
class Bins:
    """A feature's bin edges and the reference population's share in each bin.

    Shares run over ``len(edges) + 1`` value bins, then the "no value" bin.
    """

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        """As stored with the model version."""
        return {"edges": list(self.edges), "shares": list(self.shares)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bins:
        """Read bins stored by `to_json`."""
        return cls(tuple(float(e) for e in data["edges"]), tuple(float(s) for s in data["shares"]))


def shares_in(values: np.ndarray, edges: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """The share of `values` in each bin of `edges` (value bins, then "no value")."""
    values = np.asarray(values, dtype=np.float64)
    edges_array = np.asarray(edges, dtype=np.float64)
    missing = np.isnan(values)
    index = np.searchsorted(edges_array, values[~missing], side="right")
    counts = np.bincount(index, minlength=len(edges_array) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    return counts / max(len(values), 1)


def reference_bins(values: np.ndarray, *, n_bins: int = N_BINS) -> Bins:
    """Decile edges of the reference values (distinct ones only) and their shares."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if len(present):
        quantiles = np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1])
        edges = tuple(float(e) for e in np.unique(quantiles))
    else:
        edges = ()
    return Bins(edges, tuple(float(s) for s in shares_in(values, edges)))


def population_stability_index(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI between two share vectors over the same bins."""
    expected = np.maximum(np.asarray(reference, dtype=np.float64), SHARE_FLOOR)
    actual = np.maximum(np.asarray(current, dtype=np.float64), SHARE_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def feature_stability(bins: dict[str, Bins], columns: dict[str, np.ndarray]) -> dict[str, float]:
    """PSI of each binned feature present in `columns`, against its reference bins."""
    return {name: population_stability_index(np.asarray(ref.shares),
                                              shares_in(columns[name], ref.edges))
            for name, ref in bins.items() if name in columns}
