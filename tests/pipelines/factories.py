"""Factories of small, valid, typed feed frames for the pipeline tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    EVENT_TYPES,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    event_feed,
)
from pipelines.case import case_payload_from_frames

ROLES_FOR_MEMBERS = ("parent_carer", "sibling", "other_adult", "other_child")


def referral(**overrides: Any) -> dict[str, Any]:
    """One valid referral row as a dict (dates as ISO strings)."""
    row: dict[str, Any] = {
        "referral_id": "R1", "person_id": "p1", "household_id": "h1",
        "referral_date": "2024-06-01", "referral_source": "police",
        "presenting_need": "domestic_abuse", "subject_type": "child", "age_years": 7,
        "sex": "female", "ethnicity_group": "white", "disability": False, "imd_decile": 3,
    }
    row.update(overrides)
    return row


def referrals_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["referral_date"] = pd.to_datetime(frame["referral_date"])
    frame["imd_decile"] = frame["imd_decile"].astype("Int64")
    frame["disability"] = frame["disability"].astype(bool)
    return frame


def events_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["person_id", "event_date", "recorded_date",
                                        "event_type", "value"])
    frame["event_date"] = pd.to_datetime(frame["event_date"])
    frame["recorded_date"] = pd.to_datetime(frame["recorded_date"])
    frame["value"] = frame["value"].astype(float)
    return frame


def random_extract(n_referrals: int, seed: int, events_per_person: float = 6.0
                   ) -> dict[str, pd.DataFrame]:
    """A random but valid typed extract: households, repeat referrals, all six agencies."""
    rng = np.random.default_rng(seed)
    n_households = max(1, n_referrals // 2)
    members = []
    for h in range(n_households):
        size = int(rng.integers(1, 6))
        for m in range(size):
            role = "subject" if m == 0 else ROLES_FOR_MEMBERS[int(rng.integers(0, 4))]
            members.append({"household_id": f"h{h}", "person_id": f"p{h}_{m}", "role": role})
    member_frame = pd.DataFrame(members)
    people = member_frame["person_id"].to_numpy()
    start = np.datetime64("2019-01-01")
    ref_rows = []
    for i in range(n_referrals):
        h = int(rng.integers(0, n_households))
        household = member_frame[member_frame["household_id"] == f"h{h}"]
        person = household["person_id"].iloc[int(rng.integers(0, len(household)))]
        adult = bool(rng.random() < 0.2)
        ref_rows.append(referral(
            referral_id=f"R{i}", person_id=person,
            household_id=None if rng.random() < 0.05 else f"h{h}",
            referral_date=str(start + np.timedelta64(int(rng.integers(200, 2000)), "D")),
            referral_source=REFERRAL_SOURCES[int(rng.integers(0, len(REFERRAL_SOURCES)))],
            presenting_need=PRESENTING_NEEDS[int(rng.integers(0, len(PRESENTING_NEEDS)))],
            subject_type="adult_at_risk" if adult else "child",
            age_years=int(rng.integers(18, 90) if adult else rng.integers(0, 18)),
            ethnicity_group=ETHNICITY_GROUPS[int(rng.integers(0, len(ETHNICITY_GROUPS)))],
            imd_decile=None if rng.random() < 0.1 else int(rng.integers(1, 11)),
        ))
    frames = {"referrals": referrals_frame(ref_rows), "household_members": member_frame}
    for agency in AGENCIES:
        if agency == "probation" and rng.random() < 0.3:
            continue  # an agency that shared nothing
        n_events = int(len(people) * events_per_person / len(AGENCIES))
        event_day = start + rng.integers(0, 2300, n_events).astype("timedelta64[D]")
        lag = np.where(rng.random(n_events) < 0.2, rng.integers(1, 60, n_events), 0)
        recorded = (event_day + lag.astype("timedelta64[D]")).astype(object)
        recorded[rng.random(n_events) < 0.4] = None
        types = np.array(EVENT_TYPES[agency])[rng.integers(0, len(EVENT_TYPES[agency]), n_events)]
        value = np.where(types == "attendance_rate", rng.uniform(40, 100, n_events).round(1),
                         np.nan)
        frames[event_feed(agency)] = events_frame([
            {"person_id": p, "event_date": str(d), "recorded_date": None if r is None else str(r),
             "event_type": t, "value": v}
            for p, d, r, t, v in zip(people[rng.integers(0, len(people), n_events)], event_day,
                                     recorded, types, value, strict=True)
        ])
    return frames


def case_payload_for(frames: dict[str, pd.DataFrame], referral_id: str) -> dict[str, Any]:
    """The live-API payload of one referral: everything the extract holds on its family."""
    return case_payload_from_frames(frames, referral_id, known_by_referral_date=False)
