"""A version's approvals and rejections as its model card lists them, each saying
whether it holds now, as the approval gate (`api.approvals.gate_problem`) judges it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from sqlalchemy.orm import Session

from api.approvals import APPROVE, REJECT, decisions_for, gate_problem
from api.store.models import ModelApproval
from model.card import ApprovalEntry
from model.governance import AcceptanceThresholds
from model.registry import ModelRegistry


def _utc(moment: datetime) -> str:
    """A stored time (UTC: naive from SQLite, aware from PostgreSQL) as RFC 3339, with Z."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{aware:%Y-%m-%dT%H:%M:%SZ}"


def approval_history(session: Session, registry: ModelRegistry, version: str, *,
                     board: AcceptanceThresholds | None) -> list[ApprovalEntry]:
    """A version's approvals and rejections for its card, each saying whether it holds now
    (as `gate_problem` judges it against `board`)."""
    info = registry.resolve(version)
    history = decisions_for(session, info.name, info.version)
    problem = gate_problem(session, registry, info.version, board=board) if history else None
    return [ApprovalEntry(
        decision=row.decision, user=row.user_name, at=_utc(row.created_at),
        reason=row.reason, waivers=dict(row.waivers),
        valid=row is history[-1] and row.decision == APPROVE and problem is None,
        validity=(problem or "") if row is history[-1] else _SUPERSEDED,
        in_force=_in_force(row, latest=row is history[-1], problem=problem))
        for row in history]


_SUPERSEDED: Final = "superseded by a later decision"


def _in_force(row: ModelApproval, *, latest: bool, problem: str | None) -> str:
    """Whether a decision holds, as the card's history says it: the latest rejection holds
    (the card said "no (version 2 was rejected ...)", as if it no longer did)."""
    if not latest:
        return f"no ({_SUPERSEDED})"
    if row.decision == REJECT:
        return "yes: the version may not be served"
    return "yes" if problem is None else f"no ({problem})"
