"""Queries over users, scores and decisions (the audit trail has its own module)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from api.store.models import Decision, Score, User, utcnow


def user_by_name(session: Session, name: str) -> User | None:
    """The user called ``name``, if any."""
    return session.scalars(select(User).where(User.name == name)).first()


def list_users(session: Session) -> Sequence[User]:
    """Every user, oldest first."""
    return session.scalars(select(User).order_by(User.id)).all()


def revoke_user(session: Session, name: str, *, when: datetime | None = None) -> User | None:
    """Mark a user's key revoked (the caller commits); None when there is no such user."""
    user = user_by_name(session, name)
    if user is not None and user.revoked_at is None:
        user.revoked_at = when or utcnow()
    return user


def scores_for(session: Session, referral_id: str) -> Sequence[Score]:
    """Every score of a referral, oldest first."""
    return session.scalars(
        select(Score).where(Score.referral_id == referral_id).order_by(Score.id)
    ).all()


def latest_score(session: Session, referral_id: str) -> Score | None:
    """The most recent score of a referral."""
    return session.scalars(
        select(Score).where(Score.referral_id == referral_id).order_by(Score.id.desc()).limit(1)
    ).first()


def decisions_for(session: Session, referral_id: str) -> Sequence[Decision]:
    """Every decision on a referral, oldest first."""
    return session.scalars(
        select(Decision).where(Decision.referral_id == referral_id).order_by(Decision.id)
    ).all()


def latest_decision(session: Session, referral_id: str) -> Decision | None:
    """The decision on a referral that no later decision has replaced."""
    return session.scalars(
        select(Decision)
        .where(Decision.referral_id == referral_id)
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()


CURRENT_DECISION_COLUMNS = ("referral_id", "band", "rag", "practitioner_rag",
                            "agrees_with_band", "reason", "created_at")


def current_decisions(session: Session) -> list[tuple[object, ...]]:
    """Every referral's current decision (one no later decision supersedes), with the band
    and RAG of the score it was made on: rows of `CURRENT_DECISION_COLUMNS`."""
    later = aliased(Decision)
    superseded = select(later.previous_decision_id).where(
        later.previous_decision_id.is_not(None))
    query = (select(Decision.referral_id, Score.band, Score.rag, Decision.practitioner_rag,
                    Decision.agrees_with_band, Decision.reason, Decision.created_at)
             .join(Score, Score.id == Decision.score_id)
             .where(Decision.id.not_in(superseded))
             .order_by(Decision.id))
    return [tuple(row) for row in session.execute(query).all()]
