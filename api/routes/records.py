"""Reading the record: `GET /v1/referrals/{id}` (a case view) and `GET /v1/audit`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from sqlalchemy import select

from api.audit import AuditEvent, commit_with_audit, request_hash
from api.auth import AuditReader, CaseReader, Principal
from api.routes.deps import SessionDep
from api.routes.responses import AUTH_RESPONSES, INPUT_RESPONSES
from api.schemas import (
    REFERRAL_ID_PATTERN,
    AuditEntryOut,
    AuditPage,
    DecisionOut,
    Problem,
    ReferralView,
    ScoreResult,
    StoredScore,
    UtcTime,
)
from api.store import repository
from api.store.models import AuditEntry

router = APIRouter(prefix="/v1", tags=["records"])

ReferralIdPath = Annotated[str, Path(min_length=1, max_length=100, pattern=REFERRAL_ID_PATTERN)]


def _view_event(
    request: Request, principal: Principal, action: str, **fields: object
) -> AuditEvent:
    described = {"method": request.method, "path": request.url.path, "query": request.url.query}
    return AuditEvent(
        user_name=principal.name,
        role=principal.role,
        action=action,
        request_hash=request_hash(described),
        **fields,  # type: ignore[arg-type]
    )


@router.get(
    "/referrals/{referral_id}",
    responses={**AUTH_RESPONSES, **INPUT_RESPONSES,
               404: {"model": Problem, "description": "Nothing held"}},
)
def view_referral(
    referral_id: ReferralIdPath, request: Request, principal: CaseReader, session: SessionDep
) -> ReferralView:
    """A referral's scores, explanations and decisions; every view is audited."""
    scores = repository.scores_for(session, referral_id)
    decisions = repository.decisions_for(session, referral_id)
    found = bool(scores or decisions)
    event = _view_event(
        request,
        principal,
        "case_view",
        referral_id=referral_id,
        model_version=scores[-1].model_version if scores else None,
        details={"found": found, "scores": len(scores), "decisions": len(decisions)},
    )
    commit_with_audit(session, [event])
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing held for {referral_id!r}")
    return ReferralView(
        referral_id=referral_id,
        scores=[
            StoredScore(
                id=s.id,
                created_at=s.created_at,
                user_name=s.user_name,
                result=ScoreResult.model_validate(s.result),
            )
            for s in scores
        ],
        decisions=[DecisionOut.model_validate(d, from_attributes=True) for d in decisions],
    )


@router.get("/audit", responses={**AUTH_RESPONSES, **INPUT_RESPONSES})
def read_audit(
    request: Request,
    principal: AuditReader,
    session: SessionDep,
    user: Annotated[str | None, Query(max_length=100)] = None,
    referral_id: Annotated[str | None, Query(max_length=100)] = None,
    model_version: Annotated[str | None, Query(max_length=100)] = None,
    since: UtcTime | None = None,
    until: UtcTime | None = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Audit entries in sequence order, filtered, a page at a time (reading is audited too)."""
    query = select(AuditEntry).where(AuditEntry.seq > after_seq)
    if user is not None:
        query = query.where(AuditEntry.user_name == user)
    if referral_id is not None:
        query = query.where(AuditEntry.referral_id == referral_id)
    if model_version is not None:
        query = query.where(AuditEntry.model_version == model_version)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if until is not None:
        query = query.where(AuditEntry.created_at <= until)
    rows = session.scalars(query.order_by(AuditEntry.seq).limit(limit + 1)).all()
    page = [AuditEntryOut.model_validate(r, from_attributes=True) for r in rows[:limit]]
    commit_with_audit(
        session, [_view_event(request, principal, "audit_view", details={"entries": len(page)})]
    )
    next_after = page[-1].seq if len(rows) > limit else None
    return AuditPage(entries=page, next_after_seq=next_after)
