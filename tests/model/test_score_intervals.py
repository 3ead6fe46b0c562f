"""Intervals where the percentile bootstrap collapses: a rate, or a ratio of rates, at 0 or 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar

from model.acceptance import check_acceptance, unmet
from model.fairness import audit_fairness
from model.governance import load_governance
from model.score_intervals import _statistic, bound_rate_interval, score_ratio_interval


def _statistic_by_search(phi: float, x1: int, n1: int, x2: int, n2: int) -> float:
    """The Miettinen-Nurminen statistic with the constrained MLE found by search."""
    def minus_log_likelihood(p2: float) -> float:
        p1 = phi * p2
        return -(x1 * np.log(max(p1, 1e-300)) + (n1 - x1) * np.log(1 - p1)
                 + x2 * np.log(p2) + (n2 - x2) * np.log(1 - p2))

    p2 = minimize_scalar(minus_log_likelihood, bounds=(1e-12, min(1, 1 / phi) - 1e-12),
                         method="bounded", options={"xatol": 1e-13}).x
    p1, total = phi * p2, n1 + n2
    variance = (p1 * (1 - p1) / n1 + phi**2 * p2 * (1 - p2) / n2) * total / (total - 1)
    return (x1 / n1 - phi * x2 / n2) ** 2 / variance


@pytest.mark.parametrize("phi, counts", [(0.5, (0, 2, 70, 117)), (1.3, (0, 2, 70, 117)),
                                         (0.7, (30, 100, 30, 100)), (1.6, (100, 100, 60, 100)),
                                         (0.05, (2, 150, 70, 117))])
def test_the_score_statistic_uses_the_constrained_maximum_likelihood(
        phi: float, counts: tuple[int, int, int, int]) -> None:
    assert _statistic(phi, *counts) == pytest.approx(_statistic_by_search(phi, *counts),
                                                     rel=1e-6)


def test_a_ratio_interval_at_a_rate_of_0_is_not_a_point() -> None:
    low, high = score_ratio_interval(0, 2, 70, 117, 0.95)
    assert low == 0 and high == pytest.approx(1.11891, abs=1e-4)  # includes 1: cannot tell
    low, high = score_ratio_interval(0, 50, 70, 117, 0.95)
    assert low == 0 and high == pytest.approx(0.12011, abs=1e-4)  # far below 1: a finding
    assert score_ratio_interval(3, 10, 0, 100, 0.95) is None  # the reference's rate is 0


def test_the_ratio_interval_covers_the_true_ratio_as_its_level_says() -> None:
    rng = np.random.default_rng(0)
    covered = []
    for _ in range(1000):
        x1, x2 = rng.binomial(8, 0.15), rng.binomial(120, 0.5)
        low, high = score_ratio_interval(x1, 8, x2, 120, 0.95)
        covered.append(low <= 0.3 <= high)
    assert 0.93 <= np.mean(covered) <= 0.995


def test_wilson_interval_of_no_success_in_two() -> None:
    low, high = bound_rate_interval({"true_positives": 0, "positives": 2},
                                    "true_positive_rate", 0.95)
    assert low == 0 and high == pytest.approx(0.65762, abs=1e-5)
    assert bound_rate_interval({"true_positives": 1, "positives": 2},  # between: bootstrap
                               "true_positive_rate", 0.95) is None


def _audit_frame(outcomes_in_group: int) -> pd.DataFrame:
    """600 men (the reference: 60% of outcomes and 20% of the others selected) and 150
    women whose outcomes (`outcomes_in_group` of them) are none of them selected."""
    rng = np.random.default_rng(1)
    n_ref, n_group = 600, 150
    label = np.r_[rng.random(n_ref) < 0.2,
                  np.arange(n_group) < outcomes_in_group].astype(int)
    selected = np.where(label == 1, rng.random(len(label)) < 0.6, rng.random(len(label)) < 0.2)
    selected[n_ref:][label[n_ref:] == 1] = False
    return pd.DataFrame({
        "referral_id": [f"R{i}" for i in range(len(label))], "label": label,
        "probability": np.where(label == 1, 0.4, 0.15), "band": np.where(selected, "high", "low"),
        "sex": ["male"] * n_ref + ["female"] * n_group, "ethnicity_group": "white",
        "disability": False, "age_years": 10, "imd_decile": 5, "subject_type": "child"})


def _women(outcomes_in_group: int):  # noqa: ANN202
    governance, _ = load_governance(None)
    audit = audit_fairness(_audit_frame(outcomes_in_group), governance, model_version="x",
                           n_boot=200)
    [women] = [g for g in audit.groups if g.attributes == {"sex": "female"}]
    checks = check_acceptance(governance.acceptance, metrics={"test_roc_auc": 0.8,
                              "test_ece": 0.01}, very_high_band_precision=0.5,
                              fairness=audit.document())
    return women, {check.name for check in unmet(checks)}


def test_no_outcome_selected_of_two_is_a_possible_disparity_not_a_finding() -> None:
    """The bootstrap interval of the ratio was (0, 0): a finding on two outcomes, failing
    the acceptance threshold (Fisher's exact test against the reference: p = 0.17)."""
    women, unmet_checks = _women(2)
    assert women.ratios["true_positive_rate"] == 0
    low, high = women.ratio_intervals["true_positive_rate"]
    assert low == 0 and high > 1
    assert women.intervals["true_positive_rate"] == (0.0, pytest.approx(0.65762, abs=1e-5))
    assert "tpr_disparity" in women.flags and "tpr_disparity" in women.possible
    assert "tpr_disparity" not in women.findings()
    assert "max_true_positive_rate_disparity" not in unmet_checks


def test_no_outcome_selected_of_forty_is_still_a_finding() -> None:
    women, unmet_checks = _women(40)
    assert women.ratio_intervals["true_positive_rate"][1] < 0.8
    assert "tpr_disparity" in women.findings()
    assert "max_true_positive_rate_disparity" in unmet_checks
