"""`safeguard monitor` warns when the outcomes of the referrals matured since training
look unrecorded (`model.outcome_gaps`), and not on an unchanged extract."""

from __future__ import annotations

import copy
import datetime as dt
import shutil
from pathlib import Path

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
