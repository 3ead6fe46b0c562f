"""The generator's figures beside the published ones (``safeguard synth --realism-report``).

Every figure is measured on what the extract holds (records after the planted
disparities, outcomes within 365 days of referrals whose follow-up is complete), the
way an analyst would measure it on a real extract. ``pipelines/SYNTHETIC_DATA.md``
documents each mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from rich.table import Table

from data_contracts.vocab import (
    ETHNICITY_GROUPS,
    LABEL_WINDOW_DAYS,
    OUTCOME_TYPES,
    REFERRAL_SOURCES,
    SEXES,
)
from pipelines.synth.anchors import (
    ANCHORS,
    GROUP_CHECK_REFERRALS,
    PLAUSIBLE_GROUP_MIN,
    TOLERANCE,
    Anchor,
)
from pipelines.synth.codes import codes
from pipelines.synth.model import SyntheticData, memberships_of
from pipelines.synth.risk import EventIndex, household_pairs
from pipelines.synth.risk_terms import CARER, OTHER_ADULT

YEAR_DAYS: Final = 365
PARENT_FACTORS: Final[dict[str, tuple[int, ...]]] = {
    "parent_domestic_abuse": codes("police", "domestic_abuse_incident"),
    "parent_mental_health": codes("health", "mental_health_contact"),
    "parent_substance_misuse": codes("health", "substance_misuse_contact"),
}
# The child's own factors: records about the subject (a child) known in the year before.
CHILD_FACTORS: Final[dict[str, tuple[int, ...]]] = {
    "child_domestic_abuse": codes("police", "domestic_abuse_incident"),
    "child_mental_health": codes("health", "mental_health_contact"),
    "child_self_harm": codes("health", "self_harm"),
    "child_missing": codes("police", "missing_episode"),
    "child_exploitation": codes("police", "exploitation_concern"),
}
AGE_BANDS: Final[dict[str, tuple[int, int]]] = {
    "age_under_1": (0, 1), "age_1_4": (1, 5), "age_5_9": (5, 10), "age_10_15": (10, 16),
    "age_16_17": (16, 18),
}


@dataclass(frozen=True)
class RealismRow:
    """A published figure, the generator's, and whether they agree within the tolerance."""

    anchor: Anchor
    generated: float

    @property
    def ratio(self) -> float:
        """Generated over published."""
        return self.generated / self.anchor.published

    @property
    def within(self) -> bool:
        """Within the relative tolerance."""
        return abs(self.ratio - 1) <= TOLERANCE


def _share(mask: np.ndarray, among: np.ndarray) -> float:
    return float(mask[among].mean()) if among.any() else float("nan")


def re_referral_share(data: SyntheticData) -> float:
    """Children's referrals (with a year of look-back) whose subject had one in the year before."""
    referrals = data.referrals
    order = np.lexsort((referrals.day, referrals.person))
    person, day = referrals.person[order], referrals.day[order]
    again = np.r_[False, (person[1:] == person[:-1]) & (day[1:] - day[:-1] <= YEAR_DAYS)]
    first_day = int(referrals.day.min())
    eligible = ~referrals.is_adult[order] & (day >= first_day + YEAR_DAYS)
    return _share(again, eligible)


def outcome_within_year(data: SyntheticData, outcome_type: str) -> np.ndarray:
    """Per referral: an outcome of this type within 365 days of the referral date."""
    outcomes, referrals = data.outcomes, data.referrals
    code = OUTCOME_TYPES.index(outcome_type)
    soon = (outcomes.outcome_type == code) & (
        outcomes.day - referrals.day[outcomes.referral] <= LABEL_WINDOW_DAYS
    )
    has = np.zeros(referrals.size, dtype=bool)
    has[outcomes.referral[soon]] = True
    return has


def parent_factor(
    data: SyntheticData, index: EventIndex, event_codes: tuple[int, ...]
) -> np.ndarray:
    """Per referral: a record about an adult of the household known in the year to the referral."""
    referrals = data.referrals
    pairs = household_pairs(referrals, memberships_of(data.population))
    adult = np.isin(pairs.relation, (CARER, OTHER_ADULT))
    counts = index.count(
        pairs.person[adult], referrals.day[pairs.referral[adult]], event_codes, YEAR_DAYS
    )
    per_referral = np.bincount(pairs.referral[adult], counts, minlength=referrals.size)
    return per_referral > 0


def subject_factor(
    data: SyntheticData, index: EventIndex, event_codes: tuple[int, ...]
) -> np.ndarray:
    """Per referral: a record about the subject known in the year to the referral."""
    referrals = data.referrals
    return index.count(referrals.person, referrals.day, event_codes, YEAR_DAYS) > 0


def measure(data: SyntheticData) -> dict[str, float]:
    """Every anchored figure, measured on the generated extract."""
    referrals, population = data.referrals, data.population
    child = ~referrals.is_adult
    complete = data.truth.follow_up_complete
    household = population.person_household[referrals.person]
    ethnicity = population.household_ethnicity[household]
    known = child & (ethnicity != ETHNICITY_GROUPS.index("unknown"))
    sex = referrals.sex
    figures = {"re_referral_12m": re_referral_share(data)}
    for code, source in enumerate(REFERRAL_SOURCES):
        figures[f"source_{source}"] = _share(referrals.source == code, child)
    for outcome in ("section_47_substantiated", "child_protection_plan", "looked_after"):
        figures[f"outcome_{outcome}"] = _share(outcome_within_year(data, outcome), child & complete)
    figures["adult_s42"] = _share(
        outcome_within_year(data, "adult_safeguarding_substantiated"), ~child & complete
    )
    index = EventIndex(data.events)
    for name, event_codes in PARENT_FACTORS.items():
        figures[name] = _share(parent_factor(data, index, event_codes), child)
    for name, event_codes in CHILD_FACTORS.items():
        figures[name] = _share(subject_factor(data, index, event_codes), child)
    unborn = (sex == SEXES.index("unknown")) & (referrals.age == 0)
    figures["sex_male"] = _share(sex == SEXES.index("male"), child)
    figures["sex_female"] = _share(sex == SEXES.index("female"), child)
    figures["sex_unborn"] = _share(unborn, child)
    for group in ("white", "mixed", "black", "asian", "other"):
        figures[f"ethnicity_{group}"] = _share(ethnicity == ETHNICITY_GROUPS.index(group), known)
    figures["disability"] = _share(population.person_disability[referrals.person], child)
    for name, (low, high) in AGE_BANDS.items():
        figures[name] = _share((referrals.age >= low) & (referrals.age < high), child)
    return figures


def realism_rows(data: SyntheticData) -> list[RealismRow]:
    """One row per anchor, in the anchors' order."""
    figures = measure(data)
    return [RealismRow(anchor, figures[anchor.key]) for anchor in ANCHORS]


def realism_table(rows: list[RealismRow], title: str) -> Table:
    """The report for the terminal."""
    table = Table(title=title)
    for column in ("figure", "published", "generator", "ratio", "within 20%"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for row in rows:
        table.add_row(
            row.anchor.label,
            f"{row.anchor.published:.1%}",
            f"{row.generated:.1%}",
            f"{row.ratio:.2f}",
            "yes" if row.within else "NO",
        )
    return table



AUDITED_SEXES: Final = ("female", "male")  # `unknown` is only the 1.8% unborn: not plausible


def group_counts(data: SyntheticData) -> dict[str, int]:
    """Labelled referrals per ethnicity group and per ethnicity x disability and x sex.

    Sex ``unknown`` (pre-birth referrals, 1.8% of children's) is left out: crossed with
    any ethnicity group it is too small for the published proportions to make 300
    labelled referrals plausible at 100,000 referrals.
    """
    referrals, population = data.referrals, data.population
    labelled = data.truth.follow_up_complete
    ethnicity = population.household_ethnicity[population.person_household[referrals.person]]
    disabled = population.person_disability[referrals.person]
    counts: dict[str, int] = {}
    for code, group in enumerate(ETHNICITY_GROUPS):
        mine = labelled & (ethnicity == code)
        counts[group] = int(mine.sum())
        for flag, name in ((True, "disabled"), (False, "not disabled")):
            counts[f"{group} x {name}"] = int((mine & (disabled == flag)).sum())
        for sex in AUDITED_SEXES:
            counts[f"{group} x {sex}"] = int((mine & (referrals.sex == SEXES.index(sex))).sum())
    return counts


def groups_table(counts: dict[str, int], n_referrals: int) -> Table:
    """Group sizes; below 100,000 referrals also what they come to at 100,000."""
    scale = GROUP_CHECK_REFERRALS / n_referrals
    table = Table(title=f"Labelled referrals per audited group ({n_referrals:,} referrals)")
    table.add_column("group")
    table.add_column("labelled", justify="right")
    if scale > 1:
        table.add_column(f"x {scale:.1f} (at {GROUP_CHECK_REFERRALS:,})", justify="right")
    table.add_column(f"{PLAUSIBLE_GROUP_MIN}+ at {GROUP_CHECK_REFERRALS:,}", justify="right")
    for group, count in counts.items():
        at_check = count * max(scale, 1.0)
        projected = [f"{at_check:,.0f}"] if scale > 1 else []
        ok = "yes" if at_check >= PLAUSIBLE_GROUP_MIN else "NO"
        table.add_row(group, f"{count:,}", *projected, ok)
    return table


def groups_large_enough(counts: dict[str, int], n_referrals: int) -> bool:
    """At or above 100,000 referrals, every audited group has 300 labelled referrals."""
    return n_referrals < GROUP_CHECK_REFERRALS or min(counts.values()) >= PLAUSIBLE_GROUP_MIN


def true_probability_auc(data: SyntheticData) -> float:
    """ROC AUC of the true probability against the drawn labels (follow-up complete)."""
    from sklearn.metrics import roc_auc_score

    complete = data.truth.follow_up_complete
    return float(roc_auc_score(data.truth.label[complete], data.truth.probability[complete]))
