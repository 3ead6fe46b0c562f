"""Explanations a practitioner can trust: against a named reference, grouped, honest.

The model here is trained as `model.train` trains one (the manifest's monotonic
constraints, "no record" read as a long gap) on rows where concerns raise the risk.
"""

from __future__ import annotations

import numpy as np
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from model.explain import AGENCY_GROUPS, CaseExplainer, Explanation
from model.governance import GovernanceError, default_settings_text, parse_governance
from model.model_matrix import classifier_input
from model.reference import COMPARED_WITH, REFERENCE_SENTENCES, reference_values
from pipelines.manifest import SPECS_BY_NAME
from tests.model.strategies import feature_value

SUBSTANCE = tuple(f"parents_carers_health_substance_misuse_contact_{w}"
                  for w in ("90d", "365d", "ever"))
INJURY = ("subject_health_unexplained_injury_365d", "subject_health_unexplained_injury_ever",
          "subject_health_unexplained_injury_days_since_latest")
ARREST = ("subject_police_arrest_90d", "subject_police_arrest_ever",
          "subject_police_arrest_days_since_latest")
HOUSEHOLD_POLICE = "household_police_days_since_latest_record"
NAMES: tuple[str, ...] = (
    *SUBSTANCE, *ARREST, *INJURY, "subject_health_ae_attendance_ever",
    "subject_police_days_since_latest_record", HOUSEHOLD_POLICE,
    *(f"{agency}_records_held" for agency in AGENCIES), "subject_latest_attendance_pct",
    "subject_previous_referrals_365d", "subject_days_since_previous_referral",
    *(f"presenting_need_{need}" for need in PRESENTING_NEEDS),
    "subject_is_adult_at_risk", "age_years",
)
COLUMN = {name: i for i, name in enumerate(NAMES)}


ROWS = st.lists(
    st.tuples(*(feature_value(n, max_days=5000, max_count=60, percent_width=32) for n in NAMES)),
    min_size=1, max_size=16,
)


def _days(rng: np.random.Generator, present: np.ndarray, scale: float) -> np.ndarray:
    return np.where(present, np.minimum(rng.exponential(scale, len(present)), 5000), np.nan)


def training_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows where concerns are common (the average referral has several) and raise risk."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(NAMES)))
    c = COLUMN
    for group, rate in ((SUBSTANCE, 2.5), (ARREST, 1.5), (INJURY, 1.2)):
        ever = rng.poisson(rate, n)
        recent = rng.binomial(ever, 0.3)
        for name in group:
            spec = SPECS_BY_NAME[name]
            X[:, c[name]] = (_days(rng, ever > 0, 300.0) if spec.unit == "days"
                             else ever if spec.window == "ever" else recent)
    X[:, c["subject_health_ae_attendance_ever"]] = rng.poisson(1.0, n)
    X[:, c["subject_police_days_since_latest_record"]] = _days(rng, rng.random(n) < 0.7, 200.0)
    X[:, c[HOUSEHOLD_POLICE]] = _days(rng, rng.random(n) < 0.9, 60.0)
    for agency in AGENCIES:
        X[:, c[f"{agency}_records_held"]] = rng.random(n) < 0.8
    X[:, c["subject_latest_attendance_pct"]] = np.where(rng.random(n) < 0.2, np.nan,
                                                         rng.uniform(50, 100, n))
    X[:, c["subject_previous_referrals_365d"]] = rng.poisson(0.5, n)
    X[:, c["subject_days_since_previous_referral"]] = _days(rng, rng.random(n) < 0.4, 400.0)
    X[np.arange(n), c[f"presenting_need_{PRESENTING_NEEDS[0]}"]
      + rng.integers(0, len(PRESENTING_NEEDS), n)] = 1.0
    X[:, c["subject_is_adult_at_risk"]] = rng.random(n) < 0.15
    X[:, c["age_years"]] = rng.integers(0, 18, n)
    recent_police = np.exp(-np.nan_to_num(X[:, c[HOUSEHOLD_POLICE]], nan=1e4) / 100)
    recent_injury = np.exp(-np.nan_to_num(X[:, c[INJURY[2]]], nan=1e4) / 1500)
    logit = (-3.0 + 0.35 * X[:, c[SUBSTANCE[2]]] + 0.3 * X[:, c[ARREST[1]]]
             + 1.5 * recent_police + 2.0 * recent_injury + 0.4 * X[:, c[INJURY[1]]]
             - 0.02 * np.nan_to_num(X[:, c["subject_latest_attendance_pct"]] - 90))
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return X, y


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return training_rows(6000, seed=3)[0]


@pytest.fixture(scope="module")
def explainer(rows: np.ndarray) -> CaseExplainer:
    """Every factor listed (so none can hide), against the training rows' reference."""
    X, y = training_rows(6000, seed=3)
    classifier = HistGradientBoostingClassifier(
        max_iter=80, max_leaf_nodes=15, random_state=0,
        monotonic_cst=[SPECS_BY_NAME[n].monotonic_constraint for n in NAMES],
    ).fit(classifier_input(X, NAMES), y)
    return CaseExplainer(classifier, NAMES, reference=reference_values(NAMES, X),
                         top_raising=len(NAMES), top_lowering=len(NAMES))


def concern_present(names: tuple[str, ...], row: np.ndarray) -> list[str]:
    """The factor's features that report a record of a concern that raises risk."""
    return [n for n in names if SPECS_BY_NAME[n].is_concern
            and SPECS_BY_NAME[n].records_present(float(row[COLUMN[n]]))]


def assert_honest(explainer: CaseExplainer, X: np.ndarray, explanations: list[Explanation]
                  ) -> None:
    base, phi = explainer.contributions(X)
    reference = explainer.shap.reference
    assert base == pytest.approx(float(explainer.classifier.decision_function(reference)[0]),
                                 abs=1e-12)
    agency = np.array([SPECS_BY_NAME[n].agency for n in NAMES])
    for i, explanation in enumerate(explanations):
        assert explanation.compared_with == COMPARED_WITH
        assert explanation.base_value == base
        # Additivity against the reference, and the agency sums, exactly.
        assert abs(base + phi[i].sum() - explanation.raw_score) <= 1e-6
        for group in AGENCY_GROUPS:
            assert explanation.contributions_by_agency[group] == pytest.approx(
                phi[i, agency == group].sum(), abs=1e-12)
        for factor in explanation.top_factors:
            members = [COLUMN[n] for n in factor.features]
            assert factor.contribution == pytest.approx(phi[i, members].sum(), abs=1e-12)
            if factor.direction == "lowers":
                assert not concern_present(factor.features, X[i]), factor.sentence


@settings(max_examples=60, deadline=None)
@given(generated=ROWS)
def test_no_record_of_a_raising_concern_ever_lowers_risk(
        explainer: CaseExplainer, generated: list[tuple[float, ...]]) -> None:
    X = np.array(generated)
    assert_honest(explainer, X, explainer.explain(X))


def test_honest_on_realistic_rows_in_the_batch_output_too(explainer: CaseExplainer,
                                                          rows: np.ndarray) -> None:
    X = rows[:400]
    explanations = explainer.explain(X)
    assert_honest(explainer, X, explanations)
    lowering = [f for e in explanations for f in e.top_factors if f.direction == "lowers"]
    assert lowering, "protective factors (attendance) may still lower the score"
    columns = explainer.explain_columns(X, n_jobs=1)
    assert list(columns["compared_with"]) == [COMPARED_WITH] * len(X)


def test_grouping_covers_every_feature_exactly_once(explainer: CaseExplainer) -> None:
    layout = explainer.layout
    members = sorted(j for factor in layout.factors for j in factor)
    assert members == list(range(len(NAMES)))
    groups = {tuple(NAMES[j] for j in factor) for factor in layout.factors}
    assert {SUBSTANCE, ARREST, INJURY} <= groups
    assert (HOUSEHOLD_POLICE,) in groups
    np.testing.assert_array_equal(layout.factor_matrix.sum(axis=1), 1.0)


def case(**values: float) -> np.ndarray:
    """A referral of a child with health and police records and the given features set."""
    row = np.zeros((1, len(NAMES)))
    for name in NAMES:
        if SPECS_BY_NAME[name].unit in ("days", "percent"):
            row[0, COLUMN[name]] = np.nan
    row[0, [COLUMN["police_records_held"], COLUMN["health_records_held"]]] = 1.0
    row[0, COLUMN["presenting_need_abuse_neglect"]] = 1.0
    row[0, COLUMN["age_years"]] = 9.0
    for name, value in values.items():
        row[0, COLUMN[name]] = value
    return row


# The three sentences of issue 22, and what the explanation says of the same records now.
ISSUE_CASES = [
    ({SUBSTANCE[2]: 1.0}, SUBSTANCE,
     "1 substance-misuse contact involving a parent or carer in the household on record"),
    ({HOUSEHOLD_POLICE: 149.0}, (HOUSEHOLD_POLICE,),
     "Latest police record about anyone else in the household was 149 days before the "
     "referral"),
    ({INJURY[1]: 1.0, INJURY[2]: 2787.0}, INJURY,
     "1 unexplained injury involving this child on record, the latest 2787 days (about 8 "
     "years) before the referral"),
]


@pytest.mark.parametrize(("values", "group", "words"), ISSUE_CASES)
def test_the_issue_sentences_no_longer_say_lowers_risk(
        explainer: CaseExplainer, rows: np.ndarray, values: dict[str, float],
        group: tuple[str, ...], words: str) -> None:
    X = case(**values)
    # Against the average referral (the old explanation), these records "lowered" risk.
    average = shap.TreeExplainer(explainer.classifier)
    old = np.asarray(average.shap_values(classifier_input(X, NAMES))).reshape(1, -1)
    assert old[0, [COLUMN[n] for n in group]].sum() < 0
    factors = {f.features: f for f in explainer.explain(X)[0].top_factors}
    assert factors[group].sentence == f"{words} (raises the score)"
    assert factors[group].direction == "raises" and factors[group].contribution > 0
    assert not any(f.sentence.startswith(words) for f in factors.values()
                   if f.direction == "lowers")


def test_a_reference_the_governance_settings_choose(explainer: CaseExplainer,
                                                    rows: np.ndarray) -> None:
    """`training_medians`: its own sentence, its own base value, additivity against it."""
    medians = reference_values(NAMES, rows, "training_medians")
    assert medians["subject_latest_attendance_pct"] == pytest.approx(
        float(np.nanmedian(rows[:, COLUMN["subject_latest_attendance_pct"]])))
    assert medians[SUBSTANCE[2]] == float(np.median(rows[:, COLUMN[SUBSTANCE[2]]])) > 0
    typical = CaseExplainer(explainer.classifier, NAMES, reference=medians,
                            reference_name="training_medians")
    X = rows[:300]
    base, phi = typical.contributions(X)
    row = classifier_input(np.array([[np.nan if medians[n] is None else medians[n]
                                      for n in NAMES]]), NAMES)
    assert base == pytest.approx(float(explainer.classifier.decision_function(row)[0]),
                                 abs=1e-12)
    assert base != explainer.base_value
    explanations = typical.explain(X)
    assert {e.compared_with for e in explanations} == {REFERENCE_SENTENCES["training_medians"]}
    raw = explainer.classifier.decision_function(classifier_input(X, NAMES))
    np.testing.assert_allclose(base + phi.sum(axis=1), raw, rtol=0, atol=1e-6)
    columns = typical.explain_columns(X, n_jobs=1)
    assert list(columns["compared_with"]) == [REFERENCE_SENTENCES["training_medians"]] * len(X)
    assert columns["base_value"].tolist() == [base] * len(X)


def test_the_governance_settings_name_the_reference() -> None:
    text = default_settings_text()
    assert parse_governance(text).explanation_reference == "no_records"
    chosen = text.replace('explanation_reference = "no_records"',
                          'explanation_reference = "training_medians"')
    assert parse_governance(chosen).explanation_reference == "training_medians"
    with pytest.raises(GovernanceError, match="explanation_reference"):
        parse_governance(text.replace('explanation_reference = "no_records"',
                                      'explanation_reference = "average"'))
