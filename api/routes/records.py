"""Reading the record: `GET /v1/referrals/{id}` (a case view) and `GET /v1/audit`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Final

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access_refusals import kept_asked
from api.audit import AuditEvent, commit_with_audit, request_hash, sha256_hex
from api.auth import AuditReader, CaseReader, Principal
from api.free_text import ColumnText
from api.routes.deps import SessionDep
from api.routes.errors import error_message
from api.routes.responses import AUTH_RESPONSES, INPUT_RESPONSES, input_responses
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
from api.store.models import AuditEntry, Decision, Score
from model.registry_sqlite import exact_version

router = APIRouter(prefix="/v1", tags=["records"])

ReferralIdPath = Annotated[str, Path(min_length=1, max_length=100, pattern=REFERRAL_ID_PATTERN)]
# A referral id may hold a slash ("MASH/2023/0001"): its route parameter takes the rest of
# the path (sent as `/` or `%2F`, both decoded to `/` before routing).
REFERRAL_ID_ROUTE = "{referral_id:path}"


def view_event(
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


def record_case_view(
    session: Session, request: Request, principal: Principal, referral_id: str
) -> tuple[Sequence[Score], Sequence[Decision]]:
    """A referral's scores and decisions, oldest first; the view is in the audit trail
    (the API's case view and the case page both read a case through this), naming the
    referral when the store holds it, else (`found: false`) as the SHA-256 of the id
    asked for (`kept_asked`: a pasted key may have a referral id's shape)."""
    scores = repository.scores_for(session, referral_id)
    decisions = repository.decisions_for(session, referral_id)
    found = bool(scores or decisions)
    kept = kept_asked("referral_id", referral_id, held=found)
    event = view_event(
        request,
        principal,
        "case_view",
        referral_id=kept.get("referral_id"),
        model_version=scores[-1].model_version if scores else None,
        details={"found": found, "scores": len(scores), "decisions": len(decisions),
                 **({} if found else kept)},
    )
    commit_with_audit(session, [event])
    return scores, decisions


@router.get(
    f"/referrals/{REFERRAL_ID_ROUTE}",
    responses={**AUTH_RESPONSES, **INPUT_RESPONSES,
               404: {"model": Problem, "description": "Nothing held"}},
)
def view_referral(
    referral_id: ReferralIdPath, request: Request, principal: CaseReader, session: SessionDep
) -> ReferralView:
    """A referral's scores, explanations and decisions; every view is audited."""
    scores, decisions = record_case_view(session, request, principal, referral_id)
    found = bool(scores or decisions)
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


def as_utc(moment: datetime) -> datetime:
    """Timestamps are stored in UTC; a time without a zone is taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


_MOMENT = TypeAdapter(UtcTime)


def read_moment(text: str) -> datetime:
    """A moment as `GET /v1/audit`'s `since` and `until` take it (`UtcTime`: RFC 3339 with
    its UTC offset), for the audit page, which reads them as typed; ValueError, in the
    API's words, when the API would refuse it."""
    try:
        return _MOMENT.validate_python(text)
    except ValidationError as exc:
        raise ValueError(error_message(exc.errors()[0])) from None


def period_problem(since: datetime | None, until: datetime | None, *,
                   names: tuple[str, str] = ("since", "until")) -> str | None:
    """Why a search from `since` to `until` is refused (None: it is not): `since` later
    than `until`, which no entry can match (the search answered an empty page as if the
    trail held nothing). `names`: the two fields as the caller names them."""
    if since is not None and until is not None and as_utc(since) > as_utc(until):
        return f"{names[0]} must not be later than {names[1]}"
    return None


@dataclass(frozen=True)
class AuditFilter:
    """What to look for in the audit trail (None: anything)."""

    user: str | None = None
    referral_id: str | None = None
    model_version: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def find_audit_entries(session: Session, wanted: AuditFilter, *, after_seq: int, limit: int,
                       before_seq: int | None = None) -> Sequence[AuditEntry]:
    """Audit entries after `after_seq` matching `wanted`, in sequence order (the API's
    audit route and the audit page both search through this); with `before_seq`, the
    last `limit` of those before it (the audit page's latest and earlier entries)."""
    query = select(AuditEntry).where(AuditEntry.seq > after_seq)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    if wanted.user is not None:
        query = query.where(AuditEntry.user_name == wanted.user)
    if wanted.referral_id is not None:
        query = query.where(AuditEntry.referral_id == wanted.referral_id)
    if wanted.model_version is not None:
        query = query.where(AuditEntry.model_version == wanted.model_version)
    if wanted.since is not None:
        query = query.where(AuditEntry.created_at >= as_utc(wanted.since))
    if wanted.until is not None:
        query = query.where(AuditEntry.created_at <= as_utc(wanted.until))
    if before_seq is None:
        return session.scalars(query.order_by(AuditEntry.seq).limit(limit)).all()
    return session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit)).all()[::-1]


def _search_terms(session: Session, wanted: AuditFilter, after_seq: int,
                  before_seq: int | None) -> tuple[dict[str, object], str | None, str | None]:
    """What a search of the trail asked for, the filters given only, and the referral and
    version for the entry's columns. A user name or referral id the store does not hold,
    or a version that is no version number, is kept as its SHA-256 (`user_sha256`,
    `referral_id_sha256`, `model_version_sha256`; None in the columns): a caller may
    paste a key into a filter, and a secret never goes in the trail (the search is still
    found by hashing the text searched for)."""
    terms: dict[str, object] = {
        "since": as_utc(wanted.since).isoformat() if wanted.since else None,
        "until": as_utc(wanted.until).isoformat() if wanted.until else None,
        "after_seq": after_seq or None, "before_seq": before_seq}
    version = wanted.model_version
    if version is not None and not exact_version(version):
        terms["model_version_sha256"], version = sha256_hex(version.encode("utf-8")), None
    referral = wanted.referral_id
    if referral is not None and repository.latest_score(session, referral) is None:
        terms["referral_id_sha256"], referral = sha256_hex(referral.encode("utf-8")), None
    if wanted.user is not None:
        known = repository.user_by_name(session, wanted.user) is not None
        terms["user" if known else "user_sha256"] = (
            wanted.user if known else sha256_hex(wanted.user.encode("utf-8")))
    terms["referral_id"], terms["model_version"] = referral, version
    return ({name: value for name, value in terms.items() if value is not None}, referral,
            version)


def record_audit_view(session: Session, request: Request, principal: Principal, *,
                      wanted: AuditFilter, after_seq: int, entries: int,
                      before_seq: int | None = None) -> None:
    """Put a reading of the audit trail in the audit trail, with what it searched for (so
    that the trail answers who searched a referral's or a user's history): the referral
    and version searched also in their columns, where the trail's own search finds them."""
    search, referral, version = _search_terms(session, wanted, after_seq, before_seq)
    event = view_event(request, principal, "audit_view", referral_id=referral,
                        model_version=version,
                        details={"entries": entries, "search": search})
    commit_with_audit(session, [event])


_AUDIT_PARAMETERS = ("user", "referral_id", "model_version", "since", "until", "after_seq",
                     "limit")


def only_audit_parameters(request: Request) -> None:
    """Refuse a query parameter the audit route does not take, or one given twice (422): a
    misspelt filter (`user_name`, the web page's name for `user`) returned the whole trail
    unfiltered, and of a repeated one only the last was used."""
    if unknown := sorted(set(request.query_params) - set(_AUDIT_PARAMETERS)):
        raise RequestValidationError([{
            "loc": ("query", unknown[0]), "type": "extra_forbidden",
            "msg": f"the audit trail takes no parameter {unknown[0]!r}: it is filtered by "
                   f"{', '.join(_AUDIT_PARAMETERS)}"}])
    if repeated := sorted(name for name in set(request.query_params)
                          if len(request.query_params.getlist(name)) > 1):
        raise RequestValidationError([{  # only the last was used, silently
            "loc": ("query", repeated[0]), "type": "value_error",
            "msg": f"{repeated[0]!r} is given more than once: the audit trail is filtered by "
                   "one value of each"}])


# The audit search's rule beyond its schema, stated on its 422.
PERIOD_RULE: Final = "`since` no later than `until`"


@router.get("/audit", responses={**AUTH_RESPONSES, **input_responses(PERIOD_RULE)})
def read_audit(
    request: Request,
    principal: AuditReader,
    session: SessionDep,
    user: Annotated[ColumnText | None, Query()] = None,
    referral_id: Annotated[ColumnText | None, Query()] = None,
    model_version: Annotated[ColumnText | None, Query()] = None,
    since: UtcTime | None = None,
    until: UtcTime | None = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Audit entries in sequence order, filtered, a page at a time (reading is audited too)."""
    only_audit_parameters(request)  # after the caller is known: no 422 to a stranger
    if problem := period_problem(since, until):
        raise RequestValidationError([{"loc": ("query", "since"), "type": "value_error",
                                       "msg": problem}])
    wanted = AuditFilter(user, referral_id, model_version, since, until)
    rows = find_audit_entries(session, wanted, after_seq=after_seq, limit=limit + 1)
    page = [AuditEntryOut.model_validate(r, from_attributes=True) for r in rows[:limit]]
    record_audit_view(session, request, principal, wanted=wanted, after_seq=after_seq,
                      entries=len(page))
    next_after = page[-1].seq if len(rows) > limit else None
    return AuditPage(entries=page, next_after_seq=next_after)
