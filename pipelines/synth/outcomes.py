"""Safeguarding outcomes drawn from the true probabilities, and the truth kept for evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import LABEL_WINDOW_DAYS, OUTCOME_TYPES
from pipelines.synth.referrals import Referrals

OUTCOME: Final[dict[str, int]] = {outcome: code for code, outcome in enumerate(OUTCOME_TYPES)}
# A positive child follows one of two routes. Protection: a section 47 enquiry that
# substantiates the concerns (an initial child protection conference), then usually a
# plan, sometimes care. Care: looked after without a substantiated section 47 first.
# With children's labels at about 0.15 these give per referral 11.4% substantiated section 47s,
# 9.8% plans and 5.2% looked after (the published figures, see anchors.py).
PROTECTION_ROUTE_SHARE: Final = 0.76
PLAN_AFTER_SECTION_47_SHARE: Final = 0.86  # ICPCs that lead to a plan (9.8 / 11.4)
CARE_AFTER_SECTION_47_SHARE: Final = 0.14
QUICK_OUTCOME_SHARE: Final = 0.7  # strategy discussions and section 47s come fast
QUICK_OUTCOME_DAYS: Final = 90
CONFERENCE_TO_PLAN_DAYS: Final = (7, 45)
CARE_AFTER_DAYS: Final = (0, 180)
LATE_OUTCOME_FACTOR: Final = 0.3  # negatives with an outcome after the 365-day window
LATE_OUTCOME_DAYS: Final = (LABEL_WINDOW_DAYS + 1, 900)
LAST_WINDOW_DAY: Final = LABEL_WINDOW_DAYS - 1


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


def _first_outcome_types(is_adult: np.ndarray, protection: np.ndarray) -> np.ndarray:
    child_type = np.where(
        protection, OUTCOME["section_47_substantiated"], OUTCOME["looked_after"]
    )
    return np.where(is_adult, OUTCOME["adult_safeguarding_substantiated"], child_type)


def _follow_on(
    first: np.ndarray, first_day: np.ndarray, share: float, days: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """A share of ``first`` (referral positions) get a later outcome, within the window."""
    chosen = rng.random(first.size) < share
    return first[chosen], first_day[chosen] + rng.integers(*days, size=int(chosen.sum()))


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
    adult = referrals.is_adult[positive]
    protection = (rng.random(positive.size) < PROTECTION_ROUTE_SHARE) & ~adult
    plan, plan_day = _follow_on(positive[protection], first_day[protection],
                                PLAN_AFTER_SECTION_47_SHARE, CONFERENCE_TO_PLAN_DAYS, rng)
    care, care_day = _follow_on(positive[protection], first_day[protection],
                                CARE_AFTER_SECTION_47_SHARE, CARE_AFTER_DAYS, rng)
    negative = np.flatnonzero(~truth.label)
    late = negative[rng.random(negative.size) < LATE_OUTCOME_FACTOR * truth.probability[negative]]
    late_day = referrals.day[late] + rng.integers(*LATE_OUTCOME_DAYS, size=late.size)
    referral = np.concatenate([positive, plan, care, late])
    outcome_type = np.concatenate([
        _first_outcome_types(adult, protection),
        np.full(plan.size, OUTCOME["child_protection_plan"]),
        np.full(care.size, OUTCOME["looked_after"]),
        _first_outcome_types(referrals.is_adult[late], rng.random(late.size) < 0.5),
    ])
    window_end = referrals.day[referral] + LAST_WINDOW_DAY
    follow_on = np.r_[np.zeros(positive.size, bool), np.ones(plan.size + care.size, bool),
                      np.zeros(late.size, bool)]
    day = np.concatenate([first_day, plan_day, care_day, late_day])
    day = np.where(follow_on, np.minimum(day, window_end), day)
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
