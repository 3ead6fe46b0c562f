"""Terms and weights of the documented latent risk (see ``pipelines/SYNTHETIC_DATA.md``).

Every count term is non-decreasing in the number of concerning records; the only
decreasing term is the latest attendance rate (higher attendance, lower risk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import HOUSEHOLD_ROLES
from pipelines.synth.codes import EVENT_CODE, codes

SUBJECT, CARER, OTHER_ADULT, CHILD = range(4)
# Another member with role `subject` is a sibling who was referred too.
ADULT_RELATIONS: Final[dict[str, int]] = {"parent_carer": CARER, "other_adult": OTHER_ADULT}
RELATION_OF_ROLE: Final = np.array(
    [ADULT_RELATIONS.get(role, CHILD) for role in HOUSEHOLD_ROLES], np.int8
)
HOUSEHOLD_ADULTS: Final = (SUBJECT, CARER, OTHER_ADULT)
EVER: Final = 0  # window length meaning "at any time before"


@dataclass(frozen=True)
class CountTerm:
    """weight * transform(number of matching records known in the window)."""

    name: str
    relations: tuple[int, ...]
    event_codes: tuple[int, ...]
    window_days: int
    weight: float
    any_only: bool = False  # an indicator (any record) rather than log1p(count)


COUNT_TERMS: Final[tuple[CountTerm, ...]] = (
    CountTerm(
        "household_adult_domestic_abuse_365d",
        HOUSEHOLD_ADULTS,
        codes("police", "domestic_abuse_incident"),
        365,
        0.6,
    ),
    CountTerm(
        "household_dash_high_risk_90d",
        HOUSEHOLD_ADULTS,
        codes("police", "dash_high_risk"),
        90,
        1.0,
        any_only=True,
    ),
    CountTerm(
        "subject_unexplained_injury_365d",
        (SUBJECT,),
        codes("health", "unexplained_injury"),
        365,
        1.0,
    ),
    CountTerm(
        "subject_statutory_social_care_ever",
        (SUBJECT,),
        codes("social_care", "child_protection_plan", "looked_after", "adult_safeguarding_enquiry"),
        EVER,
        0.8,
        any_only=True,
    ),
    CountTerm(
        "subject_missing_or_exploitation_365d",
        (SUBJECT,),
        codes("police", "missing_episode", "exploitation_concern"),
        365,
        0.6,
    ),
    CountTerm("subject_self_harm_365d", (SUBJECT,), codes("health", "self_harm"), 365, 0.6),
    CountTerm(
        "carer_substance_or_mental_health_365d",
        (CARER, OTHER_ADULT),
        codes("health", "substance_misuse_contact", "mental_health_contact"),
        365,
        0.45,
    ),
    CountTerm(
        "household_adult_probation_ever",
        (CARER, OTHER_ADULT),
        codes("probation", "mappa_nominal", "domestic_abuse_perpetrator_programme"),
        EVER,
        0.6,
        any_only=True,
    ),
    CountTerm(
        "household_housing_instability_365d",
        HOUSEHOLD_ADULTS,
        codes("housing", "homelessness_application", "temporary_accommodation", "eviction_notice"),
        365,
        0.4,
        any_only=True,
    ),
    CountTerm(
        "sibling_statutory_social_care_ever",
        (CHILD,),
        codes("social_care", "child_protection_plan", "looked_after"),
        EVER,
        0.5,
        any_only=True,
    ),
)
PREVIOUS_REFERRALS_WEIGHT: Final = 0.6  # per log1p(earlier referrals + previous_referral records)
PREVIOUS_REFERRAL_CODE: Final = EVENT_CODE[("social_care", "previous_referral")]
ATTENDANCE_CODE: Final = EVENT_CODE[("education", "attendance_rate")]
ATTENDANCE_THRESHOLD: Final = 90.0
ATTENDANCE_WEIGHT_PER_10_POINTS: Final = 0.4
ATTENDANCE_MAX_SHORTFALL: Final = 3.0  # in tens of points
ATTENDANCE_WINDOW_DAYS: Final = 365
UNDER_FIVE_DOMESTIC_ABUSE_WEIGHT: Final = 0.4  # extra, per log1p(household DA incidents 365d)
UNDER_FIVE_AGE: Final = 5
INFANT_WEIGHT: Final = 0.4
ADULT_AT_RISK_WEIGHT: Final = -0.2
NEED_WEIGHTS: Final[dict[str, float]] = {
    "abuse_neglect": 0.45,
    "domestic_abuse": 0.3,
    "mental_health": -0.15,
    "substance_misuse": 0.15,
    "exploitation": 0.6,
    "radicalisation": -0.3,
    "online_harm": -0.45,
    "other": -0.9,
}
SOURCE_WEIGHTS: Final[dict[str, float]] = {
    "police": 0.3,
    "health": 0.15,
    "education": 0.0,
    "social_care": 0.45,
    "housing": -0.15,
    "probation": 0.15,
    "self_or_family": -0.3,
    "anonymous": -0.75,
    "other": -0.45,
}
