"""Quarters in which an agency's records fell far below its own usual level.

Reach counts any record ever held, so it hardly moves when a feed stops: older records
stay held for years. The number of records an agency recorded in each quarter falls at
once, so the partnership report names each quarter of the referral period (from the
first referral's quarter to the extract date's) in which an agency that shared records
recorded none, or fewer than `FALL_SHARE` of its usual level: the median of the same
quarter of the year over the period when it holds at least `SEASONAL_YEARS` of them
(schools record little in some terms), else the median of every quarter. The extract
date's quarter, covered in part, is judged against the same days (the same calendar span,
`same_days_records`) of the same quarter in earlier years of the period, when there is
one: records do not arrive evenly (a school's termly return is dated at the term's end,
and a probe's October and November 2026, 2,668 education records against 2,282 a year
before, were named a fall when judged on the share of the quarter's days). With no
earlier year, and for the first referral's quarter when the agency recorded nothing in an
earlier quarter (its records may start with the extract: a probe's extract, starting in
December, had every agency's first quarter named a fall), a part-quarter is judged on
the days it covers. A quarter covered in part at its start is left out of the usual
level, since records recorded before the first referral still count in it.

A feed that stopped (no records from some quarter to the extract date) and records that
arrive late both keep recent reach low; `model.late_records.late_or_stopped` tells them
apart in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import pandas as pd

# A quarter with fewer records than this share of the agency's usual level is named.
FALL_SHARE: Final = 0.5
# The fewest quarters of one quarter of the year (Q1, ...) the usual level is read from.
SEASONAL_YEARS: Final = 3


def records_per_day(recorded: pd.DataFrame) -> pd.DataFrame:
    """Per agency and day, the records recorded that day (``agency``, ``day``,
    ``records``; the event date when a record has no recorded date), from the records'
    `pipelines.timeliness.record_delays`."""
    return (recorded.assign(day=pd.to_datetime(recorded["recorded_date"]).dt.normalize())
            .groupby(["agency", "day"]).size().rename("records").reset_index())


def records_by_quarter(per_day: pd.DataFrame) -> pd.DataFrame:
    """`records_per_day` summed by calendar quarter (``agency``, ``quarter``, ``records``)."""
    quarter = pd.to_datetime(per_day["day"]).dt.to_period("Q").astype(str)
    return (per_day.assign(quarter=quarter).groupby(["agency", "quarter"])["records"]
            .sum().reset_index())


def same_days_records(per_day: pd.DataFrame, *, extract_date: dt.date) -> pd.DataFrame:
    """Per agency and year, the records recorded in the extract date's quarter of the year
    from its first day to the extract date's month and day (the same calendar span; to 28
    February of other years for a 29 February): ``agency``, ``quarter``, ``records``.
    `per_day` as `records_per_day` gives it."""
    days = pd.to_datetime(per_day["day"])
    of_year = pd.Period(extract_date, freq="Q").quarter
    within = ((days.dt.quarter == of_year)
              & (days.dt.month * 100 + days.dt.day
                 <= extract_date.month * 100 + extract_date.day))
    return records_by_quarter(per_day.loc[within.to_numpy()])


def _covered(period: pd.Period, *, first: dt.date | None, extract_date: dt.date) -> float:
    """The share of the quarter's days from `first` (the quarter's start when None or
    earlier) to the extract date (1 for a whole past quarter)."""
    start, end = period.start_time.date(), period.end_time.date()
    since = max(start, first) if first is not None else start
    days = (min(end, extract_date) - since).days + 1
    return max(days, 0) / ((end - start).days + 1)


def _usual(per: list[dict[str, Any]], same_days: pd.Series, *, extract_date: dt.date) -> None:
    """Each quarter's usual level (records per whole quarter), the words for it, and the
    records it leads one to expect in the quarter (`expected`; over the same days of
    earlier years for a quarter the extract date cuts, `_same_days`)."""
    pace = pd.Series([row["records"] / row["covered"] for row in per])
    of_year = pd.Series([row["period"].quarter for row in per])
    # A quarter covered from the first referral only also holds the records recorded
    # before it: its pace would be read too high.
    basis = pd.Series([not row["starts_in_part"] for row in per])
    basis = basis if basis.any() else ~basis
    for row, quarter in zip(per, of_year, strict=True):
        same = pace[basis & (of_year == quarter)]
        seasonal = len(same) >= SEASONAL_YEARS
        row["usual"] = float((same if seasonal else pace[basis]).median())
        row["usual_words"] = (f"its median Q{quarter} ({row['usual']:,.0f})" if seasonal
                              else f"its median quarter ({row['usual']:,.0f})")
        row["expected"], row["judged_on"] = row["usual"] * row["covered"], (
            "whole quarter" if row["covered"] == 1 else "days covered")
        row["days_words"] = ""
    _same_days(per, basis, same_days, extract_date=extract_date)


def _same_days(per: list[dict[str, Any]], basis: pd.Series, same_days: pd.Series, *,
               extract_date: dt.date) -> None:
    """The extract date's quarter, when covered in part from its start, judged against the
    median of the same days of the same quarter in earlier years of the period (whole
    quarters, `basis`); left on the days covered when there is none."""
    row = per[-1]
    if row["covered"] == 1 or row["starts_in_part"]:
        return
    of_year = row["period"].quarter
    earlier = [str(p["period"]) for p, whole in zip(per[:-1], basis.iloc[:-1], strict=True)
               if whole and p["period"].quarter == of_year]
    if not earlier:
        row["days_words"] = f" (no earlier year's Q{of_year} to compare the same days with)"
        return
    row["expected"] = float(pd.Series([same_days.get(q, 0) for q in earlier]).median())
    row["judged_on"] = "same days"
    start = row["period"].start_time.date()
    span = f"{start.day} {start:%B} to {extract_date.day} {extract_date:%B}"
    years = [q[:4] for q in earlier]
    years_words = (years[0] if len(years) == 1
                   else f"{', '.join(years[:-1])} and {years[-1]}")
    row["usual_words"] = (f"its median over the same days ({span}) of Q{of_year} in "
                          f"{years_words} ({row['expected']:,.0f})")


def _text(agency: str, run: list[dict[str, Any]], *, last: str,
          extract_date: dt.date) -> str:
    name = agency.replace("_", " ")
    first_q, last_q = run[0]["quarter"], run[-1]["quarter"]
    if all(row["records"] == 0 for row in run):
        if last_q == last:
            return (f"{name}: no records recorded from {first_q} to the extract date "
                    f"({extract_date.isoformat()})")
        span = first_q if first_q == last_q else f"{first_q} to {last_q}"
        return f"{name}: no records recorded in {span}"
    row = run[0]
    partial = ""
    if row["starts_in_part"]:
        partial = f" from the first referral ({row['first'].isoformat()})"
    if row["period"].end_time.date() > extract_date:
        partial += f" up to the extract date ({extract_date.isoformat()})"
    if row["judged_on"] == "days covered":
        partial += f", judged on the days covered{row['days_words']}"
    return (f"{name}: {row['records']:,} records recorded in {first_q}{partial}, under "
            f"{FALL_SHARE:.0%} of {row['usual_words']}")


def _runs(per: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The quarters named: consecutive quarters without any record as one run, every
    other quarter below `FALL_SHARE` of its usual level on its own."""
    runs: list[list[dict[str, Any]]] = []
    for i, row in enumerate(per):
        none = row["records"] == 0
        expected = FALL_SHARE * row["expected"]
        # Under one record expected (a quarter of a few days, a small agency), none is news
        # of nothing: it is no fall.
        if row["records"] >= expected or expected < 1:
            continue
        if none and runs and runs[-1][-1]["records"] == 0 and runs[-1][-1] is per[i - 1]:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _quarters(counts: pd.Series, agency: str, period: pd.PeriodIndex, *,
              first_referral: dt.date, extract_date: dt.date) -> list[dict[str, Any]]:
    """The agency's records in each quarter of the period, and the share of it covered:
    from the first referral unless the agency recorded something in an earlier quarter
    (then its feed reaches back before the extract's referrals)."""
    recorded = counts.get(agency, pd.Series(dtype=float))
    earlier = bool(recorded[[q < str(period[0]) for q in recorded.index]].sum())
    first = None if earlier else first_referral
    rows = []
    for p in period:
        covered = _covered(p, first=first, extract_date=extract_date)
        rows.append({"quarter": str(p), "period": p, "covered": covered, "first": first,
                     "records": int(recorded.get(str(p), 0)),
                     "starts_in_part": first is not None and first > p.start_time.date()})
    return rows


def record_falls(records: pd.DataFrame, *, first_referral: dt.date | None,
                 extract_date: dt.date, shared: Sequence[str],
                 same_days: pd.DataFrame) -> list[dict[str, Any]]:
    """The falls in each sharing agency's records over the referral period, from the
    first referral's quarter (None: no referral, no period) to the extract date's.

    `records` has ``agency``, ``quarter`` and ``records`` (recorded in the quarter; a
    quarter absent or empty has none); `same_days` the same columns, from the same records
    (`same_days_records`). Each entry: ``agency``, ``from_quarter``, ``to_quarter``,
    ``records`` (over the entry's quarters), ``usual_quarter_records`` (of its first
    quarter), ``judged_on`` (``whole quarter``, ``days covered`` or ``same days``: of
    earlier years), ``expected_records`` (at the usual level, over what it was judged
    on) and ``text``.
    """
    if first_referral is None:
        return []
    period = pd.period_range(pd.Period(first_referral, freq="Q"),
                             pd.Period(extract_date, freq="Q"), freq="Q")
    last = str(period[-1])
    counts, spans = (frame.assign(records=frame["records"].fillna(0)).groupby(
        ["agency", "quarter"])["records"].sum() for frame in (records, same_days))
    falls: list[dict[str, Any]] = []
    for agency in shared:
        per = _quarters(counts, agency, period, first_referral=first_referral,
                        extract_date=extract_date)
        if not any(row["records"] for row in per):
            if not counts.get(agency, pd.Series(dtype=float)).sum():
                continue  # nothing recorded at all: nothing to compare with
            # Records shared, all recorded before the period: the feed stopped before it.
            falls.append({"agency": agency, "from_quarter": per[0]["quarter"],
                          "to_quarter": last, "records": 0, "usual_quarter_records": None,
                          "judged_on": None, "expected_records": None,
                          "text": f"{agency.replace('_', ' ')}: no records recorded from "
                                  f"{per[0]['quarter']} to the extract date "
                                  f"({extract_date.isoformat()}), none in the referral "
                                  "period"})
            continue
        _usual(per, spans.get(agency, pd.Series(dtype=float)), extract_date=extract_date)
        falls += [{"agency": agency, "from_quarter": run[0]["quarter"],
                   "to_quarter": run[-1]["quarter"],
                   "records": sum(row["records"] for row in run),
                   "usual_quarter_records": run[0]["usual"],
                   "judged_on": run[0]["judged_on"],
                   "expected_records": sum(row["expected"] for row in run),
                   "text": _text(agency, run, last=last, extract_date=extract_date)}
                  for run in _runs(per)]
    return falls


def latest_recorded(per_day: pd.DataFrame) -> dict[str, dt.date]:
    """Per agency with records, the latest day it recorded one (`records_per_day`)."""
    latest = pd.to_datetime(per_day["day"]).groupby(per_day["agency"]).max()
    return {str(agency): day.date() for agency, day in latest.items()}
