"""Labels and censoring as the feed specification defines them."""

import datetime as dt

import pandas as pd

from pipelines.labels import build_labels
from tests.pipelines.factories import referral, referrals_frame


def test_outcome_within_365_days_is_positive_later_is_negative_incomplete_is_unlabelled() -> None:
    refs = referrals_frame([
        referral(referral_id="IN", referral_date="2023-01-01"),
        referral(referral_id="EDGE", referral_date="2023-01-01", person_id="p2"),
        referral(referral_id="LATE", referral_date="2023-01-01", person_id="p3"),
        referral(referral_id="NONE", referral_date="2023-01-01", person_id="p4"),
        referral(referral_id="OPEN", referral_date="2024-03-01", person_id="p5"),
    ])
    outcomes = pd.DataFrame({
        "referral_id": ["IN", "EDGE", "LATE", "OPEN"],
        "outcome_type": ["child_protection_plan"] * 4,
        "outcome_date": pd.to_datetime(["2023-02-01", "2024-01-01", "2024-01-02", "2024-04-01"]),
    })
    labels = build_labels(refs, outcomes, dt.date(2024, 6, 1)).set_index("referral_id")
    assert labels.loc["IN", "label"] == 1
    assert labels.loc["EDGE", "label"] == 1  # day 365 is within the window
    assert labels.loc["LATE", "label"] == 0
    assert labels.loc["NONE", "label"] == 0
    assert pd.isna(labels.loc["OPEN", "label"])  # follow-up incomplete: never a negative
    assert not labels.loc["OPEN", "follow_up_complete"]


def test_no_outcomes_feed_gives_negatives_for_complete_follow_up() -> None:
    refs = referrals_frame([referral(referral_date="2020-01-01")])
    labels = build_labels(refs, None, dt.date(2024, 6, 1))
    assert labels["label"].tolist() == [0]
