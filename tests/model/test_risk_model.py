"""The rating path: the fitted calibrator, the score ventiles, the bands, the saved model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from model.governance import GovernanceError, load_governance
from model.model_matrix import classifier_input
from model.risk_model import (
    N_SCORES,
    TIED_EDGES_MIDDLE,
    TIED_EDGES_UPPER,
    Calibrator,
    RiskModel,
    ventile_edges,
)
from pipelines.feature_spec import NO_RECORD_DAYS
from pipelines.manifest import FEATURE_NAMES, model_feature_names

# Calibrators far from the identity: a model that skipped them would rate differently.
CALIBRATORS = {
    "sigmoid": Calibrator("sigmoid", {"a": [0.4], "b": [-1.5]}),
    "isotonic": Calibrator("isotonic", {"x": [-2.0, 0.0, 2.0], "y": [0.02, 0.3, 0.9]}),
}


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    """Full manifest feature rows: small counts, as most referrals' records are."""
    return np.random.default_rng(7).poisson(0.4, size=(300, len(FEATURE_NAMES))).astype(float)


@pytest.fixture(scope="module")
def tiny_model(rows: np.ndarray) -> RiskModel:
    """A small classifier on a few features, an explicit calibrator, its ventiles."""
    names = tuple(model_feature_names()[:20])
    X = rows[:, [FEATURE_NAMES.index(name) for name in names]]
    y = (np.random.default_rng(3).uniform(size=len(X)) < 0.1 + 0.2 * (X[:, 0] > 0)).astype(int)
    with threadpool_limits(1):  # OpenMP threads cost more than this fit on a shared machine
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


def test_a_probability_across_tied_edges_takes_the_middle_of_their_scores(
        tiny_model: RiskModel, tmp_path: Path) -> None:
    # Isotonic calibration: 55% of the training referrals share one probability, 0.05,
    # below the mean; the edges from the 6th to the 15th twentieth are all 0.05.
    training = np.concatenate([np.full(25, 0.02), np.full(55, 0.05), np.linspace(0.1, 0.6, 20)])
    edges = ventile_edges(training)
    assert (edges == 0.05).sum() == 10
    model = replace(tiny_model, ventile_edges=edges, tied_edges=TIED_EDGES_MIDDLE)
    # It lies across scores 6 to 16: the middle one, 11 (medium), never 16 (high).
    assert model.score_of(np.array([0.05])).tolist() == [11]
    # Untied edges and probabilities between edges score as before.
    upper = replace(model, tied_edges=TIED_EDGES_UPPER)
    between = np.array([0.0, 0.03, 0.07, 0.3, 0.99, edges[-1]])
    assert model.score_of(between).tolist() == upper.score_of(between).tolist()
    assert upper.score_of(np.array([0.05])).tolist() == [16]
    # The rule is saved with the model and read back.
    model.save(tmp_path / "middle", write_classifier=True)
    assert RiskModel.load(tmp_path / "middle").score_of(np.array([0.05])).tolist() == [11]


def test_a_model_document_without_a_tied_edges_rule_scores_ties_as_it_was_trained_to(
        tiny_model: RiskModel, tmp_path: Path) -> None:
    edges = ventile_edges(np.concatenate([np.full(60, 0.05), np.linspace(0.1, 0.6, 40)]))
    replace(tiny_model, ventile_edges=edges).save(tmp_path / "old", write_classifier=True)
    document = json.loads((tmp_path / "old" / "risk_model.json").read_text())
    assert "tied_edges" not in document  # as versions registered before 6 December
    assert RiskModel.load(tmp_path / "old").score_of(np.array([0.05])).tolist() == [12]
    document["tied_edges"] = "lowest"
    (tmp_path / "old" / "risk_model.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="unknown tied_edges rule 'lowest'"):
        RiskModel.load(tmp_path / "old")


def test_a_saved_model_rates_exactly_as_before(tiny_model: RiskModel, rows: np.ndarray,
                                               tmp_path: Path) -> None:
    model = replace(tiny_model, calibrator=CALIBRATORS["isotonic"],
                    metadata={"calibration": "isotonic", "n_iter": 10})
    folder = tmp_path / "runs" / "7"  # a folder that does not exist yet
    assert [path.name for path in model.save(folder)] == ["model.skops", "forest.npz",
                                                         "risk_model.json"]
    loaded = RiskModel.load(folder)
    before, after = model.rate(rows), loaded.rate(rows)
    assert loaded.calibrator == model.calibrator
    assert loaded.feature_names == model.feature_names
    assert loaded.metadata == model.metadata
    assert loaded.governance_text == model.governance_text
    assert loaded.governance == model.governance
    np.testing.assert_array_equal(after.raw_score, before.raw_score)
    np.testing.assert_array_equal(after.probability, before.probability)
    np.testing.assert_array_equal(after.score, before.score)
    np.testing.assert_array_equal(after.band, before.band)
    assert loaded.fitted is None  # rated from the trees' file: the classifier not loaded
    X = classifier_input(loaded.model_matrix(rows), loaded.feature_names)
    np.testing.assert_array_equal(loaded.classifier.decision_function(X), before.raw_score)


def test_a_model_saved_before_the_trees_had_their_file_rates_the_same(
        tiny_model: RiskModel, rows: np.ndarray, tmp_path: Path) -> None:
    tiny_model.save(tmp_path)
    (tmp_path / "forest.npz").unlink()
    loaded = RiskModel.load(tmp_path)
    np.testing.assert_array_equal(loaded.rate(rows).raw_score, tiny_model.rate(rows).raw_score)


def test_rating_a_loaded_model_imports_neither_scikit_learn_nor_skops(
        tiny_model: RiskModel, rows: np.ndarray, tmp_path: Path) -> None:
    tiny_model.save(tmp_path)
    np.save(tmp_path / "rows.npy", rows)
    script = ("import sys, numpy as np; from pathlib import Path; "
              "from model.risk_model import RiskModel; "
              f"folder = Path({str(tmp_path)!r}); model = RiskModel.load(folder); "
              "model.rate(np.load(folder / 'rows.npy')); "
              "print(sorted(m for m in ('sklearn', 'skops') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]"


def _labels_from(probability: np.ndarray, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).uniform(size=probability.size) < probability).astype(int)


def test_a_fitted_sigmoid_calibrator_recovers_the_scale_and_shift_of_the_log_odds() -> None:
    raw = np.random.default_rng(4).normal(scale=2.0, size=40_000)
    y = _labels_from(1 / (1 + np.exp(-(0.5 * raw - 1.0))), seed=5)
    calibrator = Calibrator.fit("sigmoid", raw, y)
    assert calibrator.method == "sigmoid"
    assert calibrator.params["a"][0] == pytest.approx(0.5, abs=0.05)
    assert calibrator.params["b"][0] == pytest.approx(-1.0, abs=0.05)


def test_a_fitted_isotonic_calibrator_follows_the_outcome_rate_and_stays_a_probability() -> None:
    raw = np.random.default_rng(6).uniform(-4, 4, size=40_000)
    y = _labels_from(np.where(raw < 0, 0.1, 0.7), seed=7)
    calibrator = Calibrator.fit("isotonic", raw, y)
    assert calibrator.method == "isotonic"
    low, high, below, above = calibrator.transform(np.array([-2.0, 2.0, -50.0, 50.0]))
    assert low == pytest.approx(0.1, abs=0.03) and high == pytest.approx(0.7, abs=0.03)
    assert (below, above) == (calibrator.params["y"][0], calibrator.params["y"][-1])
    assert min(calibrator.params["y"]) >= 0.0 and max(calibrator.params["y"]) <= 1.0


def test_saving_without_the_classifier_writes_the_trees_and_the_model_document(
    tiny_model: RiskModel, tmp_path: Path
) -> None:
    tiny_model.save(tmp_path, write_classifier=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["forest.npz", "risk_model.json"]


def test_a_stored_model_with_broken_governance_settings_is_refused_naming_its_folder(
    tiny_model: RiskModel, tmp_path: Path
) -> None:
    tiny_model.save(tmp_path)
    document = json.loads((tmp_path / "risk_model.json").read_text(encoding="utf-8"))
    document["governance_toml"] = document["governance_toml"].replace("min_score = 11",
                                                                      "min_score = 30")
    (tmp_path / "risk_model.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(GovernanceError, match=re.escape(str(tmp_path))):
        RiskModel.load(tmp_path)


def test_the_ventile_edges_are_the_nineteen_twentieths_of_the_training_probabilities() -> None:
    edges = ventile_edges(np.linspace(0.0, 1.0, 2001))
    np.testing.assert_allclose(edges, np.arange(1, 20) / 20)


def test_a_single_case_and_a_small_batch_are_rated_as_in_a_large_batch(
    tiny_model: RiskModel, rows: np.ndarray
) -> None:
    """Live cases take the one-thread path (up to 256 rows), batches the other."""
    batch = tiny_model.rate(rows)
    single = tiny_model.rate(rows[:1])
    small = tiny_model.rate(rows[:5])
    np.testing.assert_allclose(single.raw_score, batch.raw_score[:1])
    np.testing.assert_allclose(small.probability, batch.probability[:5])
    np.testing.assert_array_equal(small.score, batch.score[:5])


def test_calibrators_map_log_odds_to_the_probabilities_their_numbers_say() -> None:
    sigmoid = CALIBRATORS["sigmoid"].transform(np.array([0.0, 5.0, -2.0]))
    expected = 1.0 / (1.0 + np.exp(-(0.4 * np.array([0.0, 5.0, -2.0]) - 1.5)))
    np.testing.assert_allclose(sigmoid, expected)
    np.testing.assert_allclose(sigmoid, [0.182426, 0.622459, 0.091123], atol=1e-6)
    isotonic = CALIBRATORS["isotonic"].transform(np.array([-9.0, -1.0, 0.0, 1.0, 9.0]))
    np.testing.assert_allclose(isotonic, [0.02, 0.16, 0.3, 0.6, 0.9])


def test_a_rating_carries_the_model_band_and_the_escalated_band_with_its_rule(
    tiny_model: RiskModel, rows: np.ndarray
) -> None:
    governance = tiny_model.governance
    flagged = rows.copy()
    for rule in governance.escalation_rules:  # only the flag set below fires
        flagged[:, [FEATURE_NAMES.index(name) for name in rule.features]] = 0
    flagged[0, FEATURE_NAMES.index("subject_police_dash_high_risk_90d")] = 1
    ratings = tiny_model.rate(flagged)
    np.testing.assert_array_equal(ratings.model_band, governance.band_index(ratings.score))
    high = governance.band_named("high")
    assert ratings.band[0] == max(high, ratings.model_band[0])
    assert [rule.name for rule in ratings.escalations[0]] == ["recent_dash_high_risk"]
    assert (ratings.band >= ratings.model_band).all()
    assert len(ratings.escalations) == len(flagged)


def test_the_classifier_reads_an_empty_constrained_days_since_as_no_record_in_a_copy() -> None:
    names = ("subject_police_dash_high_risk_days_since_latest",  # constrained: no record
             "subject_health_ae_attendance_days_since_latest",  # left empty
             "subject_police_domestic_abuse_incident_90d")
    given = np.array([[np.nan, np.nan, 2.0], [12.0, 40.0, np.nan]], dtype=np.float32)
    kept = given.copy()
    X = classifier_input(given, names)
    np.testing.assert_array_equal(X, [[NO_RECORD_DAYS, np.nan, 2.0], [12.0, 40.0, np.nan]])
    assert X.dtype == np.float32
    np.testing.assert_array_equal(given, kept)  # the caller's rows are left as they were
    counts = given[:, 2:]
    assert classifier_input(counts, names[2:]) is not counts
    # Rows in double precision are read as the feature table holds them: float32, as SHAP
    # reads them, so a value on a split threshold goes the same way in both.
    double = np.array([[np.nan, 0.1, 1 / 3]])
    X = classifier_input(double, names)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, np.array([[NO_RECORD_DAYS, 0.1, 1 / 3]], np.float32))


def test_probabilities_are_the_same_for_single_and_double_precision_log_odds() -> None:
    raw = np.array([-1.234567, 0.1, 3.3])
    for calibrator in CALIBRATORS.values():
        single = calibrator.transform(raw.astype(np.float32))
        np.testing.assert_array_equal(single, calibrator.transform(
            raw.astype(np.float32).astype(np.float64)))
        assert single.dtype == np.float64


def test_log_odds_already_computed_are_not_predicted_again(
        tiny_model: RiskModel, rows: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tiny_model.raw_score(tiny_model.model_matrix(rows))
    expected = tiny_model.rate(rows)

    def predicted_again(X: np.ndarray) -> np.ndarray:
        raise AssertionError("the classifier was asked again")

    monkeypatch.setattr(tiny_model.classifier, "decision_function", predicted_again)
    ratings = tiny_model.rate(rows, raw_score=raw)
    np.testing.assert_array_equal(ratings.score, expected.score)
    np.testing.assert_array_equal(ratings.band, expected.band)
