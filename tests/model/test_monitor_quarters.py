"""Agency coverage judged by quarter of the window: a feed that stops part-way through."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES
from model.governance import MonitoringSettings
from model.monitoring import coverage_change
from model.monitoring_quarters import coverage_by_quarter
from model.monitoring_reference import RECENT_WINDOW, Population, coverage
from pipelines.feature_spec import coverage_feature_name
from pipelines.manifest_lookup import count_features

SETTINGS = MonitoringSettings()
START, END = dt.date(2025, 12, 1), dt.date(2026, 11, 30)
HEALTH_RECENT = 0.33  # health records dated in the 90 days before, at training


def _referrals(start: dt.date, end: dt.date, *, per_day: float = 8.5,
               health_stopped: dt.date | None = None, seed: int = 0) -> pd.DataFrame:
    """Referrals spread evenly over the dates (coverage and recent-record columns only):
    every agency holds records for all and recent ones for a third; after
    `health_stopped` health's recent records age out over 90 days (older ones stay held)."""
    days = pd.date_range(start, end, freq="D")
    dates = np.repeat(days, np.diff(np.floor(np.arange(len(days) + 1) * per_day).astype(int)))
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"referral_date": dates})
    for agency in AGENCIES:
        share = np.full(len(frame), HEALTH_RECENT)
        if agency == "health" and health_stopped is not None:
            since = (dates - pd.Timestamp(health_stopped)).days.to_numpy()
            share *= np.clip(1 - since / 90, 0, 1)
        frame[coverage_feature_name(agency)] = 1.0
        frame[count_features(agency, window=RECENT_WINDOW)[0]] = (
            rng.random(len(frame)) < share).astype(np.float64)
    return frame


def _reference() -> dict:
    return {"coverage": coverage(_referrals(dt.date(2024, 12, 1), dt.date(2025, 11, 30)))}


def _population(frame: pd.DataFrame, end: dt.date = END) -> Population:
    return Population(frame, np.ones(len(frame), dtype=np.int64), START, end)


def test_a_feed_that_stops_half_way_through_the_window_is_named_from_its_quarter() -> None:
    """The probe's case: health stopped on 1 June in a 12-month window; its recent
    coverage over the whole window was above half that at training, and nothing crossed."""
    reference = _reference()
    current = _population(_referrals(START, END, health_stopped=dt.date(2026, 6, 1)))
    whole = coverage_change(reference, current, SETTINGS)[1]
    [window] = [c for c in whole if c.subject == "health (90d)"]
    assert not window.crossed  # the whole-window figure is kept, and still averages

    quarters, checks = coverage_by_quarter(reference, current, SETTINGS)

    assert [(q["quarter"], q["judged"]) for q in quarters] == [
        ("2025Q4", False), ("2026Q1", True), ("2026Q2", True), ("2026Q3", True),
        ("2026Q4", True)]
    assert (quarters[0]["from"], quarters[-1]["to"]) == ("2025-12-01", "2026-11-30")
    crossed = [c for c in checks if c.crossed]
    assert [c.subject for c in crossed] == ["health (90d) by quarter"]
    message = crossed[0].message
    before = reference["coverage"]["recent"]["health"]
    assert message.startswith("health records dated in the 90 days before the referral for "
                              f"{before:.0%} of referrals at training, under half that ")
    assert "under half that from 2026Q3 (referrals from 2026-07-01): 2026Q3 " in message
    assert message.endswith(f"2026Q4 0% of {quarters[-1]['referrals']:,}")
    assert [q["below"]["recent"] for q in quarters] == [[], [], [], ["health"], ["health"]]
    assert quarters[-1]["recent"]["health"] == 0.0


def test_a_quarter_with_too_few_referrals_is_shown_not_judged() -> None:
    """The window's last quarter is 20 days (under 500 referrals): health's recent
    coverage there is none, and is not judged."""
    end = dt.date(2026, 10, 20)
    current = _population(_referrals(START, end, health_stopped=dt.date(2026, 6, 15)), end)
    quarters, checks = coverage_by_quarter(_reference(), current, SETTINGS)
    last = quarters[-1]
    assert (last["quarter"], last["judged"]) == ("2026Q4", False)
    assert 0 < last["referrals"] < SETTINGS.min_window_referrals
    assert last["recent"]["health"] == 0.0 and last["below"]["recent"] == []
    # 2026Q3 (July to September) fell by itself and is named; 2026Q4 is not.
    [crossed] = [c for c in checks if c.crossed]
    assert "from 2026Q3" in crossed.message and "2026Q4" not in crossed.message


def test_an_unchanged_window_crosses_nothing_by_quarter() -> None:
    quarters, checks = coverage_by_quarter(_reference(), _population(_referrals(START, END)),
                                           SETTINGS)
    assert not [c for c in checks if c.crossed]
    assert len(checks) == 2 * len(AGENCIES) and all(c.assessed for c in checks)
    assert "by quarter: 2026Q1 " in checks[0].message
