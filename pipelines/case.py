"""Live cases, encoded and run through the same feature definitions as the batch
(one case, or several in one pass, each read alone).

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

from data_contracts.vocab import AGENCIES, HOUSEHOLD_MEMBERS, REFERRALS, event_feed
from pipelines.encode import encode_case, encode_cases
from pipelines.features import compute_features

_EVENT_FIELDS = ("person_id", "event_date", "recorded_date", "event_type", "value")


def build_case_features(case: Mapping[str, Any]) -> np.ndarray:
    """Features of one live case (1 x manifest features): the batch row of that referral."""
    return compute_features(encode_case(case))


def build_cases_features(cases: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Features of several live cases (cases x manifest features) in one pass.

    Row i is exactly `build_case_features(cases[i])`: each case is read alone. One
    pass costs little more than one case, so the service scores concurrent cases so.
    """
    return compute_features(encode_cases(cases))


def _plain(value: Any) -> Any:
    """A JSON-ready Python value (no numpy scalars, no pandas missing markers)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value.item() if isinstance(value, np.generic) else value


def case_payload_from_frames(frames: Mapping[str, pd.DataFrame], referral_id: str, *,
                             known_by_referral_date: bool = True) -> dict[str, Any]:
    """The live payload of one referral of a validated extract.

    It holds the referral, its household, and the records of its subject and household
    members, as a hub would send them to the API. With `known_by_referral_date` only
    records already known on the referral date are included (the features ignore the
    others anyway); otherwise everything the extract holds.
    """
    refs = frames[REFERRALS]
    row = refs[refs["referral_id"] == referral_id].iloc[0]
    referral = {key: _plain(value) for key, value in row.items()}
    day = row["referral_date"]
    members = frames.get(HOUSEHOLD_MEMBERS)
    if members is None or pd.isna(row["household_id"]):
        household = pd.DataFrame({"person_id": [], "role": []})
    else:
        household = members.loc[members["household_id"] == row["household_id"],
                                ["person_id", "role"]]
    persons = set(household["person_id"]) | {row["person_id"]}
    events: list[dict[str, Any]] = []
    for agency in AGENCIES:
        feed = frames.get(event_feed(agency))
        if feed is None:
            continue
        rows = feed[feed["person_id"].isin(persons)]
        if known_by_referral_date:
            rows = rows[rows["recorded_date"].fillna(rows["event_date"]) <= day]
        events.extend({"agency": agency, **{str(k): _plain(v) for k, v in rec.items()}}
                      for rec in rows[list(_EVENT_FIELDS)].to_dict("records"))
    previous = refs[refs["person_id"].isin(persons) & (refs["referral_id"] != referral_id)]
    if known_by_referral_date:
        previous = previous[previous["referral_date"] <= day]
    return {
        "referral": referral,
        "household_members": [{k: _plain(v) for k, v in m.items()}
                              for m in household.to_dict("records")],
        "events": events,
        "previous_referrals": [{k: _plain(v) for k, v in p.items()} for p in
                               previous[["referral_id", "person_id", "referral_date"]]
                               .to_dict("records")],
    }
