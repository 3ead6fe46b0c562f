"""Contributions that add up to the classifier's log-odds, or are refused naming the rows."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from model.contributions import (
    ADDITIVITY_TOLERANCE,
    CROSS_CHECKED_ROWS,
    AdditivityError,
    Contributions,
    TreeContributions,
    cross_checked,
)
from model.explain_kernel import ReferenceShap


@pytest.fixture(scope="module")
def classifier() -> HistGradientBoostingClassifier:
    """A small model on rows with missing values."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 4)).astype(np.float32)
    X[rng.random(X.shape) < 0.1] = np.nan
    logit = np.nan_to_num(X[:, 0] - 0.5 * X[:, 1] + X[:, 2] * X[:, 3], nan=0.5)
    y = rng.random(len(X)) < 1 / (1 + np.exp(-logit))
    return HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(X, y)


REFERENCE = np.array([0.25, -0.5, np.nan, 1.0], dtype=np.float32)


def rows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


def test_the_base_value_is_the_classifiers_score_of_the_reference_row(
        classifier: HistGradientBoostingClassifier) -> None:
    explainer = TreeContributions(classifier, REFERENCE)
    expected = classifier.decision_function(REFERENCE.reshape(1, -1))[0]
    assert explainer.base_value == expected
    assert type(explainer.base_value) is float
    assert explainer.reference.shape == (1, 4)


def test_each_rows_contributions_add_up_from_the_base_to_its_log_odds(
        classifier: HistGradientBoostingClassifier) -> None:
    X = rows(50)
    found = TreeContributions(classifier, REFERENCE).of(X)
    assert found.checked() is found
    assert found.phi.shape == (50, 4)
    np.testing.assert_array_equal(found.raw, classifier.decision_function(X))
    np.testing.assert_allclose(found.base + found.phi.sum(axis=1), found.raw, rtol=0,
                               atol=ADDITIVITY_TOLERANCE)


def test_a_case_equal_to_the_reference_has_no_contributions(
        classifier: HistGradientBoostingClassifier) -> None:
    found = TreeContributions(classifier, REFERENCE).of(REFERENCE.reshape(1, -1))
    np.testing.assert_array_equal(found.phi, np.zeros((1, 4)))
    assert found.raw[0] == found.base


def test_log_odds_of_many_rows_are_the_classifiers_in_order(
        classifier: HistGradientBoostingClassifier) -> None:
    # Past four slices of 1,024 rows, so every slice boundary is crossed.
    X = rows(4_100, seed=1)
    explainer = TreeContributions(classifier, REFERENCE)
    log_odds = explainer.log_odds(X)
    assert log_odds.shape == (4_100,)
    np.testing.assert_array_equal(log_odds, classifier.decision_function(X))
    assert explainer.log_odds(X[:0]).shape == (0,)


def test_the_sample_scored_by_the_classifier_itself_spans_every_call() -> None:
    assert cross_checked(0).tolist() == []
    assert cross_checked(5).tolist() == [0, 1, 2, 3, 4]
    assert cross_checked(CROSS_CHECKED_ROWS).tolist() == list(range(CROSS_CHECKED_ROWS))
    sample = cross_checked(10_000)
    assert len(sample) == CROSS_CHECKED_ROWS
    assert sample[0] == 0 and sample[-1] == 9_999
    assert np.all(np.diff(sample) > 100)  # spread out, not bunched at the start


def test_a_kernel_that_misreads_the_trees_fails_on_the_rows_the_classifier_scores(
        classifier: HistGradientBoostingClassifier, monkeypatch: pytest.MonkeyPatch) -> None:
    # Contributions and scores shifted together add up to each other, but not to the
    # classifier's own score on the cross-checked rows.
    real = ReferenceShap.explain

    def misread(self: ReferenceShap, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        phi, raw = real(self, X)
        phi[:, 0] += 0.5
        return phi, raw + 0.5

    monkeypatch.setattr(ReferenceShap, "explain", misread)
    X = rows(1_000, seed=2)
    with pytest.raises(AdditivityError) as raised:
        TreeContributions(classifier, REFERENCE).of(X).checked()
    assert raised.value.rows == cross_checked(1_000).tolist()


def test_a_gap_up_to_the_tolerance_passes_and_beyond_it_fails() -> None:
    phi = np.array([[0.5, 0.25], [0.5, 0.25], [0.0, 1.0], [1.0, 0.0]])
    raw = np.array([1.75, 1.75 + ADDITIVITY_TOLERANCE, 2.0 + 3 * ADDITIVITY_TOLERANCE, 2.0])
    found = Contributions(1.0, phi, raw)
    rows_failing, worst = found.failures()
    assert rows_failing == [2]
    assert worst == pytest.approx(3 * ADDITIVITY_TOLERANCE, rel=1e-6)
    assert Contributions(0.0, np.array([[1e-6]]), np.array([0.0])).failures() == ([], 1e-6)


def test_a_missing_log_odds_never_adds_up() -> None:
    found = Contributions(0.0, np.zeros((3, 2)), np.array([0.0, np.nan, 0.0]))
    assert found.failures() == ([1], np.inf)


def test_no_rows_have_no_gap() -> None:
    assert Contributions(0.5, np.zeros((0, 3)), np.zeros(0)).failures() == ([], 0.0)
    assert Contributions(0.5, np.zeros((2, 3)), np.full(2, 0.5)).failures() == ([], 0.0)


def test_contributions_that_do_not_add_up_are_refused_naming_the_rows_and_the_gap() -> None:
    raw = np.zeros(5)
    raw[[1, 3]] = [0.5, -0.25]
    with pytest.raises(AdditivityError) as raised:
        Contributions(0.0, np.zeros((5, 2)), raw).checked()
    assert raised.value.rows == [1, 3]
    assert raised.value.max_gap == 0.5
    assert str(raised.value) == (
        "SHAP contributions do not add up to the model's log-odds for 2 row(s): 1, 3 "
        "(largest gap 0.5, tolerance 1e-06)")


def test_a_refusal_shows_the_first_ten_rows_and_says_when_there_are_more() -> None:
    ten = AdditivityError(range(10), 0.125)
    assert "for 10 row(s): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 (largest gap 0.125," in str(ten)
    eleven = AdditivityError(np.arange(11), 2.0)
    assert "for 11 row(s): 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (largest gap 2," in str(eleven)
    assert eleven.rows == list(range(11))
    assert all(type(r) is int for r in eleven.rows)


def test_a_refusal_survives_being_sent_between_processes() -> None:
    error = AdditivityError([4, 12], 0.0123)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.rows, copy.max_gap, str(copy)) == (
        AdditivityError, [4, 12], 0.0123, str(error))
