"""Population stability index and the bins stored with a model version."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.drift import (
    Bins,
    feature_stability,
    population_stability_index,
    reference_bins,
    shares_in,
)


def test_psi_of_a_hand_made_case() -> None:
    # Half and half at training; a quarter and three quarters now.
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert population_stability_index(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == (
        pytest.approx(expected))
    assert expected == pytest.approx(0.2747, abs=1e-4)


def test_an_unchanged_population_has_no_drift_and_a_moved_one_does() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=20_000)
    bins = reference_bins(reference)
    same = feature_stability({"x": bins}, {"x": reference})["x"]
    moved = feature_stability({"x": bins}, {"x": reference + 1.0})["x"]
    assert same == pytest.approx(0.0, abs=1e-12)
    assert moved > 0.25


def test_repeated_values_and_missing_values_get_bins_of_their_own() -> None:
    values = np.array([0, 0, 0, 0, 1, 1, 2, np.nan])
    bins = reference_bins(values)
    assert bins.edges == tuple(sorted(set(bins.edges)))  # distinct edges only
    assert sum(bins.shares) == pytest.approx(1.0)
    assert bins.shares[-1] == pytest.approx(1 / 8)  # the "no value" bin
    # A feed that stops sending values moves everything into the "no value" bin.
    emptied = shares_in(np.full(8, np.nan), bins.edges)
    assert emptied[-1] == 1.0
    assert population_stability_index(np.asarray(bins.shares), emptied) > 1.0


def test_bins_round_trip_through_json() -> None:
    bins = reference_bins(np.arange(100.0))
    assert Bins.from_json(bins.to_json()) == bins


def test_a_rising_share_of_a_count_that_is_mostly_zero_is_measured() -> None:
    # Domestic abuse incidents in the 90 days before the referral: none for 96.5% of
    # the reference, at least one for 14.6% now (the probe's figures).
    rng = np.random.default_rng(1)
    reference = np.where(rng.random(20_000) < 0.035, rng.integers(1, 4, 20_000), 0)
    now = np.where(rng.random(5_000) < 0.146, rng.integers(1, 4, 5_000), 0)
    bins = reference_bins(reference.astype(np.float64))
    assert feature_stability({"x": bins}, {"x": reference.astype(np.float64)})["x"] == (
        pytest.approx(0.0, abs=1e-12))
    # "0" against "1 or more" alone gives about 0.17; the per-value bins a little more.
    assert feature_stability({"x": bins}, {"x": now.astype(np.float64)})["x"] > 0.15


def test_a_count_rising_from_one_to_many_is_measured() -> None:
    # 365-day counts: 1 for a fifth of the reference; now the same referrals have 10.
    reference = np.array([0.0] * 80 + [1.0] * 18 + [2.0] * 2)
    now = np.array([0.0] * 80 + [10.0] * 20)
    bins = reference_bins(reference)
    assert feature_stability({"x": bins}, {"x": now})["x"] > 0.25


def test_a_feature_that_was_always_zero_drifts_when_values_appear() -> None:
    bins = reference_bins(np.zeros(1_000))
    assert feature_stability({"x": bins}, {"x": np.r_[np.zeros(800), np.ones(200)]})["x"] > 0.25


def test_bins_stored_by_older_versions_are_read_as_they_were_built() -> None:
    # Before bins held their upper edge, the edge [0.0] put 0 and 5 in one bin.
    old = Bins.from_json({"edges": [0.0], "shares": [0.0, 1.0, 0.0]})
    assert not old.upper_inclusive
    assert old.shares_of(np.array([0.0, 5.0])).tolist() == [0.0, 1.0, 0.0]
    assert feature_stability({"x": old}, {"x": np.array([0.0, 5.0])})["x"] == 0.0
