"""What a score of an extract is told about agencies whose records arrive late, or that
stopped recording: `feed_notices`, each applying to the referrals dated from a day on.

A feed that stopped keeps every later referral from its records, and nothing else shows
it: older records stay held, so the agency is not "not seen" (an independent probe's
health feed, silent for its last four months, lowered the band of 23.5% of the last
month's referrals, and no rating said so). An agency is silent for a referral when it
recorded nothing from the day after its latest record to the referral's date, though in
the same days a year earlier it recorded at least `MIN_JUDGED_RECORDS`: the same days,
so a school's summer holiday, silent every year, is not taken for a stop, and enough of
them that a handful of records' absence is not either. With no records a year earlier
to compare with, nothing is said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES, event_feed
from model.late_records import late_in_extract
from model.late_warning import FeedNotice, SilentAgency
from pipelines.timeliness import MIN_JUDGED_RECORDS, day_number, recorded_days

YEAR = 365


def _silent(agency: str, when: np.ndarray, *, extract_day: int) -> SilentAgency | None:
    """The agency's silence after its latest record, when the same days a year earlier
    held at least `MIN_JUDGED_RECORDS` records by the extract date."""
    latest = int(when.max())
    year_before = np.sort(when[(when > latest - YEAR) & (when <= extract_day - YEAR)])
    if len(year_before) < MIN_JUDGED_RECORDS:
        return None
    # A referral dated D went without the records of latest+1 .. D; a year earlier those
    # days held MIN_JUDGED_RECORDS records once D reached this day.
    begins = int(year_before[MIN_JUDGED_RECORDS - 1]) + YEAR

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


def referrals_concerned(notices: tuple[FeedNotice, ...], referral_dates: pd.Series
                        ) -> tuple[int, ...]:
    """Per notice, how many of the referrals (their dates) are dated from its day on."""
    days = pd.to_datetime(referral_dates).to_numpy().astype("datetime64[D]")
    return tuple(int((days >= np.datetime64(n.applies_from)).sum()) if n.applies_from
                 else len(days) for n in notices)
