"""Factor and agency sums of a row do not depend on the rows explained beside it."""

import numpy as np

from model.group_sums import group_sums


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


def _reduceat_sums(phi: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    """The sums as ``np.add.reduceat`` over the columns sorted by group gives them."""
    group = one_hot.argmax(axis=1)
    counts = np.bincount(group, minlength=one_hot.shape[1])
    held = counts > 0
    sums = np.zeros((len(phi), one_hot.shape[1]))
    sums[:, held] = np.add.reduceat(phi[:, np.argsort(group, kind="stable")],
                                    (np.cumsum(counts) - counts)[held], axis=1)
    return sums


def test_sums_are_numpys_reduceat_to_the_bit() -> None:
    # Groups of 1 to several hundred columns (NumPy sums more than 8 in lanes and more
    # than 128 by halves), values of every size, and zeros of both signs.
    rng = np.random.default_rng(11)
    for trial in range(60):
        m, k = int(rng.integers(1, 700)), int(rng.integers(1, 12))
        phi = rng.normal(size=(9, m)) * 10.0 ** rng.integers(-8, 17, size=(9, m))
        phi[rng.random(phi.shape) < 0.3] = 0.0
        phi[rng.random(phi.shape) < 0.1] = -0.0
        groups = rng.integers(0, k, size=m)
        one_hot = _one_hot(groups if trial % 2 else np.sort(groups), k + 1)
        expected = _reduceat_sums(phi, one_hot)
        assert np.array_equal(group_sums(phi, one_hot).view(np.uint64),
                              expected.view(np.uint64))
