"""Referrals: who is referred, when, by whom and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import CHILD_MAX_AGE, PRESENTING_NEEDS, REFERRAL_SOURCES
from pipelines.synth.config import DAYS_PER_YEAR, SynthConfig, choose
from pipelines.synth.population import SEX, Population

REPEAT_PROPENSITY_ADVERSITY: Final = 0.7
REPEAT_GAP_MEAN_DAYS: Final = 270
REPEAT_GAP_MIN_DAYS: Final = 14
EMPTY_HOUSEHOLD_SHARE: Final = 0.02
TEEN_AGE: Final = 10

# Presenting need by age group; columns follow PRESENTING_NEEDS.
NEED_PROBABILITIES: Final[dict[str, list[float]]] = {
    "young_child": [0.42, 0.30, 0.06, 0.08, 0.00, 0.005, 0.02, 0.115],
    "teenager": [0.22, 0.15, 0.20, 0.05, 0.18, 0.02, 0.08, 0.10],
    "adult": [0.38, 0.20, 0.15, 0.08, 0.04, 0.01, 0.02, 0.12],
}
# Referral source given the presenting need; columns follow REFERRAL_SOURCES. Fitted so
# that children's referrals match the published sources (anchors.py) at default settings.
SOURCE_PROBABILITIES: Final[dict[str, list[float]]] = {
    "abuse_neglect": [0.176, 0.169, 0.246, 0.161, 0.011, 0.014, 0.089, 0.041, 0.094],
    "domestic_abuse": [0.582, 0.082, 0.079, 0.103, 0.015, 0.061, 0.047, 0.007, 0.025],
    "mental_health": [0.138, 0.320, 0.218, 0.134, 0.011, 0.030, 0.093, 0.007, 0.049],
    "substance_misuse": [0.226, 0.235, 0.126, 0.165, 0.018, 0.117, 0.064, 0.014, 0.036],
    "exploitation": [0.381, 0.059, 0.236, 0.185, 0.007, 0.041, 0.051, 0.006, 0.034],
    "radicalisation": [0.331, 0.036, 0.404, 0.075, 0.000, 0.067, 0.042, 0.013, 0.033],
    "online_harm": [0.250, 0.036, 0.466, 0.076, 0.000, 0.000, 0.126, 0.013, 0.033],
    "other": [0.135, 0.117, 0.189, 0.165, 0.036, 0.044, 0.136, 0.035, 0.144],
}


@dataclass(frozen=True)
class Referrals:
    """Referrals as integer-coded arrays, sorted by referral day.

    ``household`` is -1 where the referral carries no household_id. ``sex`` is the
    subject's, or ``unknown`` for a referral before the child's birth (a pre-birth
    referral is a child aged 0 with sex ``unknown`` in version 1 of the specification).
    """

    person: np.ndarray
    household: np.ndarray
    day: np.ndarray
    age: np.ndarray
    is_adult: np.ndarray
    source: np.ndarray
    need: np.ndarray
    sex: np.ndarray

    @property
    def size(self) -> int:
        """Number of referrals."""
        return int(self.person.size)


def _referred_persons(
    population: Population, n_referrals: int, rng: np.random.Generator
) -> np.ndarray:
    """Every subject once, then repeats drawn towards high-adversity persons."""
    subjects = population.subjects
    household = population.person_household[subjects]
    propensity = np.exp(
        REPEAT_PROPENSITY_ADVERSITY * population.household_adversity[household]
        + population.person_frailty[subjects]
    )
    n_repeats = n_referrals - subjects.size
    repeats = rng.choice(subjects, size=n_repeats, p=propensity / propensity.sum())
    return np.sort(np.concatenate([subjects, repeats]), kind="stable")


def _referral_days(
    population: Population, person: np.ndarray, config: SynthConfig, rng: np.random.Generator
) -> np.ndarray:
    """A subject's first referral near the household's reference day, repeats after it."""
    first_of_person = np.r_[True, person[1:] != person[:-1]]
    gaps = rng.exponential(REPEAT_GAP_MEAN_DAYS, person.size).astype(np.int64) + REPEAT_GAP_MIN_DAYS
    gaps[first_of_person] = 0
    cumulative = np.cumsum(gaps)
    group_start = np.maximum.accumulate(np.where(first_of_person, np.arange(person.size), 0))
    since_first = cumulative - cumulative[group_start]
    first_day = population.household_reference_day[population.person_household[person]]
    first_day = first_day + rng.integers(0, 3, person.size)  # siblings referred within days
    first_day = np.minimum(first_day, config.extract_day)
    return first_day + since_first % (config.extract_day - first_day + 1)


def _needs_and_sources(
    age: np.ndarray, is_adult: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    group = np.where(is_adult, "adult", np.where(age >= TEEN_AGE, "teenager", "young_child"))
    need_table = {name: np.array(p) for name, p in NEED_PROBABILITIES.items()}
    need = choose(
        rng,
        np.stack([need_table[g] for g in ("young_child", "teenager", "adult")])[
            np.select([group == "young_child", group == "teenager"], [0, 1], 2)
        ],
    )
    source_table = np.array([SOURCE_PROBABILITIES[n] for n in PRESENTING_NEEDS])
    source_p = source_table[need]
    source_p[is_adult, REFERRAL_SOURCES.index("education")] = 0.0
    return need, choose(rng, source_p)


def build_referrals(
    population: Population, config: SynthConfig, *, rng: np.random.Generator
) -> Referrals:
    """Draw ``config.n_referrals`` referrals about the population's subjects."""
    person = _referred_persons(population, config.n_referrals, rng)
    day = _referral_days(population, person, config, rng)
    before_birth = day < population.person_birth_day[person]
    age = np.floor((day - population.person_birth_day[person]) / DAYS_PER_YEAR).astype(np.int64)
    age = np.maximum(age, 0)
    sex = np.where(before_birth, SEX["unknown"], population.person_sex[person])
    is_adult = age > CHILD_MAX_AGE
    household = np.where(
        rng.random(person.size) < EMPTY_HOUSEHOLD_SHARE, -1, population.person_household[person]
    )
    need, source = _needs_and_sources(age, is_adult, rng)
    order = np.argsort(day, kind="stable")
    return Referrals(
        person=person[order],
        household=household[order],
        day=day[order],
        age=age[order],
        is_adult=is_adult[order],
        source=source[order],
        need=need[order],
        sex=sex[order],
    )
