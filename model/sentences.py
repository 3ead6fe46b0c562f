"""Plain-English sentences and display values for features, read from the manifest.

A sentence says what a feature's value is for one case in words a practitioner would
use ("2 arrests involving this child in the last 12 months"), then which way the model
moved the score ("(raises the score)"). It never shows a feature name. Every kind of feature
renders for any value, zero, and a missing value (NaN or None), which the feature build
uses for "no such record" in the days-since features and for unknown attendance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, Literal

from pipelines.manifest import (
    CO_SUBJECT_RELATION,
    FEATURE_NAMES,
    FeatureSpec,
    household_count_feature_name,
)
from pipelines.manifest_lookup import spec_of
from pipelines.phrases import (
    ADULTS_CHILDREN,
    AGENCY_LABELS,
    CO_SUBJECTS_TOO,
    FLAG_PHRASES,
    HOUSEHOLD_PEOPLE,
    NEED_PHRASES,
    RELATION_PHRASES,
    SUBJECT_PHRASES,
    WINDOW_PHRASES,
)

# How contributions relate to the probability: stated beside every explanation.
CONTRIBUTIONS_NOTE: Final = (
    "Contributions are on the model's log-odds ranking score; calibration then maps that "
    "score to the probability shown, so contributions explain the ranking, not percentage "
    "points of probability."
)

Subject = Literal["child", "adult", "person"]
DisplayValue = int | float | None

_MANIFEST_NAMES: Final = frozenset(FEATURE_NAMES)
# Household-count feature -> the people it counts (singular, plural).
HOUSEHOLD_WORDS: Final = {household_count_feature_name(relation): words
                            for relation, words in HOUSEHOLD_PEOPLE.items()}
_CHILDREN_COUNT: Final = household_count_feature_name("children")
_COUNTED: Final = {household_count_feature_name(relation): relation
                   for relation in HOUSEHOLD_PEOPLE}
# The group the household's other referred members count with, by the person referred.
_CO_SUBJECTS: Final = {SUBJECT_PHRASES["child"]: CO_SUBJECT_RELATION["child"],
                       SUBJECT_PHRASES["adult"]: CO_SUBJECT_RELATION["adult_at_risk"]}
_FLAGS: Final = FLAG_PHRASES
if set(_FLAGS) - _MANIFEST_NAMES:
    raise RuntimeError("sentences for features the manifest does not have: "
                       f"{sorted(set(_FLAGS) - _MANIFEST_NAMES)}")


# A days feature's value left open: its words (`days_words`) go where a sentence has
# DAYS_MARK, so a sentence is rendered once for every number of days (`model.factors`).
DAYS_SLOT: Final = -math.inf
DAYS_MARK: Final = "\x1f"
# What a days feature counts back from: the referral, or (earlier referrals) this one.
DAY_EVENTS: Final = ("the referral", "this one")


def is_missing(value: float | None) -> bool:
    """Whether a feature value is missing (None or NaN)."""
    return value is None or math.isnan(value)


def whole(value: float) -> int:
    """A count, an age or a number of days as the whole number a sentence says."""
    return int(round(value))


def _quantity(n: int, singular: str, plural: str) -> str:
    if n == 0:
        return f"No {plural}"
    return f"{n} {singular if n == 1 else plural}"


def _percent(value: float) -> str:
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def _days_before(days: float, event: str) -> str:
    if days == DAYS_SLOT:
        return DAYS_MARK
    n = whole(days)
    if n == 0:
        return f"on the day of {event}"
    text = f"{n} day{'' if n == 1 else 's'}"
    if n >= 365:
        years = round(n / 365.25)
        text += f" (about {years} year{'' if years == 1 else 's'})"
    return f"{text} before {event}"


def days_event(name: str) -> int:
    """What a days feature counts back from, as an index in `DAY_EVENTS`."""
    return int(spec_of(name).kind == "previous_referrals")


def days_words(days: float, event: int) -> str:
    """The words for `days` before `DAY_EVENTS[event]` (what `DAYS_MARK` stands for)."""
    return _days_before(days, DAY_EVENTS[event])


def _agency(spec: FeatureSpec) -> str:
    return AGENCY_LABELS[spec.agency].lower()


def about_adults_children(spec: FeatureSpec, who: str) -> bool:
    """Whether the feature is about the household's children and the person referred an
    adult at risk (then they are not "other" children, nor siblings)."""
    children = spec.relation == "children" or spec.name == _CHILDREN_COUNT
    return children and who == SUBJECT_PHRASES["adult"]


def holds_co_subjects(spec: FeatureSpec, who: str) -> bool:
    """Whether the feature's people include the household's other members referred in
    their own right (role `subject`), who count with the group of the person referred
    (`pipelines.manifest.CO_SUBJECT_RELATION`: a child's "children", an adult at risk's
    "other adults"), whatever their own age: a probe's two adults at risk, referred from
    a 17-year-old's household, read "2 other children in the household"."""
    return _COUNTED.get(spec.name, spec.relation) == _CO_SUBJECTS.get(who, "")


def involving(spec: FeatureSpec, who: str) -> str:
    """Whom a feature's records involve, relative to `who` (the person referred)."""
    if spec.relation == "subject":
        return f"involving {who}"
    if about_adults_children(spec, who):
        return ADULTS_CHILDREN["relation"]
    if holds_co_subjects(spec, who):
        return CO_SUBJECTS_TOO[spec.relation][0]
    return RELATION_PHRASES[spec.relation]


def household_people(spec: FeatureSpec, who: str) -> tuple[str, str]:
    """The people a household count feature counts (singular, plural), for `who`."""
    if about_adults_children(spec, who):
        return ADULTS_CHILDREN["singular"], ADULTS_CHILDREN["plural"]
    if holds_co_subjects(spec, who):
        _, singular, plural = CO_SUBJECTS_TOO[_COUNTED[spec.name]]
        return singular, plural
    return HOUSEHOLD_WORDS[spec.name]


def whose_attendance(spec: FeatureSpec, who: str) -> str:
    """Whose school attendance an attendance feature reads, for `who`."""
    if spec.relation == "subject":
        return who
    return ADULTS_CHILDREN["whose"] if about_adults_children(spec, who) else (
        "the other children in the household")


def _count(spec: FeatureSpec, value: float | None, who: str) -> str:
    where = f"{involving(spec, who)} {WINDOW_PHRASES[spec.window or 'ever']}"
    if value is None:
        return f"Number of {spec.label_plural} {where} not known"
    return f"{_quantity(whole(value), spec.label_singular, spec.label_plural)} {where}"


def _recency(spec: FeatureSpec, value: float | None, who: str) -> str:
    if spec.event_type is not None:
        about, singular, plural = involving(spec, who), spec.label_singular, spec.label_plural
    else:
        about = f"about {who}" if spec.relation == "subject" else (
            "about anyone else in the household")
        singular, plural = f"{_agency(spec)} record", f"{_agency(spec)} records"
    if value is None:
        return f"No {plural} {about}" + (" on record" if spec.event_type else "")
    return f"Latest {singular} {about} was {_days_before(value, DAY_EVENTS[0])}"


def _coverage(spec: FeatureSpec, value: float | None, who: str) -> str:
    whose = f"{who} or household"
    if value is None:
        return f"Not known whether {_agency(spec)} records are held for {whose}"
    if value:
        return f"{AGENCY_LABELS[spec.agency]} records held for {whose} before the referral"
    return f"No {_agency(spec)} records held for {whose}"


def _attendance(spec: FeatureSpec, value: float | None, who: str) -> str:
    whose = whose_attendance(spec, who)
    if value is None:
        return f"No school attendance on record for {whose}"
    if spec.relation == "subject":
        return f"Attendance {_percent(value)} in the latest term on record"
    return f"Lowest latest-term attendance among {whose}: {_percent(value)}"


def _previous_referrals(spec: FeatureSpec, value: float | None, who: str) -> str:
    if spec.unit == "days":
        if value is None:
            return f"No earlier referral of {who} to the hub"
        return f"Previous referral of {who} to the hub was {_days_before(value, DAY_EVENTS[1])}"
    if spec.relation == "subject":
        whose = f"of {who} to the hub {WINDOW_PHRASES[spec.window or 'ever']}"
        singular, plural = f"earlier referral {whose}", f"earlier referrals {whose}"
    else:
        singular, plural = f"{spec.label_singular} to the hub", f"{spec.label_plural} to the hub"
    if value is None:
        return f"Number of {plural} not known"
    return _quantity(whole(value), singular, plural)


def _household(spec: FeatureSpec, value: float | None, who: str) -> str:
    if spec.name not in HOUSEHOLD_WORDS:
        return _flag(spec, value, who)
    singular, plural = household_people(spec, who)
    if value is None:
        return f"Number of {plural} in the household not known"
    return f"{_quantity(whole(value), singular, plural)} in the household"


def _flag(spec: FeatureSpec, value: float | None, who: str) -> str:
    when_one, when_zero, when_missing = _FLAGS[spec.name]
    if value is None:
        return when_missing
    return when_one if value else when_zero


def _context(spec: FeatureSpec, value: float | None, who: str) -> str:
    if spec.name == "age_years":
        if value is None:
            return "Age not recorded"
        return "Aged under 1" if value < 1 else f"Aged {whole(value)}"
    if spec.name == "imd_decile_value":
        if value is None:
            return "Deprivation of the home area not known"
        return f"Home area in deprivation decile {whole(value)} of 10, 1 being the most deprived"
    return _flag(spec, value, who)


_BY_KIND: Final[dict[str, Callable[[FeatureSpec, float | None, str], str]]] = {
    "count": _count, "recency": _recency, "coverage": _coverage, "attendance": _attendance,
    "previous_referrals": _previous_referrals, "household": _household, "context": _context,
    "protected": _context,
}


def describe(name: str, value: float | None, *, subject: Subject = "child") -> str:
    """What a feature's value says about the case, in plain English, without a direction.

    Args:
        name: A manifest feature name.
        value: The feature's value for the case; None or NaN when missing.
        subject: Whether the person referred is a child, an adult at risk, or unknown.

    Raises:
        KeyError: If `name` is not in the manifest.
    """
    spec = spec_of(name)
    known = None if is_missing(value) else value
    return _BY_KIND[spec.kind](spec, known, SUBJECT_PHRASES[subject])


def not_seen_warning(agency: str, need: str | None, subject: Subject) -> str:
    """The warning that an agency which usually matters for a need held no record."""
    label = AGENCY_LABELS[agency].lower()
    return (f"No {label} records were seen for {SUBJECT_PHRASES[subject]} or household; "
            f"{label} information usually matters for {NEED_PHRASES[need or 'other']} "
            "referrals.")


def shared_nothing_warning(agency: str, subject: Subject) -> str:
    """The warning that an agency shared no records in the whole extract: none could be
    seen for this referral, whatever the agency holds (not the same as holding nothing)."""
    label = AGENCY_LABELS[agency]
    return (f"{label} shared no records in this extract: none could be seen for "
            f"{SUBJECT_PHRASES[subject]} or household, and the score was made without "
            f"{label.lower()} information (not seen, which is not the same as nothing "
            "concerning).")


def direction_words(contribution: float) -> str:
    """Which way a contribution moved the score, in words: the model's score, not the
    person's risk (until 6 December "raises risk", read as a cause: "7 free school meals
    records (lowers risk)")."""
    if contribution > 0:
        return "raises the score"
    return "lowers the score" if contribution < 0 else "no effect on the score"


def sentence_for(name: str, value: float | None, contribution: float, *,
                 subject: Subject = "child") -> str:
    """A factor's sentence, e.g. "Attendance 97% in the latest term on record (lowers the score)".

    Args:
        name: A manifest feature name.
        value: The feature's value for the case; None or NaN when missing.
        contribution: The feature's contribution to the case's score (its sign matters).
        subject: Whether the person referred is a child, an adult at risk, or unknown.
    """
    return f"{describe(name, value, subject=subject)} ({direction_words(contribution)})"


def display_value(name: str, value: float | None) -> DisplayValue:
    """A feature value for display: None when missing, float for percentages, else int."""
    if value is None or math.isnan(value):
        return None
    if spec_of(name).unit == "percent":  # 7 digits: float32 features hold 96.7 as 96.6999969
        return float(f"{value:.7g}")
    return number_value(value)


def number_value(value: float) -> int | float:
    """A count or a number of days for display: an int when whole, else the float."""
    return int(value) if value == round(value) else float(value)
