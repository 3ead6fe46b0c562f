"""What the approval gate says of the thresholds a version misses: one line each, a
fairness threshold's naming at most `SHOWN` of its groups beyond it (the model card names
every one, and so does the waiver's audit entry: a waiver covers them all).

An independent probe's `safeguard model approve` refused in one error line of 5,069
characters: four thresholds and about 40 groups, each with its figure and interval, the
groups needing no waiver and the audit's description, all run together (7 December). A
refusal now says how many thresholds the version misses, then one line for each, then how
to waive them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from model.agreed_thresholds import board_note
from model.threshold_checks import ThresholdCheck, groups_text, read_both_ways

SHOWN: Final = 5  # the groups a refusal's line names for one threshold
WAIVE: Final = "Waive each by name with its own reason, or record a rejection."


def describe(check: ThresholdCheck) -> str:
    """One unmet threshold in a line: its name, what is required and measured, and, for a
    fairness threshold, the groups beyond it (at most `SHOWN`; the rest counted), its
    measured figure read both ways when that is how it was measured, and whether it is the
    board's figure; another threshold's detail in full (it is short)."""
    measured = "" if check.measured is None else f", measured {check.measured_text(4, 'g')}"
    if not check.groups:
        detail = check.detail or ("" if measured else "not measured")
        return f"{check.name} (required {check.required}{measured}{'; ' * bool(detail)}{detail})"
    first, worst = check.groups[0], check.measured
    both = (read_both_ways(first.group, first.value, worst) if first.value and worst
            and math.isclose(first.value * worst, 1) else "")
    apart = ""
    if worst is not None and not both and first.value is not None and not math.isclose(
            abs(first.value), worst):
        # The largest figure is of a group listed apart (not a finding), not of one here:
        # said after the groups, not as the threshold's figure (an independent probe's
        # refusal led with 1.835, a group needing no waiver, then named another at 1.258).
        measured, apart = "", (f"the largest figure measured, {check.measured_text(4, 'g')}, "
                               "is of a group that is not a finding (on the model card)")
    note = ("" if check.trained_threshold is None
            else board_note(check.name, check.trained_threshold))
    parts = "; ".join(part for part in (both, groups_text(check.groups, SHOWN), apart, note)
                      if part)
    return f"{check.name} (required {check.required}{measured}; {parts})"


def not_approved(missing: Sequence[ThresholdCheck]) -> str:
    """The refusal of an approval that does not waive every threshold missed: how many,
    one line for each (`describe`), and how to waive them."""
    count = f"{len(missing)} acceptance threshold{'s' * (len(missing) != 1)}"
    return "\n".join([f"not approved: the version does not meet {count}:",
                      *(f"- {describe(check)}" for check in missing), WAIVE])
