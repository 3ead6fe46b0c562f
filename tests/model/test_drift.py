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
