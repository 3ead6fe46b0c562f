"""`model.families`: referrals linked by a person or a household are one family, and the
bootstraps draw a family's referrals together."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from model.fairness_metrics import bootstrap_metrics, percentile_interval, resample_counts
from model.families import design_effect, family_groups


def _referrals(persons: list[str | None], households: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"person_id": pd.Series(persons, dtype="string"),
                         "household_id": pd.Series(households, dtype="string")})


def test_two_people_of_one_household_are_one_family() -> None:
    found = family_groups(_referrals(["p1", "p2", "p3"], ["h1", "h1", "h2"]))
    assert found[0] == found[1] != found[2]


def test_families_link_through_other_referrals_and_number_from_zero() -> None:
    """p1 and p3 share neither a person nor a household, but p2 links their households;
    codes are 0..k-1, every one used (a cluster drawn with no referral would shrink each
    resample)."""
    found = family_groups(_referrals(["p1", "p2", "p2", "p3", "p4", "p1"],
                                     ["h1", "h1", "h2", "h2", "h4", None]))
    assert found.tolist() == [0, 0, 0, 0, 1, 0]


def test_a_referral_naming_neither_stands_alone_and_one_naming_either_joins() -> None:
    found = family_groups(_referrals(["p1", None, None, None, "p1"],
                                     [None, None, None, "h1", "h1"]))
    assert found[0] == found[3] == found[4]  # p1's household through the last referral
    assert len({found[0], found[1], found[2]}) == 3
    # A frame without either column: every referral its own family.
    assert family_groups(pd.DataFrame({"sex": ["f", "m", "f"]})).tolist() == [0, 1, 2]
    assert family_groups(pd.DataFrame({"person_id": ["a", "b", "a"]})).tolist() == [0, 1, 0]


def test_household_membership_links_households_when_given() -> None:
    referrals = _referrals(["p1", "p2"], ["h1", "h2"])
    members = pd.DataFrame({"household_id": ["h1", "h2"], "person_id": ["p9", "p9"]})
    assert family_groups(referrals).tolist() == [0, 1]
    assert family_groups(referrals, members).tolist() == [0, 0]


def test_a_household_is_drawn_together_in_every_resample() -> None:
    families = family_groups(_referrals(["a", "b", "c", "d", "e"], ["h1", "h1", None, "h2", "h2"]))
    counts = resample_counts(5, n_boot=200, seed=0, clusters=families)
    assert (counts[:, 0] == counts[:, 1]).all() and (counts[:, 3] == counts[:, 4]).all()
    assert (counts[:, [0, 2, 3]].sum(axis=1) == 3).all()  # three families, three draws


def _interval_width(y: np.ndarray, clusters: np.ndarray | None) -> float:
    counts = resample_counts(len(y), n_boot=300, seed=0, clusters=clusters)
    zeros = np.zeros(len(y))
    rates = bootstrap_metrics(y, zeros, zeros, np.zeros(len(y), dtype=np.int64), n_groups=1,
                              counts=counts).metrics["observed_rate"]
    low, high = percentile_interval(rates, [0.025, 0.975])[:, 0]
    return float(high - low)


@settings(max_examples=25, deadline=None)
@given(households=st.integers(60, 150), size=st.integers(3, 6), seed=st.integers(0, 2**16))
def test_an_interval_widens_when_a_households_outcomes_are_one(households: int, size: int,
                                                               seed: int) -> None:
    """Every member of a household referred, with one outcome for the household: the
    referrals hold the information of `households` draws, not of households x size, and
    the interval is about sqrt(size) times as wide as drawn referral by referral."""
    rng = np.random.default_rng(seed)
    outcome = np.repeat(rng.random(households) < 0.3, size).astype(float)
    outcome[:size] = 1.0  # both outcomes held, whatever the draw
    outcome[size:2 * size] = 0.0
    frame = _referrals([f"p{i}" for i in range(households * size)],
                       [f"h{i // size}" for i in range(households * size)])
    apart = _interval_width(outcome, None)
    together = _interval_width(outcome, family_groups(frame))
    assert together > 1.3 * apart


def test_the_design_effect_is_the_family_size_when_a_family_shares_its_outcome() -> None:
    pairs = np.repeat(np.arange(50), 2)
    y = np.repeat(np.arange(50) % 5 == 0, 2).astype(float)
    assert design_effect(y, pairs) == 2.0
    assert design_effect(y, np.arange(100)) == design_effect(y, None) == 1.0
    assert design_effect(np.zeros(100), pairs) == 1.0  # a rate of 0: nothing to compare


def test_the_audit_compare_and_monitor_link_a_household_through_its_members() -> None:
    """A child referred from household h1 and an adult referred from h2 who is listed as
    a member of h1: one family, as the split forms it (until 7 December the audit,
    compare and monitor linked only by the referrals' own person and household, and the
    two were drawn apart). Families are formed over every referral of the extract: C,
    unlabelled and so not audited, links p3's referral (D) to the adult's."""
    from model.fairness_report import audit_frame
    from model.families import FAMILY, families_of, with_families

    referrals = pd.DataFrame({"referral_id": ["A", "B", "C", "D", "E"],
                              "person_id": ["child", "adult", "adult", "p3", "other"],
                              "household_id": ["h1", "h2", "h3", "h3", "h9"],
                              "sex": ["female"] * 5})
    members = pd.DataFrame({"household_id": ["h1", "h1", "h2"],
                            "person_id": ["child", "adult", "adult"]})
    labelled = ["A", "B", "D", "E"]
    ratings = pd.DataFrame({"referral_id": labelled, "probability": 0.1, "band": "low"})
    labels = pd.DataFrame({"referral_id": labelled, "follow_up_complete": True,
                           "label": [0, 1, 0, 1]})
    frame = audit_frame(referrals, labels, ratings, members=members)
    family = dict(zip(frame["referral_id"], families_of(frame), strict=True))
    assert family["A"] == family["B"] == family["D"] != family["E"]
    apart = audit_frame(referrals, labels, ratings)  # no membership feed: B and A apart
    family = dict(zip(apart["referral_id"], families_of(apart), strict=True))
    assert family["A"] != family["B"] == family["D"]
    # A referral the extract does not hold (a decision on another extract's): its own.
    found = with_families(pd.DataFrame({"referral_id": ["A", "Z", "Y", "B"]}), referrals,
                          members)[FAMILY].tolist()
    assert found[0] == found[3] and len(set(found)) == 3
