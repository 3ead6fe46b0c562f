"""The warning a score gives when an agency's records arrive late.

Found by `model.late_records.late_in_extract` in the extract scored, or, for a case the
service scores alone, in the extract the model was trained on (kept in its metadata,
`LATE_KEY`). Worded here, apart from the finding (which needs pandas), so the
explanations' modules import no more than they did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from model.sentences import Subject
from pipelines.phrases import AGENCY_LABELS, SUBJECT_PHRASES

# The model metadata's key for the agencies whose records arrived late at training.
LATE_KEY: Final = "late_agencies"


class LateAgency(NamedTuple):
    """An agency whose records arrive late: its delays in words, over the latest
    `latest_days` to the extract date, most of a referral's `window_days` unrecorded;
    `trained_on`: the date of the training extract they arrived late in ("": the extract
    scored)."""

    agency: str
    delays: str
    latest_days: int
    window_days: int
    trained_on: str = ""


def late_warning(late: LateAgency, subject: Subject) -> str:
    """The warning that an agency's records arrive late: its recent records about the
    person had mostly not arrived by the referral date (or, known only at training, may
    not have)."""
    label = AGENCY_LABELS[late.agency]
    named = label.lower()
    delays = f"those recorded in its latest {late.latest_days} days: {late.delays}"
    unseen = (f"most {named} records of the {late.window_days} days before a referral are "
              "not recorded by its date, so this score may miss recent")
    if late.trained_on:
        when = dt.date.fromisoformat(late.trained_on)
        opening = (f"{label} records arrived late in the extract this model was trained on "
                   f"(of {when:%-d %B %Y}; {delays}); if they still do, {unseen}")
    else:
        opening = f"{label} records arrive late in this extract ({delays}): {unseen}"
    return (f"{opening} {named} information about {SUBJECT_PHRASES[subject]} or household. "
            f"Ask {named} about recent events before you decide.")


def trained_late(metadata: Mapping[str, Any]) -> tuple[LateAgency, ...]:
    """The agencies whose records arrived late in a model's training extract (none for a
    version trained before 8 December 2026, which did not record them)."""
    return tuple(LateAgency(**found) for found in metadata.get(LATE_KEY, ()))


def late_metadata(late: tuple[LateAgency, ...], *, extract_date: dt.date) -> dict[str, Any]:
    """The model metadata recording the agencies late in its training extract."""
    return {LATE_KEY: [found._replace(trained_on=extract_date.isoformat())._asdict()
                       for found in late]}
