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
from pipelines.synth.codes import AGENCY_OF_CODE, NO_DAY, TYPE_OF_CODE
from pipelines.synth.model import SyntheticData

REFERRAL_ID_PREFIX = "R"
REFERRAL_ID_DIGITS = 7


def date_strings(days: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """``YYYY-MM-DD`` strings of day numbers, null where ``missing``."""
    dates = pa.array(days.astype(np.int32), type=pa.date32(), mask=missing)
    return pc.cast(dates, pa.string())


def labels(vocabulary: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Vocabulary strings of integer codes."""
    return pa.array(vocabulary, pa.string()).take(pa.array(codes.astype(np.int64)))


def referral_ids(n: int) -> pa.Array:
    """``R0000001``, ``R0000002``, ... in referral-date order."""
    numbers = pc.cast(pa.array(np.arange(1, n + 1)), pa.string())
    padded = pc.utf8_lpad(numbers, width=REFERRAL_ID_DIGITS, padding="0")
    return pc.binary_join_element_wise(REFERRAL_ID_PREFIX, padded, "")


def _table(feed: str, columns: dict[str, pa.Array]) -> pa.Table:
    return pa.table({name: columns[name] for name in FEED_COLUMNS[feed]})


def referrals_table(data: SyntheticData, ids: pa.Array) -> pa.Table:
    """The referrals feed."""
    population, referrals = data.population, data.referrals
    person_tokens = pa.array(population.person_token, pa.string())
    household = referrals.household
    household_id = pa.array(population.household_token, pa.string()).take(
        pa.array(np.maximum(household, 0), mask=household < 0)
    )
    main_household = population.person_household[referrals.person]
    imd = population.household_imd[main_household]
    return _table(
        REFERRALS,
        {
            "referral_id": ids,
            "person_id": person_tokens.take(pa.array(referrals.person)),
            "household_id": household_id,
            "referral_date": date_strings(referrals.day),
            "referral_source": labels(REFERRAL_SOURCES, referrals.source),
            "presenting_need": labels(PRESENTING_NEEDS, referrals.need),
            "subject_type": labels(SUBJECT_TYPES, referrals.is_adult.astype(np.int64)),
            "age_years": pa.array(referrals.age.astype(np.int64)),
            "sex": labels(SEXES, referrals.sex),
            "ethnicity_group": labels(
                ETHNICITY_GROUPS, population.household_ethnicity[main_household]
            ),
            "disability": pa.array(population.person_disability[referrals.person]),
            "imd_decile": pa.array(imd.astype(np.int64), mask=imd == 0),
        },
    )


def household_members_table(data: SyntheticData) -> pa.Table:
    """The household_members feed."""
    population = data.population
    return _table(
        HOUSEHOLD_MEMBERS,
        {
            "household_id": pa.array(population.household_token).take(
                pa.array(population.member_household)
            ),
            "person_id": pa.array(population.person_token).take(pa.array(population.member_person)),
            "role": labels(HOUSEHOLD_ROLES, population.member_role),
        },
    )


def outcomes_table(data: SyntheticData, ids: pa.Array) -> pa.Table:
    """The outcomes feed."""
    outcomes = data.outcomes
    return _table(
        OUTCOMES,
        {
            "referral_id": ids.take(pa.array(outcomes.referral)),
            "outcome_type": labels(OUTCOME_TYPES, outcomes.outcome_type),
            "outcome_date": date_strings(outcomes.day),
        },
    )


def event_tables(data: SyntheticData) -> dict[str, pa.Table]:
    """One events feed per agency, in event-date order."""
    events = data.events
    person_tokens = pa.array(data.population.person_token, pa.string())
    agency_of_event = AGENCY_OF_CODE[events.code]
    tables = {}
    for agency_code, agency in enumerate(AGENCIES):
        rows = np.flatnonzero(agency_of_event == agency_code)
        rows = rows[np.lexsort((events.person[rows], events.event_day[rows]))]
        recorded = events.recorded_day[rows]
        value = events.value[rows]
        tables[event_feed(agency)] = _table(
            event_feed(agency),
            {
                "person_id": person_tokens.take(pa.array(events.person[rows])),
                "event_date": date_strings(events.event_day[rows]),
                "recorded_date": date_strings(
                    np.where(recorded == NO_DAY, 0, recorded), missing=recorded == NO_DAY
                ),
                "event_type": labels(TYPE_OF_CODE, events.code[rows]),
                "value": pa.array(value, pa.float64(), mask=np.isnan(value)),
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
            "true_probability": pa.array(truth.probability),
            "follow_up_complete": pa.array(truth.follow_up_complete),
            "label": pa.array(truth.label.astype(np.int8), mask=~truth.follow_up_complete),
            "latent_logit": pa.array(truth.logit),
        }
    )
