"""The compiled walk of the trees gives the classifier's own log-odds, to the bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

import model.forest_predict as forest_predict
from model.forest_predict import ForestPredictor

N_FEATURES = 6
DAYS = 36_525.0


@pytest.fixture(scope="module")
def classifier() -> HistGradientBoostingClassifier:
    """Trees with missing values in training (so nodes send them both ways)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(2_000, N_FEATURES)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=len(X)) > 0.3).astype(int)
    X[rng.uniform(size=X.shape) < 0.15] = np.nan
    y[np.isnan(X[:, 3])] = 1
    with threadpool_limits(1):
        return HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)


def _rows(classifier: HistGradientBoostingClassifier, n: int, seed: int) -> np.ndarray:
    """Rows with empty values, values exactly on thresholds and far outside them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    nodes = np.concatenate([p.nodes for (p,) in classifier._predictors])
    splits = nodes[nodes["is_leaf"] == 0]
    for k in range(min(n, len(splits))):
        X[k, splits["feature_idx"][k]] = np.float32(splits["num_threshold"][k])
    X[-1] = np.float32(1e30)
    return X


def _expected(classifier: HistGradientBoostingClassifier, X: np.ndarray,
              no_record: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=np.float32)
    X[:, no_record] = np.where(np.isnan(X[:, no_record]), DAYS, X[:, no_record])
    return classifier.decision_function(X)


@pytest.mark.parametrize("rows", [1, 7, 300, 2_500])
def test_the_walk_gives_the_classifiers_decision_function_to_the_bit(
        classifier: HistGradientBoostingClassifier, rows: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forest_predict, "THREAD_ROWS", 1_000)  # 2,500 rows: two threads
    no_record = np.array([False, False, False, True, False, True])
    X = _rows(classifier, rows, seed=rows)
    got = ForestPredictor(classifier, no_record, DAYS).raw_scores(X, np.arange(N_FEATURES))
    np.testing.assert_array_equal(got.view(np.int64),
                                  _expected(classifier, X, no_record).view(np.int64))


def test_an_empty_value_is_read_as_no_record_days_only_where_flagged(
        classifier: HistGradientBoostingClassifier) -> None:
    X = _rows(classifier, 500, seed=1)
    X[:, 3] = np.nan
    flagged = ForestPredictor(classifier, np.eye(N_FEATURES, dtype=bool)[3], DAYS)
    plain = ForestPredictor(classifier, np.zeros(N_FEATURES, dtype=bool), DAYS)
    columns = np.arange(N_FEATURES)
    assert not np.array_equal(flagged.raw_scores(X, columns), plain.raw_scores(X, columns))
    np.testing.assert_array_equal(plain.raw_scores(X, columns), classifier.decision_function(X))


def test_the_features_are_read_where_the_columns_say_in_any_layout_and_type(
        classifier: HistGradientBoostingClassifier) -> None:
    X = _rows(classifier, 400, seed=2)
    no_record = np.zeros(N_FEATURES, dtype=bool)
    predictor = ForestPredictor(classifier, no_record, DAYS)
    wide = np.full((len(X), N_FEATURES + 3), 99.0, dtype=np.float64)  # float64, C order
    columns = np.array([8, 1, 4, 0, 6, 2])
    wide[:, columns] = X
    want = _expected(classifier, X, no_record)
    np.testing.assert_array_equal(predictor.raw_scores(wide, columns), want)
    np.testing.assert_array_equal(
        predictor.raw_scores(np.asfortranarray(wide.astype(np.float32)), columns), want)
    # A float64 value is read as the classifier reads it: rounded to float32 first.
    nudged = wide + 1e-12
    np.testing.assert_array_equal(predictor.raw_scores(nudged, columns),
                                  classifier.decision_function(nudged[:, columns]
                                                               .astype(np.float32)))


def test_wrong_columns_are_refused(classifier: HistGradientBoostingClassifier) -> None:
    predictor = ForestPredictor(classifier, np.zeros(N_FEATURES, dtype=bool), DAYS)
    X = np.zeros((3, N_FEATURES), dtype=np.float32)
    with pytest.raises(ValueError, match="column positions"):
        predictor.raw_scores(X, np.arange(N_FEATURES - 1))
    with pytest.raises(ValueError, match="outside"):
        predictor.raw_scores(X, np.arange(1, N_FEATURES + 1))
    with pytest.raises(ValueError, match="no-record flags"):
        ForestPredictor(classifier, np.zeros(2, dtype=bool), DAYS)
