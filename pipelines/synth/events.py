"""Agency records in the years around the referrals, driven by household adversity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np

from data_contracts.vocab import AGENCIES
from pipelines.synth.codes import AGENCY_OF_CODE, EVENT_CODE, NO_DAY
from pipelines.synth.config import DAYS_PER_YEAR, SynthConfig, to_day
from pipelines.synth.population import ROLE, SEX, Population


@dataclass(frozen=True)
class RateSpec:
    """Yearly rate of one event type for a person at household adversity 0."""

    child: float
    adult: float
    adversity_slope: float
    min_age: int = 0
    max_age: int = 120


ADULT_AGE: Final = 18
# Rates per person-year. Police and probation data are sparse; adversity multiplies
# every rate by exp(slope * adversity + person frailty).
RATES: Final[dict[tuple[str, str], RateSpec]] = {
    ("police", "domestic_abuse_incident"): RateSpec(0.02, 0.055, 1.0),
    ("police", "dash_high_risk"): RateSpec(0.0, 0.02, 1.2, 16),
    ("police", "missing_episode"): RateSpec(0.008, 0.01, 1.1, 8),
    ("police", "arrest"): RateSpec(0.03, 0.05, 1.0, 10),
    ("police", "victim_of_crime"): RateSpec(0.03, 0.05, 0.6),
    ("police", "exploitation_concern"): RateSpec(0.012, 0.005, 1.2, 9),
    ("police", "antisocial_behaviour"): RateSpec(0.04, 0.03, 0.8, 10),
    ("police", "online_harm_concern"): RateSpec(0.02, 0.002, 0.5, 8),
    ("police", "prevent_referral"): RateSpec(0.001, 0.0007, 0.3, 10),
    ("health", "ae_attendance"): RateSpec(0.18, 0.18, 0.5),
    ("health", "unexplained_injury"): RateSpec(0.015, 0.004, 1.1, 0, 12),
    ("health", "missed_appointment"): RateSpec(0.15, 0.15, 0.7),
    ("health", "mental_health_contact"): RateSpec(0.125, 0.29, 0.8, 8),
    ("health", "substance_misuse_contact"): RateSpec(0.01, 0.04, 1.1, 12),
    ("health", "maternity_concern"): RateSpec(0.0, 0.04, 1.0, 16, 45),
    ("health", "self_harm"): RateSpec(0.014, 0.02, 0.9, 10),
    ("education", "suspension"): RateSpec(0.05, 0.0, 1.0, 6, 16),
    ("education", "permanent_exclusion"): RateSpec(0.003, 0.0, 1.2, 6, 16),
    ("education", "sen_support"): RateSpec(0.06, 0.0, 0.4, 4, 16),
    ("education", "ehcp"): RateSpec(0.01, 0.0, 0.3, 4, 17),
    ("education", "free_school_meals"): RateSpec(0.1, 0.0, 0.9, 4, 16),
    ("education", "child_missing_education"): RateSpec(0.008, 0.0, 1.2, 5, 16),
    ("social_care", "previous_referral"): RateSpec(0.05, 0.015, 1.0),
    ("social_care", "early_help_episode"): RateSpec(0.05, 0.0, 0.9),
    ("social_care", "child_in_need_plan"): RateSpec(0.025, 0.0, 1.0),
    ("social_care", "child_protection_plan"): RateSpec(0.01, 0.0, 1.2),
    ("social_care", "looked_after"): RateSpec(0.004, 0.0, 1.3),
    ("social_care", "adult_safeguarding_enquiry"): RateSpec(0.0, 0.006, 0.8),
    ("social_care", "care_and_support_plan"): RateSpec(0.0, 0.01, 0.3),
    ("housing", "homelessness_application"): RateSpec(0.0, 0.03, 1.0),
    ("housing", "temporary_accommodation"): RateSpec(0.0, 0.02, 1.1),
    ("housing", "eviction_notice"): RateSpec(0.0, 0.02, 1.0),
    ("housing", "rent_arrears"): RateSpec(0.0, 0.07, 0.9),
    ("housing", "overcrowding"): RateSpec(0.0, 0.03, 0.8),
    ("probation", "under_supervision"): RateSpec(0.0, 0.02, 1.2),
    ("probation", "mappa_nominal"): RateSpec(0.0, 0.003, 1.3),
    ("probation", "domestic_abuse_perpetrator_programme"): RateSpec(0.0, 0.005, 1.2),
}
# Share of households about which each agency holds (and shares) any records.
AGENCY_SHARING: Final[dict[str, float]] = {
    "police": 0.97,
    "health": 0.75,
    "education": 0.85,
    "social_care": 0.95,
    "housing": 0.4,
    "probation": 0.5,
}
MALE_ONLY_FACTOR: Final[dict[str, float]] = {"probation": 3.0}  # and 0.4 for others
FEMALE_ONLY: Final = frozenset({("health", "maternity_concern")})
ADULT_AT_RISK_FACTOR: Final[dict[tuple[str, str], float]] = {
    ("health", "ae_attendance"): 2.0,
    ("health", "mental_health_contact"): 1.5,
    ("social_care", "adult_safeguarding_enquiry"): 6.0,
    ("social_care", "care_and_support_plan"): 10.0,
}
# Agency recording lag: share empty, share same day, median lag of the rest (days).
RECORDING: Final[dict[str, tuple[float, float, float]]] = {
    "police": (0.35, 0.35, 5.0),
    "health": (0.25, 0.25, 10.0),
    "education": (0.30, 0.20, 14.0),
    "social_care": (0.20, 0.40, 7.0),
    "housing": (0.50, 0.20, 12.0),
    "probation": (0.40, 0.30, 10.0),
}
MAX_RECORDING_LAG_DAYS: Final = 120
EVENT_FIELDS: Final = ("person", "code", "event_day", "recorded_day", "value")
RECORDING_LAG_SPREAD: Final = 0.8


@dataclass(frozen=True)
class Events:
    """Agency records as integer-coded arrays; ``recorded_day`` is NO_DAY when empty."""

    person: np.ndarray
    code: np.ndarray
    event_day: np.ndarray
    recorded_day: np.ndarray
    value: np.ndarray

    @property
    def size(self) -> int:
        """Number of records."""
        return int(self.person.size)

    @property
    def known_day(self) -> np.ndarray:
        """When the hub could know each record: recorded_date, else event_date."""
        return np.where(self.recorded_day == NO_DAY, self.event_day, self.recorded_day)

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        """All records of several tables."""
        return Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in EVENT_FIELDS))

    def take(self, index: np.ndarray) -> Events:
        """The records at ``index`` (positions or a mask)."""
        return Events(*(getattr(self, f)[index] for f in EVENT_FIELDS))


def recording_lags(agency: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Recorded day minus event day per record; -1 marks an empty recorded_date."""
    empty, same_day, median = (np.array([RECORDING[a][i] for a in AGENCIES]) for i in range(3))
    draw = rng.random(agency.size)
    drawn = np.ceil(rng.lognormal(np.log(median)[agency], RECORDING_LAG_SPREAD))
    lag = np.clip(drawn, 1, MAX_RECORDING_LAG_DAYS).astype(np.int64)
    lag[draw < (empty + same_day)[agency]] = 0
    lag[draw < empty[agency]] = -1
    return lag


SUBJECT_RECORD_FACTOR: Final = 1.3  # referred persons are better known to agencies
ATTENDANCE_SHARING: Final = 0.6  # schools in the attendance data-sharing agreement
TERM_ENDS: Final = ((4, 1), (7, 22), (12, 19))  # spring, summer, autumn term end (month, day)
SCHOOL_AGES: Final = (5.0, 16.0)
TYPICAL_ABSENCE_PERCENT: Final = 5.0
ABSENCE_ADVERSITY_SLOPE: Final = 0.45
ABSENCE_FRAILTY_SLOPE: Final = 0.6
ABSENCE_TERM_SPREAD: Final = 0.45
ATTENDANCE = EVENT_CODE[("education", "attendance_rate")]


def person_factors(population: Population, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per person: agency sharing (by household), subject and adult-at-risk flags."""
    household = population.person_household
    n_households = population.household_token.size
    factors = {
        agency: (rng.random(n_households) < AGENCY_SHARING[agency])[household].astype(float)
        for agency in AGENCIES
    }
    is_subject = population.person_role == ROLE["subject"]
    reference_day = population.household_reference_day[household]
    adult_at_risk = is_subject & (reference_day - population.person_birth_day >= 18 * DAYS_PER_YEAR)
    factors["subject"] = np.where(is_subject, SUBJECT_RECORD_FACTOR, 1.0)
    factors["adult_at_risk"] = adult_at_risk.astype(float)
    return factors


def _type_multiplier(
    key: tuple[str, str], spec: RateSpec, population: Population, factors: dict[str, np.ndarray]
) -> np.ndarray:
    agency = key[0]
    adversity = population.household_adversity[population.person_household]
    multiplier = np.exp(spec.adversity_slope * adversity + population.person_frailty)
    multiplier = multiplier * factors[agency] * factors["subject"]
    male = population.person_sex == SEX["male"]
    if agency in MALE_ONLY_FACTOR:
        multiplier = multiplier * np.where(male, MALE_ONLY_FACTOR[agency], 0.4)
    if key in FEMALE_ONLY:
        multiplier = multiplier * (population.person_sex == SEX["female"])
    if key in ADULT_AT_RISK_FACTOR:
        multiplier = multiplier * (1 + (ADULT_AT_RISK_FACTOR[key] - 1) * factors["adult_at_risk"])
    return multiplier


def _draw_in_age_band(
    birth_day: np.ndarray,
    ages: tuple[float, float],
    rate: np.ndarray,
    window: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson counts over the days a person spends in an age band, and their days."""
    low = np.maximum(window[0], birth_day + np.ceil(ages[0] * DAYS_PER_YEAR).astype(np.int64))
    high = np.minimum(window[1] + 1, birth_day + np.ceil(ages[1] * DAYS_PER_YEAR).astype(np.int64))
    span = np.maximum(high - low, 0)
    counts = rng.poisson(rate * span / DAYS_PER_YEAR)
    person = np.repeat(np.arange(birth_day.size), counts)
    return person, low[person] + np.floor(rng.random(person.size) * span[person]).astype(np.int64)


def background_events(
    population: Population,
    config: SynthConfig,
    factors: dict[str, np.ndarray],
    *,
    rng: np.random.Generator,
) -> list[Events]:
    """Records of every type, over every person's eligible ages since the history start.

    One table per type and age band (concatenated once, with the other records, by the caller).
    """
    window = (config.history_start_day, config.extract_day)
    attendance = attendance_events(population, factors["education"], window=window, rng=rng)
    return [attendance, *rate_events(population, factors, tuple(RATES), window=window, rng=rng)]


def rate_events(
    population: Population,
    factors: dict[str, np.ndarray],
    keys: tuple[tuple[str, str], ...],
    *,
    window: tuple[int, int],
    rng: np.random.Generator,
    scale: np.ndarray | float = 1.0,
) -> list[Events]:
    """Poisson records of the given types at their rates (times ``scale`` per person)."""
    parts = []
    for key in keys:
        spec = RATES[key]
        multiplier = _type_multiplier(key, spec, population, factors) * scale
        bands = (
            ((spec.min_age, min(spec.max_age + 1, ADULT_AGE)), spec.child),
            ((max(spec.min_age, ADULT_AGE), spec.max_age + 1), spec.adult),
        )
        for ages, rate in bands:
            if rate <= 0 or ages[0] >= ages[1]:
                continue
            person, day = _draw_in_age_band(
                population.person_birth_day, ages, rate * multiplier, window, rng
            )
            parts.append(unrecorded_events(person, EVENT_CODE[key], day))
    return parts


def unrecorded_events(person: np.ndarray, code: int, day: np.ndarray) -> Events:
    """Records of one type with empty recorded dates and values."""
    empty = np.full(person.size, NO_DAY, dtype=np.int64)
    return Events(
        person, np.full(person.size, code, np.int16), day, empty, np.full(person.size, np.nan)
    )


def _term_end_days(window: tuple[int, int]) -> np.ndarray:
    first_year, last_year = 1970 + window[0] // 366, 1970 + window[1] // 365 + 1
    days = np.array(
        [
            to_day(date(year, month, day))
            for year in range(first_year, last_year + 1)
            for month, day in TERM_ENDS
        ]
    )
    return np.sort(days[(days >= window[0]) & (days <= window[1])])


def attendance_events(
    population: Population,
    shared: np.ndarray,
    *,
    window: tuple[int, int],
    rng: np.random.Generator,
) -> Events:
    """Termly attendance rates of school-age children, lower in high-adversity households."""
    term_end = _term_end_days(window)
    age = (term_end[None, :] - population.person_birth_day[:, None]) / DAYS_PER_YEAR
    shared = (shared > 0) & (rng.random(shared.size) < ATTENDANCE_SHARING)
    eligible = (age >= SCHOOL_AGES[0]) & (age < SCHOOL_AGES[1]) & shared[:, None]
    person, term = np.nonzero(eligible)
    adversity = population.household_adversity[population.person_household[person]]
    log_absence = (
        np.log(TYPICAL_ABSENCE_PERCENT)
        + ABSENCE_ADVERSITY_SLOPE * adversity
        + ABSENCE_FRAILTY_SLOPE * population.person_frailty[person]
        + rng.normal(0, ABSENCE_TERM_SPREAD, person.size)
    )
    attendance = np.round(np.clip(100 - np.exp(log_absence), 0, 100), 1)
    events = unrecorded_events(person, ATTENDANCE, term_end[term])
    return Events(events.person, events.code, events.event_day, events.recorded_day, attendance)


def record(events: Events, extract_day: int, *, rng: np.random.Generator) -> Events:
    """Give records their recorded dates and keep what was recorded by the extract date."""
    lag = recording_lags(AGENCY_OF_CODE[events.code], rng)
    recorded = np.where(lag < 0, NO_DAY, events.event_day + lag)
    known = np.where(lag < 0, events.event_day, recorded)
    kept = Events(events.person, events.code, events.event_day, recorded, events.value)
    return kept.take(known <= extract_day)
