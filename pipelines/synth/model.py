"""The whole generative model, in memory: population, referrals, records, truth, outcomes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from pipelines.synth.config import SynthConfig, spawn_generators
from pipelines.synth.events import Events, background_events, person_factors, record
from pipelines.synth.outcomes import Outcomes, Truth, draw_outcomes, draw_truth
from pipelines.synth.plant import plant_disparities
from pipelines.synth.planted import PlantedEffect, planted_effects
from pipelines.synth.population import Population, build_population
from pipelines.synth.referrals import Referrals, build_referrals
from pipelines.synth.risk import Memberships, calibrated_intercept, risk_score
from pipelines.synth.triggers import referral_records, trigger_events

logger = logging.getLogger(__name__)

STAGES = (
    "population", "referrals", "background", "triggers", "recording", "truth", "outcomes",
    "disparities",
)


@dataclass(frozen=True)
class SyntheticData:
    """Everything generated for one extract, before it is written.

    ``events`` are the records the extract holds (planted disparities applied); the
    truth was computed from the records as they happened, before them.
    """

    population: Population
    referrals: Referrals
    events: Events
    truth: Truth
    outcomes: Outcomes
    intercepts: tuple[float, float]  # children's, adults at risk's
    planted: tuple[PlantedEffect, ...] = ()  # each mechanism's setting and realised effect

    @property
    def memberships(self) -> Memberships:
        """household_members rows as integer codes."""
        return memberships_of(self.population)


def memberships_of(population: Population) -> Memberships:
    """household_members rows of a population."""
    return Memberships(
        population.member_household, population.member_person, population.member_role
    )


def generate_data(config: SynthConfig) -> SyntheticData:
    """Draw the population, referrals, records and outcomes of one extract."""
    rng = spawn_generators(config.seed, STAGES)
    population = build_population(config, rng["population"])
    referrals = build_referrals(population, config, rng=rng["referrals"])
    factors = person_factors(population, rng["background"])
    background = background_events(population, config, factors, rng=rng["background"])
    triggers = trigger_events(population, referrals, rng=rng["triggers"])
    recorded = record(
        Events.concat([*background, *triggers]), config.extract_day, rng=rng["recording"]
    )
    del background, triggers
    logged = referral_records(referrals, rng["triggers"])
    true_events = Events.concat(
        [recorded, logged.take(logged.recorded_day <= config.extract_day)]
    )
    del recorded, logged
    score = risk_score(referrals, memberships_of(population), true_events)
    events = plant_disparities(true_events, population, config, factors, rng["disparities"])
    planted = planted_effects(true_events, events, population, config)
    del true_events
    logger.info(
        "generated %d persons, %d referrals, %d records",
        population.n_persons,
        referrals.size,
        events.size,
    )
    adult = referrals.is_adult
    intercepts = (
        calibrated_intercept(score[~adult], config.child_base_rate),
        calibrated_intercept(score[adult], config.adult_base_rate),
    )
    logit = score + np.where(adult, intercepts[1], intercepts[0])
    truth = draw_truth(referrals, logit, config.extract_day, rng=rng["truth"])
    outcomes = draw_outcomes(referrals, truth, config.extract_day, rng=rng["outcomes"])
    return SyntheticData(population, referrals, events, truth, outcomes, intercepts, planted)
