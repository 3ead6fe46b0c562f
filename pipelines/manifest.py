"""The feature manifest: every feature's definition held as data.

The manifest is the single definition of the feature set. The batch build, the
single-case build, monotonic constraints and plain-language explanations all
read it. Each entry says what a feature counts, from which agency, over which
window, about whom, which way a domain expert expects it to push risk, and whether
a model may read it (`FeatureSpec.model_input`: the records-held flags are kept for
"not seen", partnership and monitoring, never as model inputs).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Final

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    EVENT_TYPES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    SEXES,
    SUBJECT_TYPES,
)
from pipelines.feature_spec import (
    ADULT_AT_RISK,
    HOUSEHOLD_KNOWN,
    Direction,
    FeatureSpec,
    count_feature_name,
    coverage_feature_name,
    ethnicity_feature_name,
    household_count_feature_name,
    need_feature_name,
    sex_feature_name,
    source_feature_name,
)
from pipelines.phrases import EVENT_LABELS, HOUSEHOLD_PEOPLE, RELATION_PHRASES, WINDOW_PHRASES

# 3: earlier referrals to the hub are grouped with the referral's details, not social care.
# 4: windows and recency count from a record's event date, not the date it became known.
# 5: another member whose role is `subject` counts with the other adults when the referral's
#    subject is an adult at risk (with the children, as before, when it is a child).
MANIFEST_VERSION: Final = 5

# Who a record is about, relative to the referral's subject; after the subject, the most
# adult group first (a person holding several roles in one household counts once, in the
# first of their groups: `pipelines.links`).
RELATIONS: Final[tuple[str, ...]] = ("subject", "parents_carers", "other_adults", "children")
# Another member whose role is `subject` was referred in their own right; the feed gives
# no age for them, and people referred from one household are most often of one group
# (siblings; an elderly couple), so they count with the referral's subject's own group.
CO_SUBJECT_RELATION: Final[dict[str, str]] = {"child": "children", "adult_at_risk": "other_adults"}
# Household roles fold into the groups by the referral's subject type (type -> role -> group).
ROLE_TO_RELATION: Final[dict[str, dict[str, str]]] = {
    subject_type: {
        "parent_carer": "parents_carers",
        "other_adult": "other_adults",
        "sibling": "children",
        "other_child": "children",
        "subject": CO_SUBJECT_RELATION[subject_type],
    }
    for subject_type in SUBJECT_TYPES
}
WINDOWS: Final[tuple[tuple[str, int | None], ...]] = (("90d", 90), ("365d", 365), ("ever", None))
# Event types where more records are not, on their own, a sign of more risk
# (universal services or support already in place): no monotonic expectation.
NEUTRAL_EVENT_TYPES: Final[frozenset[str]] = frozenset(
    {"ae_attendance", "sen_support", "ehcp", "free_school_meals", "care_and_support_plan"}
)

# Event types counted; attendance_rate carries a value and has its own features.
COUNTED_EVENTS: Final[tuple[tuple[str, str], ...]] = tuple(
    (agency, event_type)
    for agency in AGENCIES
    for event_type in EVENT_TYPES[agency]
    if event_type != "attendance_rate"
)
# Event types whose records are a concern: every feature of them has a monotonic constraint,
# so one more such record, about anyone the referral links, never lowers a score.
CONCERN_EVENTS: Final[tuple[tuple[str, str], ...]] = tuple(
    pair for pair in COUNTED_EVENTS if pair[1] not in NEUTRAL_EVENT_TYPES)


def _count_specs() -> list[FeatureSpec]:
    specs = []
    for relation in RELATIONS:
        for agency, event_type in COUNTED_EVENTS:
            singular, plural = EVENT_LABELS[event_type]
            direction: Direction = "none" if event_type in NEUTRAL_EVENT_TYPES else "increases"
            for window, _days in WINDOWS:
                specs.append(FeatureSpec(
                    name=count_feature_name(relation, agency, event_type, window),
                    description=f"Number of {plural} {RELATION_PHRASES[relation]} "
                                f"{WINDOW_PHRASES[window]}",
                    kind="count", agency=agency, relation=relation, window=window,
                    direction=direction, event_type=event_type,
                    label_singular=singular, label_plural=plural,
                ))
    return specs


def _recency_specs() -> list[FeatureSpec]:
    specs = [
        FeatureSpec(
            name=f"subject_{agency}_{event_type}_days_since_latest",
            description=f"Days since the most recent {EVENT_LABELS[event_type][0]} about the "
                        "subject (empty when there is none)",
            kind="recency", agency=agency, relation="subject", window="ever",
            direction="none" if event_type in NEUTRAL_EVENT_TYPES else "decreases",
            event_type=event_type, unit="days",
            label_singular=EVENT_LABELS[event_type][0], label_plural=EVENT_LABELS[event_type][1],
        )
        for agency, event_type in COUNTED_EVENTS
    ]
    for agency in AGENCIES:
        for relation, phrase in (("subject", "the subject"), ("household", "anyone else in the "
                                                                          "household")):
            specs.append(FeatureSpec(
                name=f"{relation}_{agency}_days_since_latest_record",
                description=f"Days since the most recent {agency.replace('_', ' ')} record about "
                            f"{phrase} (empty when there is none)",
                kind="recency", agency=agency, relation=relation, window="ever",
                direction="decreases", unit="days",
            ))
    return specs


def _coverage_specs() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            name=coverage_feature_name(agency),
            description=f"Whether {agency.replace('_', ' ')} held any record about the subject "
                        "or household before the referral",
            kind="coverage", agency=agency, relation="household", window="ever",
            direction="none", unit="flag",
        )
        for agency in AGENCIES
    ]


def _attendance_specs() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            name="subject_latest_attendance_pct",
            description="The subject's school attendance in the latest term on record (percent)",
            kind="attendance", agency="education", relation="subject", window="ever",
            direction="decreases", event_type="attendance_rate", unit="percent",
        ),
        FeatureSpec(
            name="children_lowest_latest_attendance_pct",
            description="The lowest latest-term school attendance among the other children in "
                        "the household (percent)",
            kind="attendance", agency="education", relation="children", window="ever",
            direction="decreases", event_type="attendance_rate", unit="percent",
        ),
    ]


def _history_specs() -> list[FeatureSpec]:
    # The hub's own earlier referrals (the `referrals` feed), not any agency's records: they
    # count with the referral's details, never as social care's information (a social-care
    # `previous_referral` record is one of social care's own event types).
    specs = [
        FeatureSpec(
            name=f"subject_previous_referrals_{window}",
            description=f"Earlier referrals of the subject to the hub {WINDOW_PHRASES[window]}",
            kind="previous_referrals", agency="referral", relation="subject", window=window,
            direction="increases", label_singular="earlier referral to the hub",
            label_plural="earlier referrals to the hub",
        )
        for window, _days in WINDOWS
    ]
    specs.append(FeatureSpec(
        name="household_previous_referrals_ever",
        description="Earlier referrals to the hub about other members of the household",
        kind="previous_referrals", agency="referral", relation="household", window="ever",
        direction="increases", label_singular="earlier referral of a household member",
        label_plural="earlier referrals of household members",
    ))
    specs.append(FeatureSpec(
        name="subject_days_since_previous_referral",
        description="Days since the subject's previous referral to the hub (empty when none)",
        kind="previous_referrals", agency="referral", relation="subject", window="ever",
        direction="decreases", unit="days",
    ))
    return specs


def _household_specs() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            name=household_count_feature_name(relation),
            description=f"Number of {plural} in the subject's household",
            kind="household", agency="referral", relation="household", window=None,
            direction="none", unit="people",
        )
        for relation, (_singular, plural) in HOUSEHOLD_PEOPLE.items()
    ] + [FeatureSpec(
        name=HOUSEHOLD_KNOWN,
        description="Whether the referral names the subject's household and household_members "
                    "lists it",
        kind="household", agency="referral", relation="household", window=None,
        direction="none", unit="flag",
    )]


def _context_specs() -> list[FeatureSpec]:
    specs = [
        FeatureSpec(name="age_years", description="The subject's age in years", kind="context",
                    agency="referral", relation="referral", window=None, direction="none",
                    unit="years"),
        FeatureSpec(name=ADULT_AT_RISK,
                    description="The subject is an adult at risk rather than a child",
                    kind="context", agency="referral", relation="referral", window=None,
                    direction="none", unit="flag"),
    ]
    for need in PRESENTING_NEEDS:
        specs.append(FeatureSpec(
            name=need_feature_name(need),
            description=f"The presenting need is {need.replace('_', ' ')}",
            kind="context", agency="referral", relation="referral", window=None,
            direction="none", unit="flag"))
    for source in REFERRAL_SOURCES:
        specs.append(FeatureSpec(
            name=source_feature_name(source),
            description=f"The referral came from {source.replace('_', ' ')}",
            kind="context", agency="referral", relation="referral", window=None,
            direction="none", unit="flag"))
    return specs


def _protected_specs() -> list[FeatureSpec]:
    specs = [
        FeatureSpec(name=sex_feature_name(sex), description=f"Recorded sex is {sex}",
                    kind="protected", agency="referral", relation="referral", window=None,
                    direction="none", unit="flag", protected=True)
        for sex in SEXES
    ] + [
        FeatureSpec(name=ethnicity_feature_name(group), description=f"Ethnicity group is {group}",
                    kind="protected", agency="referral", relation="referral", window=None,
                    direction="none", unit="flag", protected=True)
        for group in ETHNICITY_GROUPS
    ]
    specs.append(FeatureSpec(name="disability_recorded", description="A disability is recorded",
                             kind="protected", agency="referral", relation="referral",
                             window=None, direction="none", unit="flag", protected=True))
    specs.append(FeatureSpec(name="imd_decile_value",
                             description="Deprivation decile of the home area (1 most deprived)",
                             kind="protected", agency="referral", relation="referral",
                             window=None, direction="none", unit="decile", protected=True))
    return specs


def build_manifest() -> list[FeatureSpec]:
    """All features, in the column order of the feature table."""
    return (
        _count_specs() + _recency_specs() + _coverage_specs() + _attendance_specs()
        + _history_specs() + _household_specs() + _context_specs() + _protected_specs()
    )


MANIFEST: Final[tuple[FeatureSpec, ...]] = tuple(build_manifest())
FEATURE_NAMES: Final[tuple[str, ...]] = tuple(spec.name for spec in MANIFEST)
SPECS_BY_NAME: Final[dict[str, FeatureSpec]] = {spec.name: spec for spec in MANIFEST}


def model_feature_names(*, use_protected_characteristics: bool = False) -> list[str]:
    """Features a model may use (`FeatureSpec.model_input`: never the records-held flags);
    protected characteristics only when governance allows."""
    return [s.name for s in MANIFEST
            if s.model_input and (use_protected_characteristics or not s.protected)]


def manifest_records() -> list[dict[str, object]]:
    """The manifest as JSON-ready records, with derived fields spelled out."""
    return [
        {**asdict(spec), "concerns": spec.concerns, "model_input": spec.model_input,
         "monotonic_constraint": spec.monotonic_constraint}
        for spec in MANIFEST
    ]


def manifest_json() -> str:
    """The manifest as the JSON text written beside a feature table."""
    payload = {"manifest_version": MANIFEST_VERSION, "features": manifest_records()}
    return json.dumps(payload, indent=2)


def write_manifest(path: Path) -> None:
    """Write the manifest as JSON."""
    path.write_text(manifest_json(), encoding="utf-8")
