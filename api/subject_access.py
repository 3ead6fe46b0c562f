"""Subject access: everything the service holds about one person, in plain language.

Every referral in which the person was the subject or a household member, each score
whose case named them (a referral scored again with another household is not the new
members' before, nor the old members' after) with its explanation, model version and
escalations, each decision made on those scores with its reason, and the audit entries
about those referrals, so a data controller can answer a
subject access request and a family can see and challenge what was used. The caller
audits the request itself (`safeguard subject-access`, `GET /v1/subjects/{person_id}`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.referral_people import HOUSEHOLD_SUBJECT, SUBJECT
from api.schemas import DecisionOut, ScoreResult
from api.store import repository
from api.store.models import AuditEntry, ReferralPerson

ROLE_WORDS = {SUBJECT: "the person the referral was about", "parent_carer": "a parent or carer",
              "other_adult": "another adult in the household", "sibling": "a brother or sister",
              "other_child": "another child in the household",
              HOUSEHOLD_SUBJECT: "a member of the household who is the subject of referrals "
                                 "of their own"}


def _roles(session: Session, person_id: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(ReferralPerson.referral_id, ReferralPerson.role, ReferralPerson.household_id,
               ReferralPerson.score_id)
        .where(ReferralPerson.person_id == person_id).order_by(ReferralPerson.id)).all()
    found: dict[str, dict[str, Any]] = {}
    for referral_id, role, household_id, score_id in rows:
        entry = found.setdefault(referral_id, {"roles": [], "households": [], "scores": set()})
        if role not in entry["roles"]:
            entry["roles"].append(role)
        if household_id and household_id not in entry["households"]:
            entry["households"].append(household_id)
        entry["scores"].add(score_id)  # None: stored before scores were told apart
    return found


def _audit(session: Session, referral_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.referral_id == referral_id)
                           .order_by(AuditEntry.seq)).all()
    return [{"seq": r.seq, "at": r.created_at.isoformat(), "user": r.user_name, "role": r.role,
             "action": r.action, "model_version": r.model_version} for r in rows]


def _referral(session: Session, referral_id: str, found: dict[str, Any]) -> dict[str, Any]:
    """The referral's scores whose case named the person, and the decisions made on them
    (every score and decision, when some were stored before scores were told apart)."""
    named = found["scores"]
    every = None in named
    scores = [{"id": s.id, "at": s.created_at.isoformat(), "by": s.user_name,
               "result": ScoreResult.model_validate(s.result).model_dump(mode="json")}
              for s in repository.scores_for(session, referral_id) if every or s.id in named]
    decisions = [DecisionOut.model_validate(d, from_attributes=True).model_dump(mode="json")
                 for d in repository.decisions_for(session, referral_id)
                 if every or d.score_id in named]
    return {"referral_id": referral_id, "roles": found["roles"],
            "role_words": [ROLE_WORDS.get(r, r.replace("_", " ")) for r in found["roles"]],
            "households": found["households"], "scores": scores, "decisions": decisions,
            "audit": _audit(session, referral_id)}


def subject_access_record(session: Session, person_id: str) -> dict[str, Any]:
    """Every referral held that names the person, with its scores, decisions and audit."""
    found = _roles(session, person_id)
    referrals = [_referral(session, rid, entry) for rid, entry in found.items()]
    households = sorted({h for entry in found.values() for h in entry["households"]})
    return {"person_id": person_id, "households": households, "referrals": referrals}
