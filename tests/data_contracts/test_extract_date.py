"""The extract date taken from the data, and the warning when it stands alone."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from data_contracts import validate_frames
from tests.data_contracts import factories as f


def _referrals_until(last: dt.date, n: int = 40) -> pd.DataFrame:
    """``n`` referrals, one a week up to ``last``."""
    days = [last - dt.timedelta(weeks=week) for week in range(n)]
    return pd.concat([f.referrals(1, referral_date=day.isoformat()).assign(
        referral_id=f"R{i:04d}", person_id=f"P{i:06d}") for i, day in enumerate(days)],
        ignore_index=True)


def _daily_referrals_until(last: dt.date, days: int = 425) -> pd.DataFrame:
    """Two referrals a day for ``days`` days up to ``last``: a hub's volume, in miniature."""
    dates = [(last - dt.timedelta(days=back // 2)).isoformat() for back in range(2 * days)]
    return f.referrals(2 * days).assign(referral_date=dates)


def _with_stray_event(day: str, referrals: pd.DataFrame | None = None
                      ) -> dict[str, pd.DataFrame]:
    """The extract with one police event on ``day``; weekly referrals up to 2024-06-28
    unless ``referrals`` are given."""
    if referrals is None:
        referrals = _referrals_until(dt.date(2024, 6, 28))
    frames = f.extract(referrals=referrals)
    stray = f.events("police", 1, event_date=day, recorded_date="")
    frames["events_police"] = pd.concat([frames["events_police"], stray], ignore_index=True)
    return frames


def test_a_date_far_after_the_rest_sets_the_extract_date_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        result = validate_frames(_with_stray_event("2026-11-30"))
    assert result.extract_date == dt.date(2026, 11, 30)  # the specification's default
    warning = result.report["extract_date_warning"]
    assert warning.startswith("the extract date 2026-11-30 was taken from the data (its "
                              "latest date), but it stands alone: only 1 dated value is "
                              "after 2024-06-28, where the rest of the extract ends, 885 days "
                              "earlier: events_police.event_date 2026-11-30 (1 row); no feed "
                              "holds a date in the 884 days between. If the extract was "
                              "taken earlier, give --extract-date (--extract-date 2024-06-28 "
                              "if the rest is complete)")
    assert [record.getMessage() for record in caplog.records] == [warning]


def test_a_date_two_months_after_a_busy_extract_warns() -> None:
    # One police row 63 days after every other date set the extract date unremarked (the
    # silence was under 90 days): two referrals a day would have put 126 dates in it.
    referrals = _daily_referrals_until(dt.date(2024, 6, 28))
    result = validate_frames(_with_stray_event("2024-08-30", referrals))
    assert result.extract_date == dt.date(2024, 8, 30)
    warning = result.report["extract_date_warning"]
    assert ("only 1 dated value is after 2024-06-28, where the rest of the extract ends, 63 "
            "days earlier: events_police.event_date 2024-08-30 (1 row); no feed holds a date "
            "in the 62 days between (the rest holds about 2 dated values a day). If the "
            "extract was taken earlier, give --extract-date (--extract-date 2024-06-28 if "
            "the rest is complete): with 2024-08-30, 126 more referrals count as having their "
            "365-day follow-up complete") in warning


@pytest.mark.parametrize("day", ["2024-06-30", "2024-07-18"])
def test_no_warning_when_a_busy_extract_runs_almost_up_to_its_latest_date(day: str) -> None:
    # The last day holds one row, after a silence of two days, then of twenty (under four
    # weeks): an extract taken in the morning, a quiet fortnight.
    referrals = _daily_referrals_until(dt.date(2024, 6, 28))
    result = validate_frames(_with_stray_event(day, referrals))
    assert result.extract_date == dt.date.fromisoformat(day)
    assert result.report["extract_date_warning"] is None


def test_a_sparse_extract_is_not_warned_of_two_months_of_silence() -> None:
    # A referral a week: two months without a date is not out of the ordinary.
    result = validate_frames(_with_stray_event("2024-08-30"))
    assert result.extract_date == dt.date(2024, 8, 30)
    assert result.report["extract_date_warning"] is None


def test_no_warning_when_the_extract_runs_up_to_its_latest_date() -> None:
    result = validate_frames(_with_stray_event("2024-06-30"))
    assert result.extract_date == dt.date(2024, 6, 30)
    assert result.report["extract_date_warning"] is None


def test_no_warning_when_the_extract_date_is_given() -> None:
    result = validate_frames(_with_stray_event("2024-06-30"), extract_date=dt.date(2026, 11, 30))
    assert result.report["extract_date_warning"] is None


def test_a_few_late_rows_alone_still_warn_and_enough_do_not() -> None:
    frames = _with_stray_event("2026-11-30")
    late = f.events("police", 3, event_date="2026-11-20", recorded_date="")
    frames["events_police"] = pd.concat([frames["events_police"], late], ignore_index=True)
    warning = validate_frames(frames).report["extract_date_warning"]
    assert ("only 4 dated values are after 2024-06-28, where the rest of the extract ends, 885 "
            "days earlier: events_police.event_date 2026-11-20 to 2026-11-30 (4 rows)"
            ) in warning
    frames = f.extract(referrals=_referrals_until(dt.date(2026, 11, 30)))
    assert validate_frames(frames).report["extract_date_warning"] is None


def test_a_tiny_extract_is_not_judged() -> None:
    frames = {"referrals": f.referrals(2).assign(referral_date=["2020-01-01", "2024-01-01"])}
    assert validate_frames(frames).report["extract_date_warning"] is None


def test_validate_prints_the_warning_and_writes_it_to_the_report(tmp_path: Path) -> None:
    f.write_extract(tmp_path / "in", _with_stray_event("2026-11-30"))
    result = CliRunner().invoke(app, ["validate", "--input", str(tmp_path / "in"),
                                      "--report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert report["extract_date"] == "2026-11-30"
    assert "885 days earlier" in report["extract_date_warning"]
