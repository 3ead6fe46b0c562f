"""Applying the planted disparities to the records of the extract (never to the truth)."""

from __future__ import annotations

from typing import Final

import numpy as np

from data_contracts.vocab import AGENCIES, ETHNICITY_GROUPS
from pipelines.synth.codes import AGENCY_OF_CODE
from pipelines.synth.config import SynthConfig
from pipelines.synth.disparities import DISPARITY_BY_NAME, RECORDING_BIAS, Disparity
from pipelines.synth.events import Events, record, unrecorded_events
from pipelines.synth.population import Population

EXTRA_RECORD_SPREAD_DAYS: Final = 180


def in_group(population: Population, disparity: Disparity) -> np.ndarray:
    """Per person: a member (by main household) of the disparity's group."""
    group = ETHNICITY_GROUPS.index(disparity.ethnicity_group)
    return population.household_ethnicity[population.person_household] == group


def extra_records(
    events: Events, population: Population, config: SynthConfig, disparity: Disparity,
    strength: float, rng: np.random.Generator,
) -> Events:
    """Recording bias: ``strength - 1`` extra records (on average) per record of the group.

    Each extra record has the type of a true record about the same person and a day up to
    EXTRA_RECORD_SPREAD_DAYS either side, so the group's records grow by ``strength``
    while their true risk stays the same.
    """
    mine = np.flatnonzero(affected(events, population, disparity))
    copies = np.repeat(mine, rng.poisson(strength - 1.0, mine.size))
    shift = rng.integers(-EXTRA_RECORD_SPREAD_DAYS, EXTRA_RECORD_SPREAD_DAYS + 1, copies.size)
    day = events.event_day[copies] + shift
    kept = (day >= config.history_start_day) & (day <= config.extract_day)
    extra = unrecorded_events(events.person[copies][kept], 0, day[kept])
    extra = Events(extra.person, events.code[copies][kept], extra.event_day, extra.recorded_day,
                   events.value[copies][kept])
    return record(extra, config.extract_day, rng=rng)


def affected(events: Events, population: Population, disparity: Disparity) -> np.ndarray:
    """Per record: about a member of the group, from the disparity's agency."""
    agencies = [AGENCIES.index(agency) for agency in disparity.agencies]
    return np.isin(AGENCY_OF_CODE[events.code], agencies) & in_group(population, disparity)[
        events.person
    ]


def absent(
    events: Events, population: Population, disparity: Disparity, strength: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Missing information: which records the agency holds about the group but did not share."""
    return affected(events, population, disparity) & (rng.random(events.size) < strength)


def plant_disparities(
    events: Events,
    population: Population,
    config: SynthConfig,
    factors: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> Events:
    """The records the extract holds: the true records with the planted effects applied."""
    extra: list[Events] = []
    dropped = np.zeros(events.size, dtype=bool)
    for name, strength in config.disparities:
        disparity = DISPARITY_BY_NAME[name]
        if strength == disparity.off:
            continue
        if disparity.kind == RECORDING_BIAS:
            extra.append(extra_records(events, population, config, disparity, strength, rng))
        else:
            dropped |= absent(events, population, disparity, strength, rng)
    return Events.concat([events.take(~dropped), *extra]) if extra or dropped.any() else events
