"""Sums of contributions by group (factor, agency), each row on its own.

Every figure that sums contributions by group goes through `group_sums`: the case
explanations (live and batch), the global importance and the partnership evidence, so
their sums agree to the bit.
"""

from __future__ import annotations

import numba
import numpy as np

_BLOCK = 128  # NumPy's PW_BLOCKSIZE: its pairwise sums add up to this many values in 8 lanes


def group_sums(phi: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    """Each row's sums of `phi` over the groups of a columns x groups `one_hot`, each
    group's columns taken in their order within the row, so a row's sums never depend on
    the rows beside it. A matrix product's do: BLAS picks its kernel, and with it the
    rounding, by the matrix's shape, and a case explained alone, in a batch or on a Spark
    executor must read the same.

    A group's sum is its first column's value plus NumPy's pairwise sum of the others:
    ``np.add.reduceat`` over the columns sorted by group, to the bit, in one pass over
    `phi` without sorting its columns. A group without columns sums to 0.
    """
    phi = np.ascontiguousarray(phi, dtype=np.float64)
    if phi.ndim != 2 or phi.shape[1] != one_hot.shape[0]:
        raise ValueError(f"expected rows of {one_hot.shape[0]} columns, got {phi.shape}")
    group = one_hot.argmax(axis=1)
    order = np.argsort(group, kind="stable").astype(np.int64)
    counts = np.bincount(group, minlength=one_hot.shape[1])
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sums = np.zeros((len(phi), one_hot.shape[1]))
    _sum_groups(phi, order, starts, sums)
    return sums


@numba.njit(cache=True, nogil=True)
def _sum_groups(phi, order, starts, sums):  # type: ignore[no-untyped-def]
    """``sums[i, g]``: row i's columns ``order[starts[g]:starts[g + 1]]`` summed."""
    for i in range(phi.shape[0]):
        row = phi[i]
        for g in range(sums.shape[1]):
            begin, end = starts[g], starts[g + 1]
            if end > begin:
                sums[i, g] = row[order[begin]] + _pairwise(row, order, begin + 1, end - begin - 1)


@numba.njit(cache=True, nogil=True)
def _pairwise(row, order, at, n):  # type: ignore[no-untyped-def]
    """NumPy's pairwise sum (``pairwise_sum`` of its loops) of ``row[order[at:at + n]]``."""
    if n < 8:
        res = -0.0  # as NumPy's: -0.0 + x is x for every x, -0.0 included
        for k in range(at, at + n):
            res += row[order[k]]
        return res
    if n <= _BLOCK:
        r0, r1, r2, r3 = row[order[at]], row[order[at + 1]], row[order[at + 2]], row[order[at + 3]]
        r4, r5, r6, r7 = (row[order[at + 4]], row[order[at + 5]], row[order[at + 6]],
                          row[order[at + 7]])
        k = 8
        while k < n - n % 8:
            r0 += row[order[at + k]]
            r1 += row[order[at + k + 1]]
            r2 += row[order[at + k + 2]]
            r3 += row[order[at + k + 3]]
            r4 += row[order[at + k + 4]]
            r5 += row[order[at + k + 5]]
            r6 += row[order[at + k + 6]]
            r7 += row[order[at + k + 7]]
            k += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while k < n:
            res += row[order[at + k]]
            k += 1
        return res
    half = n // 2
    half -= half % 8
    return _pairwise(row, order, at, half) + _pairwise(row, order, at + half, n - half)
