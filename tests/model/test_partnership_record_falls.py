"""The partnership report judges the extract date's quarter against the same days of
earlier years, from the records it counted by day (`partnership_tables`'
``records_per_day``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from model.partnership import partnership_report
from model.record_falls import records_by_quarter
from tests.model.test_record_falls_same_days import EXTRACT, _education


def _report(per_day: pd.DataFrame, *, first: dt.date) -> dict:
    overall = pd.DataFrame({"agency": ["education"], "shared": [True]})
    tables = {"by_quarter": records_by_quarter(per_day), "records_per_day": per_day,
              "overall": overall, "first_referral": pd.DataFrame({"date": [first]}),
              "by_need": pd.DataFrame({"presenting_need": [], "agency": [],
                                       "band_changed_share": []}),
              "explained": pd.DataFrame({"referrals": [0]})}
    return partnership_report(tables, model_version="1", extract_date=EXTRACT, referrals=0)


def test_october_and_november_before_a_termly_return_are_no_fall() -> None:
    """A probe: "education: 2,668 records recorded in 2026Q4 up to the extract date ...
    judged on the days covered, under 50% of its median Q4 (14,904)", though October and
    November 2025 had 2,282."""
    first = dt.date(2023, 1, 2)
    assert _report(_education(first=first, autumn_2026=2_668), first=first)[
        "record_falls"] == []
    [fall] = _report(_education(first=first, autumn_2026=600), first=first)["record_falls"]
    assert fall["judged_on"] == "same days" and fall["from_quarter"] == "2026Q4"
