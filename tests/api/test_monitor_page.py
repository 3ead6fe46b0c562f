"""What the governance board reads on `monitor.html`: plain words, one order, counts
written as the rest of the service writes them."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
from html import escape
from typing import Any

import pandas as pd
import pytest

from api.store.repository import CURRENT_DECISION_COLUMNS
from api.templating import render_report
from data_contracts.vocab import AGENCIES
from model.governance import MonitoringSettings
from model.labels import short_label
from model.monitor_run import monitor_extract, population
from model.monitoring import drift
from model.monitoring_reference import METADATA_KEY
from tests.api.conftest import TrainedModel


def _decisions(trained_model: TrainedModel) -> pd.DataFrame:
    """A decision on each of the extract's referrals, on this version's scores: a third
    raised, the rest agreed."""
    ids = trained_model.prepared.features["referral_id"].astype(str).tolist()
    rows = [(r, "low", "green", "red" if i % 3 == 0 else "green", i % 3 != 0, "a disclosure",
             None, trained_model.version) for i, r in enumerate(ids)]
    return pd.DataFrame(rows, columns=list(CURRENT_DECISION_COLUMNS))


@pytest.fixture(scope="module")
def report(trained_model: TrainedModel) -> dict[str, Any]:
    """The training extract monitored against its own model, with 3,000 decisions."""
    return monitor_extract(trained_model.loaded.model, version=trained_model.version,
                           prepared=trained_model.prepared, decisions=_decisions(trained_model))


def _page(report: dict[str, Any]) -> str:
    return render_report("reports/monitor.html", title="Model monitoring", report=report)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_agency_table_lists_the_agencies_in_one_order(report: dict[str, Any]) -> None:
    """The reference stored with a version comes back from the registry with its keys
    sorted: the quarter tables listed education first, the coverage table police."""
    shown = copy.deepcopy(report)
    training = shown["coverage"]["training"]
    for measure in ("overall", "recent"):
        training[measure] = dict(sorted(training[measure].items()))
    html = _page(shown)
    names = [a.replace("_", " ").capitalize() for a in AGENCIES]
    headers = re.findall(r"<thead.*?</thead>", html, flags=re.S)
    quarter_heads = [h for h in headers if ">Quarter<" in h]
    assert len(quarter_heads) == 3  # coverage's two measures, and the records received
    for head in quarter_heads:
        cells = [c.strip() for c in re.findall(r"<th[^>]*>([^<]*)</th>", head)]
        assert [c for c in cells if c not in ("Quarter", "Referrals")] == names
    coverage = html.split("Coverage at training and now", 1)[1].split("</tbody>", 1)[0]
    rows = [c.strip() for c in re.findall(r'<th scope="row"[^>]*>([^<]*)</th>', coverage)]
    assert rows == names


def test_the_practitioners_section_writes_counts_with_thousands_separators(
        report: dict[str, Any]) -> None:
    """"3000 current decisions", "1984 of 3000" beside "1,036 referrals" elsewhere."""
    section = _text(_page(report)).split("Practitioners and the score", 1)[1]
    assert section.startswith(" 3,000 current decisions")
    assert "of 3,000)" in section
    assert re.findall(r"(?<![\d-])\d{4,}(?![\d-])", section) == []  # dates apart
    [band] = [c for c in report["checks"] if c["kind"] == "practice" and c["subject"] == "low"]
    assert "of 3,000 decisions on the low band" in band["message"]


def test_drifted_features_are_named_in_plain_words_beside_their_names(
        trained_model: TrainedModel, report: dict[str, Any]) -> None:
    """The drift table and its checks read "parents_carers_health_ae_attendance_ever":
    now the model card's label first, the name kept beside it."""
    name = "parents_carers_health_ae_attendance_ever"
    label = "A&E attendances, parent/carer, ever"
    assert short_label(name) == label
    shown = copy.deepcopy(report)
    shown["drift"]["features"] = {name: 0.4, **shown["drift"]["features"]}
    html = _page(shown)
    table = html.split("The 15 features that moved most", 1)[1].split("</tbody>", 1)[0]
    assert f'{escape(label)} <code class="govuk-body-s">{name}</code>' in table
    model = trained_model.loaded.model
    features = trained_model.prepared.features
    current = population(model, features, start=dt.date(2000, 1, 1), end=dt.date(2100, 1, 1))
    moved = dataclasses.replace(current, features=features.assign(**{name: 50.0}))
    _, checks = drift(model.metadata[METADATA_KEY], moved, MonitoringSettings())
    [check] = [c for c in checks if c.subject == name]
    assert check.crossed and check.message.startswith(f"feature '{label}' ({name}) PSI ")


def test_the_page_says_why_a_group_with_missing_records_is_listed(
        report: dict[str, Any]) -> None:
    shown = copy.deepcopy(report)
    message = ("health records missing 2.5 times as often for Asian subjects as for all "
               "referrals (50 of 200 against 200 of 2,000; 2.5 times at training): not "
               "crossed: no more than 25% wider than at training")
    shown["checks"].append({"kind": "coverage_gap", "subject": "health/ethnicity_group=asian",
                            "crossed": False, "message": message, "assessed": True})
    text = _text(_page(shown))
    listed = text.split("Groups whose records are missing far more often", 1)[1]
    assert listed.startswith(" Groups of at least 100 referrals whose records from an agency "
                             "are missing at least 2.0 times as often as for all referrals, "
                             "listed whether or not the gap has changed.")
    assert f"{message} not crossed" in listed


def test_outcomes_of_decisions_not_yet_followed_up_say_why_there_are_none(
        trained_model: TrainedModel) -> None:
    """Decisions on referrals whose 365-day follow-up is still running showed "-" against
    each kind of decision, with no word of why."""
    prepared = trained_model.prepared
    labels = prepared.labels
    assert labels is not None
    waiting = labels.loc[~labels["follow_up_complete"].to_numpy(dtype=bool), "referral_id"]
    decisions = _decisions(trained_model)
    decisions = decisions.loc[decisions["referral_id"].isin(set(waiting.astype(str)))]
    dates = prepared.features.set_index("referral_id").loc[list(waiting), "referral_date"]
    first = (pd.to_datetime(dates).min() + pd.Timedelta(days=365)).date().isoformat()
    shown = monitor_extract(trained_model.loaded.model, version=trained_model.version,
                            prepared=prepared, decisions=decisions)
    n = len(decisions)
    assert shown["practice"]["outcome_follow_up"] == {
        "decided": n, "matured": 0, "days": 365, "first_completes": first}
    text = _text(_page(shown)).split("How the cases turned out (matured outcomes)", 1)[1]
    assert text.startswith(f" None of the {n:,} decided referrals has completed its 365-day "
                           f"follow-up yet; the first will on {first}, so there is no "
                           "outcome to show.")
    assert " - " not in text.split("Decision support only", 1)[0]
