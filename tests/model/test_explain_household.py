"""A referral that names no household: its household factors say what could not be
counted, never "No parents or carers in the household" (the feed allows an empty
household_id, and the feature build then leaves the household's features 0 or empty);
the rating's warning says why (`tests/model/test_household_warning.py`)."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from model.explain import CaseExplainer, Explanation
from model.factors import forget_texts
from model.household_sentences import UNNAMED_HOUSEHOLD_WARNING, unnamed_household_sentence
from model.model_matrix import classifier_input
from model.reference import reference_values
from pipelines.manifest import MANIFEST, SPECS_BY_NAME
from pipelines.phrases import UNNAMED_HOUSEHOLD

PARENT_DA = tuple(f"parents_carers_police_domestic_abuse_incident_{w}"
                  for w in ("90d", "365d", "ever"))
HOUSEHOLD = (
    "household_parents_carers_count", "household_children_count", *PARENT_DA,
    "household_police_days_since_latest_record", "children_lowest_latest_attendance_pct",
    "household_previous_referrals_ever", "other_adults_probation_under_supervision_ever",
)
NAMES: tuple[str, ...] = (
    *(f"{agency}_records_held" for agency in AGENCIES),
    *(f"presenting_need_{need}" for need in PRESENTING_NEEDS),
    "subject_is_adult_at_risk", "age_years", "household_known", *HOUSEHOLD,
    "subject_police_arrest_ever",
)
COLUMN = {name: i for i, name in enumerate(NAMES)}


def cases(n: int, seed: int) -> np.ndarray:
    """Rows where a fifth of referrals name no household (its features then 0 or empty)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(NAMES)))
    c = COLUMN
    for agency in AGENCIES:
        X[:, c[f"{agency}_records_held"]] = rng.random(n) < 0.8
    X[np.arange(n), c[f"presenting_need_{PRESENTING_NEEDS[0]}"]
      + rng.integers(0, len(PRESENTING_NEEDS), n)] = 1.0
    X[:, c["age_years"]] = rng.integers(0, 18, n)
    X[:, c["household_parents_carers_count"]] = rng.integers(0, 3, n)
    X[:, c["household_children_count"]] = rng.integers(0, 4, n)
    ever = rng.poisson(1.5, n)
    X[:, c[PARENT_DA[2]]] = ever
    X[:, c[PARENT_DA[1]]] = rng.binomial(ever, 0.5)
    X[:, c[PARENT_DA[0]]] = rng.binomial(X[:, c[PARENT_DA[1]]].astype(int), 0.5)
    X[:, c["household_police_days_since_latest_record"]] = np.where(
        rng.random(n) < 0.6, rng.integers(0, 2000, n), np.nan)
    X[:, c["children_lowest_latest_attendance_pct"]] = np.where(
        rng.random(n) < 0.5, rng.uniform(50, 100, n), np.nan)
    X[:, c["household_previous_referrals_ever"]] = rng.poisson(0.7, n)
    X[:, c["other_adults_probation_under_supervision_ever"]] = rng.poisson(0.3, n)
    X[:, c["subject_police_arrest_ever"]] = rng.poisson(0.5, n)
    named = rng.random(n) < 0.8
    X[:, c["household_known"]] = named
    for name in HOUSEHOLD:  # as the feature build leaves them without a household
        empty = np.nan if SPECS_BY_NAME[name].unit in ("days", "percent") else 0.0
        X[~named, c[name]] = empty
    return X


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return cases(2000, seed=3)


@pytest.fixture(scope="module", params=["no_records", "training_medians"])
def explainer(rows: np.ndarray, request: pytest.FixtureRequest) -> CaseExplainer:
    """A model where the household's people and records move the score both ways, against
    either reference (against the typical referral, records a named household lacks and an
    unnamed one was never searched for both move the score)."""
    c = COLUMN
    logit = (-1.0 + 0.5 * rows[:, c[PARENT_DA[2]]] - 0.8 * rows[:, c[HOUSEHOLD[0]]]
             + 0.4 * rows[:, c[HOUSEHOLD[1]]]
             + 0.5 * rows[:, c["household_previous_referrals_ever"]]
             + 0.6 * rows[:, c["other_adults_probation_under_supervision_ever"]])
    y = np.random.default_rng(0).random(len(rows)) < 1 / (1 + np.exp(-logit))
    models = [n for n in NAMES if SPECS_BY_NAME[n].model_input]  # not records-held flags
    classifier = HistGradientBoostingClassifier(
        max_iter=40, random_state=0,
        monotonic_cst=[SPECS_BY_NAME[n].monotonic_constraint for n in models],
    ).fit(classifier_input(rows[:, [COLUMN[n] for n in models]], models), y)
    return CaseExplainer(classifier, NAMES, model_features=models,
                         reference=reference_values(NAMES, rows, request.param),
                         reference_name=request.param, top_raising=6, top_lowering=4)


def household_factors(explanation: Explanation) -> list[dict[str, object]]:
    """The factors whose features are all about household members, as JSON dicts."""
    return [f.to_dict() for f in explanation.top_factors
            if all(SPECS_BY_NAME[n].about_household_members for n in f.features)]


def as_before(explainer: CaseExplainer) -> CaseExplainer:
    """The explainer as it was before the household's flag was read: every household named."""
    before = copy.copy(explainer)  # a shallow copy, not the fixture itself
    before.layout = dataclasses.replace(explainer.layout, household=-1)
    return before


def test_every_household_feature_has_a_sentence_when_no_household_is_named() -> None:
    household = [s.name for s in MANIFEST if s.about_household_members]
    assert "household_known" not in household and "police_records_held" not in household
    for name in household:
        sentence = unnamed_household_sentence([name], 0.3)
        assert UNNAMED_HOUSEHOLD not in sentence and sentence[0].isupper()  # the warning's
        assert sentence.endswith("(raises the score)")
    assert unnamed_household_sentence(["household_parents_carers_count"], -0.1) == (
        "The number of parents or carers in the household is not known (lowers the score)")
    assert unnamed_household_sentence(PARENT_DA, 0.2) == (
        "Police domestic-abuse incidents involving a parent or carer in the household could "
        "not be counted (raises the score)")
    with pytest.raises(ValueError, match="not every feature"):
        unnamed_household_sentence(["subject_police_arrest_ever"], 0.2)


def test_a_referral_naming_no_household_is_not_told_its_household_is_empty(
        explainer: CaseExplainer, rows: np.ndarray) -> None:
    unnamed = rows[rows[:, COLUMN["household_known"]] == 0][:300]
    found = [f for e in explainer.explain(unnamed) for f in household_factors(e)]
    assert len(found) >= 100  # the model leans on the household: the test has cases
    for factor in found:
        sentence = str(factor["sentence"])
        assert sentence == unnamed_household_sentence(
            factor["features"], float(factor["contribution"])), sentence  # type: ignore[arg-type]
        assert " in the household (" not in sentence and not sentence[0].isdigit()
        assert factor["value"] is None
    # The household_known factor keeps its own sentence (the warning says why).
    flags = [f for e in explainer.explain(unnamed) for f in e.top_factors
             if f.features == ("household_known",)]
    assert flags and all(f.sentence.startswith("The household's members are not known")
                         for f in flags)


def test_an_adult_at_risks_unknown_household_has_children_not_other_children() -> None:
    for name in ("household_children_count", "children_lowest_latest_attendance_pct",
                 "children_police_domestic_abuse_incident_ever"):
        child = unnamed_household_sentence([name], 0.3)
        adult = unnamed_household_sentence([name], 0.3, subject="adult")
        assert "other child" in child and "other child" not in adult, adult
        assert "sibling" not in adult and " child" in adult
    assert unnamed_household_sentence(["household_children_count"], 0.3, subject="adult") == (
        "The number of children in the household is not known (raises the score)")
    assert unnamed_household_sentence(PARENT_DA, 0.2, subject="adult") == (
        unnamed_household_sentence(PARENT_DA, 0.2))  # parents and carers: the same words


def test_an_adult_at_risks_explanation_says_so_of_an_unknown_household(
        explainer: CaseExplainer, rows: np.ndarray) -> None:
    unnamed = rows[rows[:, COLUMN["household_known"]] == 0][:300].copy()
    unnamed[:, COLUMN["subject_is_adult_at_risk"]] = 1.0
    unnamed[:, COLUMN["age_years"]] = 40.0
    forget_texts()
    found = [f for e in explainer.explain(unnamed) for f in household_factors(e)]
    assert any("child" in str(f["sentence"]) for f in found)
    for factor in found:
        assert factor["sentence"] == unnamed_household_sentence(
            factor["features"], float(factor["contribution"]),  # type: ignore[arg-type]
            subject="adult")
        assert "other child" not in str(factor["sentence"])


def test_only_household_factors_of_unnamed_households_change(
        explainer: CaseExplainer, rows: np.ndarray) -> None:
    X = rows[:600]
    forget_texts()
    now, before = explainer.explain(X), as_before(explainer).explain(X)
    named = X[:, COLUMN["household_known"]] == 1
    changed = 0
    for i, (a, b) in enumerate(zip(now, before, strict=True)):
        if named[i]:
            assert a == b
            continue
        assert (a.raw_score, a.contributions_by_agency, a.warnings) == (
            b.raw_score, b.contributions_by_agency, [UNNAMED_HOUSEHOLD_WARNING, *b.warnings])
        for fa, fb in zip(a.top_factors, b.top_factors, strict=True):
            assert (fa.features, fa.contribution, fa.direction) == (
                fb.features, fb.contribution, fb.direction)
            household = all(SPECS_BY_NAME[n].about_household_members for n in fa.features)
            assert (fa == fb) is not household
            changed += household
    assert changed >= 20


def test_texts_of_named_and_unnamed_households_are_kept_apart(
        explainer: CaseExplainer, rows: np.ndarray) -> None:
    """Equal values (no parents or carers, no records) whether or not a household is
    named: one cache, two texts, in either order of first sight."""
    unnamed = rows[rows[:, COLUMN["household_known"]] == 0][:1]
    named = unnamed.copy()
    named[:, COLUMN["household_known"]] = 1.0
    for pair in (np.vstack([named, unnamed]), np.vstack([unnamed, named])):
        forget_texts()
        first, second = explainer.explain(pair)
        a, b = (first, second) if pair[0, COLUMN["household_known"]] else (second, first)
        said = {tuple(f["features"]): f for f in household_factors(b)}  # type: ignore[arg-type]
        for factor in household_factors(a):
            other = said.get(tuple(factor["features"]))  # type: ignore[arg-type]
            assert factor["sentence"] != unnamed_household_sentence(
                factor["features"], float(factor["contribution"]))  # type: ignore[arg-type]
            assert other is None or other["sentence"] == unnamed_household_sentence(
                other["features"], float(other["contribution"]))  # type: ignore[arg-type]


def test_batch_json_gives_no_value_for_an_unnamed_households_factors(
        explainer: CaseExplainer, rows: np.ndarray) -> None:
    X = rows[:400]
    forget_texts()
    columns = explainer.explain_columns(X, n_jobs=1)
    records = explainer.explain(X)
    nulls = 0
    for i, explanation in enumerate(records):
        factors = json.loads(columns["top_factors"][i])
        assert factors == [f.to_dict() for f in explanation.top_factors]
        if X[i, COLUMN["household_known"]] == 0:
            for factor in factors:
                if all(SPECS_BY_NAME[n].about_household_members for n in factor["features"]):
                    assert factor["value"] is None
                    nulls += 1
    assert nulls >= 10
