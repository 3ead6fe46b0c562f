"""`make demo`'s approval waives each threshold the demo extract misses with a reason
within the approval's limit (`MAX_TEXT`): when the gate came to fail every finding beyond
a threshold, two reasons quoting the check's whole detail passed 2,000 characters and
`make demo` stopped at its approval (7 December)."""

from __future__ import annotations

from api.demo_approval import waiver_options, waiver_reason
from api.free_text import MAX_TEXT
from model.threshold_checks import ThresholdCheck

LONG = "; ".join(f"group {n} (selection rate ratio 0.3{n:03d})" for n in range(200))


def _check(name: str, measured: float | None) -> ThresholdCheck:
    return ThresholdCheck(name, "a threshold", "<= 1.25", measured, False, LONG)


def test_a_reason_names_the_figure_measured_not_every_group() -> None:
    reason = waiver_reason(_check("audit_max_selection_rate_disparity", 2.966))
    assert reason == ("demo only, not a board decision: the synthetic demo extract misses it "
                      "(measured 2.966; see the model card)")
    assert len(LONG) > MAX_TEXT


def test_a_check_without_a_figure_quotes_the_start_of_its_detail_within_the_limit() -> None:
    reason = waiver_reason(_check("fairness_audit_recorded", None))
    assert reason.startswith("demo only, not a board decision") and "group 0 " in reason
    assert len(reason) <= MAX_TEXT


def test_each_threshold_missed_is_waived_by_name() -> None:
    options = waiver_options([_check("a", 1.5), _check("b", None)])
    assert [option.split("=", 2)[1] for option in options] == ["a", "b"]
    assert all(len(option.split("=", 2)[2]) <= MAX_TEXT for option in options)
