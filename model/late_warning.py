"""The warning a score gives when an agency's records arrive late in the extract scored.

Found by `model.late_records.late_in_extract`; worded here, apart from the finding (which
needs pandas), so the explanations' modules import no more than they did.
"""

from __future__ import annotations

from typing import NamedTuple

from model.sentences import Subject
from pipelines.phrases import AGENCY_LABELS, SUBJECT_PHRASES


class LateAgency(NamedTuple):
    """An agency whose records arrive late: its delays in words, over the latest
    `latest_days` to the extract date, most of a referral's `window_days` unrecorded."""

    agency: str
    delays: str
    latest_days: int
    window_days: int


def late_warning(late: LateAgency, subject: Subject) -> str:
    """The warning that an agency's records arrive late: its recent records about the
    person had mostly not arrived by the referral date."""
    label = AGENCY_LABELS[late.agency]
    named = label.lower()
    return (f"{label} records arrive late in this extract (those recorded in its latest "
            f"{late.latest_days} days: {late.delays}): most {named} records of the "
            f"{late.window_days} days before a referral are not recorded by its date, so "
            f"this score may miss recent {named} information about "
            f"{SUBJECT_PHRASES[subject]} or household. Ask {named} about recent events "
            "before you decide.")
