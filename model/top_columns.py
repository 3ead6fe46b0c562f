"""Each case's strongest factors: the largest contributions each way, row by row.

One pass over each row keeps the few largest positive and the few most negative
contributions in insertion-sorted slots (numba): a case's choice never depends on the
rows beside it, and on a batch it costs a tenth of NumPy's ``argpartition`` and sorts.
"""

from __future__ import annotations

import numba
import numpy as np


def top_columns(phi: np.ndarray, n_raise: int, n_lower: int) -> np.ndarray:
    """Per row, the columns of the largest positive then the most negative contributions.

    Each group is ordered by absolute size, equal sizes by column; -1 marks a slot with no
    nonzero contribution. The groups hold at most as many slots as there are columns.
    """
    phi = np.ascontiguousarray(phi, dtype=np.float64)
    if phi.ndim != 2:
        raise ValueError(f"expected a 2-D matrix of contributions, got {phi.shape}")
    m = phi.shape[1]
    out = np.full((len(phi), min(n_raise, m) + min(n_lower, m)), -1, dtype=np.intp)
    _choose(phi, min(n_raise, m), out)
    return out


@numba.njit(cache=True, nogil=True)
def _choose(phi, n_raise, out):  # type: ignore[no-untyped-def]
    """Fills ``out[i]``: row i's strongest raising columns in its first `n_raise` slots,
    then its strongest lowering ones."""
    width = out.shape[1]
    sizes = np.empty(width)
    for i in range(phi.shape[0]):
        raised = lowered = 0
        for j in range(phi.shape[1]):
            v = phi[i, j]
            if v > 0:
                raised = _keep(out, i, sizes, 0, n_raise, raised, v, j)
            elif v < 0:
                lowered = _keep(out, i, sizes, n_raise, width - n_raise, lowered, -v, j)


@numba.njit(cache=True, nogil=True, inline="always")
def _keep(out, i, sizes, first, slots, kept, size, column):  # type: ignore[no-untyped-def]
    """Puts `column` of `size` among the `kept` largest in ``out[i, first:first + slots]``
    (ordered, larger first, an equal size after those kept before it); returns how many
    are kept now."""
    if slots == 0 or (kept == slots and size <= sizes[first + kept - 1]):
        return kept
    at = min(kept, slots - 1)  # the last slot's column falls off when all are full
    while at > 0 and size > sizes[first + at - 1]:
        out[i, first + at] = out[i, first + at - 1]
        sizes[first + at] = sizes[first + at - 1]
        at -= 1
    out[i, first + at] = column
    sizes[first + at] = size
    return min(kept + 1, slots)
