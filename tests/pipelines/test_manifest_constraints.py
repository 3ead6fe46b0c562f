"""One more record moves a model's inputs only the way their monotonic constraints allow.

Model-free: whatever a model learns, a record of a concern can then never lower its
score, because every model input the record changes is constrained in the direction it
moves. A neutral record (an A&E attendance) may move its own unconstrained counts and,
like any record, the constrained recency of its agency, nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pytest

from pipelines.case import build_cases_features, case_payload_from_frames
from pipelines.feature_spec import NO_RECORD_DAYS
from pipelines.manifest import (
    CONCERN_EVENTS,
    COUNTED_EVENTS,
    FEATURE_NAMES,
    SPECS_BY_NAME,
    model_feature_names,
)
from tests.pipelines.factories import random_extract

INPUTS = model_feature_names(use_protected_characteristics=True)
COLUMNS = [FEATURE_NAMES.index(name) for name in INPUTS]
NEUTRAL_EVENTS = [pair for pair in COUNTED_EVENTS if pair not in CONCERN_EVENTS]


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    frames = random_extract(60, seed=8)
    ids = frames["referrals"]["referral_id"].astype(str)
    return [json.loads(json.dumps(case_payload_from_frames(frames, rid), default=str))
            for rid in ids]


def as_read(features: np.ndarray) -> np.ndarray:
    """The model inputs as a model reads them: an empty days-since of a constrained
    feature as `NO_RECORD_DAYS`."""
    out = features[:, COLUMNS].astype(np.float64)
    for j, name in enumerate(INPUTS):
        if SPECS_BY_NAME[name].no_record_as_days:
            out[:, j] = np.where(np.isnan(out[:, j]), NO_RECORD_DAYS, out[:, j])
    return out


def moved(cases: list[dict[str, Any]], agency: str, event_type: str
          ) -> tuple[np.ndarray, np.ndarray]:
    """Each model input before and after one record more (about the subject or a member of
    the household; old or recent), for every case."""
    added = []
    for i, case in enumerate(cases):
        members = [m["person_id"] for m in case["household_members"]] or [
            case["referral"]["person_id"]]
        person = members[i % len(members)] if i % 2 else case["referral"]["person_id"]
        day = (dt.date.fromisoformat(case["referral"]["referral_date"])
               - dt.timedelta(days=(10, 400, 3000)[i % 3]))
        added.append({**case, "events": [*case["events"], {
            "agency": agency, "person_id": person, "event_date": day.isoformat(),
            "recorded_date": day.isoformat(), "event_type": event_type, "value": None}]})
    return as_read(build_cases_features(cases)), as_read(build_cases_features(added))


def wrong_way(before: np.ndarray, after: np.ndarray, allowed: set[str]) -> dict[str, str]:
    """Inputs that moved against their constraint, or moved unconstrained (unless allowed)."""
    found = {}
    for j, name in enumerate(INPUTS):
        up, down = (after[:, j] > before[:, j]).any(), (after[:, j] < before[:, j]).any()
        direction = SPECS_BY_NAME[name].direction
        if (direction == "increases" and down) or (direction == "decreases" and up) or (
                direction == "none" and (up or down) and name not in allowed):
            found[name] = direction
    return found


@pytest.mark.parametrize(("agency", "event_type"), CONCERN_EVENTS)
def test_a_record_of_a_concern_moves_only_constrained_inputs_their_way(
        cases: list[dict[str, Any]], agency: str, event_type: str) -> None:
    before, after = moved(cases, agency, event_type)
    assert (after != before).any(), "the added record changed nothing"
    assert wrong_way(before, after, allowed=set()) == {}


@pytest.mark.parametrize(("agency", "event_type"), NEUTRAL_EVENTS)
def test_a_neutral_record_moves_only_its_own_counts_unconstrained(
        cases: list[dict[str, Any]], agency: str, event_type: str) -> None:
    before, after = moved(cases, agency, event_type)
    own = {name for name in INPUTS if SPECS_BY_NAME[name].event_type == event_type}
    assert wrong_way(before, after, allowed=own) == {}
    assert any(SPECS_BY_NAME[name].direction == "none"
               for j, name in enumerate(INPUTS) if (after[:, j] != before[:, j]).any())
