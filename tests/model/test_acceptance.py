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
    assert found["max_selection_rate_disparity"].detail == "worst group: Black subjects"


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
    # the figure measured is the group's ratio read the other way: said, or it matches none
    assert ("measured read both ways: the ratio of male subjects, 0.7, is 1/1.429"
            in found["max_true_positive_rate_disparity"].detail)
    assert "read both ways" not in checks()["max_selection_rate_disparity"].detail  # 1.1


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
    assert shown.detail == ("groups beyond it: male subjects (true positive rate ratio withheld "
                            "from publication)")
    selection = found["max_selection_rate_disparity"]  # published: shown as measured
    assert not selection.withheld and selection.measured == pytest.approx(1.6)
    assert not checks(fairness=full)["max_true_positive_rate_disparity"].withheld


def _zero(group: dict[str, Any], metric: str, *, ratio: float | None) -> dict[str, Any]:
    """The group with one rate changed to 0 (its ratio given as `ratio`)."""
    return {**group, metric: 0.0, f"{metric}_ratio": ratio}


def test_a_group_never_selected_is_beyond_the_threshold_not_skipped() -> None:
    """A ratio of 0 (a judged group nobody selects) is the largest disparity there is:
    until 6 December the check skipped it and read the threshold as met."""
    report = fairness_report([fairness_group({"ethnicity_group": "white"}, n=2000,
                                             reference=True),
                              _zero(fairness_group({"ethnicity_group": "asian"},
                                                   flags=("selection_disparity",)),
                                    "selection_rate", ratio=0.0)])
    check = checks(fairness=report)["max_selection_rate_disparity"]
    assert not check.met and check.measured is None
    assert check.detail == ("groups beyond it: Asian subjects (selection rate ratio 0: "
                            "this group's rate is 0 and the reference group's is not)")


def test_a_rate_against_a_reference_rate_of_zero_is_beyond_the_threshold() -> None:
    """The reference group's false positive rate is 0 and another group's is not: the
    ratio is undefined (null in the report), and the threshold is not met."""
    reference = _zero(fairness_group({"ethnicity_group": "white"}, n=2000, reference=True),
                      "false_positive_rate", ratio=None)
    report = fairness_report([reference, {**fairness_group({"ethnicity_group": "black"}),
                                          "false_positive_rate_ratio": None}])
    check = checks(fairness=report)["max_false_positive_rate_disparity"]
    assert not check.met
    assert [(g.group, g.value, g.note) for g in check.groups] == [
        ("Black subjects", None,
         "the reference group's rate is 0 and this group's is not")]
    both_zero = fairness_report([  # no rate on either side: no disparity
        reference, _zero(fairness_group({"ethnicity_group": "black"}), "false_positive_rate",
                         ratio=None),
        fairness_group({"sex": "female"}, n=3000, reference=True),
        fairness_group({"sex": "male"}, ratio=1.1)])
    assert checks(fairness=both_zero)["max_false_positive_rate_disparity"].met


def test_a_check_names_every_group_beyond_it_worst_first() -> None:
    """A waiver covers every group beyond a threshold, so the check names each, not only
    the worst (a reason about deprivation silently waived an ethnicity disparity)."""
    report = fairness_report([
        fairness_group({"deprivation_group": "deciles_3_4"}, n=3000, reference=True),
        fairness_group({"deprivation_group": "deciles_1_2"}, ratio=1.6),
        fairness_group({"deprivation_group": "deciles_9_10"}, ratio=1.2),
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True),
        fairness_group({"ethnicity_group": "asian"}, ratio=0.7)])
    check = checks(fairness=report)["max_selection_rate_disparity"]
    assert check.measured == pytest.approx(1.6)
    assert [(g.group, g.value) for g in check.groups] == [
        ("subjects living in IMD deciles 1-2", 1.6), ("Asian subjects", 0.7)]
    assert check.detail == ("groups beyond it: subjects living in IMD deciles 1-2 (selection "
                            "rate ratio 1.6); Asian subjects (selection rate ratio 0.7)")


def _with_interval(group: dict[str, Any], low: float, high: float) -> dict[str, Any]:
    return {**group, **{f"{m}_ratio_ci": [low, high] for m in
                        ("selection_rate", "false_positive_rate", "true_positive_rate")}}


def test_a_possible_disparity_is_listed_but_fails_no_threshold() -> None:
    """A ratio of 1.4 whose interval (0.9 to 2.1) includes no disparity: the board reads
    it on the check, but it fails nothing and needs no waiver."""
    report = fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True),
        _with_interval(fairness_group({"ethnicity_group": "mixed"}, n=150, ratio=1.4,
                                      flags=("selection_disparity",)), 0.9, 2.1)])
    check = checks(fairness=report)["max_selection_rate_disparity"]
    assert check.met and check.groups == ()
    [figure] = check.possible
    assert figure.group == "subjects of mixed ethnicity" and figure.value == pytest.approx(1.4)
    assert "possible disparities, not counted" in check.detail
    assert "95% interval 0.9 to 2.1" in check.detail


def test_a_disparity_whose_interval_excludes_none_still_fails() -> None:
    report = fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True),
        _with_interval(fairness_group({"ethnicity_group": "black"}, n=1400, ratio=1.35,
                                      flags=("fpr_disparity",)), 1.2, 1.52),
        _with_interval(fairness_group({"ethnicity_group": "mixed"}, n=150, ratio=1.4), 0.9, 2.1)])
    check = checks(fairness=report)["max_false_positive_rate_disparity"]
    assert not check.met
    assert [g.group for g in check.groups] == ["Black subjects"]
    assert [g.group for g in check.possible] == ["subjects of mixed ethnicity"]
    assert check.detail.startswith("groups beyond it: Black subjects")


def test_a_disparity_not_standing_the_correction_for_many_comparisons_fails_nothing() -> None:
    """Its interval (1.05 to 1.9) excludes 1, but among the audit's comparisons the
    difference is one chance gives somewhere (`chance_flags`): possible, no waiver."""
    mixed = _with_interval(fairness_group({"ethnicity_group": "mixed"}, n=150, ratio=1.4,
                                          flags=("fpr_disparity",)), 1.05, 1.9)
    report = fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True),
        mixed | {"chance_flags": ["fpr_disparity"]}])
    check = checks(fairness=report)["max_false_positive_rate_disparity"]
    assert check.met and check.groups == ()
    assert [g.group for g in check.possible] == ["subjects of mixed ethnicity"]
    assert "does not stand correction for the audit's many comparisons" in check.detail
    assert not checks(fairness=fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True), mixed])
    )["max_false_positive_rate_disparity"].met  # without the correction's word, it fails


def test_a_measure_is_shown_on_its_side_of_the_threshold() -> None:
    """A ROC AUC of 0.69996 fails ">= 0.7": the card's three decimals read "0.700" and the
    approval's four significant digits "0.7" beside "NO" and "does not meet"."""
    flagged = fairness_group({"ethnicity_group": "black"}, ratio=1.25004,
                             flags=("selection_disparity",))
    found = checks(metrics={"test_roc_auc": 0.69996, "test_ece": 0.05004}, fairness=fairness_report(
        [fairness_group({"ethnicity_group": "white"}, n=2000, reference=True), flagged]))
    roc_auc, ece = found["min_roc_auc"], found["max_ece"]
    selection = found["max_selection_rate_disparity"]
    assert not roc_auc.met and not ece.met and not selection.met
    assert roc_auc.measured_text() == "0.69996" and roc_auc.measured_text(4, "g") == "0.69996"
    assert ece.measured_text() == "0.05004" and selection.measured_text() == "1.25004"
    assert [g.text() for g in selection.groups] == [
        "Black subjects (selection rate ratio 1.25004)"]
    low = checks(fairness=fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=2000, reference=True),
        fairness_group({"ethnicity_group": "black"}, ratio=0.79998,
                       flags=("selection_disparity",))]))["max_selection_rate_disparity"]
    assert [g.text() for g in low.groups] == [
        "Black subjects (selection rate ratio 0.79998)"]
    met = checks(metrics={"test_roc_auc": 0.7, "test_ece": 0.02})["min_roc_auc"]
    assert met.met and met.measured_text() == "0.700" and met.measured_text(4, "g") == "0.7"
    assert checks(metrics={})["min_roc_auc"].measured_text() == "not measured"


def test_a_check_met_with_possible_disparities_beyond_it_says_so() -> None:
    """A probe's card read "<= 1.25 | 2.825 | yes": met, the figure a possible disparity."""
    from model.threshold_checks import GroupFigure, ThresholdCheck

    possible = (GroupFigure("adults at risk", "selection rate ratio", 0.354),)
    check = ThresholdCheck("max_selection_rate_disparity", "", "<= 1.25", 2.825, True,
                           possible=possible, threshold=1.25)
    assert check.verdict == "yes: no finding beyond it, possible disparities only"
    assert ThresholdCheck("m", "", "<= 1.25", 1.1, True, threshold=1.25).verdict == "yes"
    assert ThresholdCheck("m", "", "<= 1.25", 1.3, False, threshold=1.25).verdict == "NO"
    assert ThresholdCheck("m", "", ">= 0.5", None, False, judged=False).verdict == "not judged"
