"""Records that prompted a referral, and the social care record each referral leaves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from pipelines.synth.codes import EVENT_CODE, NEED
from pipelines.synth.events import Events, unrecorded_events
from pipelines.synth.population import ROLE, Population
from pipelines.synth.referrals import Referrals


@dataclass(frozen=True)
class Trigger:
    """A record that often precedes a referral with a given presenting need."""

    agency: str
    event_type: str
    probability: float
    about_carer: bool  # a parent or carer in the household rather than the subject
    lead_days: int  # happened up to this many days before the referral
    max_age: int = 120


TRIGGERS: Final[dict[str, tuple[Trigger, ...]]] = {
    "domestic_abuse": (
        Trigger("police", "domestic_abuse_incident", 0.85, True, 30),
        Trigger("police", "dash_high_risk", 0.25, True, 30),
        Trigger("police", "domestic_abuse_incident", 0.25, False, 30, max_age=17),
    ),
    "abuse_neglect": (
        Trigger("health", "unexplained_injury", 0.3, False, 30, max_age=11),
        Trigger("health", "ae_attendance", 0.3, False, 30),
    ),
    "exploitation": (
        Trigger("police", "missing_episode", 0.12, False, 60),
        Trigger("police", "exploitation_concern", 0.3, False, 45),
    ),
    "mental_health": (
        Trigger("health", "mental_health_contact", 0.6, False, 45),
        Trigger("health", "self_harm", 0.28, False, 30),
    ),
    "substance_misuse": (Trigger("health", "substance_misuse_contact", 0.6, True, 60),),
    "online_harm": (Trigger("police", "online_harm_concern", 0.5, False, 30),),
    "radicalisation": (Trigger("police", "prevent_referral", 0.7, False, 30),),
}
REFERRAL_RECORD_SHARE: Final = 0.7  # referrals that social care logs as a previous_referral
REFERRAL_RECORD_LAG_DAYS: Final = (1, 15)  # logged after the referral day, never on it


def _household_carers(population: Population) -> np.ndarray:
    """Per household, its first parent or carer (-1 when it has none)."""
    carers = np.flatnonzero(population.member_role == ROLE["parent_carer"])
    households, first = np.unique(population.member_household[carers], return_index=True)
    carer = np.full(population.household_token.size, -1, dtype=np.int64)
    carer[households] = population.member_person[carers[first]]
    return carer


def trigger_events(
    population: Population, referrals: Referrals, *, rng: np.random.Generator
) -> list[Events]:
    """Records (not yet given recorded dates) that led to each referral, one table per trigger."""
    carer = _household_carers(population)[population.person_household[referrals.person]]
    carer = np.where((carer < 0) | referrals.is_adult, referrals.person, carer)
    born = referrals.day >= population.person_birth_day[referrals.person]
    parts = []
    for need, triggers in TRIGGERS.items():
        for trigger in triggers:
            hit = (
                (referrals.need == NEED[need])
                & (referrals.age <= trigger.max_age)
                & (rng.random(referrals.size) < trigger.probability)
                & (born | trigger.about_carer)  # nothing about a child not yet born
            )
            person = (carer if trigger.about_carer else referrals.person)[hit]
            day = referrals.day[hit] - rng.integers(0, trigger.lead_days + 1, person.size)
            code = EVENT_CODE[(trigger.agency, trigger.event_type)]
            parts.append(unrecorded_events(person, code, day))
    return parts


def referral_records(referrals: Referrals, rng: np.random.Generator) -> Events:
    """Social care ``previous_referral`` records, logged days after each referral."""
    logged = rng.random(referrals.size) < REFERRAL_RECORD_SHARE
    day = referrals.day[logged]
    lag = rng.integers(*REFERRAL_RECORD_LAG_DAYS, size=day.size)
    code = np.full(day.size, EVENT_CODE[("social_care", "previous_referral")], np.int16)
    return Events(referrals.person[logged], code, day, day + lag, np.full(day.size, np.nan))
