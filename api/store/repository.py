"""Queries over users, scores and decisions (the audit trail has its own module)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, case, exists, func, select
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


def _latest_score_of(referral_id: str, *columns: Any) -> Select[Any]:
    """The query of a referral's most recent score (its newest id)."""
    return (select(*columns).where(Score.referral_id == referral_id)
            .order_by(Score.id.desc()).limit(1))


def latest_score(session: Session, referral_id: str) -> Score | None:
    """The most recent score of a referral."""
    return session.scalars(_latest_score_of(referral_id, Score)).first()


def latest_score_id(connection: Connection, referral_id: str) -> int | None:
    """The id of a referral's most recent score, on a plain connection (a check run
    under the audit chain's lock, `api.audit.commit_with_audit`)."""
    found = connection.execute(_latest_score_of(referral_id, Score.id)).scalar()
    return None if found is None else int(found)


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


def _superseded() -> Select[int | None]:
    """The ids of the decisions a later decision replaced."""
    later = aliased(Decision)
    return select(later.previous_decision_id).where(later.previous_decision_id.is_not(None))


CURRENT_DECISION_COLUMNS = ("referral_id", "band", "rag", "practitioner_rag",
                            "agrees_with_band", "reason", "created_at", "model_version")


def current_decisions(session: Session) -> list[tuple[object, ...]]:
    """Every referral's current decision (one no later decision supersedes), with the band
    and RAG of the score it was made on and that score's model version: rows of
    `CURRENT_DECISION_COLUMNS`."""
    query = (select(Decision.referral_id, Score.band, Score.rag, Decision.practitioner_rag,
                    Decision.agrees_with_band, Decision.reason, Decision.created_at,
                    Score.model_version)
             .join(Score, Score.id == Decision.score_id)
             .where(Decision.id.not_in(_superseded()))
             .order_by(Decision.id))
    return [tuple(row) for row in session.execute(query).all()]


@dataclass(frozen=True)
class Waiting:
    """A referral awaiting a decision: its newest score, and when it arrived: its first
    score since its last decision (scoring it again does not restart its clock; a score
    after a decision is new work, so its clock starts then)."""

    score: Score
    arrived: datetime


@dataclass(frozen=True)
class QueuePage:
    """One page of the triage queue and how many referrals wait in all."""

    waiting: Sequence[Waiting]
    total: int


def _awaiting_decision(bands: Sequence[str], need: str | None) -> Select[Score]:
    """The newest score of each referral when no decision was made on it, filtered: a
    decision is on the score it was made on, so a referral scored again after a decision
    waits again (the queue's rows and its count both come from this query)."""
    newer = aliased(Score)
    query = select(Score).where(
        ~exists().where(newer.referral_id == Score.referral_id, newer.id > Score.id),
        ~exists().where(Decision.referral_id == Score.referral_id,
                        Decision.score_id == Score.id))
    if bands:
        query = query.where(Score.band.in_(bands))
    if need:
        query = query.where(Score.presenting_need == need)
    return query


def _arrival() -> Any:
    """When the referral of the outer `Score` arrived: its first score newer than every
    score a decision was made on."""
    first = aliased(Score)
    decided_up_to = (select(func.coalesce(func.max(Decision.score_id), 0))
                     .where(Decision.referral_id == first.referral_id).scalar_subquery())
    return (select(func.min(first.created_at))
            .where(first.referral_id == Score.referral_id, first.id > decided_up_to)
            .scalar_subquery())


def triage_queue(session: Session, *, urgency: Sequence[str], bands: Sequence[str] = (),
                 need: str | None = None, offset: int = 0, limit: int = 25) -> QueuePage:
    """Scored referrals awaiting a decision: most urgent band first, then longest waiting.

    Args:
        session: An open session.
        urgency: Band names, most urgent first (bands not named come last).
        bands: Only these bands (all when empty).
        need: Only this presenting need (all when None).
        offset: Referrals to skip (paging).
        limit: The most referrals on the page.
    """
    query = _awaiting_decision(bands, need)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rank = case({name: index for index, name in enumerate(urgency)}, value=Score.band,
                else_=len(urgency))
    arrived = _arrival()
    rows = session.execute(query.add_columns(arrived).order_by(rank, arrived, Score.id)
                           .offset(offset).limit(limit)).all()
    return QueuePage(waiting=[Waiting(score, when) for score, when in rows], total=total)


def decision_outcomes(session: Session) -> Sequence[tuple[str, str, str]]:
    """(model version, service's RAG, practitioner's RAG) of every current decision (one
    no later decision supersedes, as `current_decisions`: `safeguard monitor` counts the
    same ones), oldest first."""
    rows = session.execute(
        select(Score.model_version, Score.rag, Decision.practitioner_rag)
        .join(Score, Decision.score_id == Score.id)
        .where(Decision.id.not_in(_superseded())).order_by(Decision.id)).all()
    return [(version, service, practitioner) for version, service, practitioner in rows]
