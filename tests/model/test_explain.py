"""Case explanations against small models trained on synthetic rows with manifest columns."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from model import explain_batch
from model.explain import (
    AGENCY_GROUPS,
    AdditivityError,
    CaseExplainer,
    Explanation,
)
from model.explain_kernel import ReferenceShap
from model.governance import ReferenceName
from model.importance import global_importance
from model.model_matrix import classifier_input
from model.reference import COMPARED_WITH, REFERENCE_SENTENCES, reference_values
from pipelines.manifest import SPECS_BY_NAME
from tests.model.strategies import feature_value

STRONG = "parents_carers_police_domestic_abuse_incident_365d"
NAMES: tuple[str, ...] = (
    *(f"{agency}_records_held" for agency in AGENCIES),
    *(f"presenting_need_{need}" for need in PRESENTING_NEEDS),
    "subject_is_adult_at_risk", "age_years", "referral_source_police", "household_children_count",
    STRONG, "subject_police_missing_episode_90d", "subject_health_unexplained_injury_ever",
    "children_social_care_child_protection_plan_ever", "subject_previous_referrals_365d",
    "subject_police_arrest_days_since_latest", "household_police_days_since_latest_record",
    "subject_days_since_previous_referral", "subject_latest_attendance_pct",
)
COLUMN = {name: i for i, name in enumerate(NAMES)}


ROWS = st.lists(
    st.tuples(*(feature_value(n, max_days=4000, max_count=15) for n in NAMES)),
    min_size=1, max_size=12,
)


def synthetic_cases(n: int, seed: int) -> np.ndarray:
    """Plausible feature rows: one presenting need each, counts, gaps, missing values."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(NAMES)))
    for agency in AGENCIES:
        X[:, COLUMN[f"{agency}_records_held"]] = rng.random(n) < 0.7
    need = rng.integers(0, len(PRESENTING_NEEDS), n)
    X[np.arange(n), COLUMN[f"presenting_need_{PRESENTING_NEEDS[0]}"] + need] = 1.0
    X[:, COLUMN["subject_is_adult_at_risk"]] = rng.random(n) < 0.2
    X[:, COLUMN["age_years"]] = rng.integers(0, 18, n)
    X[:, COLUMN["referral_source_police"]] = rng.random(n) < 0.3
    first, last = COLUMN["household_children_count"], COLUMN["subject_previous_referrals_365d"]
    X[:, first:last + 1] = rng.poisson(0.8, (n, last + 1 - first))
    for name in NAMES[COLUMN["subject_police_arrest_days_since_latest"]:]:
        X[:, COLUMN[name]] = np.where(rng.random(n) < 0.4, np.nan, rng.integers(0, 2000, n))
    X[:, COLUMN["subject_latest_attendance_pct"]] = np.where(
        rng.random(n) < 0.3, np.nan, rng.uniform(60, 100, n))
    return X


def train(X: np.ndarray, logit: np.ndarray, seed: int = 0,
          names: tuple[str, ...] = NAMES) -> HistGradientBoostingClassifier:
    """A classifier fitted as training fits one: manifest constraints, classifier input."""
    y = np.random.default_rng(seed).random(len(X)) < 1 / (1 + np.exp(-logit))
    return HistGradientBoostingClassifier(
        max_iter=30, random_state=0,
        monotonic_cst=[SPECS_BY_NAME[n].monotonic_constraint for n in names],
    ).fit(classifier_input(X, names), y)


def explainer_of(classifier: HistGradientBoostingClassifier, cases: np.ndarray,
                 names: tuple[str, ...] = NAMES, **kwargs: object) -> CaseExplainer:
    """The explainer of a classifier, against the reference the training rows give."""
    return CaseExplainer(classifier, names, reference=reference_values(names, cases),
                         **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def cases() -> np.ndarray:
    return synthetic_cases(1500, seed=1)


@pytest.fixture(scope="module")
def explainer(cases: np.ndarray) -> CaseExplainer:
    """A model where several features matter."""
    c = COLUMN
    logit = (-1.5 + 0.6 * cases[:, c[STRONG]] + 0.8 * cases[:, c["presenting_need_abuse_neglect"]]
             + 0.5 * cases[:, c["subject_health_unexplained_injury_ever"]]
             - 0.6 * cases[:, c["health_records_held"]]
             - 0.03 * np.nan_to_num(cases[:, c["subject_latest_attendance_pct"]] - 90))
    return explainer_of(train(cases, logit), cases)


@pytest.fixture(scope="module")
def strong_explainer(cases: np.ndarray) -> CaseExplainer:
    """A model where one feature decides almost everything."""
    return explainer_of(train(cases, -3.0 + 2.5 * cases[:, COLUMN[STRONG]]), cases)


@settings(max_examples=25, deadline=None)
@given(rows=ROWS)
def test_contributions_add_up_to_the_classifier_log_odds(explainer: CaseExplainer,
                                                         rows: list[tuple[float, ...]]) -> None:
    X = np.array(rows)
    base, phi = explainer.contributions(X)
    raw = explainer.classifier.decision_function(classifier_input(X, NAMES))
    assert phi.shape == X.shape
    np.testing.assert_allclose(base + phi.sum(axis=1), raw, rtol=0, atol=1e-6)


def test_contributions_that_do_not_add_up_are_refused(
        explainer: CaseExplainer, cases: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    X = cases[:20].copy()
    X[7, COLUMN["age_years"]] = 77.0  # marks the row whose contributions are tampered with
    real = ReferenceShap.explain

    def off_on_marked_row(self: ReferenceShap, rows: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
        values, raw = real(self, rows)
        values[rows[:, COLUMN["age_years"]] == 77.0, 0] += 1e-3
        return values, raw

    monkeypatch.setattr(ReferenceShap, "explain", off_on_marked_row)
    with pytest.raises(AdditivityError, match=r"row\(s\): 7 ") as raised:
        explainer.explain(X)
    assert raised.value.rows == [7]
    monkeypatch.setattr(explain_batch, "CHUNK_ROWS", 5)  # row 7 sits in the second chunk
    with pytest.raises(AdditivityError) as raised:
        explainer.explain_columns(X, n_jobs=1)
    assert raised.value.rows == [7]


def test_agency_sums_cover_every_feature(explainer: CaseExplainer, cases: np.ndarray) -> None:
    X = cases[:200]
    base, phi = explainer.contributions(X)
    agency = np.array([SPECS_BY_NAME[n].agency for n in NAMES])
    for i, explanation in enumerate(explainer.explain(X)):
        sums = explanation.contributions_by_agency
        assert list(sums) == list(AGENCY_GROUPS)
        for group in AGENCY_GROUPS:
            assert sums[group] == pytest.approx(phi[i, agency == group].sum(), abs=1e-12)
        assert explanation.base_value == base
        assert base + sum(sums.values()) == pytest.approx(explanation.raw_score, abs=1e-6)


def test_top_factors_raise_first_then_lower_by_size(explainer: CaseExplainer,
                                                   cases: np.ndarray) -> None:
    for explanation in explainer.explain(cases[:100]):
        factors = explanation.top_factors
        raising = [f.contribution for f in factors if f.direction == "raises"]
        lowering = [f.contribution for f in factors if f.direction == "lowers"]
        assert [f.direction for f in factors] == ["raises"] * len(raising) + ["lowers"] * len(
            lowering)
        assert len(raising) <= 5 and len(lowering) <= 3
        assert all(c > 0 for c in raising) and all(c < 0 for c in lowering)
        assert raising == sorted(raising, reverse=True) and lowering == sorted(lowering)


def test_a_single_strong_factor_comes_first(strong_explainer: CaseExplainer,
                                            cases: np.ndarray) -> None:
    case = cases[:1].copy()
    case[0, COLUMN[STRONG]] = 6.0
    first = strong_explainer.explain(case)[0].top_factors[0]
    assert (first.feature, first.direction, first.value) == (STRONG, "raises", 6)
    assert first.sentence.startswith("6 police domestic-abuse incidents involving a parent")


def test_batch_columns_match_case_explanations(explainer: CaseExplainer, cases: np.ndarray,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_batch, "CHUNK_ROWS", 64)  # several chunks
    X = cases[:300]
    columns = explainer.explain_columns(X, n_jobs=1)
    assert_same(explainer.explain(X), columns)


@pytest.mark.slow
def test_batch_columns_match_in_worker_processes(explainer: CaseExplainer, cases: np.ndarray,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explain_batch, "CHUNK_ROWS", 250)
    monkeypatch.setattr(explain_batch, "PARALLEL_MIN_ROWS", 0)
    columns = explainer.explain_columns(cases[:1000], n_jobs=2)
    assert_same(explainer.explain(cases[:1000]), columns)
    assert columns["top_factors"].dtype == pd.Series(["text"]).dtype  # as from Python strings


def assert_same(explanations: list[Explanation], columns: dict[str, list[object]]) -> None:
    assert all(len(values) == len(explanations) for values in columns.values())
    for i, expected in enumerate(explanations):
        assert columns["raw_score"][i] == expected.raw_score
        assert columns["base_value"][i] == expected.base_value
        assert json.loads(columns["top_factors"][i]) == [f.to_dict() for f in
                                                        expected.top_factors]
        assert json.loads(columns["contributions_by_agency"][i]) == (
            expected.contributions_by_agency)
        # Spelt as json.dumps spells the records, float by float.
        assert columns["top_factors"][i] == json.dumps([f.to_dict() for f in
                                                        expected.top_factors])
        assert columns["contributions_by_agency"][i] == json.dumps(
            expected.contributions_by_agency)
        assert json.loads(columns["agencies_not_seen"][i]) == expected.agencies_not_seen
        assert json.loads(columns["warnings"][i]) == expected.warnings


def test_agencies_not_seen_warn_when_they_usually_matter(explainer: CaseExplainer,
                                                         cases: np.ndarray) -> None:
    case = cases[:1].copy()
    case[0, [COLUMN[f"{a}_records_held"] for a in AGENCIES]] = 1.0
    case[0, [COLUMN["health_records_held"], COLUMN["housing_records_held"]]] = 0.0
    case[0, [COLUMN[f"presenting_need_{n}"] for n in PRESENTING_NEEDS]] = 0.0
    case[0, COLUMN["presenting_need_abuse_neglect"]] = 1.0
    case[0, COLUMN["subject_is_adult_at_risk"]] = 0.0
    explanation = explainer.explain(case)[0]
    assert explanation.agencies_not_seen == ["health", "housing"]
    assert explanation.warnings == [
        "No health records were seen for this child or household; health information usually "
        "matters for abuse or neglect referrals."]


def test_no_education_warning_for_an_adult_at_risk(explainer: CaseExplainer,
                                                   cases: np.ndarray) -> None:
    case = cases[:1].copy()
    case[0, [COLUMN[f"{a}_records_held"] for a in AGENCIES]] = 0.0
    case[0, [COLUMN[f"presenting_need_{n}"] for n in PRESENTING_NEEDS]] = 0.0
    case[0, COLUMN["presenting_need_radicalisation"]] = 1.0
    case[0, COLUMN["subject_is_adult_at_risk"]] = 1.0
    explanation = explainer.explain(case)[0]
    # Schools hold no records about adults: education is not listed as not seen either.
    assert explanation.agencies_not_seen == [a for a in AGENCIES if a != "education"]
    assert explanation.warnings == [
        "No police records were seen for this adult or household; police information usually "
        "matters for radicalisation referrals."]
    # Unless education shared nothing in the whole extract, which the practitioner is told.
    whole = explainer.for_extract(["education"]).explain(case)[0]
    assert whole.agencies_not_seen == list(AGENCIES)
    assert whole.warnings[0].startswith("Education shared no records in this extract")


def test_explanations_are_plain_json_ready_records(explainer: CaseExplainer,
                                                   cases: np.ndarray) -> None:
    explanation = explainer.explain(cases[:1])[0]
    text = json.dumps(asdict(explanation))
    assert "shap" not in text.lower()
    for factor in explanation.top_factors:
        assert type(factor.contribution) is float
        assert factor.value is None or type(factor.value) in (int, float)
        assert factor.feature not in factor.sentence


def test_unknown_feature_names_are_refused(explainer: CaseExplainer) -> None:
    with pytest.raises(ValueError, match="not manifest features"):
        CaseExplainer(explainer.classifier, (*NAMES[:-1], "f17"), reference={})


def test_global_importance_ranks_features_and_writes_plots(
        explainer: CaseExplainer, cases: np.ndarray, tmp_path: Path) -> None:
    importance = global_importance(explainer, cases[:150])
    by_feature = importance.by_feature
    assert len(by_feature) == len(NAMES)
    assert by_feature["mean_abs_contribution"].is_monotonic_decreasing
    assert set(importance.by_agency["agency"]) == set(AGENCY_GROUPS)
    paths = importance.plots(tmp_path, n_dependence=2, max_display=10)
    assert [p.name for p in paths][0] == "shap_beeswarm.png"
    assert len(paths) == 3
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


def test_by_default_the_five_strongest_raising_and_three_strongest_lowering_factors_show(
        explainer: CaseExplainer, cases: np.ndarray) -> None:
    every = explainer_of(explainer.classifier, cases, top_raising=len(NAMES),
                         top_lowering=len(NAMES))
    X = cases[:20]
    more_to_show = 0
    for shown, full in zip(explainer.explain(X), every.explain(X), strict=True):
        raising = [f for f in full.top_factors if f.direction == "raises"]
        lowering = [f for f in full.top_factors if f.direction == "lowers"]
        assert shown.top_factors == raising[:5] + lowering[:3]
        more_to_show += len(raising) > 5 and len(lowering) > 3
    assert more_to_show >= 5  # cases with more factors of both kinds than are shown


def test_a_classifier_on_some_columns_is_explained_over_those_columns(
        cases: np.ndarray) -> None:
    """The explainer's matrix has every column; the classifier reads only some."""
    model_features = NAMES[len(AGENCIES):]  # not the records-held flags
    X = cases[:600, [COLUMN[n] for n in model_features]]
    classifier = train(X, 1.5 * X[:, model_features.index(STRONG)] - 2.0,
                       names=model_features)
    explainer = CaseExplainer(classifier, NAMES, model_features=model_features,
                              reference=reference_values(NAMES, cases[:600]))
    base, phi = explainer.contributions(cases[:50])
    assert phi.shape == (50, len(model_features))
    raw = classifier.decision_function(classifier_input(X[:50], model_features))
    np.testing.assert_allclose(base + phi.sum(axis=1), raw, rtol=0, atol=1e-6)
    explanation = explainer.explain(cases[:1])[0]
    assert explanation.raw_score == pytest.approx(raw[0], abs=1e-12)


def test_the_agencies_that_usually_matter_can_be_set(explainer: CaseExplainer,
                                                     cases: np.ndarray) -> None:
    ours = explainer_of(explainer.classifier, cases,
                        usual_agencies={"abuse_neglect": ("housing",)})
    case = cases[:1].copy()
    case[0, [COLUMN[f"{a}_records_held"] for a in AGENCIES]] = 0.0
    case[0, [COLUMN[f"presenting_need_{n}"] for n in PRESENTING_NEEDS]] = 0.0
    case[0, COLUMN["presenting_need_abuse_neglect"]] = 1.0
    case[0, COLUMN["subject_is_adult_at_risk"]] = 0.0
    assert ours.explain(case)[0].warnings == [
        "No housing records were seen for this child or household; housing information "
        "usually matters for abuse or neglect referrals."]


@pytest.mark.parametrize("shape", [(3, len(NAMES) - 1), (len(NAMES),), (2, len(NAMES), 1)])
def test_a_matrix_of_the_wrong_shape_is_refused_saying_what_was_expected(
        explainer: CaseExplainer, shape: tuple[int, ...]) -> None:
    expected = (f"expected a 2-D matrix with {len(NAMES)} columns, got "
                f"{shape}".replace("(", r"\(").replace(")", r"\)"))
    with pytest.raises(ValueError, match=expected):
        explainer.explain(np.zeros(shape))
    with pytest.raises(ValueError, match=expected):
        explainer.contributions(np.zeros(shape))


def test_every_explanation_says_what_it_is_compared_with(explainer: CaseExplainer,
                                                        cases: np.ndarray) -> None:
    explanations = explainer.explain(cases[:3])
    assert [e.compared_with for e in explanations] == [COMPARED_WITH] * 3
    columns = explainer.explain_columns(cases[:3], n_jobs=1)
    assert list(columns["compared_with"]) == [COMPARED_WITH] * 3


@pytest.mark.parametrize("name", sorted(REFERENCE_SENTENCES))
def test_explanations_name_the_reference_the_governance_settings_chose(
        explainer: CaseExplainer, cases: np.ndarray, name: ReferenceName) -> None:
    # Built in the test, not in a fixture: on a mutant of `__init__`, mutmut runs only the
    # tests during which `__init__` ran.
    chosen = CaseExplainer(explainer.classifier, NAMES, reference_name=name,
                           reference=reference_values(NAMES, cases, name))
    assert [e.compared_with for e in chosen.explain(cases[:3])] == [REFERENCE_SENTENCES[name]] * 3


def test_rows_given_as_lists_with_none_for_empty_values_are_explained_as_numbers(
        explainer: CaseExplainer, cases: np.ndarray) -> None:
    rows = [[None if np.isnan(v) else float(v) for v in row] for row in cases[:5]]
    assert any(v is None for row in rows for v in row)
    assert explainer.explain(rows) == explainer.explain(cases[:5])  # type: ignore[arg-type]
