"""`safeguard monitor` warns when the outcomes of the referrals matured since training
look unrecorded (`model.outcome_gaps`), and not on an unchanged extract."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from api.monitor_command import write_monitor_report
from model.data import prepare_extract
from model.monitor_run import monitor_extract
from model.outcome_gaps import OUTCOME_GAPS
from tests.api.conftest import TrainedModel
from tests.api.test_monitor import NO_DECISIONS


@pytest.mark.parametrize("outcomes", ["unchanged", "recent removed"])
def test_matured_referrals_without_recorded_outcomes_are_named(
        trained_model: TrainedModel, tmp_path: Path, outcomes: str) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(trained_model.extract, newer)
    extract_date = trained_model.prepared.extract_date
    # Recorded outcomes stop for the referrals of the last three quarters labelled.
    cut = pd.Timestamp(extract_date - dt.timedelta(days=365 + 270))
    if outcomes == "recent removed":
        referrals = pd.read_parquet(newer / "referrals.parquet")
        recent = referrals.loc[pd.to_datetime(referrals["referral_date"]) >= cut,
                               "referral_id"]
        feed = pd.read_parquet(newer / "outcomes.parquet")
        feed.loc[~feed["referral_id"].isin(recent)].to_parquet(newer / "outcomes.parquet",
                                                                index=False)
    model = copy.copy(trained_model.loaded.model)
    trained = extract_date - dt.timedelta(days=400)
    model.metadata = {**model.metadata, "extract_date": trained.isoformat()}
    report = monitor_extract(model, version=trained_model.version,
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS)
    gaps = report["matured_outcomes"][OUTCOME_GAPS]
    if outcomes == "unchanged":
        assert gaps == []
        return
    [gap] = gaps
    assert gap["outcomes"] == 0 and not gap["leading"]
    assert gap["first_referral"] >= cut.date().isoformat()
    write_monitor_report(report, tmp_path / "out")
    html = (tmp_path / "out" / "monitor.html").read_text()
    assert f"<strong>Warning:</strong> {gap['description']}; those matured" in html


def test_an_agency_whose_records_fell_is_said_first_and_its_features_drift_in_one_line() -> None:
    # A police feed left out crossed 75 feature thresholds, one line each, and the fall of
    # the police records, their cause, came last.
    from api.monitor_command import crossed_lines

    def check(kind: str, subject: str, message: str) -> dict[str, Any]:
        return {"kind": kind, "subject": subject, "message": message, "crossed": True}

    checks = [check("drift", "score", "score distribution PSI 0.772 (threshold 0.25)"),
              *(check("drift", f"subject_police_{t}_ever", f"feature subject_police_{t}_ever")
                for t in ("arrest", "missing_episode")),
              check("drift", "household_police_days_since_latest_record", "feature household"),
              check("drift", "subject_health_self_harm_ever", "feature subject_health_self_harm"),
              check("coverage", "police", "police records for 99% of referrals, 0% now"),
              check("coverage", "police (90d)", "police records in 90 days: 37%, 0% now"),
              check("coverage", "education/disability=yes", "education for disabled fell")]
    lines = crossed_lines([c["message"] for c in checks], checks)
    assert lines == [
        "police records for 99% of referrals, 0% now", "police records in 90 days: 37%, 0% now",
        "score distribution PSI 0.772 (threshold 0.25)", "feature subject_health_self_harm",
        "education for disabled fell",
        "3 police features drifted past the PSI threshold, as police records fell (above): "
        "monitor.json lists each"]
