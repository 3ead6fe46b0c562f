"""Referrals: who is referred, when, by whom and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import CHILD_MAX_AGE, PRESENTING_NEEDS, REFERRAL_SOURCES
from pipelines.synth.config import DAYS_PER_YEAR, SynthConfig, choose
from pipelines.synth.population import Population

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
# Referral source given the presenting need; columns follow REFERRAL_SOURCES.
SOURCE_PROBABILITIES: Final[dict[str, list[float]]] = {
    "abuse_neglect": [0.20, 0.22, 0.20, 0.10, 0.03, 0.01, 0.10, 0.06, 0.08],
    "domestic_abuse": [0.62, 0.10, 0.06, 0.06, 0.04, 0.04, 0.05, 0.01, 0.02],
    "mental_health": [0.15, 0.40, 0.17, 0.08, 0.03, 0.02, 0.10, 0.01, 0.04],
    "substance_misuse": [0.25, 0.30, 0.10, 0.10, 0.05, 0.08, 0.07, 0.02, 0.03],
    "exploitation": [0.45, 0.08, 0.20, 0.12, 0.02, 0.03, 0.06, 0.01, 0.03],
    "radicalisation": [0.40, 0.05, 0.35, 0.05, 0.00, 0.05, 0.05, 0.02, 0.03],
    "online_harm": [0.30, 0.05, 0.40, 0.05, 0.00, 0.00, 0.15, 0.02, 0.03],
    "other": [0.15, 0.15, 0.15, 0.10, 0.10, 0.03, 0.15, 0.05, 0.12],
}


@dataclass(frozen=True)
class Referrals:
    """Referrals as integer-coded arrays, sorted by referral day.

    ``household`` is -1 where the referral carries no household_id.
    """

    person: np.ndarray
    household: np.ndarray
    day: np.ndarray
    age: np.ndarray
    is_adult: np.ndarray
    source: np.ndarray
    need: np.ndarray

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
    age = np.floor((day - population.person_birth_day[person]) / DAYS_PER_YEAR).astype(np.int64)
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
    )
