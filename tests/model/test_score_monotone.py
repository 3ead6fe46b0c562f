"""A record of a concern never lowers a score, on a model trained as the project trains.

Each referral of the small extract is scored as the service scores a live case (its
records rebuilt into features by `pipelines.case`), then again with one record more: a
domestic-abuse incident, or one record of any other event type of concern (the
manifest's constrained ones), about the subject or a member of the household, known
before the referral. The raw score (the model's log-odds) may stay or rise, never fall:
what docs/explanations.md promises ("more domestic-abuse incidents never lowers the score").

Before the records-held flags stopped being model inputs, going from no police record to
one old incident flipped `police_records_held` from 0 to 1, a column with no constraint,
and lowered most scores.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import model.train as train_module
from model.data import PreparedExtract
from model.governance import load_governance
from model.risk_model import RiskModel
from model.score import rate_table
from model.service import explainer_for
from model.train import TrainingConfig, TrainingResult, train_model
from pipelines.case import build_cases_features, case_payload_from_frames
from pipelines.manifest import CONCERN_EVENTS, FEATURE_NAMES, MANIFEST

N_REFERRALS = 120
CONCERNS = list(CONCERN_EVENTS)
DOMESTIC_ABUSE = ("police", "domestic_abuse_incident")
# Days before the referral: an old record, and one in the last three months.
AGES = (900, 20)


@pytest.fixture(scope="module")
def cases(prepared: PreparedExtract) -> list[dict[str, Any]]:
    """Live payloads of referrals of the extract (dates as the ISO strings of the wire)."""
    refs = prepared.feeds["referrals"]
    ids = refs["referral_id"].astype(str).iloc[::max(1, len(refs) // N_REFERRALS)]
    return [json.loads(json.dumps(case_payload_from_frames(prepared.feeds, rid), default=str))
            for rid in ids[:N_REFERRALS]]


def with_record(case: dict[str, Any], agency: str, event_type: str, days_before: int,
                position: int) -> dict[str, Any]:
    """The case with one record more, known on its event date: about the subject for even
    `position`, else about a member of the household (the subject when there is none)."""
    members = [m["person_id"] for m in case["household_members"]
               if m["person_id"] != case["referral"]["person_id"]]
    person = members[position % len(members)] if members and position % 2 else (
        case["referral"]["person_id"])
    day = dt.date.fromisoformat(case["referral"]["referral_date"]) - dt.timedelta(days_before)
    record = {"agency": agency, "person_id": person, "event_date": day.isoformat(),
              "recorded_date": day.isoformat(), "event_type": event_type, "value": None}
    return {**case, "events": [*case["events"], record]}


def raw_scores(trained: TrainingResult, cases: list[dict[str, Any]]) -> np.ndarray:
    model = trained.model
    return model.raw_score(model.model_matrix(build_cases_features(cases)))


def assert_never_lower(trained: TrainingResult, cases: list[dict[str, Any]],
                       concerns: list[tuple[str, str]]) -> None:
    before = raw_scores(trained, cases)
    added, labels = [], []
    for agency, event_type in concerns:
        for days in AGES:
            for i, case in enumerate(cases):
                added.append(with_record(case, agency, event_type, days, i))
                labels.append((event_type, days, case["referral"]["referral_id"]))
    after = raw_scores(trained, added).reshape(len(concerns) * len(AGES), len(cases))
    drop = before[np.newaxis, :] - after
    lowered = [(labels[k], round(float(d), 3)) for k, d in enumerate(drop.reshape(-1))
               if d > 1e-9]
    assert not lowered, f"{len(lowered)} of {drop.size} added records lowered the score, " \
                        f"e.g. {lowered[:5]}"


def test_a_domestic_abuse_incident_never_lowers_the_score(
        trained: TrainingResult, cases: list[dict[str, Any]]) -> None:
    no_police = [{**case, "events": [e for e in case["events"] if e["agency"] != "police"]}
                 for case in cases]
    # From no police record at all (the step the records-held flag took), and from the
    # records each case holds.
    assert_never_lower(trained, no_police, [DOMESTIC_ABUSE])
    assert_never_lower(trained, cases, [DOMESTIC_ABUSE])


def test_a_record_of_any_concern_never_lowers_the_score(
        trained: TrainingResult, cases: list[dict[str, Any]]) -> None:
    assert DOMESTIC_ABUSE in CONCERNS and len(CONCERNS) > 10
    assert_never_lower(trained, cases, CONCERNS)


def test_the_records_held_flags_are_not_model_inputs(trained: TrainingResult) -> None:
    assert not [name for name in trained.model.feature_names if name.endswith("_records_held")]


def test_a_model_that_reads_the_flags_still_loads_scores_and_explains(
        prepared: PreparedExtract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version registered before the flags stopped being inputs keeps its own columns."""
    earlier = [spec.name for spec in MANIFEST if not spec.protected]
    monkeypatch.setattr(train_module, "model_feature_names", lambda **_: earlier)
    governance, text = load_governance()
    assert prepared.labels is not None
    old = train_model(prepared.features, prepared.labels, members=prepared.members,
                      governance=governance, governance_text=text,
                      config=TrainingConfig(max_iter=20)).model
    assert "police_records_held" in old.feature_names
    old.save(tmp_path)
    loaded = RiskModel.load(tmp_path)
    assert loaded.feature_names == old.feature_names
    rows = prepared.features.iloc[:300]
    table = rate_table(loaded, rows, model_version="1", explainer=explainer_for(loaded))
    matrix = rows[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
    np.testing.assert_allclose(table["raw_score"], old.raw_score(old.model_matrix(matrix)),
                               rtol=0, atol=1e-6)
    factors = [f for text in table["top_factors"] for f in json.loads(text)]
    assert factors and all(f["sentence"] for f in factors)
