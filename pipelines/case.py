"""Live cases, encoded as the batch's `EncodedExtract` and run through the same feature
definitions as the batch (one case, or several in one pass, each read alone).

A case payload holds one referral plus the records the hub holds about its subject
and household, in the feed vocabulary:

    {"referral": {...referral fields...},
     "household_members": [{"person_id": ..., "role": ...}, ...],
     "events": [{"agency": ..., "person_id": ..., "event_date": ..., "recorded_date": ...,
                 "event_type": ..., "value": ...}, ...],
     "previous_referrals": [{"referral_id": ..., "person_id": ..., "referral_date": ...}]}

A payload may also carry "event_columns": `event_columns(events)` of its own records,
read once already (the API does so while it checks them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, Final

import numpy as np
import pandas as pd

from data_contracts.vocab import (
    AGENCIES,
    ETHNICITY_GROUPS,
    HOUSEHOLD_MEMBERS,
    PRESENTING_NEEDS,
    REFERRAL_SOURCES,
    REFERRALS,
    SEXES,
    event_feed,
)
from pipelines.case_records import EventColumns, day_number, event_arrays, event_columns
from pipelines.encode import ROLE_CODES, EncodedExtract
from pipelines.features import compute_features


def _code(vocabulary: Sequence[str], value: Any) -> int:
    return vocabulary.index(value) if value in vocabulary else -1


def _columns_of(case: Mapping[str, Any], person_codes: Mapping[str, int]) -> EventColumns:
    """The case's records as columns: as given (``event_columns``), else read from its
    records about the persons in `person_codes` (the others are not read at all)."""
    given = case.get("event_columns")
    if given is not None:
        return given
    events = case.get("events") or []
    if any(event["person_id"] not in person_codes for event in events):
        events = [event for event in events if event["person_id"] in person_codes]
    return event_columns(events)


def encode_case(case: Mapping[str, Any]) -> EncodedExtract:
    """Encode one case payload (the live path); see `pipelines.case` for its shape."""
    referral = case["referral"]
    person_codes: dict[str, int] = {referral["person_id"]: 0}
    household = referral.get("household_id")
    members = list(case.get("household_members") or []) if household else []
    for member in members:
        person_codes.setdefault(member["person_id"], len(person_codes))
    history = [p for p in case.get("previous_referrals") or [] if p["person_id"] in person_codes]
    imd = referral.get("imd_decile")
    age = referral.get("age_years")

    def ints(values: Sequence[int]) -> np.ndarray:
        return np.array(values, dtype=np.int64)

    return EncodedExtract(
        ref_person=ints([0]), ref_household=ints([0 if household else -1]),
        ref_day=ints([day_number(referral["referral_date"])]),
        ref_age=np.array([np.nan if age is None else float(age)]),
        ref_adult=np.array([referral.get("subject_type") == "adult_at_risk"]),
        ref_need=ints([_code(PRESENTING_NEEDS, referral.get("presenting_need"))]),
        ref_source=ints([_code(REFERRAL_SOURCES, referral.get("referral_source"))]),
        ref_sex=ints([_code(SEXES, referral.get("sex"))]),
        ref_ethnicity=ints([_code(ETHNICITY_GROUPS, referral.get("ethnicity_group"))]),
        ref_disability=np.array([1.0 if referral.get("disability") else 0.0]),
        ref_imd=np.array([np.nan if imd is None else float(imd)]),
        member_household=ints([0] * len(members)),
        member_person=ints([person_codes[m["person_id"]] for m in members]),
        member_role=ints([ROLE_CODES.get(m["role"], -1) for m in members]),
        **event_arrays(_columns_of(case, person_codes), person_codes),
        history_person=ints([person_codes[p["person_id"]] for p in history]),
        history_day=ints([day_number(p["referral_date"]) for p in history]),
        n_persons=len(person_codes),
    )


_PERSON_FIELDS: Final = ("ref_person", "member_person", "event_person", "history_person")
_HOUSEHOLD_FIELDS: Final = ("ref_household", "member_household")


def encode_cases(cases: Sequence[Mapping[str, Any]]) -> EncodedExtract:
    """Encode several case payloads as one extract: referral i is case i.

    Each case keeps a person and household space of its own (its codes are shifted
    past the cases before it), so no case sees another's records, even when two
    cases name the same person: features are computed from each payload alone, in
    one pass of the batch feature code.
    """
    parts = [encode_case(case) for case in cases]
    if not parts:
        raise ValueError("encode_cases needs at least one case")
    if len(parts) == 1:
        return parts[0]
    person_offsets = np.cumsum([0] + [part.n_persons for part in parts[:-1]])
    household_counts = [int(part.ref_household.max(initial=-1)) + 1 for part in parts]
    household_offsets = np.cumsum([0] + household_counts[:-1])
    arrays: dict[str, np.ndarray] = {}
    for name in (f.name for f in fields(EncodedExtract) if f.name != "n_persons"):
        columns = [getattr(part, name) for part in parts]
        if name in _PERSON_FIELDS:
            columns = [column + offset for column, offset in zip(columns, person_offsets,
                                                                 strict=True)]
        elif name in _HOUSEHOLD_FIELDS:
            columns = [np.where(column >= 0, column + offset, column)
                       for column, offset in zip(columns, household_offsets, strict=True)]
        arrays[name] = np.concatenate(columns)
    return EncodedExtract(**arrays, n_persons=sum(part.n_persons for part in parts))


_EVENT_FIELDS = ("person_id", "event_date", "recorded_date", "event_type", "value")


def build_case_features(case: Mapping[str, Any]) -> np.ndarray:
    """Features of one live case (1 x manifest features): the batch row of that referral."""
    return build_cases_features([case])


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
