"""The quarters in which an agency's records fell far below its own usual level."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from model.record_falls import record_falls

QUARTERS = ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1", "2025Q2"]
FIRST = dt.date(2024, 1, 1)  # the first referral's date
# No record recorded in the extract date's days of any earlier year's quarter.
NO_SAME_DAYS = pd.DataFrame({"agency": [], "quarter": [], "records": []})


def _records(counts: dict[str, list[int | None]]) -> pd.DataFrame:
    rows = [{"agency": agency, "quarter": quarter, "records": n}
            for agency, per in counts.items() for quarter, n in zip(QUARTERS, per, strict=True)
            if n is not None]
    return pd.DataFrame(rows)


def _falls(counts: dict[str, list[int | None]], *, extract_date: dt.date = dt.date(2025, 6, 30),
           shared: tuple[str, ...] = ("health", "housing"),
           same_days: pd.DataFrame = NO_SAME_DAYS) -> list[dict]:
    return record_falls(_records(counts), first_referral=FIRST, extract_date=extract_date,
                        shared=list(shared), same_days=same_days)


def test_a_feed_that_stopped_is_named_from_its_first_empty_quarter() -> None:
    # Quarters without a row (no record recorded) count as none.
    falls = _falls({"housing": [2400, 2300, 2450, 0, None, None],
                    "health": [7600, 7500, 7700, 7600, 7650, 7580]})
    assert [f["text"] for f in falls] == [
        "housing: no records recorded from 2024Q4 to the extract date (2025-06-30)"]
    assert (falls[0]["from_quarter"], falls[0]["to_quarter"]) == ("2024Q4", "2025Q2")


def test_a_quarter_under_half_the_median_is_named_with_its_count() -> None:
    falls = _falls({"health": [7600, 7500, 961, 7600, 7650, 3900],
                    "housing": [2400, 2300, 0, 0, 2400, 2350]})
    assert [f["text"] for f in falls] == [
        "health: 961 records recorded in 2024Q3, under 50% of its median quarter (7,550)",
        "housing: no records recorded in 2024Q3 to 2024Q4"]
    assert falls[0]["records"] == 961 and falls[0]["usual_quarter_records"] == 7550


def test_the_extract_dates_quarter_is_judged_on_the_same_days_of_earlier_years() -> None:
    # 2025-05-15: health recorded 3,400 records from 1 April to 15 May 2024; 1,800 is a
    # usual level (though under half on the share of days: 45 of 91 days of 7,600 is
    # 3,758), 1,000 is not.
    same_days = pd.DataFrame({"agency": ["health"], "quarter": ["2024Q2"], "records": [3400]})
    usual = _falls({"health": [7600, 7500, 7700, 7600, 7650, 1800]},
                   extract_date=dt.date(2025, 5, 15), shared=("health",), same_days=same_days)
    assert usual == []
    low = _falls({"health": [7600, 7500, 7700, 7600, 7650, 1000]},
                 extract_date=dt.date(2025, 5, 15), shared=("health",), same_days=same_days)
    assert [f["text"] for f in low] == [
        "health: 1,000 records recorded in 2025Q2 up to the extract date (2025-05-15), under "
        "50% of its median over the same days (1 April to 15 May) of Q2 in 2024 (3,400)"]
    assert (low[0]["judged_on"], low[0]["expected_records"]) == ("same days", 3400)


def test_agencies_that_shared_nothing_or_steadily_are_not_named() -> None:
    assert _falls({"health": [5, 6, 4, 5, 6, 5], "housing": [0, 0, 0, 0, 0, 0]}) == []
    assert _falls({"probation": [0, 0, 0, 0, 0, 0]}, shared=("probation",)) == []


def test_a_quarter_of_the_year_that_is_always_low_is_judged_against_itself() -> None:
    # Three years in which schools record under half as much in every Q1: usual, not a
    # fall; a Q3 at the level of a Q1 is.
    quarters = [str(p) for p in pd.period_range("2022Q1", "2024Q4", freq="Q")]
    per_year = [450, 1200, 1150, 900]
    counts = per_year * 2 + [450, 1200, 480, 900]
    records = pd.DataFrame({"agency": "education", "quarter": quarters, "records": counts})
    falls = record_falls(records, first_referral=dt.date(2022, 1, 1),
                         extract_date=dt.date(2024, 12, 31),
                         shared=["education"], same_days=NO_SAME_DAYS)
    assert [f["text"] for f in falls] == [
        "education: 480 records recorded in 2024Q3, under 50% of its median Q3 (1,150)"]


def test_none_where_under_one_record_was_expected_is_no_fall() -> None:
    """An extract dated early in its quarter (a day covered) or a small agency's quiet
    quarter was called a stopped feed."""
    falls = _falls({"health": [9, 8, 10, 9, 9, None], "housing": [1, 0, 1, 1, 0, 1]},
                   extract_date=dt.date(2025, 4, 2))
    assert falls == []


def test_a_feed_that_stopped_before_the_referral_period_is_named() -> None:
    """An agency whose records were all recorded before the first referral's quarter was
    skipped as having shared nothing in the period, while its reach still looked whole."""
    falls = record_falls(pd.DataFrame({"agency": ["housing"], "quarter": ["2023Q2"],
                                       "records": [2400]}),
                         first_referral=FIRST, extract_date=dt.date(2025, 6, 30),
                         shared=["housing"], same_days=NO_SAME_DAYS)
    assert [f["text"] for f in falls] == [
        "housing: no records recorded from 2024Q1 to the extract date (2025-06-30), none in "
        "the referral period"]


def _from_december(counts: list[int], *, earlier: int | None = None) -> list[dict]:
    """Health's records from 2017Q4, whose first referral is dated 1 December 2017
    (`earlier`: records recorded in 2017Q3, before the referral period)."""
    quarters = [str(p) for p in pd.period_range("2017Q4", "2019Q4", freq="Q")]
    rows = [{"agency": "health", "quarter": q, "records": n}
            for q, n in zip(quarters, counts, strict=True)]
    if earlier is not None:
        rows.append({"agency": "health", "quarter": "2017Q3", "records": earlier})
    return record_falls(pd.DataFrame(rows), first_referral=dt.date(2017, 12, 1),
                        extract_date=dt.date(2019, 12, 31), shared=["health"],
                        same_days=NO_SAME_DAYS)


def test_a_first_quarter_the_extract_covers_in_part_is_judged_on_its_days() -> None:
    """A probe's extract began in December 2017: every agency's 2017Q4, a month of
    records, was named "under 50% of its median Q4"."""
    steady = [3300, 3350, 3400, 3300, 3350, 3400, 3300, 3350]
    assert _from_december([1100, *steady]) == []
    # A month of records at under half the usual pace is still a fall, said to be judged
    # on the days from the first referral; its own pace is not part of the usual level.
    assert [f["text"] for f in _from_december([400, *steady])] == [
        "health: 400 records recorded in 2017Q4 from the first referral (2017-12-01), "
        "judged on the days covered, under 50% of its median quarter (3,350)"]
    # A feed reaching back before the first referral covers the whole quarter.
    assert [f["from_quarter"] for f in _from_december([1100, *steady], earlier=3300)] == [
        "2017Q4"]
