"""Practitioners' rates after go-live (`model.practice`) take their interval on the effective
number of decisions: a family's decisions, often made alike, are not independent."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from model.governance import MonitoringSettings
from model.practice import practice

SETTINGS = MonitoringSettings()


def test_wilson_on_a_whole_number_is_scipys() -> None:
    from model.score_intervals import wilson_interval

    for k, n in ((0, 5), (3, 10), (10, 10), (37, 200)):
        found = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert np.allclose(wilson_interval(k / n, n), (found.low, found.high))


def _decisions(people: int, times: int) -> pd.DataFrame:
    """`people` people's referrals, each decided `times` times alike: every fourth
    person's raised from the band, the others' agreed."""
    raised = np.arange(people) % 4 == 0
    return pd.DataFrame({
        "referral_id": [f"r{i}" for i in range(people * times)],
        "person_id": np.repeat([f"p{i}" for i in range(people)], times),
        "household_id": None, "band": "low", "rag": "green",
        "practitioner_rag": np.where(np.repeat(raised, times), "amber", "green"),
        "reason": np.where(np.repeat(raised, times), "history", None)})


def test_a_persons_decisions_decided_alike_are_not_independent() -> None:
    """40 people each decided five times alike: the override rate's interval is as wide
    as 40 decisions', not 200's (about sqrt(5) times as wide as counted apart)."""
    together = practice(_decisions(40, 5), band_names=["low"], settings=SETTINGS)[0]
    apart = practice(_decisions(40, 5).drop(columns="person_id"), band_names=["low"],
                     settings=SETTINGS)[0]
    people = practice(_decisions(40, 1), band_names=["low"], settings=SETTINGS)[0]

    def width(section: dict[str, object], rate: str) -> float:
        low, high = section["by_band"]["low"][rate]["ci"]  # type: ignore[index]
        return float(high - low)

    up = together["by_band"]["low"]["override_up"]
    assert (up["k"], up["n"], up["effective_n"]) == (50, 200, 40.0)
    assert abs(width(together, "override_up") / width(people, "override_up") - 1) < 0.01
    assert width(apart, "override_up") < 0.5 * width(together, "override_up")
    assert "effective_n" not in apart["by_band"]["low"]["override_up"]
