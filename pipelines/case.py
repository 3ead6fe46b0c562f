"""A single live case as feed-shaped frames, so it goes through the batch code path.

A case payload holds one referral plus the records the hub holds about its subject
and household, in the feed vocabulary:

    {"referral": {...referral fields...},
     "household_members": [{"person_id": ..., "role": ...}, ...],
     "events": [{"agency": ..., "person_id": ..., "event_date": ..., "recorded_date": ...,
                 "event_type": ..., "value": ...}, ...],
     "previous_referrals": [{"referral_id": ..., "person_id": ..., "referral_date": ...}]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.vocab import (
    AGENCIES,
    EVENT_COLUMNS,
    HOUSEHOLD_MEMBERS,
    REFERRAL_COLUMNS,
    REFERRALS,
    event_feed,
)
from pipelines.features import build_features


def _dates(values: Sequence[Any]) -> np.ndarray:
    out = np.array([np.datetime64("NaT") if v is None or v == "" else np.datetime64(str(v), "D")
                    for v in values], dtype="datetime64[D]")
    return out.astype("datetime64[ns]")


def case_frames(case: Mapping[str, Any]) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Turn a case payload into feed frames and the referral history frame."""
    referral = dict(case["referral"])
    row = {col: [referral.get(col)] for col in REFERRAL_COLUMNS}
    referrals = pd.DataFrame(row)
    referrals["referral_date"] = _dates(row["referral_date"])
    household_id = referral.get("household_id")
    members = list(case.get("household_members") or [])
    frames: dict[str, pd.DataFrame] = {REFERRALS: referrals}
    if household_id and members:
        frames[HOUSEHOLD_MEMBERS] = pd.DataFrame({
            "household_id": [household_id] * len(members),
            "person_id": [m["person_id"] for m in members],
            "role": [m["role"] for m in members],
        })
    by_agency: dict[str, list[Mapping[str, Any]]] = {agency: [] for agency in AGENCIES}
    for event in case.get("events") or []:
        by_agency[event["agency"]].append(event)
    for agency, events in by_agency.items():
        if not events:
            continue
        columns: dict[str, Any] = {col: [e.get(col) for e in events] for col in EVENT_COLUMNS}
        columns["event_date"] = _dates(columns["event_date"])
        columns["recorded_date"] = _dates(columns["recorded_date"])
        columns["value"] = np.array([np.nan if v is None else float(v) for v in columns["value"]])
        frames[event_feed(agency)] = pd.DataFrame(columns)
    previous = list(case.get("previous_referrals") or [])
    history = pd.DataFrame({
        "person_id": [p["person_id"] for p in previous] + [referral.get("person_id")],
        "referral_date": _dates([p["referral_date"] for p in previous]
                                + [referral.get("referral_date")]),
    })
    return frames, history


def build_case_features(case: Mapping[str, Any]) -> pd.DataFrame:
    """Features of one live case: exactly the row the batch build gives the same referral."""
    frames, history = case_frames(case)
    return build_features(frames, history=history)
