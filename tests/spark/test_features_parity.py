"""Both engines give the same feature table: the Spark plan is compiled from the manifest."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.features import AUDIT_COLUMNS, build_features
from pipelines.manifest import FEATURE_NAMES, SPECS_BY_NAME, count_feature_name
from pipelines.spark.features import collect_feature_table, spark_feature_table
from tests.pipelines.factories import events_frame, random_extract, referral, referrals_frame

DA_SUBJECT_EVER = count_feature_name("subject", "police", "domestic_abuse_incident", "ever")
DA_OTHER_ADULTS_EVER = count_feature_name("other_adults", "police", "domestic_abuse_incident",
                                          "ever")
DA_CHILDREN_EVER = count_feature_name("children", "police", "domestic_abuse_incident", "ever")


def _exact(spec_unit: str) -> bool:
    """Counts and flags must be equal; rates, days and other measures within 1e-9."""
    return spec_unit in ("records", "flag", "people")


def assert_same_table(single: pd.DataFrame, spark: pd.DataFrame) -> None:
    assert list(spark.columns) == list(single.columns)
    pd.testing.assert_frame_equal(
        spark[list(AUDIT_COLUMNS)], single[list(AUDIT_COLUMNS)], check_dtype=False
    )
    for name in FEATURE_NAMES:
        ours, theirs = single[name].to_numpy(np.float64), spark[name].to_numpy(np.float64)
        if _exact(SPECS_BY_NAME[name].unit):
            np.testing.assert_array_equal(theirs, ours, err_msg=name)
        else:
            np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-9, err_msg=name)


def test_both_engines_give_the_same_table_on_a_random_extract(spark: Any) -> None:
    feeds = random_extract(150, seed=5)
    single = build_features(feeds)
    assert_same_table(single, collect_feature_table(spark_feature_table(spark, feeds)))
    assert single[list(FEATURE_NAMES)].to_numpy().any(), (
        "an extract with no features proves nothing"
    )


def test_a_record_recorded_after_the_referral_counts_on_neither_engine(spark: Any) -> None:
    referrals = referrals_frame(
        [
            referral(referral_id="R1", referral_date="2024-06-01"),
            referral(referral_id="R2", referral_date="2024-09-01"),
        ]
    )
    # Happened in May, recorded in July: R1 (June) cannot have known it; R2 (September) did.
    late = {
        "person_id": "p1",
        "event_date": "2024-05-01",
        "recorded_date": "2024-07-01",
        "event_type": "domestic_abuse_incident",
        "value": None,
    }
    feeds = {"referrals": referrals, "events_police": events_frame([late])}
    spark_table = collect_feature_table(spark_feature_table(spark, feeds))
    assert spark_table[DA_SUBJECT_EVER].tolist() == [0.0, 1.0]
    assert_same_table(build_features(feeds), spark_table)


def test_a_household_listed_nowhere_is_not_known_on_either_engine(spark: Any) -> None:
    referrals = referrals_frame([referral(referral_id="R1", person_id="p1", household_id="h1"),
                                 referral(referral_id="R2", person_id="p2", household_id="h2"),
                                 referral(referral_id="R3", person_id="p3", household_id=None)])
    members = pd.DataFrame([("h1", "p1", "subject")], columns=["household_id", "person_id",
                                                              "role"])
    for feeds in ({"referrals": referrals, "household_members": members},
                  {"referrals": referrals}):
        spark_table = collect_feature_table(spark_feature_table(spark, feeds))
        assert spark_table["household_known"].tolist() == (
            [1.0, 0.0, 0.0] if "household_members" in feeds else [0.0, 0.0, 0.0])
        assert_same_table(build_features(feeds), spark_table)


def test_a_co_resident_subject_counts_with_the_referrals_own_group_on_both_engines(
    spark: Any,
) -> None:
    """A household's member referred in their own right (role `subject`) is another adult
    for an adult at risk (h1: a couple) and another child for a child (h2: siblings)."""
    referrals = referrals_frame([
        referral(referral_id="R1", person_id="p1", household_id="h1",
                 subject_type="adult_at_risk", age_years=69),
        referral(referral_id="R2", person_id="c1", household_id="h2"),
    ])
    members = pd.DataFrame([("h1", "p1", "subject"), ("h1", "spouse", "subject"),
                            ("h2", "c1", "subject"), ("h2", "c2", "subject")],
                           columns=["household_id", "person_id", "role"])
    incident = {"event_date": "2024-03-01", "recorded_date": None,
                "event_type": "domestic_abuse_incident", "value": None}
    police = events_frame([{**incident, "person_id": person} for person in ("spouse", "c2")])
    feeds = {"referrals": referrals, "household_members": members, "events_police": police}
    spark_table = collect_feature_table(spark_feature_table(spark, feeds))
    assert spark_table["household_other_adults_count"].tolist() == [1.0, 0.0]
    assert spark_table["household_children_count"].tolist() == [0.0, 1.0]
    assert spark_table[DA_OTHER_ADULTS_EVER].tolist() == [1.0, 0.0]
    assert spark_table[DA_CHILDREN_EVER].tolist() == [0.0, 1.0]
    assert_same_table(build_features(feeds), spark_table)
