"""The in-memory extract as Arrow tables with exactly the specification's columns.

Dates are written as ``YYYY-MM-DD`` strings in both formats, so that CSV and Parquet
extracts read the same and a deliberately malformed date can be represented.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    FEED_COLUMNS,
    HOUSEHOLD_MEMBERS,
    HOUSEHOLD_ROLES,
    OUTCOME_TYPES,
    OUTCOMES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
    SUBJECT_TYPES,
    event_feed,
)
from pipelines.synth.arrow import arrow, strings, text, token_strings
from pipelines.synth.codes import AGENCY_OF_CODE, NO_DAY, TYPE_OF_CODE
from pipelines.synth.model import SyntheticData

REFERRAL_ID_PREFIX = "R"
REFERRAL_ID_DIGITS = 7


def date_strings(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """``YYYY-MM-DD`` strings of day numbers, null where ``missing``.

    Each distinct day is formatted once and looked up (a cast of every row is slower).
    """
    days = days.astype(np.int64)
    present = days if missing is None else days[~missing]
    first = int(present.min(initial=0))
    span = np.arange(first, int(present.max(initial=0)) + 1, dtype=np.int32)
    formatted = pc.cast(arrow(span).view(pa.date32()), pa.string())
    return formatted.take(arrow(np.maximum(days - first, 0), missing))


def labels(vocabulary: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Vocabulary strings of integer codes."""
    return strings(vocabulary).take(arrow(codes.astype(np.int64)))


def referral_ids(n: int) -> pa.Array:
    """``R0000001``, ``R0000002``, ... in referral-date order."""
    numbers = pc.cast(arrow(np.arange(1, n + 1)), pa.string())
    padded = pc.utf8_lpad(numbers, width=REFERRAL_ID_DIGITS, padding="0")
    return pc.binary_join_element_wise(text(REFERRAL_ID_PREFIX), padded, text(""))


def _table(feed: str, columns: dict[str, pa.Array]) -> pa.Table:
    return pa.table({name: columns[name] for name in FEED_COLUMNS[feed]})


def referrals_table(data: SyntheticData, ids: pa.Array) -> pa.Table:
    """The referrals feed."""
    population, referrals = data.population, data.referrals
    person_tokens = token_strings(population.person_token)
    household = referrals.household
    household_id = token_strings(population.household_token).take(
        arrow(np.maximum(household, 0), household < 0)
    )
    main_household = population.person_household[referrals.person]
    imd = population.household_imd[main_household]
    return _table(
        REFERRALS,
        {
            "referral_id": ids,
            "person_id": person_tokens.take(arrow(referrals.person)),
            "household_id": household_id,
            "referral_date": date_strings(referrals.day),
            "referral_source": labels(REFERRAL_SOURCES, referrals.source),
            "presenting_need": labels(PRESENTING_NEEDS, referrals.need),
            "subject_type": labels(SUBJECT_TYPES, referrals.is_adult.astype(np.int64)),
            "age_years": arrow(referrals.age.astype(np.int64)),
            "sex": labels(SEXES, referrals.sex),
            "ethnicity_group": labels(
                ETHNICITY_GROUPS, population.household_ethnicity[main_household]
            ),
            "disability": arrow(population.person_disability[referrals.person]),
            "imd_decile": arrow(imd.astype(np.int64), imd == 0),
        },
    )


def household_members_table(data: SyntheticData) -> pa.Table:
    """The household_members feed."""
    population = data.population
    return _table(
        HOUSEHOLD_MEMBERS,
        {
            "household_id": token_strings(population.household_token).take(
                arrow(population.member_household)
            ),
            "person_id": token_strings(population.person_token).take(
                arrow(population.member_person)
            ),
            "role": labels(HOUSEHOLD_ROLES, population.member_role),
        },
    )


def outcomes_table(data: SyntheticData, ids: pa.Array) -> pa.Table:
    """The outcomes feed."""
    outcomes = data.outcomes
    return _table(
        OUTCOMES,
        {
            "referral_id": ids.take(arrow(outcomes.referral)),
            "outcome_type": labels(OUTCOME_TYPES, outcomes.outcome_type),
            "outcome_date": date_strings(outcomes.day),
        },
    )


def event_tables(data: SyntheticData) -> dict[str, pa.Table]:
    """One events feed per agency, in event-date order."""
    events = data.events
    person_tokens = token_strings(data.population.person_token)
    # One stable sort by (agency, event day, person): each agency's rows are one run.
    agency_of_event = AGENCY_OF_CODE[events.code].astype(np.int64)
    first_day = int(events.event_day.min(initial=0))
    n_days = int(events.event_day.max(initial=0)) - first_day + 1
    keys = (agency_of_event * n_days + events.event_day - first_day) * data.population.n_persons
    order = np.argsort(keys + events.person, kind="stable")
    del keys
    bounds = np.searchsorted(agency_of_event[order], np.arange(len(AGENCIES) + 1))
    tables = {}
    for agency_code, agency in enumerate(AGENCIES):
        rows = order[bounds[agency_code]:bounds[agency_code + 1]]
        recorded = events.recorded_day[rows]
        value = events.value[rows]
        tables[event_feed(agency)] = _table(
            event_feed(agency),
            {
                "person_id": person_tokens.take(arrow(events.person[rows])),
                "event_date": date_strings(events.event_day[rows]),
                "recorded_date": date_strings(
                    np.where(recorded == NO_DAY, 0, recorded), missing=recorded == NO_DAY
                ),
                "event_type": labels(TYPE_OF_CODE, events.code[rows]),
                "value": arrow(value.astype(np.float64), np.isnan(value)),
            },
        )
    return tables


def extract_tables(data: SyntheticData) -> dict[str, pa.Table]:
    """Every feed of the extract, by feed name."""
    ids = referral_ids(data.referrals.size)
    return {
        REFERRALS: referrals_table(data, ids),
        HOUSEHOLD_MEMBERS: household_members_table(data),
        OUTCOMES: outcomes_table(data, ids),
        **event_tables(data),
    }


def truth_table(data: SyntheticData, ids: pa.Array) -> pa.Table:
    """One row per referral: the true probability, follow-up and drawn label."""
    truth = data.truth
    return pa.table(
        {
            "referral_id": ids,
            "true_probability": arrow(truth.probability),
            "follow_up_complete": arrow(truth.follow_up_complete),
            "label": arrow(truth.label.astype(np.int8), ~truth.follow_up_complete),
            "latent_logit": arrow(truth.logit),
        }
    )
