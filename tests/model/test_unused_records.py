"""Records the model in use makes no use of are named on each case that has them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.data import PreparedExtract
from model.explain_batch import COLUMNS
from model.governance import load_governance
from model.service import explainer_for
from model.train import TrainingConfig, TrainingResult, train_model
from model.unused_records import UnusedRecords, unused_types_warning
from pipelines.feature_spec import count_feature_name, coverage_feature_name
from pipelines.features import build_features
from pipelines.manifest import FEATURE_NAMES, RELATIONS

AGENCY_UNUSED = "but the model in use makes no use of housing records"
TYPE_UNUSED = "makes no use of records of these types"


def _trained_without(prepared: PreparedExtract, feeds: dict[str, pd.DataFrame],  # type: ignore[no-untyped-def]
                     emptied: tuple[str, ...] = ()):
    governance, text = load_governance()
    features = build_features(feeds)
    features[list(emptied)] = np.nan  # never varies: training drops the column
    return train_model(features, prepared.labels, members=prepared.members,
                       governance=governance, governance_text=text,
                       config=TrainingConfig(max_iter=20)).model


def _says(explainer, rows: pd.DataFrame, words: str, expected: bool) -> None:  # type: ignore[no-untyped-def]
    """Every row's warnings say `words` (or none does), one by one and in a batch."""
    matrix = rows[list(FEATURE_NAMES)].to_numpy(np.float64)
    for explanation in explainer.explain(matrix):
        assert any(words in w for w in explanation.warnings) is expected
    batch = explainer.explain_columns(matrix, n_jobs=1)  # the path of safeguard score
    assert set(COLUMNS) <= set(batch)
    assert all((words in warnings) is expected for warnings in batch["warnings"])


def test_records_of_an_agency_the_model_makes_no_use_of_are_named_on_each_case(
    prepared: PreparedExtract, trained: TrainingResult
) -> None:
    # Trained where housing shared nothing: no column of its is read by any tree.
    model = _trained_without(prepared, {k: v for k, v in prepared.feeds.items()
                                        if k != "events_housing"})
    explainer = explainer_for(model)
    assert "housing" in explainer.unused_agencies
    assert "housing" not in explainer_for(trained.model).unused_agencies
    # An agency no split reads is named as an agency, not type by type.
    assert not any(agency == "housing" for agency, _ in explainer.unused.types)
    features = prepared.features
    held = features[features[coverage_feature_name("housing")] > 0].head(50)
    empty = features[features[coverage_feature_name("housing")] == 0].head(50)
    assert len(held) and len(empty)
    _says(explainer, held, AGENCY_UNUSED, True)
    _says(explainer, empty, AGENCY_UNUSED, False)


def test_records_of_a_type_the_model_makes_no_use_of_are_named_on_each_case(
    prepared: PreparedExtract
) -> None:
    # Trained where police shared every type but domestic-abuse incidents: police columns
    # are read, domestic-abuse incident columns never (they were all 0 in training), nor
    # the days since police's latest record of any type (which such a record would move).
    police = prepared.feeds["events_police"]
    feeds = {**prepared.feeds,
             "events_police": police[police["event_type"] != "domestic_abuse_incident"]}
    explainer = explainer_for(_trained_without(prepared, feeds, emptied=(
        "subject_police_days_since_latest_record", "household_police_days_since_latest_record")))
    assert "police" not in explainer.unused_agencies
    assert ("police", "domestic_abuse_incident") in explainer.unused.types
    features = prepared.features
    ever = [count_feature_name(r, "police", "domestic_abuse_incident", "ever") for r in RELATIONS]
    held = features[features[ever].sum(axis=1) > 0].head(50)
    # Only the household's records (none about the subject) still count as held.
    household = features[(features[ever[0]] == 0) & (features[ever[1:]].sum(axis=1) > 0)]
    empty = features[features[ever].sum(axis=1) == 0].head(50)
    assert len(held) and len(household) and len(empty)
    _says(explainer, held, "police: police domestic-abuse incidents", True)
    _says(explainer, household.head(20), TYPE_UNUSED, True)
    _says(explainer, empty, "police domestic-abuse incidents", False)


def test_the_warning_lists_the_types_by_agency_in_plain_words() -> None:
    text = unused_types_warning(
        [("police", "prevent_referral"), ("education", "permanent_exclusion"),
         ("education", "child_missing_education")], "child")
    assert text.startswith("Records of these types were shared about this child or household")
    assert text.endswith("cannot change this score: police: Prevent referrals; education: "
                         "permanent exclusions, child-missing-education records.")


def test_types_are_looked_for_only_where_the_explainer_has_their_counts() -> None:
    read = [count_feature_name("subject", "police", "arrest", "90d")]
    whole = UnusedRecords.of(read, FEATURE_NAMES)
    assert ("police", "arrest") not in whole.types
    assert ("police", "missing_episode") in whole.types
    assert all(agency == "police" for agency, _ in whole.types)
    assert "police" not in whole.agencies and "health" in whole.agencies
    # Without a type's "ever" counts among its columns, an explainer cannot tell who has
    # such records: the type is not looked for (and no column is made up).
    partial = UnusedRecords.of(read, [n for n in FEATURE_NAMES if "missing_episode" not in n])
    assert ("police", "missing_episode") not in partial.types
    rows = np.zeros((3, len(FEATURE_NAMES)))
    column = FEATURE_NAMES.index(
        count_feature_name("children", "police", "missing_episode", "ever"))
    rows[1, column] = 2
    rows[2, column] = np.nan
    held = whole.present(rows)
    assert [whole.types_of(int(m)) for m in held] == [(), (("police", "missing_episode"),), ()]


@pytest.mark.parametrize("subject", ["child", "adult", "person"])
def test_the_warning_names_whom_the_case_is_about(subject: str) -> None:
    words = {"child": "this child", "adult": "this adult", "person": "the person referred"}
    assert words[subject] in unused_types_warning([("health", "self_harm")], subject)


def test_no_type_is_unused_where_the_agencys_latest_record_of_any_type_is_read() -> None:
    """`subject_police_days_since_latest_record` moves with a police record of any type:
    no police type is one the model "makes no use of"."""
    read = [count_feature_name("subject", "police", "arrest", "90d"),
            "subject_police_days_since_latest_record"]
    found = UnusedRecords.of(read, FEATURE_NAMES)
    assert not any(agency == "police" for agency, _ in found.types)


@pytest.mark.parametrize("emptied", [False, True])
def test_a_record_the_warning_says_cannot_change_the_score_does_not(
    prepared: PreparedExtract, trained: TrainingResult, emptied: bool
) -> None:
    """End to end: a record of each type the explanation calls unused, added to a case,
    leaves its score as it was (one police online-harm concern took a score from 7 to
    10 while its explanation said such records cannot change it)."""
    from pipelines.case import build_case_features
    from tests.api import factories

    model = trained.model
    if emptied:  # as above: police domestic-abuse incidents truly unused
        police = prepared.feeds["events_police"]
        model = _trained_without(prepared, {**prepared.feeds, "events_police": police[
            police["event_type"] != "domestic_abuse_incident"]}, emptied=(
            "subject_police_days_since_latest_record",
            "household_police_days_since_latest_record"))
    explainer = explainer_for(model)
    assert ("police", "domestic_abuse_incident") in explainer.unused.types or not emptied
    base = factories.case(events=0)
    before = model.rate(build_case_features(base)).score.tolist()
    for agency, event_type in explainer.unused.types:
        with_one = {**base, "events": [factories.event(
            agency=agency, event_type=event_type, event_date="2024-05-20",
            recorded_date="2024-05-21", value=None)]}
        features = build_case_features(with_one)
        [explanation] = explainer.explain(features)
        assert any(TYPE_UNUSED in w for w in explanation.warnings)
        assert model.rate(features).score.tolist() == before, (agency, event_type)
