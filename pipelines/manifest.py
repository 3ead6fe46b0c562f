"""The feature manifest: every feature's definition held as data.

The manifest is the single definition of the feature set. The batch build, the
single-case build, monotonic constraints and plain-language explanations all
read it. Each entry says what a feature counts, from which agency, over which
window, about whom, and which way a domain expert expects it to push risk.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    EVENT_TYPES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    SEXES,
)

Direction = Literal["increases", "decreases", "none"]
Kind = Literal[
    "count", "recency", "coverage", "attendance", "previous_referrals", "household", "context",
    "protected",
]

MANIFEST_VERSION: Final = 1

# Who a record is about, relative to the referral's subject. Household roles fold into
# these groups; `subject` members other than the referred person count with the children.
RELATIONS: Final[tuple[str, ...]] = ("subject", "parents_carers", "other_adults", "children")
ROLE_TO_RELATION: Final[dict[str, str]] = {
    "parent_carer": "parents_carers",
    "other_adult": "other_adults",
    "sibling": "children",
    "other_child": "children",
    "subject": "children",
}
RELATION_PHRASES: Final[dict[str, str]] = {
    "subject": "about the subject",
    "parents_carers": "involving a parent or carer in the household",
    "other_adults": "involving another adult in the household",
    "children": "involving a sibling or other child in the household",
}

WINDOWS: Final[tuple[tuple[str, int | None], ...]] = (("90d", 90), ("365d", 365), ("ever", None))
WINDOW_PHRASES: Final[dict[str, str]] = {
    "90d": "in the last 3 months",
    "365d": "in the last 12 months",
    "ever": "on record",
}

# Plain-English singular and plural for every event type.
EVENT_LABELS: Final[dict[str, tuple[str, str]]] = {
    "domestic_abuse_incident": (
        "police domestic-abuse incident", "police domestic-abuse incidents",
    ),
    "dash_high_risk": ("high-risk DASH assessment", "high-risk DASH assessments"),
    "missing_episode": ("missing episode", "missing episodes"),
    "arrest": ("arrest", "arrests"),
    "victim_of_crime": ("crime victimisation", "crime victimisations"),
    "exploitation_concern": ("police exploitation concern", "police exploitation concerns"),
    "antisocial_behaviour": ("antisocial-behaviour report", "antisocial-behaviour reports"),
    "online_harm_concern": ("online-harm concern", "online-harm concerns"),
    "prevent_referral": ("Prevent referral", "Prevent referrals"),
    "ae_attendance": ("A&E attendance", "A&E attendances"),
    "unexplained_injury": ("unexplained injury", "unexplained injuries"),
    "missed_appointment": ("missed health appointment", "missed health appointments"),
    "mental_health_contact": ("mental-health contact", "mental-health contacts"),
    "substance_misuse_contact": ("substance-misuse contact", "substance-misuse contacts"),
    "maternity_concern": ("maternity concern", "maternity concerns"),
    "self_harm": ("self-harm presentation", "self-harm presentations"),
    "attendance_rate": ("attendance record", "attendance records"),
    "suspension": ("school suspension", "school suspensions"),
    "permanent_exclusion": ("permanent exclusion", "permanent exclusions"),
    "sen_support": ("SEN support record", "SEN support records"),
    "ehcp": ("education, health and care plan", "education, health and care plans"),
    "free_school_meals": ("free-school-meals record", "free-school-meals records"),
    "child_missing_education": (
        "child-missing-education record", "child-missing-education records",
    ),
    "previous_referral": ("social-care referral", "social-care referrals"),
    "early_help_episode": ("early-help episode", "early-help episodes"),
    "child_in_need_plan": ("child-in-need plan", "child-in-need plans"),
    "child_protection_plan": ("child-protection plan", "child-protection plans"),
    "looked_after": ("looked-after episode", "looked-after episodes"),
    "adult_safeguarding_enquiry": (
        "adult safeguarding enquiry", "adult safeguarding enquiries",
    ),
    "care_and_support_plan": ("care and support plan", "care and support plans"),
    "homelessness_application": ("homelessness application", "homelessness applications"),
    "temporary_accommodation": (
        "temporary-accommodation placement", "temporary-accommodation placements",
    ),
    "eviction_notice": ("eviction notice", "eviction notices"),
    "rent_arrears": ("rent-arrears record", "rent-arrears records"),
    "overcrowding": ("overcrowding record", "overcrowding records"),
    "under_supervision": ("probation supervision record", "probation supervision records"),
    "mappa_nominal": ("MAPPA nominal record", "MAPPA nominal records"),
    "domestic_abuse_perpetrator_programme": (
        "domestic-abuse perpetrator programme", "domestic-abuse perpetrator programmes",
    ),
}

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


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of the manifest."""

    name: str
    description: str
    kind: Kind
    agency: str  # one of AGENCIES, or "referral" for referral details
    relation: str  # subject, parents_carers, other_adults, children, household, referral
    window: str | None
    direction: Direction
    event_type: str | None = None
    unit: str = "records"
    protected: bool = False
    label_singular: str = ""
    label_plural: str = ""

    @property
    def concerns(self) -> str:
        """Whether the feature is about the subject, the household or the referral."""
        if self.relation in ("subject", "referral"):
            return self.relation
        return "household"

    @property
    def monotonic_constraint(self) -> int:
        """The sign for a monotonic constraint: 1, -1 or 0."""
        return {"increases": 1, "decreases": -1, "none": 0}[self.direction]


def count_feature_name(relation: str, agency: str, event_type: str, window: str) -> str:
    """Name of a count feature, e.g. ``parents_carers_police_domestic_abuse_incident_365d``."""
    return f"{relation}_{agency}_{event_type}_{window}"


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
            kind="recency", agency=agency, relation="subject", window="ever", direction="none",
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
                direction="none", unit="days",
            ))
    return specs


def _coverage_specs() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            name=f"{agency}_records_held",
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
    specs = [
        FeatureSpec(
            name=f"subject_previous_referrals_{window}",
            description=f"Earlier referrals of the subject to the hub {WINDOW_PHRASES[window]}",
            kind="previous_referrals", agency="social_care", relation="subject", window=window,
            direction="increases", label_singular="earlier referral to the hub",
            label_plural="earlier referrals to the hub",
        )
        for window, _days in WINDOWS
    ]
    specs.append(FeatureSpec(
        name="household_previous_referrals_ever",
        description="Earlier referrals to the hub about other members of the household",
        kind="previous_referrals", agency="social_care", relation="household", window="ever",
        direction="increases", label_singular="earlier referral of a household member",
        label_plural="earlier referrals of household members",
    ))
    specs.append(FeatureSpec(
        name="subject_days_since_previous_referral",
        description="Days since the subject's previous referral to the hub (empty when none)",
        kind="previous_referrals", agency="social_care", relation="subject", window="ever",
        direction="none", unit="days",
    ))
    return specs


def _household_specs() -> list[FeatureSpec]:
    return [
        FeatureSpec(
            name=f"household_{relation}_count",
            description=f"Number of {label} in the subject's household",
            kind="household", agency="referral", relation="household", window=None,
            direction="none", unit="people",
        )
        for relation, label in (
            ("parents_carers", "parents or carers"),
            ("other_adults", "other adults"),
            ("children", "other children"),
        )
    ] + [FeatureSpec(
        name="household_known",
        description="Whether the referral names the subject's household",
        kind="household", agency="referral", relation="household", window=None,
        direction="none", unit="flag",
    )]


def _context_specs() -> list[FeatureSpec]:
    specs = [
        FeatureSpec(name="age_years", description="The subject's age in years", kind="context",
                    agency="referral", relation="referral", window=None, direction="none",
                    unit="years"),
        FeatureSpec(name="subject_is_adult_at_risk",
                    description="The subject is an adult at risk rather than a child",
                    kind="context", agency="referral", relation="referral", window=None,
                    direction="none", unit="flag"),
    ]
    for need in PRESENTING_NEEDS:
        specs.append(FeatureSpec(
            name=f"presenting_need_{need}",
            description=f"The presenting need is {need.replace('_', ' ')}",
            kind="context", agency="referral", relation="referral", window=None,
            direction="none", unit="flag"))
    for source in REFERRAL_SOURCES:
        specs.append(FeatureSpec(
            name=f"referral_source_{source}",
            description=f"The referral came from {source.replace('_', ' ')}",
            kind="context", agency="referral", relation="referral", window=None,
            direction="none", unit="flag"))
    return specs


def _protected_specs() -> list[FeatureSpec]:
    specs = [
        FeatureSpec(name=f"sex_{sex}", description=f"Recorded sex is {sex}", kind="protected",
                    agency="referral", relation="referral", window=None, direction="none",
                    unit="flag", protected=True)
        for sex in SEXES
    ] + [
        FeatureSpec(name=f"ethnicity_{group}", description=f"Ethnicity group is {group}",
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
    """Features a model may use; protected characteristics only when governance allows."""
    return [s.name for s in MANIFEST if use_protected_characteristics or not s.protected]


def manifest_records() -> list[dict[str, object]]:
    """The manifest as JSON-ready records, with derived fields spelled out."""
    return [
        {**asdict(spec), "concerns": spec.concerns,
         "monotonic_constraint": spec.monotonic_constraint}
        for spec in MANIFEST
    ]


def write_manifest(path: Path) -> None:
    """Write the manifest as JSON."""
    payload = {"manifest_version": MANIFEST_VERSION, "features": manifest_records()}
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
