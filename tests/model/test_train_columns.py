"""Which columns the classifier reads: none it could never split on, and the same trees."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from model.data import PreparedExtract
from model.model_matrix import classifier_input
from model.train import TrainingConfig, TrainingResult, _can_split, _labelled
from pipelines.manifest import model_feature_names


def _column(common: float, others: int, rows: int = 400, other: float = 5.0) -> np.ndarray:
    column = np.full(rows, common, dtype=np.float32)
    column[:others] = other
    return column


def test_a_column_with_fewer_other_rows_than_a_leaf_cannot_split() -> None:
    columns = [_column(0.0, 49), _column(0.0, 50), _column(np.nan, 49), _column(np.nan, 50),
               _column(7.0, 49, other=1.0),  # the commonest value is the greatest
               _column(7.0, 49, other=9.0)]  # the least
    middle = _column(3.0, 0)  # commonest value 3, neither 0, empty, least nor greatest
    middle[:30], middle[30:60] = 1.0, 9.0
    columns.append(middle)  # 60 other rows: it could split, and is kept
    matrix = np.column_stack(columns)
    assert _can_split(matrix, 50).tolist() == [False, True, False, True, False, False, True]
    assert _can_split(matrix, 49).tolist() == [True] * 7


def test_the_columns_it_cannot_split_change_no_tree() -> None:
    rng = np.random.default_rng(3)
    rows = 3_000
    informative = rng.poisson(1.0, size=(rows, 4)).astype(np.float32)
    rare = np.zeros((rows, 3), dtype=np.float32)
    rare[rng.choice(rows, 40, replace=False), 0] = 1.0  # signal, in too few rows to split
    rare[:, 1] = np.nan
    rare[:45, 1] = 2.0
    rare[:, 2] = rng.poisson(1.0, rows)  # noise, splittable
    matrix = np.column_stack([informative, rare])
    y = (informative[:, 0] + 3 * rare[:, 0] + rng.normal(0, 1, rows) > 1.5).astype(int)
    keep = _can_split(matrix, 50)
    assert keep.tolist() == [True] * 4 + [False, False, True]

    def fit(X: np.ndarray) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(max_iter=30, min_samples_leaf=50,
                                              early_stopping=False, random_state=0).fit(X, y)

    every, some = fit(matrix), fit(matrix[:, keep])
    assert np.array_equal(every.decision_function(matrix),
                          some.decision_function(matrix[:, keep]))


def test_the_model_leaves_out_what_it_could_not_split_and_says_how_many(
        trained: TrainingResult, prepared: PreparedExtract) -> None:
    assert prepared.labels is not None
    counts, names = trained.counts, trained.model.feature_names
    assert counts["features_too_rare_to_split"] > 0
    assert (len(names) + counts["features_too_rare_to_split"]
            + counts["features_constant_in_training"]) == len(model_feature_names())
    data, _, _ = _labelled(prepared.features, prepared.labels, None)
    X = classifier_input(data[list(names)].to_numpy(np.float32), names)[trained.split.train]
    assert _can_split(X, TrainingConfig().min_samples_leaf).all()
    # The baseline reads every varying column, the rare ones too.
    baseline = trained.baseline_features
    assert set(names) < set(baseline)
    assert len(baseline) == len(names) + counts["features_too_rare_to_split"]
    rows = data[list(baseline)].to_numpy(np.float32)[trained.split.test]
    assert trained.baseline.predict_proba(rows)[:, 1].tolist() == pytest.approx(
        trained.test_arrays["baseline_probability"].tolist())
