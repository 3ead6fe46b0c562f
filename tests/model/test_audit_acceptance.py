"""The approval gate's checks of the latest fairness audit of an extract: each finding
beyond a board's fairness threshold on its point estimate needs a waiver by name (a group
beyond it that is not a finding is listed as such, needing none); a version with no such
audit fails `fairness_audit_recorded`."""

from __future__ import annotations

from typing import Any

from model.acceptance import unmet
from model.audit_acceptance import EVERYONE, FAIRNESS_AUDIT_RECORDED, audit_checks
from model.governance import AcceptanceThresholds
from tests.model.fairness_fixture import fairness_group, fairness_report

BOARD = AcceptanceThresholds()


def _gap(group: dict[str, Any], beside: float, low: float, high: float, *,
         finding: bool = True) -> dict[str, Any]:
    """The group's calibration gap beside the overall gap, with its interval, and the
    miscalibration flag (a finding, or possible)."""
    group |= {"calibration_gap": beside, "calibration_gap_beyond_overall": beside,
              "calibration_gap_beyond_overall_ci": [low, high],
              "flags": ["miscalibrated"],
              "possible_flags": [] if finding else ["miscalibrated"]}
    return group


def _probe(black: dict[str, Any], **overall: Any) -> dict[str, Any]:
    report = fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=12_000, reference=True),
        black, fairness_group({"ethnicity_group": "mixed"}, n=40, flags=("too_small",))])
    return report | {"overall_calibration": {"n": 15_809, "mean_predicted": 0.2,
                                             "observed_rate": 0.2, "calibration_gap": 0.0,
                                             "calibration_gap_ci": [-0.004, 0.004],
                                             "miscalibrated": False} | overall,
                     "audited": {"extract_date": "2026-06-30"}}


def _by_name(audit: dict[str, Any] | None) -> dict[str, Any]:
    return {check.name: check for check in audit_checks(BOARD, audit)}


def test_no_audit_of_an_extract_is_one_unmet_check_naming_the_command() -> None:
    [check] = audit_checks(BOARD, None)
    assert check.name == FAIRNESS_AUDIT_RECORDED and not check.met
    assert "safeguard audit fairness" in check.detail


def test_the_probes_black_finding_on_the_whole_extract_needs_its_own_waiver() -> None:
    """The probe: Black subjects -10.1 points (95% interval -11.8 to -8.0) on the whole
    extract, twice the board's 0.05; the gate judged only the test period's 69."""
    black = _gap(fairness_group({"ethnicity_group": "black"}, n=2_100), -0.101, -0.118, -0.080)
    checks = _by_name(_probe(black))
    gap = checks["audit_max_group_calibration_gap"]
    assert not gap.met and gap.measured == 0.101
    assert [g.group for g in gap.groups] == ["Black subjects"]
    assert "95% interval -0.1180 to -0.0800" in gap.groups[0].text()
    assert "the fairness audit of the extract dated 2026-06-30" in gap.detail
    assert [c.name for c in unmet(list(checks.values()))] == ["audit_max_group_calibration_gap"]


def test_a_finding_beyond_on_its_point_estimate_fails_though_its_interval_reaches_back() -> None:
    """The probe of 7 December: Black subjects a calibration finding (5.8 points under
    beside the overall gap, adjusted p = 0.00016) with an interval reaching back inside the
    board's 0.05, and the card read "<= 0.05, measured 0.103, met yes", lumping the finding
    with groups that were "not a finding of the audit"."""
    black = _gap(fairness_group({"ethnicity_group": "black"}, n=2_100), -0.058, -0.076, -0.040)
    other = _gap(fairness_group({"ethnicity_group": "other"}, n=150), 0.103, -0.01, 0.21,
                 finding=False)
    report = _probe(black)
    report["groups"].append(other)
    gap = _by_name(report)["audit_max_group_calibration_gap"]
    assert not gap.met and gap.measured == 0.103  # the largest figure, finding or not
    assert [g.group for g in gap.groups] == ["Black subjects"]
    assert [g.group for g in gap.possible] == ["subjects of other ethnicity"]
    assert ("1 group beyond it on the point estimate but not a finding of the audit (could "
            "be chance): no waiver needed: subjects of other ethnicity") in gap.detail
    # The finding is never called "not a finding".
    beyond, _, rest = gap.detail.partition("not a finding")
    assert "Black" in beyond and "Black" not in rest


def test_a_ratio_finding_beyond_on_its_point_estimate_fails_though_its_interval_reaches_back(
) -> None:
    asian = fairness_group({"ethnicity_group": "asian"}, n=900, ratio=0.7,
                           flags=("selection_disparity",))
    asian |= {"selection_rate_ratio_ci": [0.6, 0.85], "possible_flags": []}
    selection = _by_name(_probe(asian))["audit_max_selection_rate_disparity"]
    assert not selection.met and [g.group for g in selection.groups] == ["Asian subjects"]
    assert not selection.possible and "not a finding" not in selection.detail


def test_a_possible_miscalibration_fails_nothing_and_is_worded_as_not_a_finding() -> None:
    black = _gap(fairness_group({"ethnicity_group": "black"}, n=2_100), -0.101, -0.118, -0.080,
                 finding=False)
    gap = _by_name(_probe(black))["audit_max_group_calibration_gap"]
    assert gap.met and not gap.groups and [g.group for g in gap.possible] == ["Black subjects"]
    assert ("1 group beyond it on the point estimate but not a finding of the audit (could "
            "be chance): no waiver needed: Black subjects") in gap.detail


def test_the_whole_model_off_is_judged_once_as_every_referral() -> None:
    black = fairness_group({"ethnicity_group": "black"}, n=2_100)
    gap = _by_name(_probe(black, calibration_gap=-0.07, calibration_gap_ci=[-0.08, -0.06],
                          miscalibrated=True))["audit_max_group_calibration_gap"]
    assert not gap.met and [g.group for g in gap.groups] == [EVERYONE]


def test_a_ratio_wholly_beyond_the_threshold_fails_its_own_check() -> None:
    asian = fairness_group({"ethnicity_group": "asian"}, n=2_000, ratio=0.6,
                           flags=("selection_disparity",))
    asian |= {"selection_rate_ratio_ci": [0.5, 0.7], "possible_flags": []}
    checks = _by_name(_probe(asian))
    selection = checks["audit_max_selection_rate_disparity"]
    assert not selection.met and [g.group for g in selection.groups] == ["Asian subjects"]
    # Measured read both ways (1/0.6), and said so: the figure listed is 0.6.
    assert selection.measured == 1 / 0.6 and selection.detail.startswith(
        "measured read both ways: the ratio of Asian subjects, 0.6, is 1/1.667; ")
    assert "selection rate ratio 0.6:" in selection.groups[0].text()
    # The same ratio with no finding's flag fails nothing, listed as not a finding.
    false_positive = checks["audit_max_false_positive_rate_disparity"]
    assert false_positive.met and [g.group for g in false_positive.possible] == ["Asian subjects"]
    assert "not a finding of the audit (could be chance): no waiver needed" in (
        false_positive.detail)


def test_a_ratio_beyond_on_its_point_estimate_that_is_not_a_finding_fails_nothing() -> None:
    """A flag whose interval includes 1 (or that falls to the correction) is possible."""
    asian = fairness_group({"ethnicity_group": "asian"}, n=300, ratio=0.7,
                           flags=("selection_disparity",))
    asian |= {"selection_rate_ratio_ci": [0.45, 1.05], "possible_flags": ["selection_disparity"]}
    selection = _by_name(_probe(asian))["audit_max_selection_rate_disparity"]
    assert selection.met and [g.group for g in selection.possible] == ["Asian subjects"]
    assert ("1 group beyond it on the point estimate but not a finding of the audit (could "
            "be chance): no waiver needed: Asian subjects") in selection.detail


def test_dozens_of_possible_groups_keep_the_detail_short() -> None:
    """A whole extract's audit lists dozens of groups beyond a threshold on the point
    estimate only; `make demo` quotes a check's detail as its waiver's reason (at most
    2,000 characters), and listed with their figures they ran past it."""
    groups = [fairness_group({"ethnicity_group": "white"}, n=12_000, reference=True)]
    for i in range(40):
        group = fairness_group({"ethnicity_group": "black", "age_band": f"band_{i}"},
                               ratio=1.3, flags=("selection_disparity",))
        groups.append(group | {"selection_rate_ratio_ci": [0.9, 1.7],
                               "possible_flags": ["selection_disparity"]})
    [selection] = [c for c in audit_checks(BOARD, fairness_report(groups))
                   if c.name == "audit_max_selection_rate_disparity"]
    assert selection.met and len(selection.possible) == 40
    assert len(selection.detail) < 1_000 and "and 32 more" in selection.detail
