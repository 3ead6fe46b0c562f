"""Plain-English sentences: every manifest feature renders, with words and not names."""

from __future__ import annotations

import json
import math
import re

import pytest

from model.factor_sentences import factor_sentence
from model.labels import short_label
from model.sentences import (
    DAYS_MARK,
    DAYS_SLOT,
    days_event,
    days_words,
    display_value,
    sentence_for,
)
from pipelines.manifest import FEATURE_NAMES, SPECS_BY_NAME

REALISTIC: dict[str, float] = {
    "count": 3.0, "recency": 45.0, "coverage": 1.0, "attendance": 92.5,
    "previous_referrals": 2.0, "household": 2.0, "context": 1.0, "protected": 1.0,
}
SPECIAL: dict[str, float] = {
    "age_years": 14.0, "imd_decile_value": 3.0, "subject_days_since_previous_referral": 120.0,
    "household_known": 1.0,
}


def realistic_value(name: str) -> float:
    """A value the feature could take for a real case."""
    return SPECIAL.get(name, REALISTIC[SPECS_BY_NAME[name].kind])


def assert_plain(sentence: str, name: str) -> None:
    assert name not in sentence
    assert "_" not in sentence, sentence
    assert not re.search(r"\b(nan|None|inf)\b", sentence), sentence
    assert sentence[0].isupper() or sentence[0].isdigit(), sentence
    assert sentence.endswith(("(raises the score)", "(lowers the score)")), sentence


@pytest.mark.parametrize("name", FEATURE_NAMES)
def test_every_feature_renders_realistic_zero_and_missing_values(name: str) -> None:
    sentences = {
        sentence_for(name, realistic_value(name), 0.4),
        sentence_for(name, 0.0, -0.2),
        sentence_for(name, math.nan, 0.1),
        sentence_for(name, None, 0.1),
    }
    for sentence in sentences:
        assert_plain(sentence, name)
    # A value, zero and missing read differently (None and NaN read the same).
    assert len(sentences) == 3


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, "No arrests involving this child in the last 12 months"),
    (1.0, "1 arrest involving this child in the last 12 months"),
    (2.0, "2 arrests involving this child in the last 12 months"),
])
def test_counts_use_correct_plurals(value: float, expected: str) -> None:
    assert (sentence_for("subject_police_arrest_365d", value, 0.3)
            == f"{expected} (raises the score)")


def test_count_in_the_household_names_who_and_when() -> None:
    sentence = sentence_for("other_adults_police_domestic_abuse_incident_365d", 3.0, 0.5)
    assert sentence == ("3 police domestic-abuse incidents involving another adult in the "
                        "household in the last 12 months (raises the score)")


def test_the_household_members_referred_in_their_own_right_are_of_any_age() -> None:
    """A probe's 17-year-old's case read "2 other children in the household" and "1 missed
    health appointment involving a sibling or other child": two adults at risk referred
    from the household (role `subject`), who count with the child's own group."""
    assert sentence_for("household_children_count", 2.0, -0.1, subject="child") == (
        "2 other children or other people referred in the household (lowers the score)")
    assert sentence_for("children_health_missed_appointment_365d", 1.0, 0.1,
                        subject="child") == (
        "1 missed health appointment involving a sibling, other child or other person "
        "referred from the household in the last 12 months (raises the score)")
    # An adult at risk's: they count with the other adults, and the children are children.
    assert sentence_for("other_adults_police_arrest_365d", 1.0, 0.1, subject="adult") == (
        "1 arrest involving another adult or other person referred from the household in "
        "the last 12 months (raises the score)")
    assert sentence_for("household_other_adults_count", 0.0, 0.1, subject="adult") == (
        "No other adults or other people referred in the household (raises the score)")
    assert sentence_for("other_adults_police_arrest_365d", 1.0, 0.1, subject="child") == (
        "1 arrest involving another adult in the household in the last 12 months (raises "
        "the score)")


def test_an_adults_household_children_are_not_other_children_nor_siblings() -> None:
    """A 70-year-old's case read "No other children in the household" (probe, 7 December):
    the children of an adult at risk's household are "children", as they are counted."""
    assert sentence_for("household_children_count", 0.0, 0.2, subject="adult") == (
        "No children in the household (raises the score)")
    assert sentence_for("household_children_count", 1.0, 0.2, subject="child") == (
        "1 other child or other person referred in the household (raises the score)")
    assert sentence_for("children_police_arrest_365d", 2.0, 0.2, subject="adult") == (
        "2 arrests involving a child in the household in the last 12 months (raises the score)")
    assert "sibling, other child" in sentence_for("children_police_arrest_365d", 2.0, 0.2)
    assert sentence_for("children_lowest_latest_attendance_pct", 80.0, 0.1, subject="adult") == (
        "Lowest latest-term attendance among the children in the household: 80% "
        "(raises the score)")


def test_attendance_is_a_percentage() -> None:
    assert sentence_for("subject_latest_attendance_pct", 97.0, -0.3) == (
        "Attendance 97% in the latest term on record (lowers the score)")
    assert "88.5%" in sentence_for("children_lowest_latest_attendance_pct", 88.5, 0.1)
    assert "No school attendance" in sentence_for("subject_latest_attendance_pct", math.nan, 0.1)


def test_days_since_reads_as_days_before_the_referral() -> None:
    name = "subject_health_unexplained_injury_days_since_latest"
    assert "was 1 day before the referral" in sentence_for(name, 1.0, 0.2)
    assert "was 30 days before the referral" in sentence_for(name, 30.0, 0.2)
    assert "on the day of the referral" in sentence_for(name, 0.0, 0.2)
    assert "about 2 years" in sentence_for(name, 800.0, 0.2)
    assert sentence_for(name, math.nan, -0.2) == (
        "No unexplained injuries involving this child on record (lowers the score)")


def test_no_records_held_and_referral_details() -> None:
    assert sentence_for("police_records_held", 0.0, -0.4) == (
        "No police records held for this child or household (lowers the score)")
    assert sentence_for("referral_source_police", 1.0, 0.2) == (
        "Referred by the police (raises the score)")
    assert sentence_for("age_years", 14.0, 0.1) == "Aged 14 (raises the score)"
    assert sentence_for("age_years", math.nan, 0.1) == "Age not recorded (raises the score)"


def test_sentences_name_an_adult_at_risk_as_an_adult() -> None:
    sentence = sentence_for("social_care_records_held", 0.0, 0.2, subject="adult")
    assert sentence == "No social care records held for this adult or household (raises the score)"


def test_zero_contribution_says_no_effect() -> None:
    assert sentence_for("age_years", 9.0, 0.0) == "Aged 9 (no effect on the score)"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("subject_police_arrest_365d", 3.0, 3),
    ("police_records_held", 1.0, 1),
    ("subject_police_arrest_days_since_latest", 45.0, 45),
    ("subject_latest_attendance_pct", 97.0, 97.0),
    ("subject_latest_attendance_pct", 96.69999694824219, 96.7),  # 96.7 in float32 features
    ("children_lowest_latest_attendance_pct", 87.25, 87.25),
    ("subject_police_arrest_days_since_latest", math.nan, None),
    ("subject_latest_attendance_pct", None, None),
])
def test_display_value_types(name: str, value: float | None, expected: object) -> None:
    shown = display_value(name, value)
    assert shown == expected
    assert type(shown) is type(expected)


def test_short_labels_are_plain_and_distinct() -> None:
    labels = [short_label(name) for name in FEATURE_NAMES]
    assert len(set(labels)) == len(labels)
    assert not [label for label in labels if "_" in label]


def _concerns() -> list[tuple[str, ...]]:
    """Every factor with a days member: each concern's features, and each days feature."""
    by_concern: dict[object, list[str]] = {}
    for name in FEATURE_NAMES:
        by_concern.setdefault(SPECS_BY_NAME[name].concern, []).append(name)
    return [tuple(names) for names in by_concern.values()
            if any(SPECS_BY_NAME[n].unit == "days" for n in names)]


@pytest.mark.parametrize("members", _concerns())
@pytest.mark.parametrize("days", [0.0, 1.0, 20.0, 364.0, 365.0, 2787.0])
@pytest.mark.parametrize("counts", [0.0, 1.0, 3.0])
def test_a_sentence_with_its_days_left_open_reads_the_same_once_filled(
        members: tuple[str, ...], days: float, counts: float) -> None:
    # A factor's text is rendered once with its days open (model.factors), then filled.
    slot = next(i for i, n in enumerate(members) if SPECS_BY_NAME[n].unit == "days")
    values = [days if i == slot else counts for i in range(len(members))]
    open_values = [DAYS_SLOT if i == slot else v for i, v in enumerate(values)]
    for subject in ("child", "adult", "person"):
        for sign in (1.0, -1.0):
            whole = factor_sentence(members, values, sign, subject=subject)
            template = factor_sentence(members, open_values, sign, subject=subject)
            assert template.count(DAYS_MARK) <= 1
            words = days_words(days, days_event(members[slot]))
            assert template.replace(DAYS_MARK, words) == whole
            assert json.dumps(words) == f'"{words}"'  # spliced into JSON text as it is
    assert days_words(2787.0, 0) == "2787 days (about 8 years) before the referral"
    assert days_words(1.0, 1) == "1 day before this one"
