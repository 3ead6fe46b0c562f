"""The approval gate's checks of the latest fairness audit of an extract: each finding
whose whole interval lies beyond a board's fairness threshold needs a waiver by name; a
version with no such audit fails `fairness_audit_recorded`."""

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


def test_a_gap_whose_interval_reaches_back_to_the_threshold_is_shown_not_failed() -> None:
    black = _gap(fairness_group({"ethnicity_group": "black"}, n=300), -0.07, -0.12, -0.02)
    gap = _by_name(_probe(black))["audit_max_group_calibration_gap"]
    assert gap.met and not gap.groups
    assert [g.group for g in gap.possible] == ["Black subjects"]


def test_a_possible_miscalibration_fails_nothing() -> None:
    black = _gap(fairness_group({"ethnicity_group": "black"}, n=2_100), -0.101, -0.118, -0.080,
                 finding=False)
    assert _by_name(_probe(black))["audit_max_group_calibration_gap"].met


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
    # The same ratio with no finding's flag (its interval including 1) fails nothing.
    assert checks["audit_max_false_positive_rate_disparity"].met


def test_dozens_of_possible_groups_keep_the_detail_short() -> None:
    """A whole extract's audit lists dozens of groups beyond a threshold on the point
    estimate only; `make demo` quotes a check's detail as its waiver's reason (at most
    2,000 characters), and listed with their figures they ran past it."""
    groups = [fairness_group({"ethnicity_group": "white"}, n=12_000, reference=True)]
    for i in range(40):
        group = fairness_group({"ethnicity_group": "black", "age_band": f"band_{i}"},
                               ratio=1.3, flags=("selection_disparity",))
        groups.append(group | {"selection_rate_ratio_ci": [0.9, 1.7]})
    [selection] = [c for c in audit_checks(BOARD, fairness_report(groups))
                   if c.name == "audit_max_selection_rate_disparity"]
    assert selection.met and len(selection.possible) == 40
    assert len(selection.detail) < 1_000 and "and 32 more" in selection.detail
