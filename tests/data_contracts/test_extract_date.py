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


def _with_stray_event(day: str) -> dict[str, pd.DataFrame]:
    frames = f.extract(referrals=_referrals_until(dt.date(2024, 6, 28)))
    stray = f.events("police", 1, event_date=day, recorded_date="")
    frames["events_police"] = pd.concat([frames["events_police"], stray], ignore_index=True)
    return frames


def test_a_date_far_after_the_rest_sets_the_extract_date_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        result = validate_frames(_with_stray_event("2026-11-30"))
    assert result.extract_date == dt.date(2026, 11, 30)  # the specification's default
    warning = result.report["extract_date_warning"]
    assert warning.startswith("the extract date 2026-11-30 was taken from the data (the "
                              "latest date, in events_police.event_date), but only 1 dated "
                              "value is in the 90 days up to it; the rest of the extract "
                              "ends on 2024-06-28, 885 days earlier. If the extract was "
                              "taken earlier, give --extract-date")
    assert [record.getMessage() for record in caplog.records] == [warning]


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
    assert "only 4 dated values are" in validate_frames(frames).report["extract_date_warning"]
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
