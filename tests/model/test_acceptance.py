"""Acceptance checks: a version against the thresholds its governance settings agree."""

from __future__ import annotations

from typing import Any

import pytest

from model.acceptance import NO_FAIRNESS_AUDIT, check_acceptance, unmet
from model.governance import AcceptanceThresholds, load_governance
from tests.model.fairness_fixture import fair_report, fairness_group, fairness_report

GOOD_METRICS = {"test_roc_auc": 0.81, "test_ece": 0.02}


def checks(metrics: dict[str, float] = GOOD_METRICS, precision: float | None = 0.5,
           fairness: dict[str, Any] | None = None) -> dict[str, Any]:
    found = check_acceptance(AcceptanceThresholds(), metrics=metrics,
                             very_high_band_precision=precision,
                             fairness=fair_report() if fairness is None else fairness)
    return {check.name: check for check in found}


def test_the_default_settings_carry_every_threshold_the_board_agrees() -> None:
    acceptance = load_governance()[0].acceptance
    assert acceptance.min_roc_auc == 0.70 and acceptance.max_selection_rate_disparity == 1.25
    assert set(checks()) == set(AcceptanceThresholds.model_fields)


def test_a_good_version_meets_every_threshold_and_says_what_it_measured() -> None:
    found = checks()
    assert unmet(list(found.values())) == []
    assert found["min_roc_auc"].measured == 0.81 and found["min_roc_auc"].required == ">= 0.7"
    # the group of 8 is too small to judge: its ratio of 3 fails nothing
    assert found["max_selection_rate_disparity"].measured == pytest.approx(1.1)
    assert "ethnicity_group=black" in found["max_selection_rate_disparity"].detail


@pytest.mark.parametrize(("metrics", "precision", "failing"), [
    ({"test_roc_auc": 0.65, "test_ece": 0.02}, 0.5, "min_roc_auc"),
    ({"test_roc_auc": 0.81, "test_ece": 0.09}, 0.5, "max_ece"),
    (GOOD_METRICS, 0.1, "min_very_high_band_precision"),
    (GOOD_METRICS, None, "min_very_high_band_precision"),
    ({"test_ece": 0.02}, 0.5, "min_roc_auc"),
])
def test_a_performance_threshold_not_met_fails(metrics: dict[str, float],
                                               precision: float | None, failing: str) -> None:
    assert [c.name for c in unmet(list(checks(metrics, precision).values()))] == [failing]


def test_a_disparity_counts_both_ways() -> None:
    report = fairness_report([fairness_group({"sex": "female"}, n=3000, reference=True),
                              fairness_group({"sex": "male"}, ratio=0.7)])
    found = checks(fairness=report)
    failing = {c.name for c in unmet(list(found.values()))}
    assert failing == {"max_selection_rate_disparity", "max_false_positive_rate_disparity",
                       "max_true_positive_rate_disparity"}
    assert found["max_true_positive_rate_disparity"].measured == pytest.approx(1 / 0.7)


def test_a_miscalibrated_group_fails_the_calibration_gap() -> None:
    report = fairness_report([fairness_group({"sex": "female"}, n=3000, reference=True),
                              fairness_group({"sex": "male"}, gap=-0.08)])
    found = checks(fairness=report)
    assert [c.name for c in unmet(list(found.values()))] == ["max_group_calibration_gap"]
    assert found["max_group_calibration_gap"].measured == pytest.approx(0.08)


def test_without_a_fairness_audit_every_fairness_threshold_fails() -> None:
    found = check_acceptance(AcceptanceThresholds(), metrics=GOOD_METRICS,
                             very_high_band_precision=0.5, fairness=None)
    failing = unmet(found)
    assert {c.name for c in failing} == {
        "max_selection_rate_disparity", "max_false_positive_rate_disparity",
        "max_true_positive_rate_disparity", "max_group_calibration_gap"}
    assert all(c.detail == NO_FAIRNESS_AUDIT and c.measured is None for c in failing)


def test_a_figure_the_published_report_withholds_is_withheld_from_the_check() -> None:
    """Black subjects' true positive ratio (1.6) is withheld in the published report (the
    reference's rate is): the check as published says so, and is still judged on it."""
    full = fairness_report([fairness_group({"sex": "female"}, n=3000, reference=True),
                            fairness_group({"sex": "male"}, ratio=1.6)])
    published = fairness_report([fairness_group({"sex": "female"}, n=3000, reference=True),
                                 {**fairness_group({"sex": "male"}, ratio=1.6),
                                  "true_positive_rate_ratio": None}])
    found = {c.name: c for c in check_acceptance(
        AcceptanceThresholds(), metrics=GOOD_METRICS, very_high_band_precision=0.5,
        fairness=full, published=published)}
    shown = found["max_true_positive_rate_disparity"]
    assert shown.withheld and shown.measured is None and not shown.met
    assert shown.detail == "worst group: sex=male"
    selection = found["max_selection_rate_disparity"]  # published: shown as measured
    assert not selection.withheld and selection.measured == pytest.approx(1.6)
    assert not checks(fairness=full)["max_true_positive_rate_disparity"].withheld
