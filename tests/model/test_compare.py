"""`model.compare`: a paired interval that tells a real difference from noise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from model.compare import Difference, auc_differences, paired_auc_interval, verdict
from model.data import PreparedExtract


def _outcomes(n: int = 2_000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    risk = rng.normal(size=n)
    return (rng.random(n) < 1 / (1 + np.exp(-2 * risk))).astype(int), risk


def test_a_clearly_better_ranking_is_beyond_the_noise() -> None:
    y, risk = _outcomes()
    noisy = risk + np.random.default_rng(1).normal(scale=2.0, size=len(y))
    low, high = paired_auc_interval(y, noisy, risk, resamples=200)
    better = Difference("2", "1", roc_auc=(low + high) / 2, low=low, high=high)
    assert low > 0.05 and better.beyond_noise
    assert verdict(better).startswith("version 2 ranks referrals better than version 1")


def test_the_better_version_is_said_with_its_gain_not_the_others_loss() -> None:
    """An independent probe's `model compare 1 3` said "version 1 ranks referrals better
    than version 3 (ROC AUC -0.1647 ...)": the figure was version 3's minus version 1's."""
    worse = Difference("3", "1", roc_auc=-0.1647, low=-0.2, high=-0.13)
    assert verdict(worse) == ("version 1 ranks referrals better than version 3 (its ROC AUC "
                              "0.1647 higher, 95% interval +0.1300 to +0.2000): larger than "
                              "the noise")


def test_two_near_identical_rankings_are_within_the_noise() -> None:
    y, risk = _outcomes()
    jitter = risk + np.random.default_rng(2).normal(scale=0.01, size=len(y))
    low, high = paired_auc_interval(y, risk, jitter, resamples=200)
    same = Difference("2", "1", roc_auc=0.0, low=low, high=high)
    assert low < 0 < high and not same.beyond_noise
    assert "within the noise, neither is shown better" in verdict(same)


def test_one_outcome_in_all_is_too_few_to_judge_not_a_crash() -> None:
    """Every resample held one class: np.percentile of nothing raised IndexError."""
    y = np.zeros(200, dtype=int)  # as a resample of a window with one outcome may be
    low, high = paired_auc_interval(y, np.arange(200.0), np.arange(200.0)[::-1], resamples=5)
    assert np.isnan(low) and np.isnan(high)
    said = verdict(Difference("2", "1", roc_auc=-0.99, low=low, high=high))
    assert said.endswith("too few outcomes to judge the difference")


def test_a_persons_referrals_are_drawn_together() -> None:
    """Each of 400 people referred five times alike: their 2,000 referrals carry the
    information of 400, and the interval is as wide as 400 people's. Drawn one referral
    at a time it was about 1/sqrt(5) as wide: a difference "beyond the noise" that the
    people themselves do not show."""
    y, risk = _outcomes(400)
    other = risk + np.random.default_rng(3).normal(scale=1.0, size=len(y))
    people = paired_auc_interval(y, risk, other, resamples=400)
    five = np.repeat(np.arange(len(y)), 5)
    together = paired_auc_interval(y[five], risk[five], other[five], resamples=400,
                                   clusters=five)
    apart = paired_auc_interval(y[five], risk[five], other[five], resamples=400)
    width = people[1] - people[0]
    assert abs((together[1] - together[0]) / width - 1) < 0.2
    assert (apart[1] - apart[0]) / width < 0.6


def test_a_households_referrals_are_drawn_together() -> None:
    """400 households of three people, each referred with one outcome and one rating for
    the household: the interval is as wide as 400 referrals', not 1,200's."""
    y, risk = _outcomes(400)
    other = risk + np.random.default_rng(3).normal(scale=1.0, size=len(y))
    three = np.repeat(np.arange(len(y)), 3)
    window = pd.DataFrame({"person_id": [f"p{i}" for i in range(len(three))],
                           "household_id": [f"h{i}" for i in three], "label": y[three]})
    measured = {"1": {"roc_auc": 0.75}, "2": {"roc_auc": 0.5}}
    [household] = auc_differences(window, measured, {"1": risk[three], "2": other[three]},
                                  resamples=400)
    [person] = auc_differences(window.drop(columns="household_id"), measured,
                               {"1": risk[three], "2": other[three]}, resamples=400)
    alone = paired_auc_interval(y, risk, other, resamples=400)
    width = alone[1] - alone[0]
    assert household.roc_auc == -0.25 and household.against == "1"
    assert abs((household.high - household.low) / width - 1) < 0.2
    assert (person.high - person.low) / width < 0.7


def test_the_interval_is_the_sklearn_loops_without_calling_it(monkeypatch) -> None:
    """The paired bootstrap scores every resample at once (`weighted_auc`, the fairness
    audit's): the same interval as scoring each with sklearn's roc_auc_score, which took
    about 20 ms a resample at 20,000 referrals (ties half, as sklearn counts them)."""
    import sklearn.metrics

    from model.fairness_metrics import resample_counts

    y, risk = _outcomes(500)
    first = np.round(risk, 1)  # ties
    other = np.round(risk + np.random.default_rng(4).normal(scale=1.0, size=len(y)), 1)
    clusters = np.arange(len(y)) // 2
    found = []
    for weight in resample_counts(len(y), n_boot=150, seed=0, clusters=clusters):
        drawn = weight > 0
        found.append(sklearn.metrics.roc_auc_score(y[drawn], other[drawn],
                                                   sample_weight=weight[drawn])
                     - sklearn.metrics.roc_auc_score(y[drawn], first[drawn],
                                                     sample_weight=weight[drawn]))

    def refused(*_args: object, **_kwargs: object) -> float:
        raise AssertionError("roc_auc_score called once per resample")

    monkeypatch.setattr(sklearn.metrics, "roc_auc_score", refused)
    low, high = paired_auc_interval(y, first, other, resamples=150, clusters=clusters)
    assert np.allclose((low, high), np.percentile(found, [2.5, 97.5]), atol=1e-9)


def test_nothing_to_compare_on_says_what_the_window_lacks(
        prepared: PreparedExtract, monkeypatch: pytest.MonkeyPatch) -> None:
    """"…dated from 2025-01-01, not both outcomes" left the reader to guess: the window's
    referrals with a complete follow-up are none, or all had an outcome, or none had."""
    import dataclasses
    import datetime as dt
    from types import SimpleNamespace

    import model.data
    from model.compare import compare_on_extract

    version = SimpleNamespace(version="1")
    registry: Any = SimpleNamespace(resolve=lambda _: version, load=lambda _: SimpleNamespace(
        info=version, model=SimpleNamespace(metadata={})))
    labels = prepared.labels
    assert labels is not None
    day = prepared.extract_date

    def refusal(since: dt.date, label: int | None = None) -> str:
        given = prepared if label is None else dataclasses.replace(
            prepared, labels=labels.assign(label=labels["label"].where(
                ~labels["follow_up_complete"].astype(bool), label)))
        monkeypatch.setattr(model.data, "prepare_extract", lambda *_a, **_k: given)
        with pytest.raises(ValueError) as refused:
            compare_on_extract(Path("hub"), registry=registry, references=["1"], since=since)
        return str(refused.value)

    window = "with a complete 365-day follow-up at the extract date"
    assert refusal(day) == (f"hub: no referral is dated from {day} {window} ({day}): nothing "
                            "to compare on")
    complete = labels["follow_up_complete"].astype(bool)
    start = dt.date(2000, 1, 1)
    assert refusal(start, 0) == (
        f"hub: all {int(complete.sum()):,} referrals dated from {start} {window} ({day}) had "
        "no outcome: comparing needs some with an outcome and some without: nothing to "
        "compare on")
    assert " had an outcome: comparing needs" in refusal(start, 1)
