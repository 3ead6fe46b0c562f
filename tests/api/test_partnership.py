"""`safeguard report partnership`: reach, timeliness and what each agency's information changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from api.store import AuditEntry, Store, init_db
from model.partnership import partnership_tables
from model.service import explainer_for
from pipelines.features import build_features
from tests.api.conftest import TrainedModel
from tests.api.test_monitor import _environment


def test_an_agency_that_shared_nothing_changes_no_band(trained_model: TrainedModel) -> None:
    prepared = trained_model.prepared
    frames = {name: frame for name, frame in prepared.feeds.items()
              if name != "events_probation"}
    model = trained_model.loaded.model
    features = build_features(frames)
    tables = partnership_tables(model, frames, features, explainer=explainer_for(model),
                                sample=300)
    overall = tables["overall"].set_index("agency")
    assert overall.loc["probation", "band_changed_share"] == 0.0
    assert overall.loc["probation", "reach"] == 0.0
    # The agencies that did share change some bands.
    assert overall["band_changed_share"].max() > 0.0
    assert not overall.loc["probation", "shared"] and overall.drop("probation")["shared"].all()


def _report(trained_model: TrainedModel, tmp_path: Path, *, without: str = "",
            all_quarantined: str = "") -> Path:
    """Run `safeguard report partnership` on a copy of the extract (less one agency's
    feed when `without` names it, every row of another's breaking the feed specification
    when `all_quarantined` does); the store it audits into is `tmp_path/store.db`."""
    extract = tmp_path / "extract"
    shutil.copytree(trained_model.extract, extract)
    for feed in extract.glob(f"events_{without}.*") if without else ():
        feed.unlink()
    for feed in extract.glob(f"events_{all_quarantined}.*") if all_quarantined else ():
        csv = feed.suffix == ".csv"
        rows = pd.read_csv(feed, dtype=str) if csv else pd.read_parquet(feed)
        assert len(rows) > 0
        rows = rows.assign(event_type="not_an_event_type")
        rows.to_csv(feed, index=False) if csv else rows.to_parquet(feed, index=False)
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    result = CliRunner().invoke(
        app, ["report", "partnership", "--input", str(extract), "--output", str(tmp_path / "out"),
              "--sample", "200"], env=_environment(trained_model, database))
    assert result.exit_code == 0, result.output
    return tmp_path / "out"


def test_the_command_writes_both_reports_and_is_audited(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    _report(trained_model, tmp_path)
    database = tmp_path / "store.db"
    report = json.loads((tmp_path / "out" / "partnership.json").read_text())
    agencies = {row["agency"] for row in report["overall"]}
    assert agencies == {"police", "health", "education", "social_care", "housing", "probation"}
    quarters = [row for row in report["by_quarter"] if row["agency"] == "police"]
    assert len(quarters) > 4 and all(0 <= row["reach"] <= 1 for row in quarters)
    html = (tmp_path / "out" / "partnership.html").read_text()
    assert "arrived too late" in html and "By quarter" in html
    assert report["explained_referrals"] == 200  # --sample 200 of 3,000
    assert "200 referrals explained" in html
    store = Store(f"sqlite:///{database}")
    with store.session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    store.dispose()
    assert actions == ["report_partnership"]


def test_a_sample_too_small_to_mean_anything_is_refused(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    result = CliRunner().invoke(
        app, ["report", "partnership", "--input", str(trained_model.extract), "--output",
              str(tmp_path / "out"), "--sample", "1"], env=_environment(trained_model, database))
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: --sample 1: at least 100")
    assert not (tmp_path / "out").exists()


def test_the_report_names_the_agencies_that_shared_nothing(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    out = _report(trained_model, tmp_path, without="probation", all_quarantined="housing")
    report = json.loads((out / "partnership.json").read_text())
    assert report["not_shared"] == ["housing", "probation"]
    html = " ".join((out / "partnership.html").read_text().split())
    assert ("Housing and probation shared nothing in this extract (no feed, a feed without "
            "rows, or every row quarantined)") in html
    assert html.count("Shared nothing in this extract") == 2  # their rows in the overall table
    assert ">Probation</caption>" not in html and ">Police</caption>" in html  # no quarters
    assert ">Housing</caption>" not in html
