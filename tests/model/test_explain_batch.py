"""Batch explanations: each float spelt as ``repr`` (and ``json.dumps``) spells it, and
the garbage collector paused only while a chunk is explained."""

import gc

import numpy as np
import pytest

from model import explain_batch
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


@pytest.mark.parametrize("enabled", [True, False])
def test_a_chunk_pauses_the_collector_and_leaves_it_as_it_was(
        enabled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def serialise(chunk: object) -> dict[str, list[object]]:
        seen.append(gc.isenabled())
        if len(seen) == 2:
            raise MemoryError("a chunk that fails")
        return {}

    class Found:
        def failures(self) -> tuple[list[int], float]:
            return [], 0.0

    class Explainer:
        class shap:  # noqa: N801
            of = staticmethod(lambda X: Found())

        class layout:  # noqa: N801
            model_input = staticmethod(lambda X: X)

        @staticmethod
        def builder() -> object:
            return type("Builder", (), {"chunk": staticmethod(lambda X, found: None)})()

    monkeypatch.setattr(explain_batch, "serialise", serialise)
    (gc.enable if enabled else gc.disable)()
    try:
        explain_batch.explain_chunk(Explainer(), np.zeros((2, 3)))  # type: ignore[arg-type]
        assert seen == [False]
        assert gc.isenabled() is enabled
        with pytest.raises(MemoryError):  # a failing chunk leaves the collector as it was too
            explain_batch.explain_chunk(Explainer(), np.zeros((2, 3)))  # type: ignore[arg-type]
        assert seen == [False, False]
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
