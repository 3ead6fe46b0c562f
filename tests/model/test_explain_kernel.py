"""The exact one-reference TreeSHAP against shap's own interventional explainer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from math import factorial
from pathlib import Path

import numpy as np
import pytest
import shap
from sklearn.ensemble import HistGradientBoostingClassifier

from model.explain_kernel import Forest, ReferenceShap, shapley_weights


@pytest.fixture(scope="module")
def fitted() -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    """A deep model on rows with missing values, so both missing-value routes are taken."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 8))
    X[rng.random(X.shape) < 0.2] = np.nan
    logit = np.nan_to_num(X[:, 0] * X[:, 1] + np.abs(X[:, 2]) - X[:, 3], nan=1.0)
    y = rng.random(len(X)) < 1 / (1 + np.exp(-logit))
    classifier = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=40,
                                                random_state=0).fit(X, y)
    return classifier, X


def brute_force_shapley(classifier: HistGradientBoostingClassifier, x: np.ndarray,
                        reference: np.ndarray) -> np.ndarray:
    """Shapley values by definition: every coalition takes x's values, the rest the
    reference's (interventional, one background row)."""
    m = len(x)
    masks = np.array([[(c >> j) & 1 for j in range(m)] for c in range(1 << m)], dtype=bool)
    score = classifier.decision_function(np.where(masks, x, reference))
    phi = np.zeros(m)
    for c, mask in enumerate(masks):
        size = int(mask.sum())
        for i in np.flatnonzero(~mask):
            weight = factorial(size) * factorial(m - size - 1) / factorial(m)
            phi[i] += weight * (score[c | (1 << i)] - score[c])
    return phi


@pytest.mark.parametrize("reference_row", [0, 7])
def test_values_are_the_exact_shapley_values_against_one_row(
        fitted: tuple[HistGradientBoostingClassifier, np.ndarray], reference_row: int) -> None:
    classifier, X = fitted
    reference = X[reference_row]
    ours = ReferenceShap(classifier, reference).values(X[:300])
    for i in (1, 14, 19):  # 14 and 19: missing values on both sides
        np.testing.assert_allclose(ours[i], brute_force_shapley(classifier, X[i], reference),
                                   atol=1e-9)
    gap = (classifier.decision_function(X[:300]) - classifier.decision_function(
        reference[None, :])[0] - ours.sum(axis=1))
    assert np.abs(gap).max() < 1e-9


def test_values_equal_shaps_on_float32_rows_without_missing_values() -> None:
    # shap compares in float32 (as the classifier's input is): float64 values lying between
    # a threshold and its float32 rounding would go different ways.
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 6)).astype(np.float32)
    y = rng.random(len(X)) < 1 / (1 + np.exp(-(X[:, 0] * X[:, 1] + X[:, 2])))
    classifier = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    theirs = shap.TreeExplainer(classifier, data=X[:1], feature_perturbation="interventional",
                                model_output="raw").shap_values(X[:200], check_additivity=False)
    ours = ReferenceShap(classifier, X[:1]).values(X[:200])
    np.testing.assert_allclose(ours, np.asarray(theirs).reshape(ours.shape), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_scores_are_the_classifiers_own_bit_for_bit(
        fitted: tuple[HistGradientBoostingClassifier, np.ndarray], dtype: type) -> None:
    classifier, X = fitted
    rows = X[:500].astype(dtype)  # a fifth of the values missing: both routes taken
    _phi, raw = ReferenceShap(classifier, X[0]).explain(rows)
    np.testing.assert_array_equal(raw, classifier.decision_function(rows))


def test_a_case_equal_to_the_reference_has_no_contributions(
        fitted: tuple[HistGradientBoostingClassifier, np.ndarray]) -> None:
    classifier, X = fitted
    assert not ReferenceShap(classifier, X[3]).values(X[3:4]).any()


def test_the_weights_share_a_leaf_between_its_features() -> None:
    wa, wb = shapley_weights(4)
    assert wa[1, 0] == 1.0 and wb[0, 1] == 1.0
    assert wa[2, 1] == pytest.approx(1 / 6) and wb[2, 1] == pytest.approx(1 / 3)
    for a in range(1, 4):
        for b in range(1, 5 - a):
            assert a * wa[a, b] == pytest.approx(b * wb[a, b])


def test_other_models_and_shapes_are_refused(
        fitted: tuple[HistGradientBoostingClassifier, np.ndarray]) -> None:
    classifier, X = fitted
    with pytest.raises(ValueError, match="expected rows of 8 features"):
        ReferenceShap(classifier, X[0]).values(X[:2, :5])
    with pytest.raises(ValueError, match="binary HistGradientBoostingClassifier"):
        ReferenceShap(object(), X[0])  # type: ignore[arg-type]


def test_the_trees_file_gives_back_the_same_trees(
        fitted: tuple[HistGradientBoostingClassifier, np.ndarray], tmp_path: Path) -> None:
    forest = Forest.of(fitted[0])
    forest.save(tmp_path / "forest.npz")
    loaded = Forest.load(tmp_path / "forest.npz")
    for field in fields(Forest):
        np.testing.assert_array_equal(getattr(loaded, field.name), getattr(forest, field.name))
        assert np.asarray(getattr(loaded, field.name)).dtype == np.asarray(
            getattr(forest, field.name)).dtype


@pytest.mark.parametrize(("change", "why"), [
    (lambda arrays: arrays["left"].__setitem__(0, 0), "a node that is its own child"),
    (lambda arrays: arrays["right"].__setitem__(0, 10**9), "a child outside the nodes"),
    (lambda arrays: arrays["feature"].__setitem__(0, 8), "a feature the rows lack"),
    (lambda arrays: arrays["roots"].__setitem__(1, -1), "a root outside the nodes"),
    (lambda arrays: arrays.__setitem__("depth", arrays["depth"] - 1), "a smaller depth"),
    (lambda arrays: arrays.__setitem__("value", arrays["value"][:-1]), "a short array"),
    (lambda arrays: arrays.pop("baseline"), "a missing baseline"),
])
def test_a_trees_file_the_walks_cannot_follow_is_refused(
        fitted: tuple[HistGradientBoostingClassifier, np.ndarray], tmp_path: Path,
        change: Callable[[dict[str, np.ndarray]], object], why: str) -> None:
    path = tmp_path / "forest.npz"
    Forest.of(fitted[0]).save(path)
    with np.load(path) as stored:
        arrays = {name: stored[name].copy() for name in stored.files}
    change(arrays)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="not the trees of a classifier"):
        Forest.load(path)
