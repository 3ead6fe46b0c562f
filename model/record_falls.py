"""Quarters in which an agency's records fell far below its own usual level.

Reach counts any record ever held, so it hardly moves when a feed stops: older records
stay held for years. The number of records an agency recorded in each quarter falls at
once, so the partnership report names each quarter of the referral period (from the
first referral's quarter to the extract date's) in which an agency that shared records
recorded none, or fewer than `FALL_SHARE` of its usual level: the median of the same
quarter of the year over the period when it holds at least `SEASONAL_YEARS` of them
(schools record little in some terms), else the median of every quarter. A quarter the
extract covers in part is judged on the days it covers: the extract date's, and the first
referral's when the agency recorded nothing in an earlier quarter (its records may start
with the extract: a probe's extract, starting in December, had every agency's first
quarter named a fall). A quarter covered in part at its start is left out of the usual
level, since records recorded before the first referral still count in it.
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


def _covered(period: pd.Period, *, first: dt.date | None, extract_date: dt.date) -> float:
    """The share of the quarter's days from `first` (the quarter's start when None or
    earlier) to the extract date (1 for a whole past quarter)."""
    start, end = period.start_time.date(), period.end_time.date()
    since = max(start, first) if first is not None else start
    days = (min(end, extract_date) - since).days + 1
    return max(days, 0) / ((end - start).days + 1)


def _usual(per: list[dict[str, Any]]) -> None:
    """Each quarter's usual level (records per whole quarter) and the words for it."""
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
    partial += ", judged on the days covered" if partial else ""
    return (f"{name}: {row['records']:,} records recorded in {first_q}{partial}, under "
            f"{FALL_SHARE:.0%} of {row['usual_words']}")


def _runs(per: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The quarters named: consecutive quarters without any record as one run, every
    other quarter below `FALL_SHARE` of its usual level on its own."""
    runs: list[list[dict[str, Any]]] = []
    for i, row in enumerate(per):
        none = row["records"] == 0
        expected = FALL_SHARE * row["usual"] * row["covered"]
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
                 extract_date: dt.date, shared: Sequence[str]) -> list[dict[str, Any]]:
    """The falls in each sharing agency's records over the referral period, from the
    first referral's quarter (None: no referral, no period) to the extract date's.

    `records` has ``agency``, ``quarter`` and ``records`` (recorded in the quarter; a
    quarter absent or empty has none). Each entry: ``agency``, ``from_quarter``,
    ``to_quarter``, ``records`` (over the entry's quarters), ``usual_quarter_records``
    (of its first quarter) and ``text``.
    """
    if first_referral is None:
        return []
    period = pd.period_range(pd.Period(first_referral, freq="Q"),
                             pd.Period(extract_date, freq="Q"), freq="Q")
    last = str(period[-1])
    counts = records.assign(records=records["records"].fillna(0)).groupby(
        ["agency", "quarter"])["records"].sum()
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
                          "text": f"{agency.replace('_', ' ')}: no records recorded from "
                                  f"{per[0]['quarter']} to the extract date "
                                  f"({extract_date.isoformat()}), none in the referral "
                                  "period"})
            continue
        _usual(per)
        falls += [{"agency": agency, "from_quarter": run[0]["quarter"],
                   "to_quarter": run[-1]["quarter"],
                   "records": sum(row["records"] for row in run),
                   "usual_quarter_records": run[0]["usual"],
                   "text": _text(agency, run, last=last, extract_date=extract_date)}
                  for run in _runs(per)]
    return falls
