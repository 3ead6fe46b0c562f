"""The rating path: the fitted calibrator, the score ventiles, the bands, the saved model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from model.governance import load_governance
from model.risk_model import N_SCORES, Calibrator, RiskModel, ventile_edges
from pipelines.features import build_features
from pipelines.manifest import FEATURE_NAMES, model_feature_names
from tests.pipelines.factories import random_extract

# Calibrators far from the identity: a model that skipped them would rate differently.
CALIBRATORS = {
    "sigmoid": Calibrator("sigmoid", {"a": [0.4], "b": [-1.5]}),
    "isotonic": Calibrator("isotonic", {"x": [-2.0, 0.0, 2.0], "y": [0.02, 0.3, 0.9]}),
}


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """Full manifest feature rows of a small random extract."""
    return build_features(random_extract(300, seed=7))[list(FEATURE_NAMES)].to_numpy(np.float64)


@pytest.fixture(scope="module")
def tiny_model(rows: np.ndarray) -> RiskModel:
    """A small classifier, an explicit calibrator and ventiles of its training ratings."""
    names = tuple(model_feature_names())
    X = rows[:, [FEATURE_NAMES.index(name) for name in names]]
    y = (np.random.default_rng(3).uniform(size=len(X)) < 0.3).astype(int)
    classifier = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)
    calibrator = CALIBRATORS["sigmoid"]
    edges = ventile_edges(calibrator.transform(classifier.decision_function(X)))
    governance, text = load_governance()
    return RiskModel(classifier, names, calibrator, edges, governance, text)


@pytest.mark.parametrize("method", CALIBRATORS)
def test_the_rated_probability_is_the_fitted_calibrator_applied_to_the_raw_score(
        tiny_model: RiskModel, rows: np.ndarray, method: str) -> None:
    model = replace(tiny_model, calibrator=CALIBRATORS[method])
    ratings = model.rate(rows)
    raw = model.raw_score(model.model_matrix(rows))
    np.testing.assert_array_equal(ratings.raw_score, raw)
    np.testing.assert_allclose(ratings.probability, CALIBRATORS[method].transform(raw))
    uncalibrated = 1.0 / (1.0 + np.exp(-raw))
    assert np.abs(ratings.probability - uncalibrated).max() > 0.05  # the calibrator matters
    np.testing.assert_array_equal(ratings.score, model.score_of(ratings.probability))


def test_the_calibrator_given_with_the_raw_score_is_the_one_applied(
        tiny_model: RiskModel, rows: np.ndarray) -> None:
    raw = tiny_model.raw_score(tiny_model.model_matrix(rows))
    ratings = tiny_model.rate(rows, raw_score=raw)
    np.testing.assert_allclose(ratings.probability, tiny_model.calibrator.transform(raw))


def test_the_training_ratings_fill_the_twenty_scores_about_evenly(
        tiny_model: RiskModel, rows: np.ndarray) -> None:
    scores = tiny_model.rate(rows).score
    assert scores.min() == 1 and scores.max() == N_SCORES
    assert len(tiny_model.ventile_edges) == N_SCORES - 1


def test_a_probability_on_a_ventile_edge_takes_the_higher_score(tiny_model: RiskModel) -> None:
    edges = tiny_model.ventile_edges
    assert tiny_model.score_of(edges[:1]).tolist() == [2]
    assert tiny_model.score_of(np.array([edges[0] - 1e-9, edges[-1] + 1e-9])).tolist() == [1, 20]


def test_a_saved_model_rates_exactly_as_before(tiny_model: RiskModel, rows: np.ndarray,
                                               tmp_path: Path) -> None:
    model = replace(tiny_model, calibrator=CALIBRATORS["isotonic"])
    model.save(tmp_path)
    loaded = RiskModel.load(tmp_path)
    before, after = model.rate(rows), loaded.rate(rows)
    assert loaded.calibrator == model.calibrator
    assert loaded.feature_names == model.feature_names
    np.testing.assert_array_equal(after.probability, before.probability)
    np.testing.assert_array_equal(after.score, before.score)
    np.testing.assert_array_equal(after.band, before.band)
