"""Practitioners' decisions: `POST /v1/decisions` (append-only, each change names the last)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.access_refusals import kept_asked
from api.audit import AuditEvent, commit_with_audit, request_hash
from api.auth import Principal, TriageUser
from api.free_text import visible
from api.json_encoding import utf8_json
from api.json_keys import each_key_once
from api.routes.deps import SessionDep
from api.routes.errors import AuditedInvalid, invalid_request
from api.routes.responses import (
    AUTH_RESPONSES,
    JSON_BODY_RESPONSES,
    Responses,
    input_responses,
)
from api.schemas import MAX_ROW_ID, DecisionIn, DecisionOut, Problem
from api.store import repository
from api.store.models import Decision, Score

router = APIRouter(prefix="/v1", tags=["decisions"])

# The decision's rule that needs the stored score, which its schema cannot express.
DECISION_RULES = (
    "`reason` is required (non-blank) when `practitioner_rag` differs from the RAG of the "
    "referral's latest score, and `agrees_with_band` must then be false; when it is that "
    "RAG, `agrees_with_band` must be true; "
    "`previous_decision_id` must name a decision on the same referral, and `score_id` a "
    "score of it; no key is named twice"
)
_RESPONSES: Responses = {
    **AUTH_RESPONSES,
    **JSON_BODY_RESPONSES,
    **input_responses(DECISION_RULES),
    404: {"model": Problem, "description": "The referral was never scored"},
    409: {"model": Problem, "description": "previous_decision_id is not the latest decision, "
                                           "or score_id is an earlier score of the referral, "
                                           "scored again since"},
}


class ScoreReplaced(HTTPException):
    """The decision was made on a score the referral no longer has as its latest: 409."""

    def __init__(self, referral_id: str, *, decided_on: int, latest: int) -> None:
        super().__init__(
            status.HTTP_409_CONFLICT,
            f"referral {referral_id!r} was scored again (score {latest}) since score "
            f"{decided_on}, the one decided on: read the new score, then decide on it")


def _still_latest(referral_id: str, score_id: int) -> Callable[[Connection], None]:
    """A `commit_with_audit` check: the score decided on is still the referral's latest
    under the chain's lock (a score stored between the read and the write would otherwise
    leave the decision on the older one)."""

    def check(connection: Connection) -> None:
        latest = repository.latest_score_id(connection, referral_id)
        if latest != score_id:
            raise ScoreReplaced(referral_id, decided_on=score_id, latest=int(latest or 0))

    return check


def _check_reason(decision: DecisionIn, score: Score) -> None:
    """A RAG other than the score's is an override, with a reason; the score's own RAG
    agrees with the band (the override rates and `safeguard monitor` count by the RAG:
    `model.overrides.override_direction`)."""
    if decision.practitioner_rag == score.rag:
        if not decision.agrees_with_band:
            raise invalid_request(
                "agrees_with_band",
                f"agrees_with_band is false, but practitioner_rag {decision.practitioner_rag!r} "
                f"is the service's RAG: the same RAG agrees with the band (agrees_with_band "
                "true); to differ from the band, give another RAG and a reason",
            )
        return
    if not visible(decision.reason):
        raise invalid_request(
            "reason",
            f"reason is required when practitioner_rag {decision.practitioner_rag!r} "
            f"differs from the service's RAG {score.rag!r}",
        )
    if decision.agrees_with_band:
        raise invalid_request(
            "agrees_with_band",
            f"agrees_with_band is true, but practitioner_rag {decision.practitioner_rag!r} "
            f"differs from the service's RAG {score.rag!r}: a different RAG is an override "
            "(agrees_with_band false)",
        )


def is_score_of(session: Session, referral_id: str, score_id: int) -> bool:
    """Whether `score_id` names a score of the referral (any of its scores, not only its
    latest); a number past the store's ids names none (and is not looked up: the page
    passes the form's number as typed)."""
    if not 1 <= score_id <= MAX_ROW_ID:
        return False
    named = session.get(Score, score_id)
    return named is not None and named.referral_id == referral_id


def _check_score_named(session: Session, decision: DecisionIn, named: int, *,
                       latest: int) -> None:
    """A `score_id` other than the referral's latest: one of its earlier scores was
    replaced (409); any other number names no score of the referral (422: it was answered
    "scored again since score N", N another referral's or none at all)."""
    if not is_score_of(session, decision.referral_id, named):
        raise invalid_request(
            "score_id",
            f"score {named} is not a score of referral {decision.referral_id!r} "
            f"(its latest is score {latest}): give the score_id its referral view shows")
    raise ScoreReplaced(decision.referral_id, decided_on=named, latest=latest)


def _check_previous(session: Session, decision: DecisionIn) -> None:
    latest = repository.latest_decision(session, decision.referral_id)
    wanted = decision.previous_decision_id
    if wanted is not None:
        previous = session.get(Decision, wanted)
        if previous is None or previous.referral_id != decision.referral_id:
            raise invalid_request(
                "previous_decision_id",
                f"decision {wanted} does not exist for referral {decision.referral_id!r}",
            )
    if latest is not None and wanted != latest.id:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"referral {decision.referral_id!r} already has decision {latest.id}; "
            f"a change must give previous_decision_id={latest.id}",
        )


DECISION_REFUSED = "decision_refused"
# A refusal's `why` for a referral never scored: its id is kept only as a hash.
NEVER_SCORED = "the referral was never scored"


def _body_hash(decision: DecisionIn) -> str:
    """The decision's body as its audit entry hashes it: str, bool, int are JSON already; a
    decision naming no score hashes as before there was `score_id` (what older entries
    hold is checked against the row so)."""
    return request_hash(decision.model_dump(
        exclude={"score_id"} if decision.score_id is None else None))


def _refusal_event(decision: DecisionIn, principal: Principal,
                   refused: HTTPException | RequestValidationError) -> AuditEvent:
    """The audit entry of a decision the store's state refused (never scored, not the
    latest decision, a score since replaced, a reason missing): the answer says what the
    store holds about the referral, so it is an access like a case view. A referral never
    scored is kept as its SHA-256 (`api.access_refusals.kept_asked`), never as text: it
    names nothing held, and may be a key pasted into the wrong field."""
    if isinstance(refused, HTTPException):
        answer: dict[str, object] = {"status": refused.status_code, "why": str(refused.detail)}
    else:
        answer = {"status": status.HTTP_422_UNPROCESSABLE_CONTENT,
                  "why": "; ".join(str(error.get("msg")) for error in refused.errors())}
    held = answer["status"] != status.HTTP_404_NOT_FOUND
    if not held:
        answer["why"] = NEVER_SCORED
    return AuditEvent(
        user_name=principal.name, role=principal.role, action=DECISION_REFUSED,
        referral_id=decision.referral_id if held else None, request_hash=_body_hash(decision),
        details={**answer, **({} if held else kept_asked("referral_id", decision.referral_id,
                                                          held=False)),
                 "rag": decision.practitioner_rag})


def save_decision(session: Session, decision: DecisionIn, principal: Principal) -> Decision:
    """Check and store a decision with its audit entry (the API's route and the case page);
    a refusal is audited too (`DECISION_REFUSED`).

    Raises:
        HTTPException: 404 when the referral was never scored; 409 when the decision
            does not replace the latest one, or was made on a score no longer the latest.
        AuditedInvalid: A reason is missing where one is required, or the decision it
            replaces or the score it names is not the referral's (entered once, as a
            refusal).
    """
    try:
        return _save_decision(session, decision, principal)
    except (HTTPException, RequestValidationError) as refused:
        session.rollback()
        commit_with_audit(session, [_refusal_event(decision, principal, refused)])
        if isinstance(refused, RequestValidationError):
            raise AuditedInvalid(refused.errors()) from refused
        raise


def _save_decision(session: Session, decision: DecisionIn, principal: Principal) -> Decision:
    score = repository.latest_score(session, decision.referral_id)
    if score is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"referral {decision.referral_id!r} was never scored"
        )
    if decision.score_id is not None and decision.score_id != score.id:
        _check_score_named(session, decision, decision.score_id, latest=score.id)
    _check_reason(decision, score)
    _check_previous(session, decision)
    row = Decision(
        referral_id=decision.referral_id,
        score_id=score.id,
        practitioner=principal.name,
        practitioner_rag=decision.practitioner_rag,
        next_step=decision.next_step,
        agrees_with_band=decision.agrees_with_band,
        reason=decision.reason,
        previous_decision_id=decision.previous_decision_id,
    )
    session.add(row)
    event = AuditEvent(
        user_name=principal.name,
        role=principal.role,
        action="decision",
        referral_id=decision.referral_id,
        model_version=score.model_version,
        request_hash=_body_hash(decision),
        details={"rag": decision.practitioner_rag, "agrees": decision.agrees_with_band},
    )
    try:
        commit_with_audit(session, [event], first=_still_latest(decision.referral_id, score.id))
    except IntegrityError as exc:
        # The store's unique indexes (one first decision per referral, one successor per
        # decision) decide a race the check above could not see: the loser learns it here.
        raced = ("another first decision on this referral was recorded at the same time"
                 if decision.previous_decision_id is None
                 else "another decision replaced the same one first")
        raise HTTPException(status.HTTP_409_CONFLICT, f"{raced}; reload") from exc
    return row


@router.post("/decisions", status_code=status.HTTP_201_CREATED, responses=_RESPONSES)
def record_decision(
    decision: DecisionIn, principal: TriageUser,
    _utf8: Annotated[None, Depends(utf8_json)],
    _keys: Annotated[None, Depends(each_key_once)], session: SessionDep
) -> DecisionOut:
    """Record a decision; a change is a new decision naming the one it replaces."""
    row = save_decision(session, decision, principal)
    return DecisionOut.model_validate(row, from_attributes=True)
