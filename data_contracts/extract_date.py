"""The extract date when none is given: the latest date of the rows that break no rule,
and a warning when that date stands alone, after weeks in which no feed holds a date.

The feed specification settles the default ("the latest ``referral_date``,
``recorded_date``, ``event_date`` or ``outcome_date`` in the extract that is not after
today"), so one mistyped row (2026 for 2024) moves the extract date by years, and every
referral whose 365-day follow-up ends before it counts as complete: those without an
outcome would be trained on as negatives. Such a date is still the default, as the
specification says, and the commands say what they saw (`lonely_date_warning`): where
the lone rows are, the silence before them, and how many referrals the date makes
complete.
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
from data_contracts.vocab import LABEL_WINDOW_DAYS, OUTCOMES, REFERRALS

__all__ = ["InferredDate", "infer_extract_date", "referral_dates"]

# The latest date stands alone when its few dated values (fewer than a thousandth of the
# extract's, at least 5, at most 50: LATEST_ROWS) come after a silence in which no feed
# holds any date, and the silence is long: QUIET_DAYS or more whatever the extract's
# volume, or SILENT_DAYS or more where the rest of the extract's usual volume (its dated
# values in the VOLUME_DAYS up to the silence) would have put EXPECTED_VALUES or more in
# it. A hub's feeds together hold records every few days; a month of silence in an
# extract holding hundreds of dates a day, before its latest few rows, is a date to
# check, not a conclusion. A sparse extract's month of silence is not judged (a test
# extract of a referral a week), nor a tiny extract.
LATEST_ROWS = (5, 50)
QUIET_DAYS = 90
SILENT_DAYS = 28
VOLUME_DAYS = 90
EXPECTED_VALUES = 100


@dataclass(frozen=True)
class InferredDate:
    """The extract date from the data, and the warning when it stands alone (else None)."""

    day: dt.date
    warning: str | None = None


def referral_dates(referrals: pd.DataFrame) -> pd.Series:
    """``referral_date`` of referrals by ``referral_id``, for the outcomes' rules."""
    return referrals.set_index("referral_id")["referral_date"]


def infer_extract_date(parsed: Mapping[str, ParsedFeed], today: dt.date | None = None, *,
                       passing: Mapping[str, np.ndarray] | None = None) -> InferredDate:
    """The latest date of the rows that break no rule with today as the extract date (today
    when there is none): a row quarantined for any reason never sets it.

    Each feed is checked with today as its extract date (`check_provisionally`), keeping
    the failures that cannot change with the extract date for `check_feed`, which then
    checks only the rules that can: one pass over the rules, as with a date given. The
    latest date is each column's maximum; only then is each column asked how many of its
    dates fall in the `SILENT_DAYS` up to it (a comparison over the column the parse made,
    no copy), and only an extract with few dates there is looked at further.
    ``passing``: the masks of the feeds already checked so (by the threads that parsed
    them), which are not checked again.
    """
    today = today or dt.date.today()
    columns: list[_DateColumn] = []
    dates = None
    for feed, parsed_feed in parsed.items():
        passes = (passing or {}).get(feed)
        if passes is None:
            schema = feed_schema(feed, extract_date=today,
                                 referral_dates=dates if feed == OUTCOMES else None)
            passes = check_provisionally(parsed_feed, schema)
        typed = parsed_feed.typed
        if feed == REFERRALS:
            dates = referral_dates(typed.loc[passes, ["referral_id", "referral_date"]])
        columns += [_DateColumn(f"{feed}.{name}", typed[name].to_numpy(), np.asarray(passes))
                    for name in typed.columns if typed[name].dtype == DATE]
    found = [latest for column in columns if (latest := column.latest()) is not None]
    if not found:
        return InferredDate(today)
    day = max(found)
    referral_days = None if dates is None else dates.to_numpy()
    return InferredDate(day.date(), lonely_date_warning(day, columns, referral_days))


@dataclass(frozen=True)
class _DateColumn:
    """One date column of a feed as parsed, and which of its rows break no rule."""

    name: str  # feed.column
    days: np.ndarray  # datetime64, NaT where empty
    passing: np.ndarray  # bool per row

    def latest(self) -> pd.Timestamp | None:
        # Empty cells left out: numpy's max of an array holding NaT is NaT, which left out
        # every recorded_date of a feed with one empty.
        kept = self.days[self.passing & ~np.isnat(self.days)]
        return pd.Timestamp(kept.max()) if len(kept) else None

    def counted(self, since: pd.Timestamp) -> int:
        """How many of its passing dates are after ``since``."""
        return int(np.count_nonzero(self.passing & (self.days > since.to_datetime64())))

    def dated(self) -> int:
        return int(np.count_nonzero(self.passing & ~np.isnat(self.days)))

    def latest_values(self, n: int) -> np.ndarray:
        """Its ``n`` latest passing dates (fewer when it has fewer), in no order."""
        kept = self.days[self.passing & ~np.isnat(self.days)]
        return kept if len(kept) <= n else np.partition(kept, len(kept) - n)[len(kept) - n:]


@dataclass(frozen=True)
class _Silence:
    """The latest few dated values of an extract, after days in which no feed has a date."""

    tail: pd.DataFrame  # the values after the silence: ``day`` and ``column``
    rest_ends: pd.Timestamp  # the latest date before it
    per_day: float  # the rest's dated values a day in the `VOLUME_DAYS` up to its end

    @property
    def days(self) -> int:
        return int((self.tail["day"].min() - self.rest_ends).days)

    def is_long(self) -> bool:
        return self.days >= QUIET_DAYS or (
            self.days >= SILENT_DAYS and self.per_day * self.days >= EXPECTED_VALUES)


def lonely_date_warning(day: pd.Timestamp, columns: list[_DateColumn],
                        referral_days: np.ndarray | None = None) -> str | None:
    """The warning when the latest date, ``day``, stands alone: fewer than a thousandth of
    the dated values (at least 5, at most 50) follow a long silence (`_Silence.is_long`).
    ``referral_days``: the accepted referrals' dates, to count those the date makes
    complete."""
    recent = day - pd.Timedelta(days=SILENT_DAYS)
    if sum(column.counted(recent) for column in columns) >= LATEST_ROWS[1]:
        return None  # the usual case, decided without counting every dated value
    dated = sum(column.dated() for column in columns)
    rows = min(max(LATEST_ROWS[0], dated // 1000), LATEST_ROWS[1])
    if dated <= rows:  # a tiny extract is not judged
        return None
    latest = pd.concat([pd.DataFrame({"day": column.latest_values(rows), "column": column.name})
                        for column in columns], ignore_index=True)
    latest = latest.sort_values("day", ascending=False, kind="stable", ignore_index=True)
    silence = _longest_silence(latest, columns, rows)
    return None if silence is None else _warning(day, silence, referral_days)


def _longest_silence(latest: pd.DataFrame, columns: list[_DateColumn],
                     rows: int) -> _Silence | None:
    """The long silence with the most values after it (fewer than ``rows``), or None.
    ``latest``: at least the ``rows`` latest dated values, latest first."""
    for alone in range(min(rows - 1, len(latest) - 1), 0, -1):
        tail, rest_ends = latest["day"].iloc[alone - 1], latest["day"].iloc[alone]
        if (tail - rest_ends).days < SILENT_DAYS:
            continue
        since = rest_ends - pd.Timedelta(days=VOLUME_DAYS)
        usual = sum(column.counted(since) for column in columns) - alone
        silence = _Silence(latest.iloc[:alone], rest_ends, usual / VOLUME_DAYS)
        if silence.is_long():
            return silence
    return None


def _warning(day: pd.Timestamp, silence: _Silence,
             referral_days: np.ndarray | None) -> str:
    """What the commands say of a latest date that stands alone: where its rows are, how
    long the silence before them, and what taking it as the extract date does."""
    alone, rest_ends = len(silence.tail), silence.rest_ends.date()
    where = "; ".join(_rows_of(str(column), dates["day"])
                      for column, dates in silence.tail.groupby("column", sort=False))
    usual = (f" (the rest holds about {silence.per_day:,.0f} dated values a day)"
             if silence.per_day >= 1 else "")
    completes = 0
    if referral_days is not None:
        follow_up = referral_days + np.timedelta64(LABEL_WINDOW_DAYS, "D")
        completes = int(np.count_nonzero((follow_up > silence.rest_ends.to_datetime64())
                                         & (follow_up <= day.to_datetime64())))
    noun = "value is" if alone == 1 else "values are"
    return (f"the extract date {day.date()} was taken from the data (its latest date), but "
            f"it stands alone: only {alone} dated {noun} after {rest_ends}, where the rest of "
            f"the extract ends, {(day - silence.rest_ends).days} days earlier: {where}; no "
            f"feed holds a date in the {silence.days - 1} days between{usual}. If the extract "
            f"was taken earlier, give --extract-date (--extract-date {rest_ends} if the rest "
            f"is complete): with {day.date()}, {completes:,} more referrals count as having "
            f"their {LABEL_WINDOW_DAYS}-day follow-up complete, and those without an outcome "
            "are trained on as negatives.")


def _rows_of(column: str, days: pd.Series) -> str:
    """``events_police.event_date 2026-09-01 (1 row)``: a column's values after a silence."""
    first, last = days.min().date(), days.max().date()
    dates = f"{first}" if first == last else f"{first} to {last}"
    return f"{column} {dates} ({len(days)} row{'s' if len(days) != 1 else ''})"
