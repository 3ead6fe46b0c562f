"""Factories of valid raw feed frames (all strings, as a CSV carries them)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data_contracts.vocab import EVENT_COLUMNS, EVENT_TYPES, FEED_COLUMNS, event_feed

EXTRACT_DATE = "2024-06-30"


def referral_row(**overrides: str) -> dict[str, str]:
    """One valid referral row; keyword arguments replace cells."""
    row = {
        "referral_id": "R0001",
        "person_id": "P000001",
        "household_id": "H000001",
        "referral_date": "2024-03-01",
        "referral_source": "police",
        "presenting_need": "domestic_abuse",
        "subject_type": "child",
        "age_years": "9",
        "sex": "female",
        "ethnicity_group": "white",
        "disability": "false",
        "imd_decile": "3",
    }
    row.update(overrides)
    return row


def referrals(n: int = 3, **overrides: str) -> pd.DataFrame:
    """``n`` valid referrals with distinct ids and persons."""
    rows = [
        referral_row(referral_id=f"R{i:04d}", person_id=f"P{i:06d}", **overrides)
        for i in range(1, n + 1)
    ]
    return pd.DataFrame(rows, columns=list(FEED_COLUMNS["referrals"]))


def event_row(agency: str = "police", **overrides: str) -> dict[str, str]:
    """One valid event row of ``agency``."""
    event_type = EVENT_TYPES[agency][0]
    row = {
        "person_id": "P000001",
        "event_date": "2024-01-10",
        "recorded_date": "2024-01-12",
        "event_type": event_type,
        "value": "87.5" if event_type == "attendance_rate" else "",
    }
    row.update(overrides)
    return row


def events(agency: str = "police", n: int = 3, **overrides: str) -> pd.DataFrame:
    """``n`` valid events of ``agency``."""
    rows = [event_row(agency, person_id=f"P{i:06d}", **overrides) for i in range(1, n + 1)]
    return pd.DataFrame(rows, columns=list(EVENT_COLUMNS))


def household_members(n: int = 3) -> pd.DataFrame:
    """``n`` valid household memberships."""
    rows = [
        {"household_id": "H000001", "person_id": f"P{i:06d}", "role": "sibling"}
        for i in range(1, n + 1)
    ]
    return pd.DataFrame(rows)


def outcomes(**overrides: str) -> pd.DataFrame:
    """One valid outcome of referral R0001."""
    row = {"referral_id": "R0001", "outcome_type": "child_protection_plan"}
    row["outcome_date"] = "2024-04-01"
    row.update(overrides)
    return pd.DataFrame([row])


def extract(**extra: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A small valid extract: referrals, household, outcomes and every agency's events."""
    frames = {
        "referrals": referrals(),
        "household_members": household_members(),
        "outcomes": outcomes(),
        **{event_feed(a): events(a) for a in EVENT_TYPES},
    }
    frames.update(extra)
    return frames


def write_extract(directory: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """Write frames as ``<feed>.csv`` files (empty strings as empty cells)."""
    directory.mkdir(parents=True, exist_ok=True)
    for feed, frame in frames.items():
        frame.to_csv(directory / f"{feed}.csv", index=False)
    return directory
