"""The extract date's quarter, covered in part, judged against the same days of earlier
years: records that cluster (a school's termly return, dated at the term's end) are not
read as a fall when the extract stops before the cluster."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from model.record_falls import record_falls, records_by_quarter, same_days_records

EXTRACT = dt.date(2026, 11, 30)
TERM_ENDS = ("03-27", "07-22", "12-18")  # each term's attendance return is dated here


def _education(*, first: dt.date, autumn_2026: int) -> pd.DataFrame:
    """Education's records per day from `first` to the extract date: 37 each weekday
    (incidents, exclusions) and a termly return of 12,000 at the end of each term (none in
    Q2); weekdays of October and November 2026 share `autumn_2026` records."""
    days = pd.bdate_range(first, EXTRACT)
    records = pd.Series(37, index=days)
    autumn = (days >= "2026-10-01") & (days <= "2026-11-30")
    records[autumn] = 0
    records.iloc[records.index.get_indexer(days[autumn])[: autumn_2026 % autumn.sum()]] = 1
    records[autumn] += autumn_2026 // autumn.sum()
    ends = [pd.Timestamp(f"{year}-{end}") for year in range(first.year, 2027)
            for end in TERM_ENDS]
    returns = pd.Series(12_000, index=[d for d in ends if first <= d.date() <= EXTRACT])
    per_day = pd.concat([records, returns]).groupby(level=0).sum()
    return pd.DataFrame({"agency": "education", "day": per_day.index,
                         "records": per_day.to_numpy()})


def _falls(per_day: pd.DataFrame, *, first: dt.date) -> list[dict]:
    return record_falls(records_by_quarter(per_day), first_referral=first,
                        extract_date=EXTRACT, shared=["education"],
                        same_days=same_days_records(per_day, extract_date=EXTRACT))


def test_a_part_quarter_before_a_termly_return_is_no_fall() -> None:
    """A probe: 2,668 education records in October and November 2026 against 2,282 a year
    before were named "under 50% of its median Q4 (14,904)", judged on the days covered."""
    first = dt.date(2023, 1, 2)
    per_day = _education(first=first, autumn_2026=2_668)
    assert _falls(per_day, first=first) == []


@pytest.mark.parametrize(("first", "said", "judged_on"), [
    # A genuine fall in the part-quarter is named against the same days of earlier years.
    (dt.date(2023, 1, 2), "under 50% of its median over the same days (1 October to 30 "
     "November) of Q4 in 2023, 2024 and 2025 (1,628)", "same days"),
    # Without an earlier year the part-quarter is judged on its days, and says so.
    (dt.date(2026, 1, 5), "judged on the days covered (no earlier year's Q4 to compare the "
     "same days with), under 50% of its median quarter (2,405)", "days covered"),
])
def test_a_fall_in_the_part_quarter_says_what_it_was_judged_against(
        first: dt.date, said: str, judged_on: str) -> None:
    falls = _falls(_education(first=first, autumn_2026=600), first=first)
    assert [f["text"] for f in falls] == [
        "education: 600 records recorded in 2026Q4 up to the extract date (2026-11-30), "
        + said]
    assert falls[0]["judged_on"] == judged_on


def test_the_same_days_of_a_leap_day_extract_end_on_28_february() -> None:
    per_day = pd.DataFrame({"agency": "police", "records": 1,
                            "day": pd.to_datetime(["2027-02-28", "2027-03-01", "2028-02-29",
                                                   "2027-01-01", "2026-12-31"])})
    spans = same_days_records(per_day, extract_date=dt.date(2028, 2, 29))
    assert spans.to_dict(orient="records") == [
        {"agency": "police", "quarter": "2027Q1", "records": 2},
        {"agency": "police", "quarter": "2028Q1", "records": 1}]
