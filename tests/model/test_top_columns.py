"""Each case's strongest factors: the largest contributions each way, ordered, ties by column."""

from __future__ import annotations

import numpy as np
import pytest

from model.top_columns import top_columns


def by_sorting(phi: np.ndarray, n_raise: int, n_lower: int) -> list[list[int]]:
    """The choice by its definition: sort each way by size, equal sizes by column."""
    m = phi.shape[1]
    chosen = []
    for row in phi:
        up = sorted((j for j in range(m) if row[j] > 0), key=lambda j: (-row[j], j))
        down = sorted((j for j in range(m) if row[j] < 0), key=lambda j: (row[j], j))
        up, down = up[:min(n_raise, m)], down[:min(n_lower, m)]
        chosen.append(up + [-1] * (min(n_raise, m) - len(up))
                      + down + [-1] * (min(n_lower, m) - len(down)))
    return chosen


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize(("n_raise", "n_lower"), [(5, 3), (0, 2), (3, 0), (20, 20), (1, 1)])
def test_the_strongest_each_way_are_chosen_in_order(seed: int, n_raise: int,
                                                    n_lower: int) -> None:
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(int(rng.integers(1, 30)), int(rng.integers(1, 12))))
    phi[rng.random(phi.shape) < 0.3] = 0.0  # no contribution: never chosen
    if seed % 2:
        phi = np.round(phi, 1)  # equal sizes
    assert top_columns(phi, n_raise, n_lower).tolist() == by_sorting(phi, n_raise, n_lower)


def test_a_row_without_contributions_has_no_factors() -> None:
    assert top_columns(np.zeros((2, 4)), 2, 1).tolist() == [[-1, -1, -1], [-1, -1, -1]]
    assert top_columns(np.zeros((0, 4)), 5, 3).shape == (0, 7)


def test_a_vector_is_refused() -> None:
    with pytest.raises(ValueError, match="2-D"):
        top_columns(np.zeros(4), 5, 3)
