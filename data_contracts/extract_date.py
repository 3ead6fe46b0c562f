"""The extract date when none is given: the latest date of the rows that break no rule,
and a warning when that date stands alone, far after the rest of the extract.

The feed specification settles the default ("the latest ``referral_date``,
``recorded_date``, ``event_date`` or ``outcome_date`` in the extract that is not after
today"), so one mistyped row (2026 for 2024) moves the extract date by years, and every
referral whose 365-day follow-up ends before it counts as complete: those without an
outcome would be trained on as negatives. Such a date is still the default, as the
specification says, and the commands say what they saw (`lonely_date_warning`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data_contracts.checking import ParsedFeed
from data_contracts.quarantining import check_provisionally
from data_contracts.schemas import DATE, feed_schema
from data_contracts.vocab import OUTCOMES, REFERRALS

__all__ = ["InferredDate", "infer_extract_date", "referral_dates"]

# The rest of an extract "ends" at the date of its LATEST_ROWS-th latest dated value
# (a thousandth of its dated values, at least 5 and at most 50): when that is more than
# QUIET_DAYS before the latest date, the latest stands alone. A hub's extract has records
# in the weeks before it was taken; a three-month silence before its latest few rows
# is a date to check, not a conclusion.
LATEST_ROWS = (5, 50)
QUIET_DAYS = 90


@dataclass(frozen=True)
class InferredDate:
    """The extract date from the data, and the warning when it stands alone (else None)."""

    day: dt.date
    warning: str | None = None


def referral_dates(referrals: pd.DataFrame) -> pd.Series:
    """``referral_date`` of referrals by ``referral_id``, for the outcomes' rules."""
    return referrals.set_index("referral_id")["referral_date"]


def infer_extract_date(parsed: Mapping[str, ParsedFeed],
                       today: dt.date | None = None) -> InferredDate:
    """The latest date of the rows that break no rule with today as the extract date (today
    when there is none): a row quarantined for any reason never sets it.

    Each feed is checked with today as its extract date (`check_provisionally`), keeping
    the failures that cannot change with the extract date for `check_feed`, which then
    checks only the rules that can: one pass over the rules, as with a date given.
    """
    today = today or dt.date.today()
    latest: list[tuple[pd.Timestamp, str]] = []  # the latest values of each date column
    dated = 0
    dates = None
    for feed, parsed_feed in parsed.items():
        schema = feed_schema(feed, extract_date=today,
                             referral_dates=dates if feed == OUTCOMES else None)
        passing = check_provisionally(parsed_feed, schema)
        typed = parsed_feed.typed
        if feed == REFERRALS:
            dates = referral_dates(typed.loc[passing, ["referral_id", "referral_date"]])
        for column in typed.columns:
            if typed[column].dtype == DATE:
                values = _latest_values(typed[column][passing].to_numpy())
                dated += values.dated
                latest += [(pd.Timestamp(day), f"{feed}.{column}") for day in values.latest]
    if not latest:
        return InferredDate(today)
    latest.sort(key=lambda item: item[0], reverse=True)
    return InferredDate(latest[0][0].date(), lonely_date_warning(latest, dated))


@dataclass(frozen=True)
class _Latest:
    dated: int  # how many values hold a date
    latest: np.ndarray  # the latest `LATEST_ROWS[1]` of them (or all), in no order


def _latest_values(days: np.ndarray) -> _Latest:
    """A date column's count of dates and its latest ones: a partition, a quarter of the
    time of `Series.nlargest` (3.8 million records' dates are read whenever the extract
    date is not given)."""
    days = days[~np.isnat(days)]
    keep = min(LATEST_ROWS[1], len(days))
    return _Latest(len(days), np.partition(days, len(days) - keep)[len(days) - keep:]
                   if keep else days)


def lonely_date_warning(latest: list[tuple[pd.Timestamp, str]], dated: int) -> str | None:
    """The warning when the latest date stands alone: fewer than a thousandth of the dated
    values (at least 5, at most 50) fall in the `QUIET_DAYS` up to it, and the rest end
    more than `QUIET_DAYS` before it. ``latest``: (date, feed.column), latest first."""
    rows = min(max(LATEST_ROWS[0], dated // 1000), LATEST_ROWS[1])
    if len(latest) < rows + 1:
        return None
    day, where = latest[0]
    quiet_from = day - pd.Timedelta(days=QUIET_DAYS)
    alone = [item for item in latest if item[0] > quiet_from]
    if len(alone) >= rows:
        return None
    rest = latest[len(alone)][0]
    noun = "value is" if len(alone) == 1 else "values are"
    return (f"the extract date {day.date()} was taken from the data (the latest date, in "
            f"{where}), but only {len(alone)} dated {noun} in the {QUIET_DAYS} days up to it; "
            f"the rest of the extract ends on {rest.date()}, {(day - rest).days} days earlier. "
            "If the extract was taken earlier, give --extract-date: referrals whose 365-day "
            "follow-up ends before the extract date count as complete, and those without an "
            "outcome are trained on as negatives.")
