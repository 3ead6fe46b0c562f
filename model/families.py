"""Families: referrals linked through the persons and households they name.

A person's referrals share that person's record history; referrals of different people
in one household share the household's records (a referral's features count its
household members' records) and often its outcomes. So referrals are linked when they
share a ``person_id`` or a ``household_id``, directly or through other referrals (a
connected component of the graph of referrals, persons and households), and each such
family is one unit wherever referrals must not be taken as independent: the temporal
split keeps a family on one side (`model.split`); the bootstraps of the fairness audit
and of `safeguard model compare` draw a family's referrals together
(`model.fairness_metrics.resample_counts`); and `safeguard monitor`'s intervals and its
"too few to judge" rule take the effective number of referrals (`design_effect`,
`model.calibration_check`, `model.practice`, `model.monitoring`).

Household membership (the household_members feed) links a person to every household they
belong to, so a child referred from one address and an adult referred from another are
one family when the adult lives in the child's household. Every one of those uses forms
families by the same links, over every referral of the extract (`with_families`), as
the split does: until 7 December the audit, compare and monitor linked only the referrals
they judged, by person and household, and a household's members referred apart counted
as unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

PERSON: Final = "person_id"
HOUSEHOLD: Final = "household_id"
# A frame's column of family codes over the whole extract (`with_families`).
FAMILY: Final = "family"


def _tokens(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column's tokens as strings, missing (NA) where empty or absent."""
    if column not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    return frame[column].astype("string")


def family_groups(referrals: pd.DataFrame, members: pd.DataFrame | None = None) -> np.ndarray:
    """A family code per referral, 0..k-1: referrals linked by a person or a household
    (`model.families`) share one; with `members` (household membership, ``household_id``
    and ``person_id``), a person is also linked to every household they belong to.

    A referral naming neither a person nor a household (or whose frame has neither
    column) is a family of its own.
    """
    n = len(referrals)
    persons, households = [_tokens(referrals, PERSON)], [_tokens(referrals, HOUSEHOLD)]
    if members is not None and len(members):
        persons.append(_tokens(members, PERSON))
        households.append(_tokens(members, HOUSEHOLD))
    # Only the tokens' values matter: they are numbered, whatever their index.
    person_code, person_index = pd.factorize(pd.concat(persons))  # missing -> -1
    house_code, house_index = pd.factorize(pd.concat(households))
    # Nodes: the referrals, then the persons, then the households. Edges: a referral to
    # its person and to its household; a member to their household.
    person_node, house_node = n + person_code, n + len(person_index) + house_code
    named_person, named_house = person_code[:n] >= 0, house_code[:n] >= 0
    member = (person_code[n:] >= 0) & (house_code[n:] >= 0)
    referral = np.arange(n)
    rows = np.concatenate([referral[named_person], referral[named_house],
                           person_node[n:][member]])
    cols = np.concatenate([person_node[:n][named_person], house_node[:n][named_house],
                           house_node[n:][member]])
    size = n + len(person_index) + len(house_index)
    # Here, not at the top: the approval check `safeguard score` ends with reads the card's
    # evaluation, which imports this module, and never splits (scipy.sparse.csgraph: 0.06-
    # 0.25 s of its imports).
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    # Weakly connected (the default): the direction of an edge is ignored.
    _, labels = connected_components(graph)
    return pd.factorize(labels[:n])[0]


def design_effect(y: np.ndarray, families: np.ndarray | None) -> float:
    """How many times the variance of a rate of `y` (0/1 per referral) is the binomial
    variance when each family's referrals go together: the cluster-robust variance of the
    mean (the squared sum of each family's residuals) over the binomial one (each
    referral's), at least 1. It is 1 without families, when every referral is a family of
    its own, and at a rate of 0 or 1 (no variance to compare)."""
    residual = np.asarray(y, dtype=np.float64) - (np.mean(y) if len(y) else 0.0)
    binomial = float(np.sum(residual**2))
    if families is None or binomial == 0:
        return 1.0
    clustered = float(np.sum(np.bincount(families, weights=residual) ** 2))
    return max(1.0, clustered / binomial)


@dataclass(frozen=True)
class ExtractFamilies:
    """Each referral's family over a whole extract and its household members, formed once
    (`form`) for as many frames of its referrals as need a `FAMILY` column (`attach`)."""

    codes: pd.Series  # the family code of each referral_id
    referrals: int  # how many referrals they were formed over (codes from here: alone)

    @classmethod
    def form(cls, referrals: pd.DataFrame, members: pd.DataFrame | None) -> ExtractFamilies:
        """The families of the extract's `referrals` and household `members`, as the split
        forms them (`family_groups`)."""
        codes = pd.Series(family_groups(referrals, members),
                          index=referrals["referral_id"].to_numpy()).groupby(level=0).first()
        return cls(codes, len(referrals))

    def attach(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` (rows with a ``referral_id``) with a `FAMILY` column: each referral's
        family; a referral not of the extract is a family of its own."""
        found = frame["referral_id"].map(self.codes).to_numpy(dtype=np.float64, copy=True)
        alone = np.isnan(found)
        found[alone] = self.referrals + np.arange(int(alone.sum()))  # past every family's code
        return frame.assign(**{FAMILY: found.astype(np.int64)})


def with_families(frame: pd.DataFrame, referrals: pd.DataFrame,
                  members: pd.DataFrame | None) -> pd.DataFrame:
    """`frame` (rows with a ``referral_id``) with a `FAMILY` column: each referral's family
    formed over all the extract's `referrals` and its household `members`, as the split
    forms them; a referral not among `referrals` is a family of its own. A caller with
    several frames of one extract forms its families once (`ExtractFamilies`)."""
    return ExtractFamilies.form(referrals, members).attach(frame)


def families_of(frame: pd.DataFrame) -> np.ndarray:
    """A family code per row of `frame`, 0..k-1: its `FAMILY` column (`with_families`)
    when it has one, else its rows linked by person and household (`family_groups`)."""
    if FAMILY in frame:
        return pd.factorize(frame[FAMILY])[0]
    return family_groups(frame)
