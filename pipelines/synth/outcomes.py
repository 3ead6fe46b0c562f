"""Safeguarding outcomes drawn from the true probabilities, and the truth kept for evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import LABEL_WINDOW_DAYS, OUTCOME_TYPES
from pipelines.synth.referrals import Referrals

OUTCOME: Final[dict[str, int]] = {outcome: code for code, outcome in enumerate(OUTCOME_TYPES)}
CHILD_OUTCOME_SHARES: Final[dict[str, float]] = {
    "child_protection_plan": 0.45,
    "section_47_substantiated": 0.40,
    "looked_after": 0.15,
}
QUICK_OUTCOME_SHARE: Final = 0.7  # strategy discussions and section 47s come fast
QUICK_OUTCOME_DAYS: Final = 90
SECOND_OUTCOME_SHARE: Final = 0.2  # a child whose section 47 leads on to a plan
SECOND_OUTCOME_GAP_DAYS: Final = (10, 200)
LATE_OUTCOME_FACTOR: Final = 0.3  # negatives with an outcome after the 365-day window
LATE_OUTCOME_DAYS: Final = (LABEL_WINDOW_DAYS + 1, 900)


@dataclass(frozen=True)
class Outcomes:
    """Outcome rows: the referral (position), outcome type code and day."""

    referral: np.ndarray
    outcome_type: np.ndarray
    day: np.ndarray


@dataclass(frozen=True)
class Truth:
    """What the generator knows and the model must learn: one entry per referral."""

    logit: np.ndarray
    probability: np.ndarray
    label: np.ndarray  # the drawn label, whether or not follow-up is complete
    follow_up_complete: np.ndarray


def _outcome_types(is_adult: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shares = np.array(list(CHILD_OUTCOME_SHARES.values()))
    child_types = np.array([OUTCOME[o] for o in CHILD_OUTCOME_SHARES])
    drawn = child_types[rng.choice(shares.size, size=is_adult.size, p=shares)]
    return np.where(is_adult, OUTCOME["adult_safeguarding_substantiated"], drawn)


def draw_outcomes(
    referrals: Referrals, truth: Truth, extract_day: int, *, rng: np.random.Generator
) -> Outcomes:
    """Outcomes of positives within 365 days, a few later ones, none after the extract date."""
    positive = np.flatnonzero(truth.label)
    quick = rng.random(positive.size) < QUICK_OUTCOME_SHARE
    gap = np.where(
        quick,
        rng.integers(0, QUICK_OUTCOME_DAYS, positive.size),
        rng.integers(QUICK_OUTCOME_DAYS, LABEL_WINDOW_DAYS, positive.size),
    )
    first_day = referrals.day[positive] + gap
    second = positive[
        (rng.random(positive.size) < SECOND_OUTCOME_SHARE) & ~referrals.is_adult[positive]
    ]
    second_day = first_day[np.searchsorted(positive, second)] + rng.integers(
        *SECOND_OUTCOME_GAP_DAYS, size=second.size
    )
    negative = np.flatnonzero(~truth.label)
    late = negative[rng.random(negative.size) < LATE_OUTCOME_FACTOR * truth.probability[negative]]
    late_day = referrals.day[late] + rng.integers(*LATE_OUTCOME_DAYS, size=late.size)
    referral = np.concatenate([positive, second, late])
    outcome_type = np.concatenate(
        [
            _outcome_types(referrals.is_adult[positive], rng),
            np.where(
                rng.random(second.size) < 0.8,
                OUTCOME["child_protection_plan"],
                OUTCOME["looked_after"],
            ),
            _outcome_types(referrals.is_adult[late], rng),
        ]
    )
    day = np.concatenate([first_day, second_day, late_day])
    order = np.lexsort((referral, day))
    kept = order[day[order] <= extract_day]
    return Outcomes(referral=referral[kept], outcome_type=outcome_type[kept], day=day[kept])


def draw_truth(
    referrals: Referrals, logit: np.ndarray, extract_day: int, *, rng: np.random.Generator
) -> Truth:
    """Labels drawn as Bernoulli(sigmoid(logit)); follow-up is complete after 365 days."""
    probability = 1.0 / (1.0 + np.exp(-logit))
    return Truth(
        logit=logit,
        probability=probability,
        label=rng.random(logit.size) < probability,
        follow_up_complete=referrals.day + LABEL_WINDOW_DAYS <= extract_day,
    )
