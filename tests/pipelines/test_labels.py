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


def _outcomes(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"referral_id": [r for r, _ in rows],
                         "outcome_type": ["child_protection_plan"] * len(rows),
                         "outcome_date": pd.to_datetime([d for _, d in rows])})


def test_follow_up_is_complete_on_the_365th_day_and_not_the_day_before() -> None:
    refs = referrals_frame([referral(referral_date="2023-06-01")])
    on_the_day = build_labels(refs, None, dt.date(2024, 5, 31))  # 365 days later
    day_before = build_labels(refs, None, dt.date(2024, 5, 30))
    assert on_the_day["follow_up_complete"].tolist() == [True]
    assert on_the_day["label"].tolist() == [0]
    assert day_before["follow_up_complete"].tolist() == [False]
    assert day_before["label"].isna().tolist() == [True]


def test_an_outcome_on_the_referral_day_counts_and_one_before_it_does_not() -> None:
    refs = referrals_frame([
        referral(referral_id="SAME", referral_date="2023-01-10"),
        referral(referral_id="BEFORE", referral_date="2023-01-10", person_id="p2"),
    ])
    outcomes = _outcomes([("SAME", "2023-01-10"), ("BEFORE", "2023-01-09")])
    labels = build_labels(refs, outcomes, dt.date(2024, 6, 1)).set_index("referral_id")
    assert labels.loc["SAME", "label"] == 1
    assert labels.loc["BEFORE", "label"] == 0


def test_an_empty_outcomes_feed_or_an_outcome_of_an_unknown_referral_labels_nothing() -> None:
    refs = referrals_frame([referral(referral_date="2023-01-10")])
    empty = build_labels(refs, _outcomes([]), dt.date(2024, 6, 1))
    unknown = build_labels(refs, _outcomes([("R-other", "2023-02-01")]), dt.date(2024, 6, 1))
    assert empty["label"].tolist() == [0] and unknown["label"].tolist() == [0]
    assert empty["referral_id"].tolist() == ["R1"]


def test_labels_are_nullable_integers_and_an_unfollowed_positive_has_no_label() -> None:
    refs = referrals_frame([
        referral(referral_id="DONE", referral_date="2023-01-10"),
        referral(referral_id="OPEN", referral_date="2024-03-01", person_id="p2"),
    ])
    outcomes = _outcomes([("DONE", "2023-03-01"), ("OPEN", "2024-04-01")])
    labels = build_labels(refs, outcomes, dt.date(2024, 6, 1))
    assert str(labels["label"].dtype) == "Int64"
    assert labels["label"].tolist() == [1, pd.NA]
    assert labels["follow_up_complete"].tolist() == [True, False]
