"""Households and the people in them: who lives with whom, ages, demographics, adversity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from data_contracts.vocab import ETHNICITY_GROUPS, HOUSEHOLD_ROLES, SEXES
from pipelines.synth.config import DAYS_PER_YEAR, SynthConfig
from pipelines.synth.tokens import household_tokens, person_tokens

ROLE: Final[dict[str, int]] = {role: code for code, role in enumerate(HOUSEHOLD_ROLES)}
SEX: Final[dict[str, int]] = {sex: code for code, sex in enumerate(SEXES)}

CHILD_HOUSEHOLD_SHARE: Final = 0.79  # about 80% of referrals are about children
REPEAT_REFERRAL_SHARE: Final = 0.26
SECOND_SUBJECT_SHARE: Final = 0.12  # a sibling referred too, in households with siblings
TWO_PARENT_SHARE: Final = 0.55
EXTRA_CHILDREN_PROBABILITIES: Final = np.array([0.32, 0.33, 0.19, 0.10, 0.04, 0.02])
OTHER_ADULT_SHARE: Final = 0.12  # a partner, grandparent or lodger in a child's household
OTHER_CHILD_SHARE: Final = 0.06  # a cousin, step-child or friend's child
ADULT_ALONE_SHARE: Final = 0.45  # adults at risk living alone
ADULT_CARER_SHARE: Final = 0.35
SECOND_HOUSEHOLD_SHARE: Final = 0.015  # adults who also belong to a second household
ADULT_HOUSEHOLD_ADVERSITY_SHIFT: Final = -0.3

# Ages of referred children (0..17) and adults at risk (18..99), by single year.
# Fitted so that children's referrals (repeats included) match the published age bands.
CHILD_AGE_WEIGHTS: Final = np.array([14.8] + [3.33] * 4 + [2.99] * 5 + [4.4] * 6 + [16.0] * 2)
ADULT_AGE_WEIGHTS: Final = np.concatenate(
    [np.full(7, 1.4), np.full(20, 0.75), np.full(20, 0.85), np.full(15, 1.9), np.full(20, 1.5)]
)
# Shares of households; the known groups follow the published CIN shares (white 71.7,
# mixed 8.8, black 8.6, asian 7.4, other 3.4% of known), 3% are not known.
ETHNICITY_SHARES: Final[dict[str, float]] = {
    "asian": 0.0718,
    "black": 0.0834,
    "mixed": 0.0854,
    "white": 0.6954,
    "other": 0.034,
    "unknown": 0.03,
}
# Referred households skew to the deprived end: decile 1 is the most deprived.
IMD_DECILE_SHARES: Final = np.array([0.2, 0.16, 0.13, 0.11, 0.09, 0.08, 0.07, 0.06, 0.05, 0.05])
IMD_MISSING_SHARE: Final = 0.04
IMD_ADVERSITY_LOADING: Final = 0.6
REFERRED_CHILD_MALE_SHARE: Final = 0.55  # referred children are more often boys
MOTHER_FIRST_SHARE: Final = 0.88
UNBORN_SHARE: Final = 0.023  # primary children first referred before birth
UNBORN_WEEKS: Final = (2, 26)  # born this many weeks after that first referral
DISABILITY_SHARE: Final[dict[str, float]] = {"child": 0.126, "adult_at_risk": 0.55, "adult": 0.12}
FRAILTY_SD: Final = 0.5


@dataclass(frozen=True)
class Population:
    """Households and persons, as integer-coded arrays (index = household or person number)."""

    household_token: np.ndarray
    household_adversity: np.ndarray
    household_imd: np.ndarray  # 1..10, 0 when not known
    household_ethnicity: np.ndarray  # code into ETHNICITY_GROUPS
    household_reference_day: np.ndarray  # the primary subject's first referral day
    person_token: np.ndarray
    person_household: np.ndarray
    person_role: np.ndarray  # code into HOUSEHOLD_ROLES, in the person's main household
    person_birth_day: np.ndarray
    person_sex: np.ndarray  # code into SEXES
    person_disability: np.ndarray
    person_frailty: np.ndarray  # person-level propensity on top of household adversity
    subjects: np.ndarray  # person numbers of the referred persons
    member_household: np.ndarray
    member_person: np.ndarray
    member_role: np.ndarray

    @property
    def n_persons(self) -> int:
        """Number of persons."""
        return int(self.person_token.size)


def n_households_for(n_referrals: int) -> int:
    """Households needed so that about REPEAT_REFERRAL_SHARE of referrals are repeats."""
    subjects_per_household = 1 + CHILD_HOUSEHOLD_SHARE * SECOND_SUBJECT_SHARE * 0.68
    n_subjects = n_referrals * (1 - REPEAT_REFERRAL_SHARE)
    return max(1, round(n_subjects / subjects_per_household))


def _weighted_ages(
    rng: np.random.Generator, weights: np.ndarray, first_age: int, n: int
) -> np.ndarray:
    years = first_age + rng.choice(weights.size, size=n, p=weights / weights.sum())
    return years + rng.random(n)


def _household_slots(rng: np.random.Generator, is_child: np.ndarray) -> dict[str, np.ndarray]:
    """How many persons of each kind each household has."""
    n = is_child.size
    has_company = ~is_child & (rng.random(n) >= ADULT_ALONE_SHARE)
    company = has_company * (1 + (rng.random(n) < 0.3))
    has_carer = has_company & (rng.random(n) < ADULT_CARER_SHARE)
    extra_children = rng.choice(
        EXTRA_CHILDREN_PROBABILITIES.size, size=n, p=EXTRA_CHILDREN_PROBABILITIES
    )
    return {
        "primary_child": is_child.astype(np.int64),
        "sibling": is_child * extra_children,
        "parent_1": is_child.astype(np.int64),
        "parent_2": is_child * (rng.random(n) < TWO_PARENT_SHARE),
        "other_adult": is_child * (rng.random(n) < OTHER_ADULT_SHARE) + company - has_carer,
        "other_child": is_child * (rng.random(n) < OTHER_CHILD_SHARE),
        "adult_subject": (~is_child).astype(np.int64),
        "carer": has_carer.astype(np.int64),
    }


def _kind_ages(rng: np.random.Generator, kind: str, anchor_age: np.ndarray) -> np.ndarray:
    """Age (years, at the household's reference day) of persons of one kind."""
    n = anchor_age.size
    if kind == "primary_child":
        unborn = rng.random(n) < UNBORN_SHARE
        before_birth = -rng.uniform(*UNBORN_WEEKS, n) * 7 / DAYS_PER_YEAR
        return np.where(unborn, before_birth, _weighted_ages(rng, CHILD_AGE_WEIGHTS, 0, n))
    if kind == "adult_subject":
        return _weighted_ages(rng, ADULT_AGE_WEIGHTS, 18, n)
    if kind == "sibling":
        return np.clip(anchor_age + rng.normal(0, 4, n), 0, 17.99)
    if kind in ("parent_1", "parent_2"):
        return anchor_age + rng.uniform(18, 40, n)
    if kind == "carer":
        return rng.uniform(25, 80, n)
    if kind == "other_child":
        return rng.uniform(0, 17.99, n)
    return rng.uniform(18, 75, n)


KIND_ROLE: Final[dict[str, int]] = {
    "primary_child": ROLE["subject"],
    "adult_subject": ROLE["subject"],
    "sibling": ROLE["sibling"],
    "parent_1": ROLE["parent_carer"],
    "parent_2": ROLE["parent_carer"],
    "carer": ROLE["parent_carer"],
    "other_adult": ROLE["other_adult"],
    "other_child": ROLE["other_child"],
}


def _sexes(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    """Female or male; a referral before birth reports ``unknown`` (see ``Referrals``)."""
    male_share = np.where(kind == "primary_child", REFERRED_CHILD_MALE_SHARE, 0.5)
    female = rng.random(kind.size) >= male_share
    mother = rng.random(kind.size) < MOTHER_FIRST_SHARE
    female = np.where(kind == "parent_1", mother, np.where(kind == "parent_2", ~mother, female))
    return np.where(female, SEX["female"], SEX["male"])


def _imd_deciles(rng: np.random.Generator, adversity: np.ndarray) -> np.ndarray:
    """Deprivation deciles correlated with adversity, skewed to the deprived end."""
    latent = IMD_ADVERSITY_LOADING * adversity + rng.normal(0, 0.8, adversity.size)
    quantile = np.argsort(np.argsort(-latent, kind="stable"), kind="stable") / adversity.size
    decile = 1 + np.searchsorted(np.cumsum(IMD_DECILE_SHARES), quantile, side="right")
    return np.where(rng.random(adversity.size) < IMD_MISSING_SHARE, 0, decile.clip(1, 10))


def _persons_by_kind(
    rng: np.random.Generator, slots: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Household, kind and age of every person, sorted by household."""
    n_households = slots["primary_child"].size
    primary_age = np.zeros(n_households)
    households, kinds, ages = [], [], []
    for kind, counts in slots.items():
        household = np.repeat(np.arange(n_households), counts)
        age = _kind_ages(rng, kind, primary_age[household])
        if kind == "primary_child":
            primary_age[household] = age
        households.append(household)
        kinds.append(np.full(household.size, kind, dtype="U13"))
        ages.append(age)
    household = np.concatenate(households)
    order = np.argsort(household, kind="stable")
    return household[order], np.concatenate(kinds)[order], np.concatenate(ages)[order]


def _roles(rng: np.random.Generator, household: np.ndarray, kind: np.ndarray) -> np.ndarray:
    role = np.zeros(kind.size, dtype=np.int8)
    for kind_name, kind_role in KIND_ROLE.items():
        role[kind == kind_name] = kind_role
    siblings = np.flatnonzero(kind == "sibling")
    _, first = np.unique(household[siblings], return_index=True)
    chosen = siblings[first][rng.random(first.size) < SECOND_SUBJECT_SHARE]
    role[chosen] = ROLE["subject"]
    return role


def _disability(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    share = np.where(
        kind == "adult_subject",
        DISABILITY_SHARE["adult_at_risk"],
        np.where(
            np.isin(kind, ["primary_child", "sibling", "other_child"]),
            DISABILITY_SHARE["child"],
            DISABILITY_SHARE["adult"],
        ),
    )
    return rng.random(kind.size) < share


def _memberships(
    rng: np.random.Generator, household: np.ndarray, role: np.ndarray, n_households: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Membership rows: everyone in their household, plus a few adults in a second one."""
    adults = np.flatnonzero(np.isin(role, [ROLE["parent_carer"], ROLE["other_adult"]]))
    n_extra = round(SECOND_HOUSEHOLD_SHARE * n_households)
    movers = rng.choice(adults, size=min(n_extra, adults.size), replace=False)
    second = rng.integers(0, n_households, movers.size)
    keep = second != household[movers]
    movers, second = movers[keep], second[keep]
    second_role = np.where(rng.random(movers.size) < 0.5, ROLE["parent_carer"], ROLE["other_adult"])
    person = np.concatenate([np.arange(household.size), movers])
    member_household = np.concatenate([household, second])
    member_role = np.concatenate([role, second_role]).astype(np.int8)
    order = np.lexsort((person, member_household))
    return member_household[order], person[order], member_role[order]


def build_population(config: SynthConfig, rng: np.random.Generator) -> Population:
    """Draw households, their members and demographics for ``config.n_referrals`` referrals."""
    n_households = n_households_for(config.n_referrals)
    is_child = rng.random(n_households) < CHILD_HOUSEHOLD_SHARE
    adversity = rng.normal(0, 1, n_households) + ADULT_HOUSEHOLD_ADVERSITY_SHIFT * ~is_child
    reference_day = rng.integers(config.referral_start_day, config.extract_day + 1, n_households)
    household, kind, age = _persons_by_kind(rng, _household_slots(rng, is_child))
    role = _roles(rng, household, kind)
    subjects = np.flatnonzero(role == ROLE["subject"])
    if subjects.size > config.n_referrals:  # tiny extracts: not every sibling can be referred
        role[subjects[config.n_referrals :]] = ROLE["sibling"]
        subjects = subjects[: config.n_referrals]
    birth_day = reference_day[household] - np.floor(age * DAYS_PER_YEAR).astype(np.int64)
    members = _memberships(rng, household, role, n_households)
    ethnicity_p = np.array([ETHNICITY_SHARES[group] for group in ETHNICITY_GROUPS])
    return Population(
        household_token=household_tokens(rng, n_households),
        household_adversity=adversity,
        household_imd=_imd_deciles(rng, adversity),
        household_ethnicity=rng.choice(ethnicity_p.size, size=n_households, p=ethnicity_p),
        household_reference_day=reference_day,
        person_token=person_tokens(rng, household.size),
        person_household=household,
        person_role=role,
        person_birth_day=birth_day,
        person_sex=_sexes(rng, kind),
        person_disability=_disability(rng, kind),
        person_frailty=rng.normal(0, FRAILTY_SD, household.size),
        subjects=subjects,
        member_household=members[0],
        member_person=members[1],
        member_role=members[2],
    )
