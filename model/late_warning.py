"""The warnings a score gives when an agency's records arrive late, or stopped arriving.

Found by `model.feed_notices.feed_notices` in the extract scored, or, for a case the
service scores alone, in the extract the model was trained on (the late agencies, kept in
its metadata, `LATE_KEY`). Each applies to the referrals dated from `applies_from` on
(every referral when empty): lateness judged on the latest days tells nothing of a
referral years before them, and a feed's silence nothing of a referral before it began.
Worded here, apart from the finding (which needs pandas), so the explanations' modules
import no more than they did.
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
    applies_from: str = ""  # ISO date; "" for every referral


class SilentAgency(NamedTuple):
    """An agency that recorded nothing after `latest` (ISO date) though it recorded
    `year_before` records in the same days a year earlier (`span`, in words)."""

    agency: str
    latest: str
    year_before: int
    span: str
    applies_from: str


FeedNotice = LateAgency | SilentAgency


def _day(iso: str) -> str:
    return f"{dt.date.fromisoformat(iso):%-d %B %Y}"


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
        opening = (f"{label} records arrived late in the extract this model was trained on "
                   f"(of {_day(late.trained_on)}; {delays}); if they still do, {unseen}")
    else:
        opening = f"{label} records arrive late in this extract ({delays}): {unseen}"
    return (f"{opening} {named} information about {SUBJECT_PHRASES[subject]} or household. "
            f"Ask {named} about recent events before you decide.")


def silent_warning(silent: SilentAgency, subject: Subject) -> str:
    """The warning that an agency recorded nothing for months before the referral: its
    feed appears to have stopped."""
    label = AGENCY_LABELS[silent.agency]
    named = label.lower()
    return (f"No {named} records in this extract were recorded after {_day(silent.latest)}, "
            f"though {named} recorded {silent.year_before:,} in the same days a year earlier "
            f"({silent.span}): its feed appears to have stopped, so this score could not see "
            f"{named} information about {SUBJECT_PHRASES[subject]} or household from after "
            f"that date. Ask {named} about recent events before you decide.")


def notice_warning(notice: FeedNotice, subject: Subject) -> str:
    """The warning of a notice, whichever it is."""
    if isinstance(notice, SilentAgency):
        return silent_warning(notice, subject)
    return late_warning(notice, subject)


def trained_late(metadata: Mapping[str, Any]) -> tuple[LateAgency, ...]:
    """The agencies whose records arrived late in a model's training extract, applying to
    every case (none for a version trained before 8 December 2026, which did not record
    them)."""
    return tuple(LateAgency(**found)._replace(applies_from="")
                 for found in metadata.get(LATE_KEY, ()))


def late_metadata(notices: tuple[FeedNotice, ...], *, extract_date: dt.date
                  ) -> dict[str, Any]:
    """The model metadata recording the agencies late in its training extract."""
    return {LATE_KEY: [found._replace(trained_on=extract_date.isoformat())._asdict()
                       for found in notices if isinstance(found, LateAgency)]}


def notice_note(notice: FeedNotice, referrals: int, *, explained: bool = True,
                training: bool = False) -> str:
    """The closing line a command prints of a notice: which referrals it concerned (the
    `referrals` dated from its day on), whether or not any row carries its warning."""
    label = AGENCY_LABELS[notice.agency]
    named = label.lower()
    verb = "went" if training else "were scored"
    since = f"dated from {_day(notice.applies_from)}" if notice.applies_from else "of it"
    told = ("; each one's warnings say so" if explained and not training else
            "; the model card names it, and each case the service scores with this version "
            "is warned of it" if training and isinstance(notice, LateAgency) else "")
    if isinstance(notice, SilentAgency):
        return (f"No {named} records were recorded after {_day(notice.latest)}, though "
                f"{notice.year_before:,} were in the same days a year earlier "
                f"({notice.span}): {named}'s feed appears to have stopped. The "
                f"{referrals:,} referrals {since} {verb} without its records since{told}.")
    return (f"{label} records arrive late in this extract (those recorded in its latest "
            f"{notice.latest_days} days: {notice.delays}). The {referrals:,} referrals "
            f"{since} {verb} without most of their recent {named} records{told}.")
