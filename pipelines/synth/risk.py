"""The documented latent risk: what was known at referral time, and nothing else.

See ``pipelines/SYNTHETIC_DATA.md`` for every term and weight. The score uses only
the subject's and the household members' records known on or before the referral
date (recorded_date, or event_date when empty), earlier referrals of the subject,
age, subject type, presenting need and referral source. Never sex, ethnicity,
disability or deprivation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np

from pipelines.synth.codes import N_EVENT_CODES, NEED, SOURCE
from pipelines.synth.config import to_day
from pipelines.synth.events import Events
from pipelines.synth.referrals import Referrals
from pipelines.synth.risk_terms import (
    ADULT_AT_RISK_WEIGHT,
    ATTENDANCE_CODE,
    ATTENDANCE_MAX_SHORTFALL,
    ATTENDANCE_THRESHOLD,
    ATTENDANCE_WEIGHT_PER_10_POINTS,
    ATTENDANCE_WINDOW_DAYS,
    COUNT_TERMS,
    EVER,
    INFANT_WEIGHT,
    NEED_WEIGHTS,
    PREVIOUS_REFERRAL_CODE,
    PREVIOUS_REFERRALS_WEIGHT,
    RELATION_OF_ROLE,
    SOURCE_WEIGHTS,
    SUBJECT,
    UNDER_FIVE_AGE,
    UNDER_FIVE_DOMESTIC_ABUSE_WEIGHT,
)

DAY_BASE: Final = to_day(date(1990, 1, 1))
DAY_SPAN: Final = 1 << 16  # days from DAY_BASE that fit a key (to the year 2169)


@dataclass(frozen=True)
class Memberships:
    """household_members rows as integer codes."""

    household: np.ndarray
    person: np.ndarray
    role: np.ndarray


@dataclass(frozen=True)
class Pairs:
    """(referral, person, relation) for the subject and each member of its household."""

    referral: np.ndarray
    person: np.ndarray
    relation: np.ndarray


def household_pairs(referrals: Referrals, members: Memberships) -> Pairs:
    """The subject of each referral and every other member of its household, by person and day."""
    order = np.argsort(members.household, kind="stable")
    sorted_household = members.household[order]
    start = np.searchsorted(sorted_household, referrals.household, side="left")
    end = np.searchsorted(sorted_household, referrals.household, side="right")
    counts = np.where(referrals.household >= 0, end - start, 0)
    referral = np.repeat(np.arange(referrals.size), counts)
    offset = np.arange(referral.size) - np.repeat(np.cumsum(counts) - counts, counts)
    member = order[np.repeat(start, counts) + offset]
    others = members.person[member] != referrals.person[referral]
    referral = np.concatenate([np.arange(referrals.size), referral[others]])
    person = np.concatenate([referrals.person, members.person[member][others]])
    relation = np.concatenate(
        [np.full(referrals.size, SUBJECT, np.int8), RELATION_OF_ROLE[members.role[member][others]]]
    )
    # In (person, day) order, so that window counts search the event index with sorted keys.
    order = np.lexsort((referrals.day[referral], person))
    return Pairs(referral=referral[order], person=person[order], relation=relation[order])


class EventIndex:
    """Records sorted by (type, person, known day) for point-in-time window counts.

    Each type's records are one contiguous run of the sorted keys, so a window count
    searches only that run (small enough to stay in cache).
    """

    def __init__(self, events: Events) -> None:
        known = np.clip(events.known_day - DAY_BASE, 0, DAY_SPAN - 1)
        self.n_persons = int(events.person.max(initial=0)) + 1
        keys = (events.code.astype(np.int64) * self.n_persons + events.person) * DAY_SPAN + known
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.values = np.append(events.value[order], np.nan)  # a NaN to index when empty
        self.starts = np.searchsorted(
            self.keys, np.arange(N_EVENT_CODES + 1, dtype=np.int64) * self.n_persons * DAY_SPAN
        )

    def _bounds(
        self, person: np.ndarray, day: np.ndarray, code: int, window_days: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the records known in (day - window_days, day] (or ever, up to day)."""
        start = int(self.starts[code])
        run = self.keys[start:self.starts[code + 1]]
        base = (code * self.n_persons + person.astype(np.int64)) * DAY_SPAN
        upper = base + np.clip(day - DAY_BASE, -1, DAY_SPAN - 1)
        lower = (
            base
            if window_days == EVER
            else base + np.clip(day - window_days + 1 - DAY_BASE, 0, DAY_SPAN - 1)
        )
        high = np.searchsorted(run, upper, side="right")
        low = np.minimum(np.searchsorted(run, lower, side="left"), high)
        return start + low, start + high

    def count(
        self, person: np.ndarray, day: np.ndarray, event_codes: tuple[int, ...], window_days: int
    ) -> np.ndarray:
        """Records of the given types per (person, day), known on or before the day."""
        total = np.zeros(person.size, dtype=np.int64)
        for code in event_codes:
            low, high = self._bounds(person, day, code, window_days)
            total += high - low
        return total

    def latest_value(
        self, person: np.ndarray, day: np.ndarray, code: int, window_days: int
    ) -> np.ndarray:
        """Value of the latest record known in the window, NaN when there is none."""
        low, high = self._bounds(person, day, code, window_days)
        found = high > low
        return np.where(found, self.values[np.maximum(high - 1, 0)], np.nan)


def _earlier_referrals(referrals: Referrals) -> np.ndarray:
    """Referrals of the same person with an earlier referral date."""
    keys = referrals.person.astype(np.int64) * DAY_SPAN + (referrals.day - DAY_BASE)
    sorted_keys = np.sort(keys)
    first = referrals.person.astype(np.int64) * DAY_SPAN
    return np.searchsorted(sorted_keys, keys, "left") - np.searchsorted(sorted_keys, first, "left")


def term_contributions(
    referrals: Referrals, members: Memberships, events: Events
) -> dict[str, np.ndarray]:
    """Each documented term's contribution to each referral's latent logit."""
    pairs = household_pairs(referrals, members)
    index = EventIndex(events)
    pair_day = referrals.day[pairs.referral]
    contributions: dict[str, np.ndarray] = {}
    household_da: np.ndarray = np.zeros(referrals.size)
    for term in COUNT_TERMS:
        selected = np.isin(pairs.relation, term.relations)
        counts = index.count(
            pairs.person[selected], pair_day[selected], term.event_codes, term.window_days
        )
        per_referral = np.bincount(pairs.referral[selected], counts, minlength=referrals.size)
        if term.name == "household_adult_domestic_abuse_365d":
            household_da = per_referral
        transformed = (per_referral > 0) if term.any_only else np.log1p(per_referral)
        contributions[term.name] = term.weight * transformed
    previous = _earlier_referrals(referrals) + index.count(
        referrals.person, referrals.day, (PREVIOUS_REFERRAL_CODE,), EVER
    )
    contributions["subject_previous_referrals"] = PREVIOUS_REFERRALS_WEIGHT * np.log1p(previous)
    attendance = index.latest_value(
        referrals.person, referrals.day, ATTENDANCE_CODE, ATTENDANCE_WINDOW_DAYS
    )
    shortfall = np.clip(
        (ATTENDANCE_THRESHOLD - np.nan_to_num(attendance, nan=100.0)) / 10,
        0,
        ATTENDANCE_MAX_SHORTFALL,
    )
    contributions["subject_latest_attendance_below_90"] = (
        ATTENDANCE_WEIGHT_PER_10_POINTS * shortfall
    )
    under_five = (referrals.age < UNDER_FIVE_AGE) & ~referrals.is_adult
    contributions["domestic_abuse_x_under_five"] = (
        UNDER_FIVE_DOMESTIC_ABUSE_WEIGHT * np.log1p(household_da) * under_five
    )
    contributions.update(_case_terms(referrals))
    return contributions


def _case_terms(referrals: Referrals) -> dict[str, np.ndarray]:
    need_weights = np.array([NEED_WEIGHTS[need] for need in NEED])
    source_weights = np.array([SOURCE_WEIGHTS[source] for source in SOURCE])
    return {
        "infant": INFANT_WEIGHT * ((referrals.age < 1) & ~referrals.is_adult),
        "adult_at_risk": ADULT_AT_RISK_WEIGHT * referrals.is_adult,
        "presenting_need": need_weights[referrals.need],
        "referral_source": source_weights[referrals.source],
    }


def risk_score(referrals: Referrals, members: Memberships, events: Events) -> np.ndarray:
    """The latent logit of each referral, without the intercept."""
    contributions = term_contributions(referrals, members, events)
    return np.sum(np.stack(list(contributions.values())), axis=0)


def sigmoid(logit: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-logit))


def calibrated_intercept(score: np.ndarray, base_rate: float, iterations: int = 60) -> float:
    """The intercept that makes the mean true probability equal ``base_rate`` (bisection)."""
    if score.size == 0:
        return 0.0
    low, high = -20.0, 20.0
    for _ in range(iterations):
        middle = (low + high) / 2
        if sigmoid(middle + score).mean() < base_rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2
