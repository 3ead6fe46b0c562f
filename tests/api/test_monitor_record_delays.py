"""`safeguard monitor` names an agency whose records have come to arrive late.

A feed whose records arrive months after their events still records about its usual
number each quarter, so the check of records received by quarter says nothing, while a
referral's point-in-time features miss most of its recent records. The partnership
report said so ("records arrive late"); the monitor was silent.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd

from api.monitor_command import crossed_lines, write_monitor_report
from model.data import prepare_extract
from model.monitor_run import monitor_extract
from tests.api.conftest import TrainedModel
from tests.api.test_monitor import NO_DECISIONS, _aged_model

WINDOW_START = dt.date(2026, 4, 1)


def _police_late(extract: Path, folder: Path, *, from_event: str, days: int) -> Path:
    """A copy of `extract` whose police records of events from `from_event` were recorded
    `days` after the event (those that would be recorded after the extract date are not in
    it yet)."""
    shutil.copytree(extract, folder)
    police = pd.read_parquet(folder / "events_police.parquet")
    event = pd.to_datetime(police["event_date"])
    later = event >= pd.Timestamp(from_event)
    assert later.sum() > 200  # records to delay
    recorded = (event + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d")
    police["recorded_date"] = police["recorded_date"].astype(object).where(~later, recorded)
    extract_date = pd.Timestamp(prepare_extract(extract).extract_date)
    kept = pd.to_datetime(police["recorded_date"]).fillna(event) <= extract_date
    police.loc[kept.to_numpy()].to_parquet(folder / "events_police.parquet", index=False)
    return folder


def _delay_checks(report: dict) -> dict[str, dict]:
    return {c["subject"]: c for c in report["checks"] if c["kind"] == "record_delay"}


def test_records_that_came_to_arrive_late_since_training_cross_a_threshold(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    model = _aged_model(trained_model, 183)  # trained on the extract of 31 March 2026
    newer = _police_late(trained_model.extract, tmp_path / "newer", from_event="2025-12-01",
                         days=120)
    report = monitor_extract(model, version=trained_model.version,  # type: ignore[arg-type]
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS,
                             since=WINDOW_START)
    checks = _delay_checks(report)
    police = checks["police"]
    assert police["crossed"], police
    assert police["message"].startswith(
        "police: records recorded from 2026-04-01 to 2026-09-30 arrive late (a median of "
        "120 days after the event, about 4 months; 90th percentile 120 days): about 100% of "
        "the records of the 90 days before a referral not yet recorded by it, against ")
    assert police["message"] in report["crossed"]
    assert police["message"] in crossed_lines(report["crossed"], report["checks"])[:3]
    assert not any(check["crossed"] for agency, check in checks.items() if agency != "police")
    write_monitor_report(report, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "monitor.json").read_text())
    [row] = [r for r in written["record_delays"] if r["agency"] == "police"]
    assert row["late"] and row["crossed"] and row["window"]["median_delay_days"] == 120
    assert row["training"]["recent_unarrived_share"] < 0.5
    html = " ".join((tmp_path / "out" / "monitor.html").read_text().split())
    assert "How late records arrive" in html
    assert "<th scope=\"row\" class=\"govuk-table__header\">Police</th>" in html


def test_records_late_at_training_too_are_listed_not_crossed(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    newer = _police_late(trained_model.extract, tmp_path / "newer", from_event="2015-01-01",
                         days=120)
    model = _aged_model(trained_model, 183)
    report = monitor_extract(model, version=trained_model.version,  # type: ignore[arg-type]
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS,
                             since=WINDOW_START)
    police = _delay_checks(report)["police"]
    assert not police["crossed"] and police["message"].endswith(
        "at training, a median of 120 days): not news since training")


def test_an_unchanged_extract_has_no_late_agency(trained_model: TrainedModel) -> None:
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=trained_model.prepared, decisions=NO_DECISIONS,
                             since=WINDOW_START)
    checks = _delay_checks(report)
    assert set(checks) == {row["agency"] for row in report["record_delays"]}
    assert checks and not any(check["crossed"] for check in checks.values())
    assert all("under 50%" in check["message"] for check in checks.values() if check["assessed"])


def test_features_of_a_late_agency_drift_as_its_records_arrived_late() -> None:
    late = "police: records recorded from 2026-04-01 to 2026-09-30 arrive late (...)"
    fell = "housing: no records recorded in 2026Q3 (records received by quarter)"
    # The quarter the police delay began recorded fewer too (two probes): still late.
    late_fall = "police: 545 records recorded in 2026Q3, ...; its records arrive late, ..."
    checks = [{"kind": "record_delay", "subject": "police", "crossed": True, "message": late},
              {"kind": "record_fall", "subject": "police", "crossed": True,
               "message": late_fall},
              {"kind": "record_fall", "subject": "housing", "crossed": True, "message": fell},
              *({"kind": "drift", "subject": f"{agency}_{n}_90d", "crossed": True,
                 "message": f"{agency} {n}"} for agency in ("police", "housing")
                for n in range(2))]
    lines = crossed_lines([c["message"] for c in checks], checks)
    assert lines == [late, late_fall, fell,
                     "2 police features drifted past the PSI threshold, as police records "
                     "arrived late (above): monitor.json lists each",
                     "2 housing features drifted past the PSI threshold, as housing records "
                     "fell (above): monitor.json lists each"]


def test_the_quarter_a_delay_began_in_is_listed_as_the_delays_doing(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """The quarter police records began to arrive 120 days late recorded few: two probes'
    monitors listed it as a fall, and said its features drifted "as police records fell",
    beside the check saying the records arrive late."""
    model = _aged_model(trained_model, 273)  # trained on the extract of 31 December 2025
    newer = _police_late(trained_model.extract, tmp_path / "newer", from_event="2025-12-01",
                         days=120)
    report = monitor_extract(model, version=trained_model.version,  # type: ignore[arg-type]
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS,
                             since=dt.date(2026, 1, 1))
    assert _delay_checks(report)["police"]["crossed"]
    [fall] = [f for f in report["records_by_quarter"]["falls"] if f["agency"] == "police"]
    assert fall["from_quarter"] == "2026Q1" and fall["records"] > 0 and fall["late"]
    [check] = [c for c in report["checks"] if c["kind"] == "record_fall" and c["crossed"]]
    assert check["message"].endswith(
        "; its records arrive late, which moves them into later quarters: fewer recorded, not "
        "necessarily fewer shared (records received by quarter)")
