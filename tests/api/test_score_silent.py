"""`safeguard score` on an extract where one agency stopped recording months before the
extract date: the referrals dated after enough of its usual records went missing are
warned that its feed appears to have stopped (an independent probe's health feed, silent
for its last four months, lowered the band of 23.5% of the last month's referrals, and no
rating said so: older health records were still held, so health was not "not seen")."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from model.feed_notices import silent_in_extract
from model.late_warning import SilentAgency, silent_warning
from model.workflow import score_extract
from tests.api.conftest import TrainedModel

EXTRACT_DATE = dt.date(2026, 9, 30)


def stopped_copy(source: Path, extract: Path, agency: str, last: str) -> None:
    """A copy of `source` with `agency`'s records recorded after `last` left out."""
    shutil.copytree(source, extract)
    path = extract / f"events_{agency}.parquet"
    rows = pd.read_parquet(path)
    when = pd.to_datetime(rows["recorded_date"]).fillna(pd.to_datetime(rows["event_date"]))
    rows[when <= pd.Timestamp(last)].to_parquet(path, index=False)


def test_referrals_after_a_feed_stopped_are_warned_of_it(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    stopped_copy(trained_model.extract, extract, "health", "2026-05-31")
    scored = score_extract(extract, tmp_path / "ratings.csv", registry=trained_model.registry,
                           reference=trained_model.version, extract_date=EXTRACT_DATE)
    assert scored.table is not None
    warned = scored.table["warnings"].map(
        lambda text: [w for w in json.loads(text) if w.startswith("No health records in")])
    dated = pd.to_datetime(trained_model.prepared.features["referral_date"]).dt.date.to_numpy()
    [silent] = silent_in_extract(
        {"events_health": pd.read_parquet(extract / "events_health.parquet")},
        extract_date=EXTRACT_DATE)
    begins = dt.date.fromisoformat(silent.applies_from)
    # Health records about 3 a day: 30 of them are missing within a few weeks of the stop.
    assert silent.latest <= "2026-05-31" and dt.date(2026, 6, 1) < begins < dt.date(2026, 7, 15)
    assert [len(found) for found in warned] == [int(day >= begins) for day in dated]
    assert sum(day >= begins for day in dated) > 50
    text = next(found[0] for found in warned if found)
    assert text.startswith(f"No health records in this extract were recorded after "
                           f"{dt.date.fromisoformat(silent.latest):%-d %B %Y}, though health "
                           f"recorded {silent.year_before:,} in the same days a year earlier")
    assert "its feed appears to have stopped" in text
    assert not scored.table["warnings"].str.contains("arrive late").any()


def _feed(days: list[str]) -> pd.DataFrame:
    dates = pd.Series(pd.to_datetime(days))
    return pd.DataFrame({"event_date": dates, "recorded_date": dates})


def _daily(start: str, end: str) -> list[str]:
    return [d.date().isoformat() for d in pd.date_range(start, end)]


def test_silence_is_judged_against_the_same_days_a_year_earlier() -> None:
    feeds = {
        # Silent since 30 June, and daily a year earlier: the 30th day of those after
        # 30 June 2025 is 30 July 2025, so referrals from 30 July 2026 are warned.
        "events_police": _feed(_daily("2025-01-01", "2026-06-30")),
        # A school's summer: silent from 20 July to 31 August every year, and recording
        # again from 1 September: its latest record is near the extract date, no silence.
        "events_education": _feed([d for d in _daily("2024-09-01", "2026-09-29")
                                   if not ("07-20" <= d[5:] <= "08-31")]),
        # Silent since May, but recorded 29 records in those days a year earlier: too few.
        "events_housing": _feed(_daily("2025-01-01", "2025-05-31")
                                + _daily("2025-06-01", "2025-06-29")
                                + _daily("2026-01-01", "2026-05-31")),
        # Silent since June with no record a year earlier to compare with.
        "events_probation": _feed(_daily("2026-01-01", "2026-06-30")),
    }
    found = silent_in_extract(feeds, extract_date=EXTRACT_DATE)
    assert found == (SilentAgency("police", "2026-06-30", 92,
                                  "1 July 2025 to 30 September 2025", "2026-07-30"),)
    assert silent_warning(found[0], "child") == (
        "No police records in this extract were recorded after 30 June 2026, though police "
        "recorded 92 in the same days a year earlier (1 July 2025 to 30 September 2025): its "
        "feed appears to have stopped, so this score could not see police information about "
        "this child or household from after that date. Ask police about recent events "
        "before you decide.")


def test_a_feed_recording_to_the_extract_date_is_not_silent() -> None:
    days = np.array(_daily("2024-01-01", "2026-09-30"))
    found = silent_in_extract({"events_health": _feed(list(days))}, extract_date=EXTRACT_DATE)
    assert found == ()


def test_a_short_or_seasonal_silence_is_no_stop() -> None:
    """An independent probe's false alarms: education's summer term ended a day earlier
    than the year before (its returns a year earlier ran to 30 July: "468 in the same
    days"), social care records on weekdays only before a Sunday extract date, and
    records a year earlier only at the edge of a seasonal gap."""
    extract = dt.date(2026, 8, 16)  # a Sunday
    weekdays = [d for d in _daily("2024-01-01", "2026-08-14")
                if dt.date.fromisoformat(d).weekday() < 5]
    feeds = {
        # Silent from 22 July, recording daily to 30 July a year earlier: 25 days.
        "events_education": _feed([d for d in _daily("2024-09-01", "2026-07-21")
                                   if not ("07-31" <= d[5:] <= "08-31")] * 3),
        "events_social_care": _feed(weekdays * 3),  # latest Friday 14 August
        # Silent 6 weeks; a year earlier, 40 records, all in the last days of those weeks.
        "events_housing": _feed(_daily("2024-01-01", "2024-12-31")
                                + _daily("2025-01-01", "2025-07-01")
                                + ["2025-08-12"] * 40 + _daily("2026-01-01", "2026-07-01")),
    }
    assert silent_in_extract(feeds, extract_date=extract) == ()
    # Two records a day, silent for 4 weeks and a day: a stop from the 28th day on.
    daily = {"events_police": _feed(_daily("2024-01-01", "2026-07-18") * 2)}
    [police] = silent_in_extract(daily, extract_date=extract)
    assert (police.latest, police.applies_from) == ("2026-07-18", "2026-08-15")
