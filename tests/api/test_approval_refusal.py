"""A refused approval is readable: how many thresholds the version misses, one line for
each naming at most five of its groups ("and N more: see the model card"), then how to
waive. An independent probe's `safeguard model approve 1 --reason x` refused in one error
line of 5,069 characters covering four thresholds and about 40 groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.approval_refusal import describe
from api.approvals import ApprovalRefused, record_decision
from api.model_card import log_card
from api.roles import GOVERNANCE
from api.store import Store, init_db
from model.acceptance import unmet
from model.card import acceptance_checks
from model.card_sources import read_sources
from model.registry import ModelRegistry
from model.threshold_checks import GroupFigure, ThresholdCheck
from tests.api.conftest import issue_keys, log_fairness_report, make_settings
from tests.api.test_approvals import _write_key
from tests.api.test_model_commands import Run, registry, run  # noqa: F401
from tests.model.fairness_fixture import fairness_group, fairness_report

GROUPS = 12  # beyond each of the three disparity thresholds
SHOWN = 5  # named on a threshold's line (`api.approval_refusal.SHOWN`)


def _log_many_disparities(registry: ModelRegistry, folder: Path) -> None:  # noqa: F811
    """A test-period report with `GROUPS` groups beyond each ratio threshold (1.6)."""
    groups = [fairness_group({"ethnicity_group": "white"}, n=3000, reference=True)]
    groups += [fairness_group({"ethnicity_group": "black", "age_band": f"band_{i:02}"},
                              ratio=1.6, flags=("selection_disparity", "fpr_disparity",
                                                "tpr_disparity"))
               for i in range(GROUPS)]
    log_fairness_report(registry, "1", fairness_report(groups), folder / "fairness")
    log_card(registry, registry.resolve("1"), board=None)


def _assert_readable(lines: list[str], missed: list[str]) -> None:
    assert lines[0].endswith(f"not approved: the version does not meet {len(missed)} "
                             "acceptance thresholds:")
    listed = lines[1:-1]
    assert [line.removeprefix("- ").partition(" (")[0] for line in listed] == missed
    for line in listed:
        if line.startswith("- max_") and "disparity" in line:
            assert line.count("Black subjects aged band") == SHOWN, line
            assert f"{GROUPS} groups beyond it: " in line
            assert line.endswith(f"; and {GROUPS - SHOWN} more: see the model card)"), line
        assert len(line) < 1_000, line
    assert lines[-1] == "Waive each by name with its own reason, or record a rejection."


def test_a_refusal_is_one_line_per_threshold_naming_a_few_groups(
        registry: ModelRegistry, tmp_path: Path) -> None:  # noqa: F811
    _log_many_disparities(registry, tmp_path)
    missed = [c.name for c in unmet(acceptance_checks(read_sources(registry, "1")))]
    assert {"max_selection_rate_disparity", "max_false_positive_rate_disparity",
            "max_true_positive_rate_disparity"} <= set(missed)
    init_db(url := f"sqlite:///{tmp_path / 'api.db'}")
    store = Store(url)
    with store.session() as session, pytest.raises(ApprovalRefused) as refused:
        record_decision(session, registry, user="gov", role=GOVERNANCE, version="1",
                        decision="approve", reason="x", board=None)
    store.dispose()
    _assert_readable(str(refused.value).splitlines(), missed)


def test_the_command_line_refusal_keeps_its_lines_and_exit_code(
        run: Run, registry: ModelRegistry, tmp_path: Path) -> None:  # noqa: F811
    assert run("db", "upgrade")[0] == 0
    _log_many_disparities(registry, tmp_path)
    missed = [c.name for c in unmet(acceptance_checks(read_sources(registry, "1")))]
    keys, _ = issue_keys(make_settings(f"sqlite:///{tmp_path / 'api.db'}"))
    code, output = run("model", "approve", "1", "--reason", "x", "--key-file",
                       _write_key(tmp_path, keys["governance"]))
    assert code == 1
    lines = output.strip().splitlines()
    assert lines[0].startswith("error: not approved: ")
    _assert_readable(lines, missed)


def test_a_fairness_line_keeps_its_measure_read_both_ways_and_the_boards_figure() -> None:
    """What a threshold's line keeps of its detail besides the groups: the measured figure
    read both ways (it matches no ratio listed otherwise) and that it is the board's."""
    groups = tuple(GroupFigure(f"group {i}", "selection rate ratio", 0.6 + i / 100,
                               bounds=(0.8, 1.25)) for i in range(7))
    check = ThresholdCheck("audit_max_selection_rate_disparity", "", "<= 1.25", 1 / 0.6,
                           False, "the whole detail, long", groups=groups, threshold=1.25,
                           trained_threshold=2.0)
    line = describe(check)
    assert line == (
        "audit_max_selection_rate_disparity (required <= 1.25, measured 1.667; measured read "
        "both ways: the ratio of group 0, 0.6, is 1/1.667; 7 groups beyond it: "
        + "; ".join(g.text() for g in groups[:SHOWN]) + "; and 2 more: see the model card; "
        "the board's threshold: the version was trained under <= 2)")


def test_a_measure_of_a_group_that_fails_nothing_says_so() -> None:
    """The probe's true positive rate line read "measured 1.806" beside groups none of
    which is 1/1.806: the largest ratio was of a group that is not a finding. A second
    probe's read "measured 1.835; measured on a group that is not a finding" before naming
    the group beyond it at 1.258: the line now leads with the groups to waive."""
    groups = (GroupFigure("group 0", "true positive rate ratio", 0.5812, bounds=(0.8, 1.25)),)
    check = ThresholdCheck("audit_max_true_positive_rate_disparity", "", "<= 1.25", 1.806,
                           False, "", groups=groups, threshold=1.25)
    assert describe(check) == (
        "audit_max_true_positive_rate_disparity (required <= 1.25; groups beyond it: group 0 "
        "(true positive rate ratio 0.5812); the largest figure measured, 1.806, is of a "
        "group that is not a finding (on the model card))")
    same = ThresholdCheck("max_group_calibration_gap", "", "<= 0.05", 0.103, False, "",
                          groups=(GroupFigure("group 1", "calibration gap", -0.103),),
                          threshold=0.05)
    assert "not a finding" not in describe(same)
