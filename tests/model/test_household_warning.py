"""A rating whose household members are not known (`household_known` 0: no household_id,
or a household household_members lists nowhere) warns of it every time, whatever its top
factors: an independent probe found the words only where a household factor happened to be
among them (58.6% of 1,521 such referrals; R11-000036 was rated medium with no warning at
all). The warning alone says why (`pipelines.phrases.UNNAMED_HOUSEHOLD`, once per rating);
a rating with its household known has no such warning."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from model.explain import CaseExplainer, Explanation
from model.factor_text import Context, warnings_for
from model.factors import forget_texts
from model.household_sentences import UNNAMED_HOUSEHOLD_WARNING
from model.model_matrix import classifier_input
from model.reference import reference_values
from pipelines.manifest import SPECS_BY_NAME
from pipelines.phrases import UNNAMED_HOUSEHOLD
from tests.model.test_explain_household import (  # noqa: F401  (fixtures)
    COLUMN,
    NAMES,
    explainer,
    rows,
)


@pytest.fixture(scope="module")
def blind(rows: np.ndarray) -> CaseExplainer:  # noqa: F811
    """A model that reads no household feature: no rating's top factors name the household
    (as R11-000036's did not), though the explainer's columns hold its flag."""
    models = ["age_years", "subject_police_arrest_ever", "presenting_need_abuse_neglect"]
    X = rows[:, [COLUMN[n] for n in models]]
    logit = -1.0 + 0.6 * X[:, 1] + 0.05 * X[:, 0]
    y = np.random.default_rng(1).random(len(rows)) < 1 / (1 + np.exp(-logit))
    classifier = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(
        classifier_input(X, models), y)
    return CaseExplainer(classifier, NAMES, model_features=models,
                         reference=reference_values(NAMES, rows, "no_records"))


def _about_household(explanation: Explanation) -> bool:
    """Whether a household factor (or the household_known flag) is among its top factors."""
    return any(all(SPECS_BY_NAME[n].about_household_members for n in f.features)
               or f.features == ("household_known",) for f in explanation.top_factors)


def _said(explanation: Explanation) -> str:
    return " | ".join([*explanation.warnings, *(f.sentence for f in explanation.top_factors)])


def test_every_rating_without_its_household_warns_whatever_its_top_factors(
        explainer: CaseExplainer, blind: CaseExplainer, rows: np.ndarray) -> None:  # noqa: F811
    X = rows[:800]
    forget_texts()
    unknown = np.tile(X[:, COLUMN["household_known"]] == 0, 2)
    with_factor = without_factor = 0
    for i, explanation in enumerate([*explainer.explain(X), *blind.explain(X)]):
        if not unknown[i]:
            assert UNNAMED_HOUSEHOLD not in _said(explanation)
            assert UNNAMED_HOUSEHOLD_WARNING not in explanation.warnings
            continue
        assert explanation.warnings[0] == UNNAMED_HOUSEHOLD_WARNING
        assert _said(explanation).count(UNNAMED_HOUSEHOLD) == 1  # not twice in one rating
        with_factor += _about_household(explanation)
        without_factor += not _about_household(explanation)
    # Both kinds of rating are here: with a household factor among the top, and without.
    assert with_factor >= 10 and without_factor >= 10


def test_the_batch_warnings_column_warns_every_rating_without_its_household(
        explainer: CaseExplainer, blind: CaseExplainer, rows: np.ndarray) -> None:  # noqa: F811
    X = rows[:800]
    unknown = X[:, COLUMN["household_known"]] == 0
    assert unknown.sum() >= 100
    for each in (explainer, blind):
        forget_texts()
        columns = each.explain_columns(X, n_jobs=2)
        for i, text in enumerate(columns["warnings"]):
            warnings = json.loads(text)
            assert (UNNAMED_HOUSEHOLD_WARNING in warnings) is bool(unknown[i])
            assert warnings.count(UNNAMED_HOUSEHOLD_WARNING) <= 1
            said = " | ".join([*warnings, *(f["sentence"] for f in json.loads(
                columns["top_factors"][i]))])
            assert said.count(UNNAMED_HOUSEHOLD) == int(unknown[i])


def test_the_warning_follows_the_extract_wide_ones_and_precedes_the_rest() -> None:
    said = warnings_for(("police", "health"), ("police", "health"), "domestic_abuse", "child",
                        shared_nothing=("police",), unnamed=True)
    assert said[1] == UNNAMED_HOUSEHOLD_WARNING and said[0].startswith("Police shared no")
    assert said[2].startswith("No health records were seen")
    assert UNNAMED_HOUSEHOLD_WARNING not in warnings_for(
        ("police",), ("police",), "domestic_abuse", "child", unnamed=False)
    assert UNNAMED_HOUSEHOLD_WARNING.startswith(f"{UNNAMED_HOUSEHOLD}: ")


@pytest.mark.parametrize("unnamed", [None, np.array([False, True, False, True])])
def test_contexts_alike_but_for_the_household_are_kept_apart(unnamed: np.ndarray | None
                                                             ) -> None:
    same = np.zeros(4, dtype=np.int64)
    context = Context.of(same, same, same, {}, unnamed=unnamed)
    warned = [UNNAMED_HOUSEHOLD_WARNING in context.warnings[c] for c in context.index]
    assert warned == ([False] * 4 if unnamed is None else unnamed.tolist())
