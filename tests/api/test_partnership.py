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
                                extract_date=prepared.extract_date,
                                sample=300)
    overall = tables["overall"].set_index("agency")
    assert overall.loc["probation", "band_changed_share"] == 0.0
    assert overall.loc["probation", "reach"] == 0.0
    # The agencies that did share change some bands.
    assert overall["band_changed_share"].max() > 0.0
    assert not overall.loc["probation", "shared"] and overall.drop("probation")["shared"].all()


def _report(trained_model: TrainedModel, tmp_path: Path, *, without: str = "",
            all_quarantined: str = "", stopped: tuple[str, str] = ("", "")) -> Path:
    """Run `safeguard report partnership` on a copy of the extract (less one agency's
    feed when `without` names it, every row of another's breaking the feed specification
    when `all_quarantined` does, the records of `stopped[0]` recorded from `stopped[1]`
    on left out); the store it audits into is `tmp_path/store.db`."""
    extract = tmp_path / "extract"
    shutil.copytree(trained_model.extract, extract)
    agency, since = stopped
    for feed in extract.glob(f"events_{agency}.parquet") if agency else ():
        rows = pd.read_parquet(feed)
        known = pd.to_datetime(rows["recorded_date"]).fillna(pd.to_datetime(rows["event_date"]))
        rows[known < pd.Timestamp(since)].to_parquet(feed, index=False)
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
    # Quarters of referrals (the rest hold the records and delays of earlier quarters).
    quarters = [row for row in report["by_quarter"]
                if row["agency"] == "police" and row["reach"] is not None]
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


def test_a_feed_that_stopped_is_named_and_its_recent_reach_falls(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    out = _report(trained_model, tmp_path, stopped=("housing", "2025-10-01"))
    report = json.loads((out / "partnership.json").read_text())
    assert report["period"] == {"from_quarter": "2020Q1", "to_quarter": "2026Q3"}
    assert [f["text"] for f in report["record_falls"]] == [
        "housing: no records recorded from 2025Q4 to the extract date (2026-09-30)"]
    housing = {row["quarter"]: row for row in report["by_quarter"] if row["agency"] == "housing"}
    # Any record ever held hardly moves; a record in the 90 days before the referral stops.
    before = [housing[q] for q in ("2024Q4", "2025Q1", "2025Q2", "2025Q3")]
    after = [housing[q] for q in ("2026Q1", "2026Q2", "2026Q3")]
    assert min(r["reach"] for r in after) > 0.3 and min(r["reach"] for r in before) > 0.25
    assert [r["recent_reach"] for r in after] == [0.0, 0.0, 0.0]
    assert min(r["recent_reach"] for r in before) > 0.01
    assert housing["2026Q2"]["records"] == 0 and housing["2025Q2"]["records"] > 50
    # Records recorded before the first referral keep their delays (no referral that quarter).
    assert housing["2019Q4"]["reach"] is None and housing["2019Q4"]["records"] > 50
    assert housing["2019Q4"]["median_delay_days"] is not None
    html = " ".join((out / "partnership.html").read_text().split())
    assert "Housing: no records recorded from 2025Q4 to the extract date (2026-09-30)" in html
    assert "Records recorded" in html and "Recent reach (90 days)" in html
    assert "Mean absolute contribution to the score (log-odds, 200 referrals explained)" in html
    assert "share of the explanation" not in html
    # Bands lower without an agency are among those that differ, and shown beside them.
    for row in report["overall"]:
        assert 0 <= row["band_lower_without_share"] <= row["band_changed_share"]
    assert "Of which lower without it" in html and "monotonic constraints" in html
    assert ">2020Q1</th>" in html and ">2019Q4</th>" not in html  # the referral period only


def test_the_page_says_which_way_most_differing_bands_move_as_its_table_does() -> None:
    from api.templating import render_report
    from model.partnership import band_changes_mostly

    overall = [
        {"agency": "education", "reach": 0.79, "recent_reach": 0.17, "shared": True,
         "mean_abs_contribution": 0.28, "band_changed_share": 0.164,
         "band_lower_without_share": 0.051},
        {"agency": "police", "reach": 0.92, "recent_reach": 0.27, "shared": True,
         "mean_abs_contribution": 0.66, "band_changed_share": 0.454,
         "band_lower_without_share": 0.454}]
    report = {"model_version": "1", "extract_date": "2026-06-30", "referrals": 20_000,
              "overall": overall, "band_changes_mostly": band_changes_mostly(overall),
              "not_shared": [], "by_quarter": [], "record_falls": [], "by_need": [],
              "most_important_by_need": {}, "period": {}}
    html = " ".join(render_report("reports/partnership.html", title="Partnership evidence",
                                  report=report).split())
    assert ("For Police, most of the bands that would differ without the agency would be "
            "lower. For Education, most of the bands that would differ without the agency "
            "would be higher.") in html
    # Records-held flags are not model inputs: no band moves through them.
    assert "whether it held any record" not in html
    assert "Most bands that would differ without an agency would be lower" not in html
