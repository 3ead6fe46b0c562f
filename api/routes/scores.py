"""Scoring: `POST /v1/score` and `POST /v1/score/batch`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.audit import AuditEvent, payload_hash, store_with_audit
from api.auth import Principal, TriageUser
from api.routes.deps import ScorerDep, SettingsDep, StoreDep
from api.schemas import BatchIn, BatchResult, CasePayload, Problem, ScoreResult
from api.scoring import ModelUnavailable, Scorer
from api.store.db import Store
from api.store.models import SCORE_TABLE, utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["scoring"])

AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "Missing, invalid or revoked API key"},
    403: {"model": Problem, "description": "The caller's role may not do this"},
}
_SCORE_RESPONSES: dict[int | str, dict[str, object]] = {
    **AUTH_RESPONSES,
    413: {"model": Problem, "description": "Body or batch too large"},
    503: {"model": Problem, "description": "No model is ready; the reason is given"},
}


def _run_scorer(scorer: Scorer, cases: Sequence[CasePayload]) -> list[ScoreResult]:
    ready, reason = scorer.readiness()
    if not ready:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"model not ready: {reason}")
    try:
        results = scorer.score_cases(cases)
    except ModelUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"model not ready: {exc}") from exc
    if len(results) != len(cases):
        raise RuntimeError(f"scorer returned {len(results)} results for {len(cases)} cases")
    for case, result in zip(cases, results, strict=True):
        if result.referral_id != case.referral.referral_id:
            raise RuntimeError("scorer returned results out of order")
    return results


def _store_and_audit(
    store: Store,
    principal: Principal,
    cases: Sequence[CasePayload],
    results: Sequence[ScoreResult],
) -> None:
    """Store the scores and their audit entries in one transaction."""
    rows, events = [], []
    for case, result in zip(cases, results, strict=True):
        rows.append({
            "referral_id": result.referral_id,
            "model_name": result.model_name,
            "model_version": result.model_version,
            "probability": result.probability,
            "score": result.score,
            "band": result.band,
            "rag": result.rag,
            "result": result.model_dump(mode="json"),
            "user_name": principal.name,
            "created_at": utcnow(),
        })
        events.append(
            AuditEvent(
                user_name=principal.name,
                role=principal.role,
                action="score",
                referral_id=result.referral_id,
                model_version=result.model_version,
                request_hash=payload_hash(case),
                details={"score": result.score, "band": result.band, "rag": result.rag},
            )
        )
    store_with_audit(store.engine, events, inserts={SCORE_TABLE: rows})


def _score(
    request: Request,
    store: Store,
    principal: Principal,
    scorer: Scorer,
    cases: Sequence[CasePayload],
) -> list[ScoreResult]:
    results = _run_scorer(scorer, cases)
    _store_and_audit(store, principal, cases, results)
    request.app.state.metrics.count_scores((r.band, r.rag) for r in results)
    return results


async def case_body(request: Request) -> CasePayload:
    """The body as a `CasePayload`, parsed and validated in one pass from the JSON bytes.

    FastAPI would decode the JSON into Python objects first and validate those: for a
    case of a few hundred records that costs as much again. The errors are the same
    422, field by field.
    """
    try:
        return CasePayload.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


# The body is read by `case_body`, so the schema says what it expects.
_CASE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/CasePayload"}}}}}


@router.post("/score", responses=_SCORE_RESPONSES, openapi_extra=_CASE_BODY)
async def score_case(
    request: Request,
    principal: TriageUser,
    case: Annotated[CasePayload, Depends(case_body)],
    store: StoreDep,
    scorer: ScorerDep,
) -> ScoreResult:
    """Score one referral, store the result with its explanation, and audit it."""
    # One case is a few milliseconds of CPU: scored on the event loop, not handed
    # to a worker thread. The trees' predictions release the GIL around each
    # tree; in a worker, every release hands the GIL to the loop (busy parsing
    # other requests) and the worker waits to get it back. Storing goes through
    # `Store.run`: inline on SQLite, in the thread pool for a server database.
    results = _run_scorer(scorer, [case])
    await store.run(_store_and_audit, store, principal, [case], results)
    request.app.state.metrics.count_scores((r.band, r.rag) for r in results)
    return results[0]


@router.post("/score/batch", responses=_SCORE_RESPONSES)
def score_batch(
    batch: BatchIn,
    request: Request,
    principal: TriageUser,
    store: StoreDep,
    scorer: ScorerDep,
    settings: SettingsDep,
) -> BatchResult:
    """Score up to `max_batch_cases` referrals at once (413 beyond); each is stored and audited.

    A batch can take seconds, so it runs in the thread pool, never on the event loop.
    """
    if len(batch.cases) > settings.max_batch_cases:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"batch of {len(batch.cases)} cases exceeds the limit of {settings.max_batch_cases}",
        )
    return BatchResult(results=_score(request, store, principal, scorer, batch.cases))
