"""Model tests: behaviour a practitioner or a board would notice, on a model trained here."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from model.data import PreparedExtract
from model.evaluate import expected_calibration_error
from model.governance import load_governance
from model.risk_model import TIED_EDGES_MIDDLE, Calibrator
from model.train import TrainingConfig, TrainingResult, train_model
from pipelines.case import build_case_features, case_payload_from_frames
from pipelines.manifest import FEATURE_NAMES, model_feature_names

DA_COUNTS = [f"{relation}_police_domestic_abuse_incident_{window}"
             for relation in ("parents_carers", "other_adults")
             for window in ("90d", "365d", "ever")]


def _test_features(trained: TrainingResult, prepared: PreparedExtract) -> np.ndarray:
    rows = prepared.features.set_index("referral_id").loc[trained.test_ids]
    return rows[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)


def test_more_household_domestic_abuse_never_lowers_the_score(
        trained: TrainingResult, prepared: PreparedExtract) -> None:
    features = _test_features(trained, prepared)
    columns = [FEATURE_NAMES.index(name) for name in DA_COUNTS]
    before = trained.model.rate(features)
    for extra in (1, 3, 10):
        more = features.copy()
        more[:, columns] += extra
        after = trained.model.rate(more)
        assert np.all(after.raw_score >= before.raw_score - 1e-12)
        assert np.all(after.score >= before.score)
        before = after


def test_changing_only_protected_characteristics_leaves_the_score_unchanged(
        trained: TrainingResult, prepared: PreparedExtract) -> None:
    for referral_id in trained.test_ids[:20]:
        payload = case_payload_from_frames(prepared.feeds, referral_id)
        other = copy.deepcopy(payload)
        other["referral"] |= {"sex": "male" if payload["referral"]["sex"] == "female"
                              else "female", "ethnicity_group": "other",
                              "disability": not payload["referral"]["disability"],
                              "imd_decile": 1 if payload["referral"]["imd_decile"] != 1 else 10}
        a = trained.model.rate(build_case_features(payload))
        b = trained.model.rate(build_case_features(other))
        assert a.raw_score[0] == b.raw_score[0] and a.score[0] == b.score[0]
    assert not set(trained.model.feature_names) - set(model_feature_names())


def test_scores_are_1_to_20_and_bands_follow_the_settings(
        trained: TrainingResult, prepared: PreparedExtract) -> None:
    ratings = trained.model.rate(_test_features(trained, prepared))
    assert ratings.score.min() >= 1 and ratings.score.max() <= 20
    # Scores are ventiles of the training referrals' calibrated probabilities: when an
    # isotonic calibrator puts many of them on one plateau, ventile edges coincide and
    # scores skip values, so the spread asked for is what the distinct edges allow.
    distinct_edges = len(np.unique(trained.model.ventile_edges))
    assert len(np.unique(ratings.score)) >= min(15, distinct_edges)
    governance = trained.model.governance
    np.testing.assert_array_equal(ratings.model_band, governance.band_index(ratings.score))
    assert np.all(ratings.band >= ratings.model_band)
    escalated = ratings.band > ratings.model_band
    assert all(ratings.escalations[i] for i in np.flatnonzero(escalated))


def test_higher_scores_have_higher_outcome_rates(trained: TrainingResult) -> None:
    rates = trained.tables["rates_by_band"]["outcome_rate"].to_numpy()
    assert rates[0] < rates[-1]
    assert trained.metrics["test_roc_auc"] > 0.7


def test_incomplete_follow_up_is_left_out_and_counted(
        trained: TrainingResult, prepared: PreparedExtract) -> None:
    assert prepared.labels is not None
    incomplete = int((~prepared.labels["follow_up_complete"]).sum())
    assert incomplete > 0
    assert trained.counts["follow_up_incomplete"] == incomplete
    assert trained.counts["labelled"] == len(prepared.labels) - incomplete
    held = len(trained.split.train) + len(trained.split.validation) + len(trained.split.test)
    assert held <= trained.counts["labelled"]
    censored = set(prepared.labels.loc[~prepared.labels["follow_up_complete"], "referral_id"])
    assert censored.isdisjoint(trained.test_ids)


def test_the_same_extract_and_seed_give_the_same_model(
        trained: TrainingResult, prepared: PreparedExtract) -> None:
    governance, text = load_governance()
    assert prepared.labels is not None
    again = train_model(prepared.features, prepared.labels, members=prepared.members,
                        governance=governance, governance_text=text,
                        config=TrainingConfig(max_iter=60))
    assert again.metrics == trained.metrics
    features = _test_features(trained, prepared)
    np.testing.assert_array_equal(again.model.rate(features).raw_score,
                                  trained.model.rate(features).raw_score)


def test_the_calibrated_model_is_calibrated_and_beats_its_baseline(
        trained: TrainingResult) -> None:
    assert trained.metrics["test_ece"] < 0.05
    assert trained.metrics["test_roc_auc"] > trained.metrics["baseline_roc_auc"] - 0.01
    assert trained.model.calibrator.method in {"isotonic", "sigmoid"}


def test_expected_calibration_error_measures_miscalibration() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=200_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.01
    assert expected_calibration_error(y, np.clip(p + 0.1, 0, 1)) > 0.08


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_calibrators_are_monotone_probabilities(method: str) -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(size=5_000)
    y = (rng.uniform(size=raw.size) < 1 / (1 + np.exp(-raw))).astype(int)
    calibrator = Calibrator.fit(method, raw, y)  # type: ignore[arg-type]
    grid = np.linspace(-6, 6, 200)
    p = calibrator.transform(grid)
    assert np.all(np.diff(p) >= 0) and p.min() >= 0 and p.max() <= 1


def test_training_without_outcomes_is_refused_with_the_reason(
        prepared: PreparedExtract) -> None:
    governance, text = load_governance()
    assert prepared.labels is not None
    no_outcomes = prepared.labels.assign(label=prepared.labels["label"] * 0)
    with pytest.raises(ValueError, match="only one outcome class"):
        train_model(prepared.features, no_outcomes, members=prepared.members,
                    governance=governance, governance_text=text,
                    config=TrainingConfig(max_iter=5))


def test_training_needs_referrals_with_complete_follow_up(prepared: PreparedExtract) -> None:
    governance, text = load_governance()
    assert prepared.labels is not None
    none_complete = prepared.labels.assign(follow_up_complete=False)
    with pytest.raises(ValueError, match=r"^0 of [0-9,]+ referrals have a complete 365-day "
                       "follow-up at the extract date, too few to train on"):
        train_model(prepared.features, none_complete, members=None, governance=governance,
                    governance_text=text, config=TrainingConfig(max_iter=5))
    assert isinstance(prepared.features, pd.DataFrame)


def test_a_since_that_leaves_too_few_says_to_move_since_not_the_extract(
        prepared: PreparedExtract) -> None:
    """`train --since` after the last referral with a complete follow-up advised "an
    extract reaching further back", which --since would cut again."""
    import datetime as dt

    governance, text = load_governance()
    assert prepared.labels is not None
    with pytest.raises(ValueError, match=r"earlier left out\), too few to train on "
                       r"\(at least \d+\): an earlier --since keeps more$"):
        train_model(prepared.features, prepared.labels, members=None, governance=governance,
                    governance_text=text, config=TrainingConfig(max_iter=5),
                    since=dt.date(2100, 1, 1))


def test_the_baseline_imputes_the_same_medians_as_scikit_learn() -> None:
    """The baseline's per-column median (`fit_baseline`) is scikit-learn's median
    strategy: same filled matrix and missing-value flags; a column with no recorded
    value is kept and filled with 0."""
    from sklearn.impute import SimpleImputer

    from model.train import fit_baseline

    rng = np.random.default_rng(5)
    X = rng.poisson(2.0, size=(400, 6)).astype(np.float32)
    X[rng.random(X.shape) < 0.3] = np.nan
    X[:, 4] = np.nan  # never recorded
    X[::2, 5] = 7.0  # an even count of recorded values: the median averages two
    y = (rng.random(400) < 0.4).astype(np.int64)
    imputer = fit_baseline(X, y, config=TrainingConfig())[0]
    reference = SimpleImputer(strategy="median", add_indicator=True,
                              keep_empty_features=True).fit(X)
    np.testing.assert_array_equal(imputer.transform(X), reference.transform(X))
    assert imputer.statistics_[4] == 0.0


def test_a_trained_model_scores_a_probability_across_tied_edges_in_their_middle(
        trained: TrainingResult) -> None:
    # Isotonic calibration ties many training referrals: a version trained now says so in
    # its document, and never scores a tied probability at the top of its ventiles.
    assert trained.model.tied_edges == TIED_EDGES_MIDDLE


def test_the_model_is_also_measured_on_every_referral_of_the_test_period(
        trained: TrainingResult, prepared: PreparedExtract) -> None:
    from model.evaluate import classification_metrics
    from model.split import TEST_PERIOD_PREFIX, describe_test_period

    split, metrics = trained.split, trained.metrics
    # The held-out set keeps new families only; the whole period has the others too.
    assert split.left_out_test > 0
    assert len(split.test_period) == len(split.test) + split.left_out_test
    assert set(split.test) < set(split.test_period)
    # Recomputed from the model's own ratings of those referrals.
    from model.train import _labelled

    data = _labelled(prepared.features, prepared.labels, None)[0]
    rows = data.iloc[split.test_period]
    expected = classification_metrics(rows["label"].to_numpy(dtype=np.int64), trained.model.rate(
        rows[list(FEATURE_NAMES)].to_numpy(np.float32)).probability)
    for key in ("roc_auc", "ece", "n"):
        assert metrics[f"{TEST_PERIOD_PREFIX}{key}"] == pytest.approx(expected[key])
    assert metrics[f"{TEST_PERIOD_PREFIX}n"] != metrics["test_n"]
    words = describe_test_period(metrics, split.summary())
    assert f"({len(split.test_period):,}, families seen earlier included" in words
    assert describe_test_period({"test_roc_auc": 0.7}, split.summary()) == ""
