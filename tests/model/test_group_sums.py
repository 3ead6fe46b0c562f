"""Factor and agency sums of a row do not depend on the rows explained beside it."""

import numpy as np

from model.factors import group_sums


def _one_hot(groups: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros((len(groups), n_groups))
    out[np.arange(len(groups)), groups] = 1.0
    return out


def test_a_rows_sums_are_the_same_alone_and_in_batches_of_any_size() -> None:
    rng = np.random.default_rng(3)
    phi = rng.normal(scale=0.3, size=(1037, 494)) * (rng.random((1037, 494)) < 0.4)
    one_hot = _one_hot(rng.integers(0, 40, size=494), 41)  # group 40 has no column
    whole = group_sums(phi, one_hot)
    for size in (1, 2, 7, 64, 500):
        parts = np.vstack([group_sums(phi[i:i + size], one_hot)
                           for i in range(0, len(phi), size)])
        assert np.array_equal(parts, whole)
    assert np.allclose(whole, phi @ one_hot, rtol=0, atol=1e-12)
    assert not whole[:, 40].any()


def test_columns_are_added_in_their_order() -> None:
    phi = np.array([[1e16, 1.0, -1e16, 1.0]])
    one_hot = _one_hot(np.array([0, 0, 0, 1]), 2)
    # ((1e16 + 1) - 1e16) is 0.0 in float64: the order of the additions is the contract.
    assert group_sums(phi, one_hot).tolist() == [[0.0, 1.0]]
