"""`safeguard monitor` says in words when the mix of referrals changed.

A probe's domestic-abuse referrals rose from 17.9% to 39.3% of referrals after training:
the need's indicator read PSI 0.232, under the 0.25 threshold, one row of the drift
table, and no line said so.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from api.cli import app
from api.store import init_db
from model.data import prepare_extract
from model.monitor_run import monitor_extract
from tests.api.conftest import TrainedModel
from tests.api.test_monitor import NO_DECISIONS, _environment

SINCE = "2024-01-01"


def _more_domestic_abuse(extract: Path, folder: Path) -> Path:
    """A copy of `extract` in which a random 30% of the referrals from `SINCE` became
    domestic-abuse referrals."""
    shutil.copytree(extract, folder)
    referrals = pd.read_parquet(folder / "referrals.parquet")
    later = pd.to_datetime(referrals["referral_date"]) >= pd.Timestamp(SINCE)
    chosen = later & (np.random.default_rng(3).random(len(referrals)) < 0.3)
    referrals.loc[chosen.to_numpy(), "presenting_need"] = "domestic_abuse"
    referrals.to_parquet(folder / "referrals.parquet", index=False)
    return folder


def _mix(report: dict) -> list[dict]:
    return [c for c in report["checks"] if c["kind"] == "referral_mix"]


def test_a_need_whose_share_doubled_is_to_watch(trained_model: TrainedModel,
                                                tmp_path: Path) -> None:
    newer = _more_domestic_abuse(trained_model.extract, tmp_path / "newer")
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    result = CliRunner().invoke(
        app, ["monitor", "--input", str(newer), "--output", str(tmp_path / "out"),
              "--model", trained_model.version, "--since", SINCE],
        env=_environment(trained_model, database))
    report = json.loads((tmp_path / "out" / "monitor.json").read_text())
    assert report["window"]["judged"]
    flagged = {c["subject"]: c for c in _mix(report)}
    check = flagged["presenting need=domestic_abuse"]
    rows = {row["category"]: row for row in report["drift"]["referral_mix"]["presenting need"]}
    # The needs that made room for it, where their share fell to two thirds or less.
    assert set(flagged) == {f"presenting need={need}" for need, row in rows.items()
                            if abs(row["share"] - row["training_share"]) >= 0.05
                            and max(row["share"] / row["training_share"],
                                    row["training_share"] / row["share"]) >= 1.5}
    assert not any(c["crossed"] for c in flagged.values())
    then, now = rows["domestic_abuse"]["training_share"], rows["domestic_abuse"]["share"]
    assert now > 1.5 * then and now - then > 0.05
    assert check["message"] == (
        f"referral mix (presenting need): domestic abuse referrals were {then:.1%} of "
        f"referrals at training and {now:.1%} in the window ({now / then:.1f} times its "
        "share at training): the model's figures at training were for the earlier mix")
    assert f"to watch: {check['message']}" in result.output
    assert check["message"] not in report["crossed"]
    # (A need the model does not read, too rare to split on, has no share at training.)
    assert 0.95 < sum(row["training_share"] for row in rows.values()) <= 1 + 1e-9
    html = " ".join((tmp_path / "out" / "monitor.html").read_text().split())
    assert "The mix of referrals" in html and check["message"].replace("'", "&#39;") in html
    # No decisions recorded: said so, not "None of the 0 decided referrals" (a probe).
    assert "None of the 0 decided" not in html
    assert "No referral has a recorded decision on this version's scores" in html


def test_an_unchanged_mix_says_nothing(trained_model: TrainedModel) -> None:
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=trained_model.prepared, decisions=NO_DECISIONS,
                             since=dt.date(2024, 1, 1))
    assert _mix(report) == []
    kinds = report["drift"]["referral_mix"]
    assert set(kinds) == {"presenting need", "referral source", "person referred"}
    assert all(0 <= row["share"] <= 1 for rows in kinds.values() for row in rows)


def test_a_window_too_small_to_judge_lists_the_mix_but_flags_nothing(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    newer = _more_domestic_abuse(trained_model.extract, tmp_path / "newer")
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS,
                             since=dt.date(2026, 9, 1))
    assert not report["window"]["judged"] and _mix(report) == []
    assert report["drift"]["referral_mix"]["presenting need"]
