"""Calibration-in-the-large in `safeguard monitor`: as many outcomes as the model predicted?

A probe's model predicted a mean of 8.3% against 12.4% observed on 2,000+ matured
referrals (a third too low) and passed, its ECE rising 0.014 -> 0.040 (under
`ece_rise_max`).
"""

from __future__ import annotations

import numpy as np
import pytest

from model.calibration_check import (
    calibration_checks,
    exact_interval,
    matured_calibration,
    observed_expected,
    verdict,
)
from model.governance import MonitoringSettings
from model.monitoring_outcomes import matured_outcomes

BANDS = ["low", "medium", "high"]
REFERENCE = {"outcomes": {"n": 3_000, "roc_auc": 0.75, "ece": 0.014, "outcome_rate": 0.083,
                          "rates_by_band": {}}}
SETTINGS = MonitoringSettings()


def _referrals(n: int, *, outcomes_per_prediction: float, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`n` referrals predicted at a mean near 8%, whose outcomes follow the predictions
    times `outcomes_per_prediction`."""
    rng = np.random.default_rng(seed)
    probability = rng.beta(0.8, 9.0, n)
    y = (rng.random(n) < np.minimum(probability * outcomes_per_prediction, 1)).astype(np.int64)
    band = np.select([probability > 0.2, probability > 0.08], ["high", "medium"], "low")
    return y, probability, band.tolist()


def _monitored(n: int, *, outcomes_per_prediction: float,
               seed: int = 0) -> tuple[dict, list]:
    y, probability, band = _referrals(n, outcomes_per_prediction=outcomes_per_prediction,
                                      seed=seed)
    section, checks = matured_outcomes(REFERENCE, y=y, probability=probability, band=band,
                                       band_names=BANDS, settings=SETTINGS)
    checks += matured_calibration(section, y=y, probability=probability, band=band,
                                  band_names=BANDS, settings=SETTINGS)
    return section, checks


def _overall(checks: list) -> object:
    [check] = [c for c in checks if c.subject == "observed_expected"]
    return check


def test_outcomes_half_as_many_again_as_predicted_are_flagged() -> None:
    section, checks = _monitored(2_400, outcomes_per_prediction=1.5)
    overall = section["calibration"]["overall"]
    assert overall["interval"][0] > SETTINGS.calibration_ratio_upper
    check = _overall(checks)
    assert check.crossed and check.assessed
    assert "it under-predicts by about a third" in check.message
    assert check.message.startswith(f"calibration (all bands): the model predicted "
                                    f"{overall['mean_predicted']:.1%} and "
                                    f"{overall['observed_rate']:.1%} was observed")


def test_the_probe_passed_on_ece_alone() -> None:
    """Why the check is needed: on the same referrals ECE stays within its threshold."""
    section, checks = _monitored(2_400, outcomes_per_prediction=1.5)
    [ece] = [c for c in checks if c.subject == "ece"]
    assert section["now"]["ece"] - REFERENCE["outcomes"]["ece"] < SETTINGS.ece_rise_max
    assert not ece.crossed and _overall(checks).crossed


@pytest.mark.parametrize("seed", range(5))
def test_a_well_calibrated_model_on_a_few_thousand_referrals_is_not_flagged(seed: int) -> None:
    section, checks = _monitored(3_000, outcomes_per_prediction=1.0, seed=seed)
    low, high = section["calibration"]["overall"]["interval"]
    assert low < 1 < high
    assert not any(c.crossed for c in checks if c.kind == "calibration")
    assert _overall(checks).assessed


def test_over_prediction_is_flagged_too() -> None:
    section, checks = _monitored(3_000, outcomes_per_prediction=0.6)
    ratio = section["calibration"]["overall"]["ratio"]
    check = _overall(checks)
    assert check.crossed and ratio < 2 / 3
    assert f"it predicted {1 / ratio:.1f} times as many outcomes as were observed" in check.message


def test_the_probes_figures_read_as_it_under_predicts_by_about_a_third() -> None:
    figures = {"overall": observed_expected(np.r_[np.ones(260), np.zeros(1_840)],
                                            np.full(2_100, 0.083)), "by_band": {}}
    [check] = calibration_checks(figures, SETTINGS)
    assert check.crossed and figures["overall"]["verdict"] == "outside tolerance"
    assert check.message.startswith("calibration (all bands): the model predicted 8.3% and "
                                    "12.4% was observed (260 of 2,100 matured referrals): "
                                    "it under-predicts by about a third")


def test_an_estimate_outside_the_tolerance_on_too_wide_an_interval_is_to_watch() -> None:
    # 34 of 200 against 12%: 1.42, its interval about 1.01 to 1.91.
    figures = {"overall": observed_expected(np.r_[np.ones(34), np.zeros(166)],
                                            np.full(200, 0.12)), "by_band": {}}
    [check] = calibration_checks(figures, SETTINGS)
    assert not check.crossed and check.assessed and figures["overall"]["verdict"] == "watch"
    assert check.message.endswith("watch the next run")


def test_an_estimate_outside_the_tolerance_whose_interval_includes_1_is_not_called_within(
        ) -> None:
    """28 of 200 against 10%: 1.40, its interval about 0.95 to 1.96. It read "within
    tolerance", which the figures do not show; nor do they show it outside."""
    figures = {"overall": observed_expected(np.r_[np.ones(28), np.zeros(172)],
                                            np.full(200, 0.10)), "by_band": {}}
    [check] = calibration_checks(figures, SETTINGS)
    low, high = figures["overall"]["interval"]
    assert low < 1 < high and figures["overall"]["ratio"] == pytest.approx(1.4)
    assert not check.crossed and check.assessed
    assert figures["overall"]["verdict"] == "more referrals needed"
    assert check.message.endswith("more matured referrals are needed to tell")


def test_too_few_matured_referrals_are_shown_not_judged() -> None:
    section, checks = _monitored(150, outcomes_per_prediction=3.0)
    assert section["calibration"]["overall"]["n"] == 150
    assert section["calibration"]["overall"]["ratio"] > 1.5  # shown
    check = _overall(checks)
    assert not check.crossed and not check.assessed
    assert check.message == ("calibration (all bands) not assessed: 150 matured referrals, "
                             "too few to judge (at least 200)")


def test_a_band_is_judged_only_on_enough_of_its_own_referrals() -> None:
    section, checks = _monitored(2_400, outcomes_per_prediction=1.5)
    for name in BANDS:
        entry = section["calibration"]["by_band"][name]
        [check] = [c for c in checks if c.subject == f"observed_expected/band={name}"]
        assert check.assessed == (entry["n"] >= SETTINGS.min_matured_referrals)


def test_without_outcomes_calibration_is_not_assessed_and_nothing_computed() -> None:
    y, probability, band = _referrals(500, outcomes_per_prediction=1.0)
    section, _ = matured_outcomes(REFERENCE, y=np.zeros(500, dtype=np.int64),
                                  probability=probability, band=band, band_names=BANDS,
                                  settings=SETTINGS,
                                  not_assessed="the extract has no outcomes feed")
    [check] = matured_calibration(section, y=y, probability=probability, band=band,
                                  band_names=BANDS, settings=SETTINGS)
    assert "calibration" not in section and not check.assessed and not check.crossed
    assert check.message.endswith("not assessed: the extract has no outcomes feed (the 365-day "
                                  "follow-up of 500 referrals completed since training)")


def test_the_interval_is_the_exact_binomial_one_over_the_mean_predicted() -> None:
    # 124 of 1,000 observed against a mean prediction of 8.3%.
    entry = observed_expected(np.r_[np.ones(124), np.zeros(876)], np.full(1_000, 0.083))
    assert entry["ratio"] == pytest.approx(0.124 / 0.083)
    # Clopper-Pearson 95% for 124/1000: 0.1042 to 0.1460.
    assert entry["interval"] == pytest.approx([0.1042 / 0.083, 0.1460 / 0.083], abs=1e-3)
    assert observed_expected(np.empty(0), np.empty(0))["ratio"] is None


def test_a_familys_shared_outcome_counts_once_not_once_per_referral() -> None:
    """124 of 1,000 against 8.3%, in 250 households of four referred together, each
    household with one outcome: the information of 250 referrals, not 1,000. Counted
    referral by referral the interval (1.26 to 1.76) lay wholly above the tolerance;
    on the households' effective number it reaches back inside it (1.03 to 2.07)."""
    y = np.repeat(np.r_[np.ones(31), np.zeros(219)], 4)
    probability = np.full(1_000, 0.083)
    alone = observed_expected(y, probability)
    together = observed_expected(y, probability, np.repeat(np.arange(250), 4))
    assert together["ratio"] == alone["ratio"]
    assert together["interval"] == pytest.approx([1.033, 2.067], abs=1e-3)
    assert (verdict(alone, SETTINGS), verdict(together, SETTINGS)) == ("outside tolerance",
                                                                       "watch")
    # Every referral a family of its own: the exact interval, unchanged.
    assert observed_expected(y, probability, np.arange(1_000))["interval"] == alone["interval"]


def test_few_families_widen_the_interval_by_korn_and_graubards_factor() -> None:
    """10 of 100 referrals in 10 families: the interval is taken on the families' degrees of
    freedom too (Korn and Graubard's factor, t of 99 over t of 9, squared), wider than the
    exact interval of 100 independent referrals even when the design effect is 1; in 100
    families of one it is that exact interval, and one family says nothing (0 to 1)."""
    alone = exact_interval(10, 100)
    assert exact_interval(10, 100, 1.0, 100) == alone
    low, high = exact_interval(10, 100, 1.0, 10)
    assert low < alone[0] and high > alone[1]
    assert (low, high) == pytest.approx((0.0433, 0.1897), abs=1e-4)
    assert exact_interval(10, 100, 1.0, 1) == (0.0, 1.0)
    assert exact_interval(0, 1, 1.0, 1) == exact_interval(0, 1)


def test_a_band_with_no_outcome_is_judged_not_a_crash() -> None:
    # 0 of 300 matured referrals against 1% predicted (3 expected): the ratio is 0, and
    # its words divided by it (ZeroDivisionError ended `safeguard monitor`).
    figures = {"overall": observed_expected(np.zeros(300, dtype=np.int64), np.full(300, 0.01)),
               "by_band": {}}
    [check] = calibration_checks(figures, SETTINGS)
    assert figures["overall"]["ratio"] == 0 and check.assessed
    assert "no outcome was observed where some were predicted" in check.message
    assert "(observed/expected 0.00, 95% interval 0.00 to" in check.message


@pytest.mark.parametrize(("outcomes", "crossed"), [(5, True), (0, False)])
def test_referrals_all_predicted_at_zero_are_judged(outcomes: int, crossed: bool) -> None:
    # An isotonic calibrator's lowest step is exactly 0: 300 matured referrals with 5
    # outcomes read "not assessed: 300 matured referrals, too few to judge (at least 200)".
    y = np.r_[np.ones(outcomes, dtype=np.int64), np.zeros(300 - outcomes, dtype=np.int64)]
    figures = {"overall": observed_expected(y, np.zeros(300)), "by_band": {}}
    [check] = calibration_checks(figures, SETTINGS)
    assert check.assessed and check.crossed is crossed
    assert "too few" not in check.message
    assert check.message.startswith("calibration (all bands): the model predicted 0% and ")


def test_each_ratio_stands_beside_the_same_at_training() -> None:
    """A probe's high band, 1.26 (1.10 to 1.43) on matured referrals, was printed "to
    watch" as news: it had been 1.18 on the test period at training, which nothing said."""
    y, probability, band = _referrals(2_400, outcomes_per_prediction=1.0)
    reference = {"outcomes": {
        **REFERENCE["outcomes"], "n": 3_000, "outcome_rate": 0.09, "mean_predicted": 0.08,
        "rates_by_band": {"high": {"n": 410, "observed_rate": 0.322, "mean_predicted": 0.274},
                          "low": {"n": 1_900, "observed_rate": None, "mean_predicted": None}}}}
    section, _ = matured_outcomes(reference, y=y, probability=probability, band=band,
                                  band_names=BANDS, settings=SETTINGS)
    checks = {c.subject: c.message for c in matured_calibration(
        section, y=y, probability=probability, band=band, band_names=BANDS, settings=SETTINGS)}
    assert "; at training 1.12, on 3,000 test-period referrals; tolerance 0.8 to 1.25)" in (
        checks["observed_expected"])
    assert "; at training 1.18, on 410 test-period referrals; tolerance 0.8 to 1.25)" in (
        checks["observed_expected/band=high"])
    # A band without figures at training (none of its referrals then) says nothing of it.
    assert "at training" not in checks["observed_expected/band=low"]
    assert "at training" not in checks["observed_expected/band=medium"]
