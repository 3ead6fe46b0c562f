"""`safeguard monitor` names an agency whose records received in a quarter fell.

A probe's police feed shared nothing recorded from 1 April to 30 June 2026: the share of
referrals with a police record in the 90 days before fell from 43% to 25% in 2026Q2,
above half (a referral early in the quarter still sees the records from before it), and
the monitor said "no threshold crossed" while the partnership report said "police: no
records recorded in 2026Q2".
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from api.cli import app
from api.store import init_db
from model.data import prepare_extract
from model.monitor_run import monitor_extract
from tests.api.conftest import TrainedModel
from tests.api.test_monitor import NO_DECISIONS, _aged_model, _environment

FALL = "police: no records recorded in 2026Q2 (records received by quarter)"


def _without_police_records(extract: Path, folder: Path, *, start: str, end: str) -> Path:
    """A copy of `extract` whose police feed holds no record recorded from `start` to `end`
    (the event date when a record has no recorded date)."""
    shutil.copytree(extract, folder)
    police = pd.read_parquet(folder / "events_police.parquet")
    recorded = pd.to_datetime(police["recorded_date"]).fillna(
        pd.to_datetime(police["event_date"]))
    silent = (recorded >= pd.Timestamp(start)) & (recorded <= pd.Timestamp(end))
    assert silent.sum() > 50  # the quarter had police records to lose
    police.loc[~silent.to_numpy()].to_parquet(folder / "events_police.parquet")
    return folder


def _monitor(trained_model: TrainedModel, tmp_path: Path, extract: Path):
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    return CliRunner().invoke(
        app, ["monitor", "--input", str(extract), "--output", str(tmp_path / "out"),
              "--model", trained_model.version, "--since", "2025-01-01"],
        env=_environment(trained_model, database))


def test_a_quarter_without_police_records_since_training_crosses_a_threshold(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    from api.monitor_command import crossed_lines, write_monitor_report

    model = _aged_model(trained_model, 183)  # trained on the extract of 31 March 2026
    newer = _without_police_records(trained_model.extract, tmp_path / "newer",
                                    start="2026-04-01", end="2026-06-30")
    report = monitor_extract(model, version=trained_model.version,  # type: ignore[arg-type]
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS)
    assert FALL in report["crossed"]  # the command exits 1
    assert crossed_lines(report["crossed"], report["checks"])[0] == FALL  # said first
    [check] = [c for c in report["checks"] if c["kind"] == "record_fall" and c["crossed"]]
    assert (check["subject"], check["message"]) == ("police", FALL)
    write_monitor_report(report, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "monitor.json").read_text())
    records = written["records_by_quarter"]
    assert [(f["agency"], f["from_quarter"]) for f in records["falls"]] == [("police", "2026Q2")]
    by_quarter = {q["quarter"]: q["records"] for q in records["quarters"]}
    assert by_quarter["2026Q2"]["police"] == 0 and by_quarter["2026Q1"]["police"] > 50
    html = " ".join((tmp_path / "out" / "monitor.html").read_text().split())
    assert "Records received by quarter of the window" in html
    assert "police: no records recorded in 2026Q2 <strong" in html
    assert FALL in html  # among the thresholds crossed


def test_a_fall_the_training_extract_already_held_is_listed_not_crossed(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    newer = _without_police_records(trained_model.extract, tmp_path / "newer",
                                    start="2026-04-01", end="2026-06-30")
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS,
                             since=dt.date(2025, 1, 1))
    [check] = [c for c in report["checks"] if c["kind"] == "record_fall"
               and c["subject"] == "police"]
    assert not check["crossed"] and check["message"] == (
        "police: no records recorded in 2026Q2: already in the training extract (dated "
        "2026-09-30), not news since training")


def test_every_quarter_at_its_usual_level_crosses_nothing(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    result = _monitor(trained_model, tmp_path, trained_model.extract)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "monitor.json").read_text())
    checks = [c for c in report["checks"] if c["kind"] == "record_fall"]
    assert checks and not any(c["crossed"] for c in checks)
    assert report["records_by_quarter"]["falls"] == []
    html = " ".join((tmp_path / "out" / "monitor.html").read_text().split())
    assert "No agency's records fell in a quarter of the window." in html


def test_a_feed_that_stopped_is_dated_by_its_latest_record(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """A probe's housing feed stopped on 31 August; the monitor said only "from 2026Q4",
    leaving the board to find the day in the partnership report."""
    model = _aged_model(trained_model, 183)
    newer = _without_police_records(trained_model.extract, tmp_path / "newer",
                                    start="2026-07-01", end="2026-09-30")
    police = pd.read_parquet(newer / "events_police.parquet")
    last = pd.to_datetime(police["recorded_date"]).fillna(
        pd.to_datetime(police["event_date"])).max().date()
    report = monitor_extract(model, version=trained_model.version,  # type: ignore[arg-type]
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS)
    [check] = [c for c in report["checks"] if c["kind"] == "record_fall" and c["crossed"]]
    assert check["message"] == (
        "police: no records recorded from 2026Q3 to the extract date (2026-09-30); its latest "
        f"record was recorded on {last.isoformat()} (records received by quarter)")
