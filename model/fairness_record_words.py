"""What the fairness audit's recording part says beside a group's finding, when it points
the same way: an agency holding fewer or more records per referral about the group than
about the largest, age for age (`model.fairness_recording`), read by
`model.fairness_summary` beside a miscalibrated group and a group selected apart.
"""

from __future__ import annotations

from typing import Any

from data_contracts.vocab import AGENCY_LABELS
from model.fairness_results import GroupResult


def records_beside(group: GroupResult, recording: dict[str, Any] | None, gap: float) -> str:
    """What the audit's recording part says of a miscalibrated group, when it points the
    same way: fewer records and a predicted risk below the observed rate point to missing
    information, more records and one above it to recording bias (`fairness_recording`).

    Only label bias was named: a health feed recording half as much about Asian subjects,
    found in the same report, stood apart from their under-prediction it explains.
    """
    fewer = gap < 0
    named = _recorded_apart(group, recording, fewer=fewer)
    if not named:
        return ""
    if fewer:
        return (f" {named} held fewer records per referral about them than about the "
                "largest group, age for age: fewer records and a predicted risk below the "
                "observed rate point to missing information (see what the model saw about "
                "each group).")
    return (f" {named} held more records per referral about them than about the largest "
            "group, age for age: more records and a predicted risk above the observed rate "
            "point to recording bias (see what the model saw about each group).")


def _recorded_apart(group: GroupResult, recording: dict[str, Any] | None, *,
                    fewer: bool) -> str:
    """The agencies the audit's recording part found holding fewer (or more) records per
    referral about a one-attribute group than about the largest, named ("" for none)."""
    if recording is None or len(group.attributes) != 1:
        return ""
    [(attribute, value)] = group.attributes.items()
    agencies = [AGENCY_LABELS[r["agency"]] for r in recording["rows"]
                if r["attribute"] == attribute and r["group"] == value and r["differs"]
                and _fewer_records(r) is fewer]
    if not agencies:
        return ""
    return agencies[0] if len(agencies) == 1 else (
        ", ".join(agencies[:-1]) + " and " + agencies[-1])


def records_behind_selection(group: GroupResult, recording: dict[str, Any] | None) -> str:
    """What the recording part says of a group placed in the upper bands more (or less)
    often, when it points the same way: a probe's report found mixed-ethnicity subjects
    selected 1.29 times as often and police recording 2.31 times as much about them, in
    two sentences apart."""
    ratio = group.ratios["selection_rate"]
    if ratio is None or ratio == 1:
        return ""
    more = ratio > 1
    named = _recorded_apart(group, recording, fewer=not more)
    if not named:
        return ""
    return (f" {named} held {'more' if more else 'fewer'} records per referral about them "
            "than about the largest group, age for age, and the model scores from records: the "
            f"{'higher' if more else 'lower'} selection may reflect how often their records "
            "are made as much as their risk (see what the model saw about each group).")


def _fewer_records(row: dict[str, Any]) -> bool | None:
    """Whether a differing recording row holds fewer records than the largest group's
    rate leads one to expect (None: its ratio withheld from publication)."""
    if row.get("few_records"):
        return True
    return None if row["ratio"] is None else bool(row["ratio"] < 1)
