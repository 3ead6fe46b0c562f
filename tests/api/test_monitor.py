"""`safeguard monitor`: drift, coverage, matured outcomes and practitioners' overrides."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from api.cli import app
from api.store import Decision, Score, init_db, repository
from api.store.db import Store
from api.store.repository import CURRENT_DECISION_COLUMNS, current_decisions
from model.data import prepare_extract
from model.governance import MonitoringSettings
from model.monitor_run import monitor_extract, population
from model.monitoring import coverage_change
from model.monitoring_reference import Population
from model.overrides import DecisionRecord, override_rates
from model.practice import practice
from tests.api import factories
from tests.api.conftest import ApiEnv, TrainedModel

NO_DECISIONS = pd.DataFrame(columns=list(CURRENT_DECISION_COLUMNS))


def _environment(trained_model: TrainedModel, database: Path) -> dict[str, str]:
    settings = trained_model.settings_overrides()
    return {"SAFEGUARD_DATABASE_URL": f"sqlite:///{database}",
            "SAFEGUARD_MLFLOW_TRACKING_URI": settings["mlflow_tracking_uri"],
            "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": settings["mlflow_artifact_root"],
            "SAFEGUARD_MODEL_NAME": settings["model_name"],
            "SAFEGUARD_ENVIRONMENT": "test"}


def _monitor_without(trained_model: TrainedModel, tmp_path: Path, feed: str,
                     *options: str) -> Result:
    """`safeguard monitor` on a copy of the training extract without `feed`, into
    ``tmp_path/out``, against a fresh store."""
    newer = tmp_path / "newer"
    shutil.copytree(trained_model.extract, newer)
    (newer / feed).unlink()
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    return CliRunner().invoke(
        app, ["monitor", "--input", str(newer), "--output", str(tmp_path / "out"), *options],
        env=_environment(trained_model, database))


def test_the_training_extract_itself_crosses_no_threshold(trained_model: TrainedModel) -> None:
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=trained_model.prepared, decisions=NO_DECISIONS)
    assert report["crossed"] == []
    assert report["drift"]["score_psi"] == pytest.approx(0.0, abs=1e-9)
    assert report["window"]["referrals"] == report["reference_period"]["referrals"]
    assert report["matured_outcomes"]["n"] == 0  # nothing matured since training


def test_only_decisions_on_the_versions_own_scores_are_counted(
        trained_model: TrainedModel) -> None:
    """Decisions made on version 1's scores say nothing of how practitioners take
    version 2's: monitoring version 2 counts them apart, by version."""
    referrals = trained_model.prepared.features["referral_id"].astype(str).tolist()[:30]
    rows = [(referral, "low", "green", "red", False, "a disclosure", None,
             trained_model.version if i < 10 else "99")
            for i, referral in enumerate(referrals)]
    decisions = pd.DataFrame(rows, columns=list(CURRENT_DECISION_COLUMNS))
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=trained_model.prepared, decisions=decisions,
                             settings=MonitoringSettings(min_decisions=5))
    practice = report["practice"]
    assert practice["overall"]["n"] == 10 and practice["other_versions"] == {"99": 20}
    assert "overrode 100% of 10 decisions on the low band" in " ".join(report["crossed"])
    from api.templating import group_title, render_report

    html = render_report("reports/monitor.html", title="Model monitoring", report=report)
    assert "Not counted here, made on other versions' scores: 20 on version 99." in html
    # Each group's overrides named as the fairness audit names it ("Disabled subjects"),
    # not by its value in the extract ("yes").
    assert group_title("disability", "yes") == "Disabled subjects"
    for attribute, groups in practice["by_group"].items():
        for value in groups:
            assert f">{group_title(attribute, value)}</th>" in html
            assert f">{value}</th>" not in html


def test_a_stopped_feed_is_named_and_the_command_fails(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    result = _monitor_without(trained_model, tmp_path, "events_housing.parquet",
                              "--model", trained_model.version)
    assert result.exit_code == 1, result.output
    crossed = [line for line in result.stderr.splitlines() if "threshold crossed" in line]
    assert any("housing records for" in line and "0% now" in line for line in crossed)
    report = json.loads((tmp_path / "out" / "monitor.json").read_text())
    assert report["coverage"]["now"]["overall"]["housing"] == 0.0
    html = (tmp_path / "out" / "monitor.html").read_text()
    assert "Agency coverage" in html and "housing records for" in html


def test_a_feed_that_stops_is_named_by_its_recent_records(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """Police stop sharing when the monitored period starts: subjects' older police
    records stay held, so "any record" falls little; records of the last 90 days fall."""
    newer = tmp_path / "newer"
    shutil.copytree(trained_model.extract, newer)
    period = trained_model.loaded.model.metadata["monitoring_reference"]["period"]
    police = pd.read_parquet(newer / "events_police.parquet")
    kept = pd.to_datetime(police["event_date"]) < pd.Timestamp(period["from"])
    police.loc[kept].to_parquet(newer / "events_police.parquet")
    prepared = prepare_extract(newer, extract_date=trained_model.prepared.extract_date)
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=prepared, decisions=NO_DECISIONS)
    coverage = report["coverage"]
    before, now = coverage["training"]["recent"]["police"], coverage["now"]["recent"]["police"]
    assert now < before / 2
    [recent] = [c for c in report["checks"] if c["subject"] == "police (90d)"]
    assert recent["crossed"] and recent["message"] == (
        f"police records dated in the 90 days before the referral for {before:.0%} of "
        f"referrals at training, {now:.0%} now")
    assert recent["message"] in report["crossed"]
    # The fall first, the drift it causes after (a probe's report listed a drift first).
    kinds = [next(c["kind"] for c in report["checks"] if c["message"] == m)
             for m in report["crossed"]]
    assert "drift" in kinds and kinds[0] != "drift", kinds
    assert kinds.index("drift") > max(i for i, k in enumerate(kinds) if k != "drift"), kinds


def test_a_feed_that_stops_part_way_through_the_window_is_named_by_quarter(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """Police stop sharing on 1 January 2026, a year into the monitored window: the
    quarters after it are named, and monitor.json and monitor.html show each quarter."""
    from api.monitor_command import write_monitor_report

    newer = tmp_path / "newer"
    shutil.copytree(trained_model.extract, newer)
    police = pd.read_parquet(newer / "events_police.parquet")
    kept = pd.to_datetime(police["event_date"]) < pd.Timestamp("2026-01-01")
    police.loc[kept].to_parquet(newer / "events_police.parquet")
    prepared = prepare_extract(newer, extract_date=trained_model.prepared.extract_date)
    # The test extract has 100 to 160 referrals a quarter, worth 77 to 107 as families
    # repeat (`effective_referrals`): judged from 60.
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=prepared, decisions=NO_DECISIONS,
                             since=dt.date(2025, 1, 1),
                             settings=MonitoringSettings(min_window_referrals=60))
    quarters = {q["quarter"]: q for q in report["coverage"]["by_quarter"]}
    assert list(quarters)[0] == "2025Q1" and quarters["2026Q3"]["recent"]["police"] == 0.0
    assert quarters["2026Q3"]["below"]["recent"] == ["police"]
    [check] = [c for c in report["checks"] if c["subject"] == "police (90d) by quarter"]
    assert check["crossed"] and check["message"] in report["crossed"]
    assert check["message"].startswith("police records dated in the 90 days before the "
                                       "referral for ")
    assert "2026Q3 0% of " in check["message"]
    write_monitor_report(report, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "monitor.json").read_text())
    assert written["coverage"]["by_quarter"][-1]["quarter"] == list(quarters)[-1]
    html = (tmp_path / "out" / "monitor.html").read_text()
    assert "Records dated in the 90 days before the referral, by quarter" in html
    assert "under half" in html and "2026Q3" in html


def test_an_unchanged_extract_passes_the_command(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    result = CliRunner().invoke(
        app, ["monitor", "--input", str(trained_model.extract), "--output", str(tmp_path / "o")],
        env=_environment(trained_model, database))
    assert result.exit_code == 0, result.output
    assert "no threshold crossed" in result.stdout
    assert "household_members" not in result.output  # linked as at training: nothing to say


def test_a_window_without_referrals_is_refused_not_reported_as_drift(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    result = CliRunner().invoke(
        app, ["monitor", "--input", str(trained_model.extract), "--output", str(tmp_path / "o"),
              "--since", "2099-01-01"], env=_environment(trained_model, database))
    assert result.exit_code == 1
    assert result.output.startswith("error: no referral of the extract is dated from "
                                    "2099-01-01 (its referrals run ")
    assert "nothing to monitor" in result.output and "threshold crossed" not in result.output
    assert not (tmp_path / "o").exists()


def _scored(api: ApiEnv, events: int) -> str:
    case = factories.case(events=events)
    assert api.client.post("/v1/score", json=case, headers=api.headers("triage")).status_code == 200
    return str(case["referral"]["referral_id"])


def _decide(api: ApiEnv, referral: str, **fields: object) -> int:
    response = api.client.post("/v1/decisions", json=factories.decision(referral, **fields),
                               headers=api.headers("triage"))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_override_rates_from_decisions_recorded_through_the_api(api: ApiEnv) -> None:
    agreed, raised, changed = _scored(api, 3), _scored(api, 3), _scored(api, 3)
    _decide(api, agreed)
    _decide(api, raised, practitioner_rag="red", agrees_with_band=False,
            reason="Disclosure at school today")
    first = _decide(api, changed)  # agreed first, then raised: only the current one counts
    _decide(api, changed, practitioner_rag="amber", agrees_with_band=False,
            reason="disclosure at school today ", previous_decision_id=first)
    store = Store(api.settings.database_url)
    with store.session() as session:
        rows = current_decisions(session)
    store.dispose()
    frame = pd.DataFrame(rows, columns=list(CURRENT_DECISION_COLUMNS))
    frame = frame[frame["referral_id"].isin([agreed, raised, changed])]
    assert len(frame) == 3
    section, checks = practice(frame, band_names=["low", "medium", "high"],
                               settings=MonitoringSettings(min_decisions=3))
    low = section["by_band"]["low"]
    assert (low["n"], low["agreement"]["k"], low["override_up"]["k"]) == (3, 1, 2)
    assert low["override_down"]["k"] == 0
    # Grouped ignoring case and spacing, shown as first written (not lower-cased).
    assert section["top_override_reasons"] == [{"reason": "Disclosure at school today",
                                                "count": 2}]
    interval = low["override_up"]["ci"]
    assert interval[0] < 2 / 3 < interval[1]
    # Two thirds overridden is over the default half: the band is named.
    assert [c.subject for c in checks if c.crossed] == ["low"]


def test_records_newly_missing_for_one_group_are_named(trained_model: TrainedModel) -> None:
    model = trained_model.loaded.model
    reference = model.metadata["monitoring_reference"]
    period = reference["period"]
    current = population(model, trained_model.prepared.features,
                         start=dt.date.fromisoformat(period["from"]),
                         end=dt.date.fromisoformat(period["to"]))
    features = current.features.copy()
    black = (features["ethnicity_group"] == "black").to_numpy()
    assert black.sum() >= 10
    features.loc[black, "health_records_held"] = 0.0  # health stops sharing for one group
    moved = Population(features, current.score, current.start, current.end)
    settings = MonitoringSettings(min_group_referrals=10)
    section, checks = coverage_change(reference, moved, settings)
    crossed = [c for c in checks if c.crossed]
    assert [c.subject for c in crossed] == ["health/ethnicity_group=black"]
    assert "health records missing" in crossed[0].message
    assert "as often for Black subjects as for all referrals" in crossed[0].message
    assert section["now"]["by_group"]["ethnicity_group"]["black"]["shares"]["health"] == 0.0
    # Unchanged, nothing crosses.
    assert not [c for c in coverage_change(reference, current, settings)[1] if c.crossed]


def _decided(session: Session, referral: str, *, band: str, rag: str, chosen: str,
             agrees: bool) -> None:
    """A score and a decision on it, stored as they are (some before the API refused a
    RAG contradicting agrees_with_band)."""
    score = Score(referral_id=referral, model_name="m", model_version="1", probability=0.5,
                  score=10, band=band, rag=rag, result={}, user_name="t")
    session.add(score)
    session.flush()
    session.add(Decision(referral_id=referral, score_id=score.id, practitioner="p",
                         practitioner_rag=chosen, next_step="s", agrees_with_band=agrees,
                         reason=None if agrees else "a reason"))


def test_override_reasons_keep_the_practitioners_spelling() -> None:
    """Acronyms (DA, MARAC) mean something: a reason is shown as first written, counted
    with its other spellings, the commonest first."""
    reasons = ["DA incidents are historic", "MARAC referral made", "da incidents  are historic",
               "DA Incidents are historic", "MARAC referral made"]
    frame = pd.DataFrame({"referral_id": [f"R{i}" for i in range(5)], "band": "low",
                          "rag": "green", "practitioner_rag": "amber",
                          "agrees_with_band": False, "reason": reasons,
                          "created_at": None, "model_version": "1"})

    section, _ = practice(frame, band_names=["low"], settings=MonitoringSettings())

    assert section["top_override_reasons"] == [
        {"reason": "DA incidents are historic", "count": 3},
        {"reason": "MARAC referral made", "count": 2}]


def test_the_governance_page_and_monitor_count_the_same_overrides(
        fresh_database_url: str) -> None:
    """The override rates (governance page) and `safeguard monitor` read the same current
    decisions and tell agreement from overrides by the one rule, the RAG, whatever a
    decision stored before the API's check says of itself."""
    store = Store(fresh_database_url)
    with store.session() as session:
        _decided(session, "agreed", band="low", rag="green", chosen="green", agrees=True)
        _decided(session, "raised", band="low", rag="green", chosen="amber", agrees=False)
        _decided(session, "says-differs", band="high", rag="red", chosen="red", agrees=False)
        _decided(session, "says-agrees", band="high", rag="red", chosen="amber", agrees=True)
        session.commit()
        outcomes = repository.decision_outcomes(session)
        frame = pd.DataFrame(current_decisions(session), columns=list(CURRENT_DECISION_COLUMNS))
    store.dispose()
    [rate] = override_rates(DecisionRecord(*row) for row in outcomes)

    section, _ = practice(frame, band_names=["low", "high"], settings=MonitoringSettings())

    overall = section["overall"]
    assert (rate.decisions, rate.raised, rate.lowered) == (4, 1, 1)
    assert (overall["n"], overall["override_up"]["k"], overall["override_down"]["k"]) == (
        rate.decisions, rate.raised, rate.lowered)
    assert overall["agreement"]["k"] == rate.decisions - rate.overridden == 2


def _strict_json(text: str) -> dict:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_monitor_json_holds_no_nan_anywhere(tmp_path: Path) -> None:
    from api.monitor_command import write_monitor_report

    report = {"window": {"from": "2026-01-01", "to": "2026-06-30", "referrals": 9,
                         "rule": "from 2026-01-01 (--since)", "judged": False},
              "reference_period": {"from": "2025-01-01", "to": "2025-12-31", "referrals": 9},
              "model_version": "1", "generated_at": "now", "crossed": [], "checks": [],
              "thresholds": {"min_window_referrals": 500},
              "drift": {"score_psi": 0.1, "features": {"x": float("inf")},
                        "features_over_threshold": 0},
              "coverage": {"training": {"overall": {}}, "now": {"overall": {}, "recent": {}}},
              "matured_outcomes": {"n": 300, "training": {"roc_auc": float("nan")}},
              "practice": {"overall": {"n": 0, "agreement": {"rate": None}}, "by_band": {},
                           "by_group": {}}}
    write_monitor_report(report, tmp_path)
    written = _strict_json((tmp_path / "monitor.json").read_text())
    assert written["drift"]["features"]["x"] is None
    assert written["matured_outcomes"]["training"]["roc_auc"] is None


@pytest.mark.parametrize("outcomes", ["removed", "header only"])
def test_an_extract_without_outcomes_is_not_read_as_nothing_having_happened(
        trained_model: TrainedModel, tmp_path: Path, outcomes: str) -> None:
    """With the model trained 400 days before the extract was taken, a year of referrals
    has matured; with no outcome rows they were all labelled negative (a probe: ECE
    0.326 crossed, ROC AUC NaN in monitor.json, 0% in every band)."""
    from api.monitor_command import write_monitor_report

    newer = tmp_path / "newer"
    shutil.copytree(trained_model.extract, newer)
    feed = newer / "outcomes.parquet"
    if outcomes == "removed":
        feed.unlink()
    else:
        pd.read_parquet(feed).iloc[:0].to_parquet(feed)
    model = copy.copy(trained_model.loaded.model)
    trained = trained_model.prepared.extract_date - dt.timedelta(days=400)
    model.metadata = {**model.metadata, "extract_date": trained.isoformat()}
    report = monitor_extract(model, version=trained_model.version,
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS)
    write_monitor_report(report, tmp_path / "out")
    report = _strict_json((tmp_path / "out" / "monitor.json").read_text())
    matured = report["matured_outcomes"]
    assert matured["n"] > 200  # matured referrals there were; their outcomes are unknown
    assert matured["note"].startswith("not assessed: the extract")
    assert "now" not in matured
    outcome_checks = [c for c in report["checks"] if c["kind"] == "outcomes"]
    assert outcome_checks and not any(c["crossed"] or c["assessed"] for c in outcome_checks)
    assert not any("ECE" in line or "ROC" in line for line in report["crossed"])
    html = (tmp_path / "out" / "monitor.html").read_text()
    assert not re.search(r"\bnan\b", html, re.IGNORECASE) and "Not assessed: the extract" in html


def test_the_command_says_why_outcomes_were_not_assessed(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    result = _monitor_without(trained_model, tmp_path, "outcomes.parquet")
    assert result.exit_code == 0, result.output
    assert ("matured outcomes: not assessed: the extract has no outcomes feed (the 365-day "
            "follow-up of 0 referrals completed since training)") in result.stdout
    assert "window: as many days as the reference period, overlapping it by" in result.stdout


def test_training_outcome_rates_are_shown_with_their_counts_and_population(
        trained_model: TrainedModel) -> None:
    from api.templating import render_report

    training = trained_model.loaded.model.metadata["monitoring_reference"]["outcomes"]
    period_from = trained_model.loaded.model.metadata["monitoring_reference"]["period"]["from"]
    # Every test-period referral with a complete follow-up, a family's later ones included.
    frame = trained_model.prepared.features.merge(trained_model.prepared.labels, on="referral_id")
    labelled = frame[(pd.to_datetime(frame["referral_date"]) >= pd.Timestamp(period_from))
                     & frame["follow_up_complete"]]
    assert training["n"] == len(labelled) > 0
    assert training["outcome_rate"] == pytest.approx(labelled["label"].astype(float).mean())
    assert sum(entry["n"] for entry in training["rates_by_band"].values()) == len(labelled)
    later = prepare_extract(trained_model.extract,
                            extract_date=trained_model.prepared.extract_date
                            + dt.timedelta(days=400))
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=later, decisions=NO_DECISIONS)
    assert report["matured_outcomes"]["n"] > 0
    html = render_report("reports/monitor.html", title="Model monitoring", report=report)
    period = trained_model.loaded.model.metadata["monitoring_reference"]["period"]
    assert (f"At training: {training['n']:,} referrals, those of the test period (from "
            f"{period_from}) whose 365-day follow-up had completed by the training "
            f"extract's date ({period['to']}). A family's later referrals are counted, as "
            "they are in the figures now.") in html
    for entry in training["rates_by_band"].values():
        if entry["observed_rate"] is not None:
            assert f"{entry['observed_rate']:.0%} ({entry['n']:,})" in html


def test_a_window_of_a_few_referrals_is_shown_not_judged(trained_model: TrainedModel) -> None:
    since = trained_model.prepared.extract_date - dt.timedelta(days=20)
    report = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                             prepared=trained_model.prepared, decisions=NO_DECISIONS,
                             since=since)
    n = report["window"]["referrals"]
    assert 0 < n < 500 and report["window"]["judged"] is False
    assert report["crossed"] == []
    judged = [c for c in report["checks"] if c["kind"] in ("drift", "coverage", "coverage_gap")]
    assert judged and not any(c["assessed"] for c in judged)
    worth = report["window"]["effective_referrals"]
    assert worth < n  # the test extract's families repeat
    assert judged[0]["message"].endswith(f": too few referrals to judge ({n:,}, worth "
                                         f"{worth:,.0f} as families repeat; at least 500)")


def _aged_model(trained_model: TrainedModel, days: int) -> object:
    """The trained model as if its training extract had been taken `days` earlier."""
    model = copy.copy(trained_model.loaded.model)
    trained = trained_model.prepared.extract_date - dt.timedelta(days=days)
    model.metadata = {**model.metadata, "extract_date": trained.isoformat()}
    return model


def _with_more_outcomes(extract: Path, folder: Path, *, since: dt.date, factor: float) -> Path:
    """A copy of `extract` whose referrals from `since` have `factor` times their outcomes
    (an outcome added for randomly chosen referrals without one)."""
    shutil.copytree(extract, folder)
    referrals = pd.read_parquet(folder / "referrals.parquet")
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    dates = pd.to_datetime(referrals["referral_date"])
    later = referrals.loc[dates.ge(pd.Timestamp(since)).to_numpy()]
    had = later["referral_id"].isin(outcomes["referral_id"])
    without = later.loc[~had.to_numpy()]
    share = (factor - 1) * had.mean() / (1 - had.mean())
    chosen = without.sample(frac=share, random_state=0)
    added = pd.DataFrame({"referral_id": chosen["referral_id"].to_numpy(),
                          "outcome_type": "child_protection_plan",
                          "outcome_date": (pd.to_datetime(chosen["referral_date"])
                                           + pd.Timedelta(days=30)).dt.strftime("%Y-%m-%d")})
    pd.concat([outcomes, added], ignore_index=True).to_parquet(folder / "outcomes.parquet",
                                                               index=False)
    return folder


def test_outcomes_running_well_above_the_predictions_fail_monitoring(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """Calibration in the large: the observed outcome rate of the matured referrals
    against the mean predicted, judged however small the change in ECE."""
    from api.monitor_command import write_monitor_report

    model = _aged_model(trained_model, 400)
    since = trained_model.prepared.extract_date - dt.timedelta(days=765)
    newer = _with_more_outcomes(trained_model.extract, tmp_path / "newer", since=since,
                                factor=1.8)
    report = monitor_extract(model, version=trained_model.version,  # type: ignore[arg-type]
                             prepared=prepare_extract(newer), decisions=NO_DECISIONS)
    write_monitor_report(report, tmp_path / "out")
    written = _strict_json((tmp_path / "out" / "monitor.json").read_text())
    overall = written["matured_outcomes"]["calibration"]["overall"]
    assert overall["n"] >= 200 and overall["interval"][0] > 1.25
    assert overall["verdict"] == "outside tolerance"
    assert any(line.startswith("calibration (all bands): the model predicted "
                               f"{overall['mean_predicted']:.1%} and "
                               f"{overall['observed_rate']:.1%} was observed")
               for line in written["crossed"])
    html = (tmp_path / "out" / "monitor.html").read_text()
    assert "Calibration in the large" in html and "outside tolerance" in html


def test_the_training_extracts_own_matured_outcomes_are_within_tolerance(
        trained_model: TrainedModel) -> None:
    report = monitor_extract(_aged_model(trained_model, 400),  # type: ignore[arg-type]
                             version=trained_model.version, prepared=trained_model.prepared,
                             decisions=NO_DECISIONS)
    [overall] = [c for c in report["checks"] if c["subject"] == "observed_expected"]
    assert overall["assessed"] and not overall["crossed"], overall["message"]


def test_a_report_of_a_version_trained_before_calibration_was_monitored_renders(
        trained_model: TrainedModel) -> None:
    """Old monitor.json: no mean predicted at training, no calibration section."""
    from api.templating import render_report

    model = _aged_model(trained_model, 400)
    reference = copy.deepcopy(model.metadata["monitoring_reference"])  # type: ignore[attr-defined]
    del reference["outcomes"]["mean_predicted"]
    model.metadata = {**model.metadata, "monitoring_reference": reference}  # type: ignore[attr-defined]
    report = monitor_extract(model, version=trained_model.version,  # type: ignore[arg-type]
                             prepared=trained_model.prepared, decisions=NO_DECISIONS)
    html = render_report("reports/monitor.html", title="Model monitoring", report=report)
    assert "Mean predicted probability, all bands" in html and "not recorded" in html
    old = copy.deepcopy(report)
    del old["matured_outcomes"]["calibration"], old["matured_outcomes"]["now"]["mean_predicted"]
    del old["thresholds"]["calibration_ratio_lower"], old["thresholds"]["calibration_ratio_upper"]
    old["checks"] = [c for c in old["checks"] if c["kind"] != "calibration"]
    html = render_report("reports/monitor.html", title="Model monitoring", report=old)
    assert "Calibration in the large" not in html and "Expected calibration error" in html


def test_calibrations_interval_counts_a_family_once_not_each_referral(
        trained_model: TrainedModel) -> None:
    """A year of referrals matured (the model dated 400 days before the extract): the
    observed/expected interval is taken on the families' effective number of referrals,
    wider than the exact interval of as many independent referrals."""
    from model.calibration_check import exact_interval

    model = copy.copy(trained_model.loaded.model)
    trained = trained_model.prepared.extract_date - dt.timedelta(days=400)
    model.metadata = {**model.metadata, "extract_date": trained.isoformat()}
    report = monitor_extract(model, version=trained_model.version,
                             prepared=trained_model.prepared, decisions=NO_DECISIONS)
    overall = report["matured_outcomes"]["calibration"]["overall"]
    low, high = (end / overall["mean_predicted"]
                 for end in exact_interval(overall["outcomes"], overall["n"]))
    assert overall["n"] > 200
    assert overall["interval"][0] < low and overall["interval"][1] > high
