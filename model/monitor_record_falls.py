"""`safeguard monitor`'s check of the records each agency sent, quarter by quarter.

Coverage by quarter (`monitoring_quarters`) asks of each referral whether it had a record
dated in the 90 days before: a referral early in a quarter still sees the records sent
before a feed stopped. A probe's police feed, silent from 1 April to 30 June 2026, read
25% in 2026Q2 against 43% at training, above half, and nothing crossed, while the
partnership report said "police: no records recorded in 2026Q2". The records an agency
recorded in a quarter fall at once; the monitor judges them by the partnership report's
rule (`model.record_falls`) over the extract's referral period, and a fall reaching into
the monitored window and past the training extract's date crosses a threshold naming the
agency and quarter; one the training extract already held (an extract dated months after
its last record, monitored unchanged: every feed "stopped") is listed, not crossed. The
count does not rest on the window's referrals, so a window too small to judge drift still
judges it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from data_contracts.vocab import AGENCIES
from model.data import PreparedExtract
from model.late_records import note_late_falls
from model.monitoring import Check
from model.record_falls import (
    FALL_SHARE,
    latest_recorded,
    record_falls,
    records_by_quarter,
    records_per_day,
    same_days_records,
)

# monitor.json's check kind, and its key for the records by quarter of the window.
KIND: Final = "record_fall"
SECTION: Final = "records_by_quarter"


def _quarterly(by_quarter: pd.DataFrame, *, since: str, extract_date: dt.date,
               shared: list[str]) -> list[dict[str, Any]]:
    """Per quarter of the window (from `since`; one without any record too), the records
    each sharing agency recorded."""
    counts = by_quarter.set_index(["agency", "quarter"])["records"]
    quarters = [str(p) for p in pd.period_range(since, pd.Period(extract_date, freq="Q"),
                                                freq="Q")]
    return [{"quarter": q, "records": {a: int(counts.get((a, q), 0)) for a in shared}}
            for q in quarters]


def _since_training(fall: dict[str, Any], *, trained: dt.date, extract_date: dt.date) -> bool:
    """Whether a fall reaches days the training extract (dated `trained`) did not hold."""
    end = pd.Period(fall["to_quarter"], freq="Q").end_time.date()
    return min(end, extract_date) > trained


def record_fall_checks(prepared: PreparedExtract, recorded: pd.DataFrame, *, start: dt.date,
                       trained: dt.date, late: Mapping[str, str] | None = None
                       ) -> tuple[dict[str, Any], list[Check]]:
    """The window's records by quarter and falls (`monitor.json`'s `records_by_quarter`),
    and per agency that shared records a check, crossed when its records recorded in a
    quarter from `start`'s (the window's first day) fell (`record_falls`) and the fall
    reaches past `trained`, the training extract's date. `recorded`: the extract's
    records (`pipelines.timeliness.record_delays`); `late`: the agencies whose records
    arrive late in the window, each with the first quarter its delay can have emptied
    (`late_records.note_late_falls`; "": the window's, as every fall listed here is)."""
    per_day = records_per_day(recorded)
    by_quarter = records_by_quarter(per_day)
    dates = pd.to_datetime(prepared.features["referral_date"])
    shared = [a for a in AGENCIES if a not in prepared.shared_nothing]
    since = str(pd.Period(start, freq="Q"))
    falls = [fall for fall in record_falls(
        by_quarter, first_referral=dates.min().date() if len(dates) else None,
        extract_date=prepared.extract_date, shared=shared,
        same_days=same_days_records(per_day, extract_date=prepared.extract_date))
        if fall["to_quarter"] >= since]
    latest, to_quarter = latest_recorded(per_day), str(pd.Period(prepared.extract_date, freq="Q"))
    for fall in falls:
        fall["since_training"] = _since_training(fall, trained=trained,
                                                 extract_date=prepared.extract_date)
        if fall["records"] == 0 and fall["to_quarter"] == to_quarter and (
                fall["agency"] in latest):  # a feed that stopped: since when, to the day
            fall["text"] += (f"; its latest record was recorded on "
                             f"{latest[fall['agency']].isoformat()}")
    note_late_falls(falls, late or {})
    checks = []
    for agency in shared:
        fell = [fall for fall in falls if fall["agency"] == agency]
        checks += [Check(KIND, agency, fall["since_training"],
                         f"{fall['text']} (records received by quarter)" if fall["since_training"]
                         else f"{fall['text']}: already in the training extract (dated "
                              f"{trained.isoformat()}), not news since training")
                   for fall in fell] or [
            Check(KIND, agency, False,
                  f"{agency.replace('_', ' ')}: records recorded in each quarter from "
                  f"{since} at least {FALL_SHARE:.0%} of its usual level")]
    return {"quarters": _quarterly(by_quarter, since=since, shared=shared,
                                   extract_date=prepared.extract_date),
            "falls": falls}, checks
