"""`safeguard report partnership` on an extract where one agency's records arrive late and
another's feed stopped: the summary gives each agency's timeliness and tells the two
apart in words (an independent probe's board reader took a late Health for a stopped
feed: its recent reach was 0.0% right under "falls within weeks when a feed stops")."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from api.cli import app
from api.store import init_db
from model.data import prepare_extract
from tests.api.conftest import TrainedModel
from tests.api.test_monitor import _environment

EXTRACT_DATE = "2026-09-30"


def _late_and_stopped(source: Path, extract: Path) -> None:
    """A copy of `source` whose health records were each recorded 90 to 240 days after
    their event (those not yet recorded by the extract date left out, as a late agency's
    extract holds them), and whose housing records stop on 30 September 2025."""
    shutil.copytree(source, extract)
    health = pd.read_parquet(extract / "events_health.parquet")
    days = np.random.default_rng(7).integers(90, 241, len(health))
    recorded = pd.to_datetime(health["event_date"]) + pd.to_timedelta(days, unit="D")
    health["recorded_date"] = recorded.dt.strftime("%Y-%m-%d")
    health[recorded <= pd.Timestamp(EXTRACT_DATE)].to_parquet(
        extract / "events_health.parquet", index=False)
    housing = pd.read_parquet(extract / "events_housing.parquet")
    known = pd.to_datetime(housing["recorded_date"]).fillna(
        pd.to_datetime(housing["event_date"]))
    housing[known < pd.Timestamp("2025-10-01")].to_parquet(
        extract / "events_housing.parquet", index=False)


def test_a_late_agency_is_told_apart_from_a_stopped_one(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    extract, out, database = tmp_path / "extract", tmp_path / "out", tmp_path / "store.db"
    _late_and_stopped(trained_model.extract, extract)
    init_db(f"sqlite:///{database}")
    result = CliRunner().invoke(
        app, ["report", "partnership", "--input", str(extract), "--output", str(out),
              "--model", trained_model.version, "--sample", "200",
              "--extract-date", EXTRACT_DATE], env=_environment(trained_model, database))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "partnership.json").read_text())
    overall = {row["agency"]: row for row in report["overall"]}
    health, housing = overall["health"], overall["housing"]
    # Delays of 90 to 240 days, evenly: a median near 165 and a 90th percentile near 225.
    assert 155 <= health["median_delay_days"] <= 175
    assert 215 <= health["p90_delay_days"] <= 235
    assert health["recent_reach"] == 0.0 and health["recent_unarrived_share"] == 1.0
    assert 0 < health["late_share"] < 1 and housing["median_delay_days"] < 30
    for row in overall.values():
        assert {"median_delay_days", "p90_delay_days", "late_share"} <= row.keys()
    # The same late share as the quarters' late records, over every referral.
    quarters = [r for r in report["by_quarter"]
                if r["agency"] == "health" and r["informing_records"] is not None]
    assert health["late_share"] == sum(r["late_records"] for r in quarters) / sum(
        r["informing_records"] for r in quarters)

    found = {f["agency"]: f for f in report["late_or_stopped"]}
    assert sorted(found) == ["health", "housing"]  # police, education and the rest: neither
    assert (found["health"]["late"], found["health"]["stopped"]) == (True, False)
    assert (found["housing"]["late"], found["housing"]["stopped"]) == (False, True)
    late_words = found["health"]["text"]
    assert re.fullmatch(
        r"Health's records arrive late \(a median of 1[67]\d days after the event, about 5 "
        r"months; 90th percentile 2[23]\d days\): about 100% of the records of the 90 days "
        r"before a referral had not been recorded by it, so its recent reach \(0\.0%\) is "
        r"low because records of the last 90 days had mostly not arrived yet, not because "
        r"it stopped sharing \(its latest record was recorded on 2026-09-\d\d\)\.", late_words)
    stopped_words = found["housing"]["text"]
    assert stopped_words.startswith("Housing stopped sharing: no records recorded after 2025-09-")
    assert "(none from 2025Q4 to the extract date). " in stopped_words
    assert stopped_words.endswith(
        "Its recent reach falls from then because no records arrive, not because its "
        "records arrive late (a median of 0 days after the event).")

    html = " ".join((out / "partnership.html").read_text().split())
    assert late_words.replace("'", "&#39;") in html and stopped_words in html
    summary = html[html.index(">Each agency, all quarters<"):html.index("by presenting need")]
    for heading in ("Median delay (days)", "90th percentile delay (days)",
                    "Records arriving too late"):
        assert heading in summary
    health_row = summary[summary.index(">Health</th>"):].split("</tr>")[0]
    assert f">{health['median_delay_days']:.0f}</td>" in health_row
    assert f">{health['p90_delay_days']:.0f}</td>" in health_row
    assert f">{100 * health['late_share']:.1f}%</td>" in health_row


def test_records_late_only_in_the_latest_months_are_named_late(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """Police records recorded 120 days after the event from December 2025 on, in an
    extract running from 2015: over the whole period a median of 0 days, so the report
    named no late agency while `safeguard monitor` did (two probes)."""
    from model.partnership import partnership_report, partnership_tables
    from model.service import explainer_for
    from tests.api.test_monitor_record_delays import _police_late

    extract = _police_late(trained_model.extract, tmp_path / "late", from_event="2025-12-01",
                           days=120)
    prepared = prepare_extract(extract)
    model = trained_model.loaded.model
    tables = partnership_tables(model, prepared.feeds, prepared.features,
                                explainer=explainer_for(model), sample=100,
                                extract_date=prepared.extract_date)
    report = partnership_report(tables, model_version="1", extract_date=prepared.extract_date,
                                referrals=len(prepared.features))
    police = {row["agency"]: row for row in report["overall"]}["police"]
    assert police["median_delay_days"] < 10 and police["recent_unarrived_share"] < 0.5
    assert police["latest_median_delay_days"] == 120 and report["latest_days"] == 182
    [found] = report["late_or_stopped"]
    assert (found["agency"], found["late"], found["stopped"]) == ("police", True, False)
    # The quarter the delay began recorded fewer: listed, saying why (two probes read a
    # fall under "when a feed stops" beside words saying it had not stopped).
    [fall] = [f for f in report["record_falls"] if f["agency"] == "police"]
    assert fall["records"] > 0 and fall["late"] and fall["text"].endswith(
        "; its records arrive late, which moves them into later quarters: fewer recorded, "
        "not necessarily fewer shared")
    assert found["text"].startswith(
        "Police's records arrive late (those recorded in the latest 182 days: a median of "
        "120 days after the event, about 4 months; 90th percentile 120 days; over the whole "
        f"period a median of {police['median_delay_days']:.0f} day")
