"""Batch explanations spell each float as ``repr`` (and ``json.dumps``) does."""

import numpy as np

from model.explain_batch import json_floats


def test_floats_are_spelt_as_repr_spells_them() -> None:
    rng = np.random.default_rng(5)
    magnitudes = 10.0 ** rng.uniform(-12, 20, 200_000)
    values = np.concatenate([
        rng.choice([-1.0, 1.0], 200_000) * magnitudes,
        np.round(rng.normal(size=20_000) * 1e3, 3),  # short decimals
        np.arange(-50.0, 50.0),  # whole numbers
        [0.0, -0.0, 1e-4, -1e-4, 1e10, -1e10, 1e16, 1e-5, 0.5, 123456789.5],
        np.nextafter([1e-4, 1e10, -1e-4, -1e10], 0.0),
        np.nextafter([1e-4, 1e10, -1e-4, -1e10], np.inf),
        rng.integers(0, 2**63, 50_000, dtype=np.uint64).view(np.float64),  # any bits
    ])
    values = values[np.isfinite(values)]
    assert json_floats(values).to_pylist() == list(map(repr, values.tolist()))


def test_a_matrix_is_spelt_row_by_row_and_zeros_keep_their_sign() -> None:
    matrix = np.array([[0.25, -0.0, 3.0], [0.0, 1e-07, -2.5e12]])
    assert json_floats(matrix).to_pylist() == ["0.25", "-0.0", "3.0", "0.0", "1e-07",
                                               "-2500000000000.0"]
