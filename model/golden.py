"""The golden set: reference cases stored with a model version, with the ratings it gave.

At start-up, and on `safeguard model check`, the cases are scored again through the
live path (payload -> features -> model). A model that no longer reproduces its own
scores (a changed library, a corrupted file, a feature change) is not served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from data_contracts.vocab import HOUSEHOLD_MEMBERS, REFERRALS
from model.risk_model import RiskModel
from model.run_artifacts import GOLDEN_FILE as GOLDEN_FILE
from pipelines.case import build_case_features, case_payload_from_frames

GOLDEN_SIZE: Final = 25
TOLERANCE: Final = 1e-9


def _rating(model: RiskModel, payload: Mapping[str, Any]) -> dict[str, Any]:
    ratings = model.rate(build_case_features(payload))
    return {
        "raw_score": float(ratings.raw_score[0]),
        "probability": float(ratings.probability[0]),
        "score": int(ratings.score[0]),
        "band": model.governance.bands[int(ratings.band[0])].name,
    }


def _families_of(feeds: Mapping[str, pd.DataFrame], referral_ids: Sequence[str]
                  ) -> dict[str, pd.DataFrame]:
    """The feeds cut down to the people and households of some referrals (one pass each)."""
    refs = feeds[REFERRALS]
    chosen = refs[refs["referral_id"].isin(referral_ids)]
    members = feeds.get(HOUSEHOLD_MEMBERS)
    persons = set(chosen["person_id"])
    if members is not None:
        persons |= set(members.loc[members["household_id"].isin(chosen["household_id"]),
                                   "person_id"])
    return {name: frame[frame["person_id"].isin(persons)] if "person_id" in frame else frame
            for name, frame in feeds.items()}


def build_golden_set(model: RiskModel, feeds: Mapping[str, pd.DataFrame],
                     referral_ids: Sequence[str], probabilities: np.ndarray, *,
                     size: int = GOLDEN_SIZE) -> list[dict[str, Any]]:
    """Reference cases spread across the range of probabilities, with their ratings."""
    order = np.argsort(probabilities, kind="stable")
    picks = order[np.unique(np.linspace(0, len(order) - 1, num=min(size, len(order)))
                            .round().astype(int))]
    chosen = [referral_ids[position] for position in picks]
    feeds = _families_of(feeds, chosen)
    cases = []
    for referral_id in chosen:
        payload = case_payload_from_frames(feeds, referral_id)
        cases.append({"payload": payload, "expected": _rating(model, payload)})
    return cases


def check_golden_set(model: RiskModel, cases: Sequence[Mapping[str, Any]]) -> list[str]:
    """Problems found re-scoring the golden set: empty when every case reproduces."""
    if not cases:
        return ["the model version has no golden cases"]
    problems = []
    for case in cases:
        referral_id = case["payload"]["referral"]["referral_id"]
        got, want = _rating(model, case["payload"]), case["expected"]
        for key in ("raw_score", "probability"):
            if abs(got[key] - want[key]) > TOLERANCE:
                problems.append(f"{referral_id}: {key} {got[key]!r} != expected {want[key]!r}")
        for key in ("score", "band"):
            if got[key] != want[key]:
                problems.append(f"{referral_id}: {key} {got[key]!r} != expected {want[key]!r}")
    return problems
