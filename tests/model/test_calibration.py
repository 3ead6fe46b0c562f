"""The calibrator chosen and fitted on the validation referrals (`model.calibration`).

A probe's extract, with nothing planted, had 1,022 validation referrals: isotonic won
the 2-fold comparison by 0.0004 of Brier score, and its steps gave 557 referrals a
probability of exactly 0 and 31% of them one probability (one score, "high").
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from model.calibration import (
    MIN_ISOTONIC_OUTCOMES,
    MIN_ISOTONIC_REFERRALS,
    Calibrator,
    choose_calibrator,
    isotonic_can_be_trusted,
)
from model.risk_model import ventile_edges


def _sigmoid_truth(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds whose true calibration is a sigmoid, at about a 12% outcome rate."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(-2.0, 0.8, size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.9 * raw - 0.2)))).astype(np.int64)
    return raw, y


def _largest_tie(probability: np.ndarray) -> float:
    """The share of referrals given the most common probability."""
    return float(np.unique(probability, return_counts=True)[1].max() / probability.size)


def test_isotonic_winning_a_small_set_by_noise_is_not_taken() -> None:
    # 1,000 referrals where isotonic's 2-fold Brier score is the lower, by chance: the
    # lower score alone chose it, and its steps gave 30 of them exactly 0 and 22% one
    # probability.
    raw, y = _sigmoid_truth(1_000, seed=15)
    calibrator, figures = choose_calibrator(raw, y, seed=0)
    assert figures["calibration_brier_isotonic"] < figures["calibration_brier_sigmoid"]
    assert calibrator.method == "sigmoid"
    probability = calibrator.transform(raw)
    assert probability.min() > 0 and _largest_tie(probability) < 0.01
    # Its ventile edges are all distinct: every score holds a twentieth of the referrals.
    assert len(np.unique(ventile_edges(probability))) == 19


def test_isotonic_winning_a_large_set_by_less_than_the_noise_is_not_taken() -> None:
    raw, y = _sigmoid_truth(4_000, seed=21)
    assert isotonic_can_be_trusted(y)
    calibrator, figures = choose_calibrator(raw, y, seed=0)
    gain, error = figures["calibration_isotonic_gain"], figures["calibration_isotonic_gain_se"]
    assert 0 < gain < 2 * error  # lower by 1.2 standard errors
    assert calibrator.method == "sigmoid"


def test_isotonic_beating_sigmoid_beyond_the_noise_of_a_large_set_is_taken() -> None:
    # A calibration no sigmoid can follow (a step in the outcome rate at log-odds 0).
    rng = np.random.default_rng(8)
    raw = rng.uniform(-4, 4, size=20_000)
    y = (rng.uniform(size=raw.size) < np.where(raw < 0, 0.05, 0.4)).astype(np.int64)
    calibrator, figures = choose_calibrator(raw, y, seed=0)
    assert figures["calibration_isotonic_gain"] > 2 * figures["calibration_isotonic_gain_se"]
    assert calibrator.method == "isotonic"
    low, high = calibrator.transform(np.array([-2.0, 2.0]))
    assert low == pytest.approx(0.05, abs=0.01) and high == pytest.approx(0.4, abs=0.02)


def test_isotonic_needs_enough_referrals_and_enough_of_each_outcome() -> None:
    def labels(n: int, outcomes: int) -> np.ndarray:
        return (np.arange(n) < outcomes).astype(np.int64)

    assert (MIN_ISOTONIC_REFERRALS, MIN_ISOTONIC_OUTCOMES) == (2_000, 200)
    assert isotonic_can_be_trusted(labels(2_000, 200))
    assert not isotonic_can_be_trusted(labels(1_999, 1_000))
    assert not isotonic_can_be_trusted(labels(5_000, 199))
    assert not isotonic_can_be_trusted(labels(5_000, 4_801))  # 199 without the outcome


def test_an_isotonic_calibrator_of_a_small_set_says_neither_0_nor_one_step_to_many() -> None:
    raw, y = _sigmoid_truth(1_000, seed=23)
    calibrator = Calibrator.fit("isotonic", raw, y)
    probability = calibrator.transform(raw)
    assert probability.min() > 0 and probability.max() < 1
    # Level only beyond its outermost knots: strictly increasing between them.
    x = calibrator.params["x"]
    assert np.all(np.diff(calibrator.transform(np.linspace(x[0], x[-1], 500))) > 0)
    assert _largest_tie(probability) < 0.05  # less than one score's share
    # A step of referrals none of whom had the outcome reads a little above 0: its
    # rate with one referral at the set's outcome rate added.
    assert probability.min() < 0.01


def test_a_step_of_all_or_nothing_outcomes_is_still_neither_0_nor_1() -> None:
    raw = np.linspace(-3, 3, 200)
    y = (raw > 0).astype(np.int64)
    for method in ("isotonic", "sigmoid"):
        calibrator = Calibrator.fit(method, raw, y)  # type: ignore[arg-type]
        low, high = calibrator.transform(np.array([-1e6, 1e6]))
        assert 0 < low < 0.01 and 0.99 < high < 1, method


@pytest.mark.parametrize("outcome", [0, 1])
@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_a_calibration_set_of_one_outcome_still_gives_neither_0_nor_1(
        method: str, outcome: int) -> None:
    # Training refuses a validation set of one class, but a calibrator is also fitted on
    # each half of it (`choose_calibrator`): an all-negative set gave isotonic a rate of
    # exactly 0 and sigmoid an error from scikit-learn.
    raw = np.linspace(-4, 1, 3_000)
    calibrator = Calibrator.fit(method, raw, np.full(raw.size, outcome))  # type: ignore[arg-type]
    probability = calibrator.transform(np.concatenate([[-1e300, -1e6], raw, [1e6, 1e300]]))
    assert np.all((probability > 0) & (probability < 1))
    # No more than the set can tell: about 1 in 3,000 at most, from 3,000 referrals.
    distance = probability if outcome == 0 else 1 - probability
    assert np.all(distance < 1 / 3_000)


def test_one_referral_of_an_outcome_leaves_half_the_comparison_with_none() -> None:
    # Training accepts this validation set (both outcomes); one half of the 2-fold
    # comparison holds no outcome, and sigmoid's fit on it raised.
    raw = np.linspace(-3, 0, 600)
    y = (np.arange(raw.size) == raw.size - 1).astype(np.int64)
    calibrator, figures = choose_calibrator(raw, y, seed=0)
    assert calibrator.method == "sigmoid"
    assert np.isfinite(figures["calibration_brier_sigmoid"])
    probability = calibrator.transform(raw)
    assert np.all((probability > 0) & (probability < 1))


@settings(max_examples=40, deadline=None)
@given(raw=st.lists(st.floats(-30, 30), min_size=4, max_size=120),
       seed=st.integers(0, 2**32 - 1), method=st.sampled_from(["isotonic", "sigmoid"]),
       outcome_rate=st.sampled_from([0.0, 0.5, 1.0]))
# Found by a run of the suite: two log-odds 1e-109 apart made scikit-learn's isotonic
# predict a knot of NaN (a slope of infinity between them).
@example(raw=[-1.0, 0.0, 0.0, 1.3579491268452453e-109], seed=0, method="isotonic",
         outcome_rate=0.5)
def test_no_calibrator_ever_gives_a_probability_of_0_or_1(
        raw: list[float], seed: int, method: str, outcome_rate: float) -> None:
    log_odds = np.asarray(raw)
    draws = np.random.default_rng(seed).uniform(size=log_odds.size)
    y = (draws < outcome_rate).astype(np.int64)
    if outcome_rate == 0.5:
        y[:2] = [0, 1]  # both outcomes (else one only: a half of a small set)
    calibrator = Calibrator.fit(method, log_odds, y)  # type: ignore[arg-type]
    grid = np.sort(np.concatenate([log_odds, [-1e300, -1e6, 0.0, 1e6, 1e300]]))
    probability = calibrator.transform(grid)
    assert np.all((probability > 0) & (probability < 1))
    if method == "isotonic":  # (a sigmoid fitted to labels at random may slope down)
        assert np.all(np.diff(probability) >= 0)
