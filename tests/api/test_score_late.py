"""`safeguard score` on an extract where one agency's records arrive late: every rating's
warnings say that agency's recent records had mostly not arrived by the referral date,
so the practitioner asks it (the partnership report and the monitor said so to the
board, but a case's page said nothing)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from api.case_payload import CasePayload
from api.model_scorer import scorer_for
from model.late_records import LATEST_DAYS, RECENT_DAYS, late_in_extract
from model.late_warning import LATE_KEY, LateAgency, late_warning
from model.train import TrainingConfig
from model.workflow import score_extract, train_and_register
from tests.api import factories
from tests.api.conftest import TrainedModel, empty_registry

EXTRACT_DATE = dt.date(2026, 9, 30)


def late_copy(source: Path, extract: Path, agency: str, low: int, high: int) -> None:
    """A copy of `source` whose `agency` records were each recorded `low` to `high` days
    after their event, those not yet recorded by the extract date left out (as a late
    agency's extract holds them)."""
    shutil.copytree(source, extract)
    path = extract / f"events_{agency}.parquet"
    rows = pd.read_parquet(path)
    days = np.random.default_rng(5).integers(low, high + 1, len(rows))
    recorded = pd.to_datetime(rows["event_date"]) + pd.to_timedelta(days, unit="D")
    rows["recorded_date"] = recorded.dt.strftime("%Y-%m-%d")
    rows[recorded <= pd.Timestamp(EXTRACT_DATE)].to_parquet(path, index=False)


def test_every_rating_warns_of_an_agency_whose_records_arrive_late(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    late_copy(trained_model.extract, extract, "police", 60, 200)
    scored = score_extract(extract, tmp_path / "ratings.csv", registry=trained_model.registry,
                           reference=trained_model.version, extract_date=EXTRACT_DATE)
    table = scored.table
    assert table is not None and len(table) == 3_000
    warnings = table["warnings"].map(json.loads)
    late = [[w for w in found if w.startswith("Police records arrive late")] for found in warnings]
    # Said to the referrals dated in the latest days lateness was judged on, not before.
    dated = pd.to_datetime(trained_model.prepared.features["referral_date"]).dt.date
    recent = (dated >= EXTRACT_DATE - dt.timedelta(days=LATEST_DAYS - 1)).to_numpy()
    assert recent.sum() > 100 and (~recent).sum() > 100
    assert [len(found) for found in late] == [int(r) for r in recent]
    text = next(found[0] for found in late if found)
    # Delays of 60 to 200 days, evenly: a median near 130; most of 90 days unrecorded.
    median = int(text.split("a median of ")[1].split(" day")[0])
    assert 115 <= median <= 145, text
    assert f"those recorded in its latest {LATEST_DAYS} days" in text
    assert f"most police records of the {RECENT_DAYS} days before a referral" in text
    assert "Ask police about recent events before you decide." in text
    # Said once per rating, after any agency that shared nothing, of no other agency.
    assert not any("records arrive late" in w for found in warnings for w in found
                   if not w.startswith("Police"))


def test_an_extract_whose_records_arrive_promptly_gives_no_such_warning(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    assert trained_model.prepared.notices == ()
    scored = score_extract(trained_model.extract, tmp_path / "ratings.csv",
                           registry=trained_model.registry, reference=trained_model.version)
    assert scored.table is not None
    assert not scored.table["warnings"].str.contains("arrive late").any()


def _feed(delays: list[int], recorded_on: str) -> pd.DataFrame:
    recorded = pd.Series(pd.to_datetime([recorded_on] * len(delays)))
    return pd.DataFrame({"event_date": recorded - pd.to_timedelta(delays, unit="D"),
                         "recorded_date": recorded})


@pytest.mark.parametrize(("delay", "late"), [(44, False), (46, True)])
def test_late_is_most_of_the_recent_window_unrecorded(delay: int, late: bool) -> None:
    """A delay of d days leaves d/90 of a 90-day window unrecorded: over half is late."""
    feeds = {"events_health": _feed([delay] * 40, "2026-09-01")}
    found = late_in_extract(feeds, extract_date=EXTRACT_DATE)
    assert found == ((LateAgency("health", f"a median of {delay} days after the event, about "
                                 f"2 months; 90th percentile {delay} days", LATEST_DAYS,
                                 RECENT_DAYS, applies_from="2026-04-02"),) if late else ())


def test_lateness_is_judged_on_the_latest_days_and_enough_records() -> None:
    feeds = {
        # Late, but recorded before the latest days began: not late now.
        "events_police": _feed([120] * 40, (EXTRACT_DATE - dt.timedelta(days=LATEST_DAYS)
                                            ).isoformat()),
        # Late in the latest days, but too few records (under 30) to judge.
        "events_housing": _feed([120] * 29, "2026-09-30"),
        # Late, judged on 30 records, the last on the extract date.
        "events_probation": _feed([120] * 30, "2026-09-30"),
    }
    found = late_in_extract(feeds, extract_date=EXTRACT_DATE)
    assert [late.agency for late in found] == ["probation"]
    assert late_warning(found[0], "adult").startswith(
        "Probation records arrive late in this extract (those recorded in its latest 182 "
        "days: a median of 120 days after the event, about 4 months; 90th percentile 120 "
        "days): most probation records of the 90 days before a referral are not recorded "
        "by its date, so this score may miss recent probation information about this "
        "adult or household.")


def test_a_model_trained_where_records_arrived_late_warns_each_case_scored_alone(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    """The service scores one case at a time, with no extract to judge by: the agencies
    late at training are recorded with the model, and each case is warned of them; an
    extract scored with the model is judged on its own records instead."""
    extract = tmp_path / "extract"
    late_copy(trained_model.extract, extract, "police", 60, 200)
    registry = empty_registry(tmp_path / "mlflow")
    with threadpool_limits(1):
        outcome = train_and_register(extract, registry=registry, experiment="t",
                                     config=TrainingConfig(max_iter=10),
                                     extract_date=EXTRACT_DATE)
    loaded = registry.load(outcome.version.version)
    recorded = loaded.model.metadata[LATE_KEY]
    assert [(found["agency"], found["trained_on"]) for found in recorded] == [
        ("police", "2026-09-30")]
    scorer = scorer_for(loaded)
    case = CasePayload.model_validate(factories.case())
    [result] = scorer.score_cases([case])
    late = [w for w in result.warnings if "records arrived late" in w]
    assert late == [late_warning(LateAgency(**recorded[0]), "child")]
    assert late[0].startswith("Police records arrived late in the extract this model was "
                              "trained on (of 30 September 2026; those recorded in its latest "
                              "182 days: a median of ")
    assert "); if they still do, most police records of the 90 days before a referral" in late[0]
    # An extract whose police records arrive promptly: no warning, from the extract's own.
    scored = score_extract(trained_model.extract, tmp_path / "ratings.csv", registry=registry,
                           reference=outcome.version.version, explain=True)
    assert scored.table is not None
    assert not scored.table["warnings"].str.contains("arrive").any()


def test_no_late_warning_of_an_agency_the_model_makes_no_use_of() -> None:
    """A probe's 141 ratings said housing records arrive late, "this score may miss recent
    housing information", and that the model "makes no use of housing records"."""
    from model.factor_text import warnings_for

    late = tuple(LateAgency(a, "a median of 120 days after the event", 182, 90, "", "")
                 for a in ("housing", "police"))
    said = warnings_for((), (), None, "child", ("housing",), (), (), False, late)
    assert [w.split(" records arrive")[0] for w in said if "records arrive late" in w] == [
        "Police"]


def test_a_backlog_of_old_records_loaded_at_once_is_not_lateness() -> None:
    """A probe loaded 150 old housing records on one day, its current records recorded
    within a week: "a median of 1,272 days" named housing late on 1,845 ratings."""
    current = _feed([3] * 40, "2026-09-01")
    backlog = _feed(list(range(900, 1_050)), "2026-06-01")
    found = late_in_extract({"events_housing": pd.concat([current, backlog])},
                            extract_date=EXTRACT_DATE)
    assert found == ()
    # Records a year late are still lateness.
    late = _feed([300] * 40, "2026-09-01")
    assert [n.agency for n in late_in_extract({"events_housing": late},
                                              extract_date=EXTRACT_DATE)] == ["housing"]
