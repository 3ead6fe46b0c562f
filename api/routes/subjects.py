"""`GET /v1/subjects/{person_id}`: a subject access request, for governance and admin users."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from api.auth import AuditReader, Principal
from api.routes.deps import SessionDep
from api.routes.records import view_event
from api.routes.responses import AUTH_RESPONSES, INPUT_RESPONSES
from api.settings import settings_registry
from api.subject_access import (
    audit_details,
    golden_sets_record,
    rule_features,
    subject_access_record,
)
from data_contracts.vocab import TOKEN_MAX_LENGTH, TOKEN_PATTERN
from model.governance import GovernanceError

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["records"])

PersonIdPath = Annotated[str, Path(max_length=TOKEN_MAX_LENGTH, pattern=TOKEN_PATTERN)]


def disclosed_record(request: Request, principal: Principal, session: Session,
                     person_id: str) -> dict[str, Any]:
    """A person's subject access record, its disclosure audited (the API's and the
    governance page's: `api.web.subject_pages`)."""
    from api.audit import commit_with_audit

    try:
        rules = rule_features(request.app.state.settings)
    except GovernanceError as exc:  # edited since start-up: the record is still owed
        logger.warning("governance settings unreadable (%s): every escalation read as "
                       "possibly about anyone in the household", type(exc).__name__)
        rules = {}
    golden = golden_sets_record(settings_registry(request.app.state.settings), person_id,
                                show_address=False)
    record = subject_access_record(session, person_id, rules=rules, golden=golden)
    commit_with_audit(session, [view_event(request, principal, "subject_access",
                                           details=audit_details(record))])
    return record


@router.get("/subjects/{person_id}", responses={
    **AUTH_RESPONSES, **INPUT_RESPONSES,
    200: {"content": {"application/json": {}, "text/html": {}},
          "description": "Everything held about the person (HTML when the client accepts it)"}})
def subject_access(person_id: PersonIdPath, request: Request, principal: AuditReader,
                   session: SessionDep) -> Any:
    """Every referral naming the person, with scores, explanations, decisions and audit
    entries, and every registered model version whose golden set names them; the request
    is itself audited (governance and admin roles only)."""
    record = disclosed_record(request, principal, session, person_id)
    if "text/html" in request.headers.get("accept", ""):
        from api.templating import render_page

        return HTMLResponse(render_page("reports/subject_access.html", record=record))
    return JSONResponse(record)
