"""What a score of an extract is told about agencies whose records arrive late, or that
stopped recording: `feed_notices`, each applying to the referrals dated from a day on.

A feed that stopped keeps every later referral from its records, and nothing else shows
it: older records stay held, so the agency is not "not seen" (an independent probe's
health feed, silent for its last four months, lowered the band of 23.5% of the last
month's referrals, and no rating said so). An agency is silent for a referral when it
recorded nothing from the day after its latest record to the referral's date, at least
`MIN_SILENT_WEEKS` weeks, though in the same days a year earlier it recorded at least
`MIN_JUDGED_RECORDS`, in most of their weeks: the same days, so a school's summer
holiday, silent every year, is not taken for a stop; weeks, so neither is a weekend or a
term that ended a day earlier; enough records that a handful's absence is not either.
With no records a year earlier to compare with, nothing is said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES, event_feed
from model.late_records import late_in_extract
from model.late_warning import FeedNotice, SilentAgency
from pipelines.timeliness import MIN_JUDGED_RECORDS, day_number, recorded_days

YEAR: Final = 365
# The shortest silence called a stop, in whole weeks: a weekend before the extract date,
# a term that ended a day earlier than the year before (an independent probe's August
# extract: education "stopped" 17 days before it) or a half-term is none.
MIN_SILENT_WEEKS: Final = 4


def _silence_begins(latest: int, year_before: np.ndarray, *, extract_day: int) -> int | None:
    """The first referral date from which a silence since `latest` is called a stop: at
    least `MIN_SILENT_WEEKS` weeks after it, and the same days a year earlier held at least
    `MIN_JUDGED_RECORDS` records, in most of their weeks (records at the edges of a
    seasonal gap, a school's first days of term, are no usual flow); None: never by the
    extract date."""
    first = latest + 1 - YEAR  # the first day of the same days a year earlier
    days = np.bincount(year_before - first, minlength=extract_day - YEAR - first + 1)
    weeks_recorded = np.cumsum(np.add.reduceat(days, np.arange(0, len(days), 7)) > 0)
    records = np.cumsum(days)
    for end in range(7 * MIN_SILENT_WEEKS - 1, len(days)):  # the year earlier's last day
        full_weeks = (end + 1) // 7
        if (records[end] >= MIN_JUDGED_RECORDS
                and weeks_recorded[full_weeks - 1] * 2 > full_weeks):
            return first + end + YEAR
    return None


def _silent(agency: str, when: np.ndarray, *, extract_day: int) -> SilentAgency | None:
    """The agency's silence after its latest record, when long enough and the same days a
    year earlier usually held records (`_silence_begins`)."""
    latest = int(when.max())
    year_before = when[(when > latest - YEAR) & (when <= extract_day - YEAR)]
    if len(year_before) < MIN_JUDGED_RECORDS:
        return None
    begins = _silence_begins(latest, year_before, extract_day=extract_day)
    if begins is None:
        return None

    def day(number: int) -> dt.date:
        return dt.date(1970, 1, 1) + dt.timedelta(days=number)

    span = (f"{day(latest + 1 - YEAR):%-d %B %Y} to {day(extract_day - YEAR):%-d %B %Y}")
    return SilentAgency(agency, day(latest).isoformat(), len(year_before), span,
                        day(begins).isoformat())


def silent_in_extract(feeds: Mapping[str, pd.DataFrame], *, extract_date: dt.date
                      ) -> tuple[SilentAgency, ...]:
    """The agencies that recorded nothing for long enough before the extract date that
    a referral went without records they would have recorded (see the module)."""
    extract_day, found = day_number(extract_date), []
    for agency in AGENCIES:
        frame = feeds.get(event_feed(agency))
        if frame is None or not len(frame):
            continue  # shared nothing: said apart (`agencies_without_records`)
        when = recorded_days(frame)[0]
        if (silent := _silent(agency, when, extract_day=extract_day)) is not None:
            found.append(silent)
    return tuple(found)


def feed_notices(feeds: Mapping[str, pd.DataFrame], *, extract_date: dt.date
                 ) -> tuple[FeedNotice, ...]:
    """The late agencies (`model.late_records.late_in_extract`), then the silent ones."""
    return (*late_in_extract(feeds, extract_date=extract_date),
            *silent_in_extract(feeds, extract_date=extract_date))


def applies_to(notices: Sequence[FeedNotice], referral_dates: pd.Series) -> list[np.ndarray]:
    """Per notice, which of the referrals (their dates) it applies to: those dated from its
    day on (every one when it has none)."""
    days = pd.to_datetime(referral_dates).to_numpy().astype("datetime64[D]")
    return [days >= np.datetime64(n.applies_from) if n.applies_from
            else np.ones(len(days), dtype=bool) for n in notices]


def referrals_concerned(notices: tuple[FeedNotice, ...], referral_dates: pd.Series
                        ) -> tuple[int, ...]:
    """Per notice, how many of the referrals (their dates) it applies to (`applies_to`)."""
    return tuple(int(mask.sum()) for mask in applies_to(notices, referral_dates))
