"""Factories of valid request bodies; each test changes only what it is about."""

from __future__ import annotations

import uuid
from typing import Any


def referral_id() -> str:
    """A referral id no other test uses."""
    return f"R-{uuid.uuid4().hex[:12]}"


def event(**overrides: Any) -> dict[str, Any]:
    """A valid police event about the subject."""
    return {
        "agency": "police",
        "person_id": "P1",
        "event_date": "2024-03-01",
        "recorded_date": "2024-03-02",
        "event_type": "domestic_abuse_incident",
        "value": None,
        **overrides,
    }


def case(*, events: int = 3, **referral_overrides: Any) -> dict[str, Any]:
    """A valid case payload with ``events`` police events."""
    referral = {
        "referral_id": referral_id(),
        "person_id": "P1",
        "household_id": "H1",
        "referral_date": "2024-06-01",
        "referral_source": "police",
        "presenting_need": "domestic_abuse",
        "subject_type": "child",
        "age_years": 9,
        "sex": "female",
        "ethnicity_group": "white",
        "disability": False,
        "imd_decile": 3,
        **referral_overrides,
    }
    return {
        "referral": referral,
        "household_members": [{"person_id": "P2", "role": "parent_carer"}],
        "events": [event() for _ in range(events)],
        "previous_referrals": [],
    }


def decision(referral: str, **overrides: Any) -> dict[str, Any]:
    """A decision agreeing with a green score (the fake scorer's RAG for 3 events)."""
    return {
        "referral_id": referral,
        "practitioner_rag": "green",
        "next_step": "information and advice",
        "agrees_with_band": True,
        "reason": None,
        "previous_decision_id": None,
        **overrides,
    }
