"""Scoring: `POST /v1/score` and `POST /v1/score/batch`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from api.audit import AuditEvent, sha256_hex, store_with_audit
from api.auth import ADMIN, AUTHORISED_ROUTE, TRIAGE, Principal, TriageUser, authorise
from api.batching import MicroBatcher
from api.case_bodies import CasesRoute, case_body
from api.case_payload import BatchIn, CasePayload
from api.json_encoding import utf8_json
from api.json_keys import RepeatedKey, key_named_twice, refusal
from api.referral_people import check_subjects, named_by, people_rows
from api.routes.deps import ScorerDep, SettingsDep, StoreDep
from api.routes.metrics import Metrics
from api.routes.responses import (
    AUTH_RESPONSES,
    JSON_BODY_RESPONSES,
    Responses,
    input_responses,
)
from api.schemas import BatchResult, Problem, ReferralFacts, ScoreResult
from api.scoring import ModelUnavailable, Scorer
from api.store.db import JsonText, Store
from api.store.models import REFERRAL_PERSON_TABLE, SCORE_TABLE, utcnow

logger = logging.getLogger(__name__)

# Every problem of a refused case in one 422 (`CasesRoute`), on both routes.
router = APIRouter(prefix="/v1", tags=["scoring"], route_class=CasesRoute)

# The most single-case requests scored in one go (a few milliseconds each).
MAX_CASES_TOGETHER = 16

# The rules of a case that its JSON Schema cannot express: refused with a 422 all the same.
CASE_RULES = (
    "the feed contract's rules for a case's records (data_contracts/README.md): no date "
    "after today, `recorded_date` not before `event_date`, each agency's own event types "
    "and the values they carry, `age_years` consistent with `subject_type`, each earlier "
    "referral listed once and not the referral itself. A record known "
    "only after the referral date is accepted but not counted (the point-in-time rule); "
    "the result's `warnings` say how many. No object names a key twice. A 422 lists every "
    "problem of a case at once: its fields' errors and these rules, each checked unless a "
    "field it reads is itself in error. The body is JSON in UTF-8 (a byte-order mark is "
    "ignored); one in UTF-16 or UTF-32 is refused"
)
_SCORE_RESPONSES: Responses = {
    **AUTH_RESPONSES,
    **JSON_BODY_RESPONSES,
    **input_responses(CASE_RULES),
    409: {"model": Problem, "description": "A referral id already scored about another "
          "person (a referral keeps its subject): nothing is stored"},
    413: {"model": Problem, "description": "Body or batch too large"},
    503: {"model": Problem, "description": "No model is ready (the reason is given), or "
          "the store is unreachable (send it again after Retry-After seconds)"},
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
        result.referral = ReferralFacts.model_validate(case.referral, from_attributes=True)
    return results


@dataclass(frozen=True, slots=True, eq=False)
class ScoreRequest:
    """One case to score, with who asked and the hash of the request that carried it."""

    principal: Principal
    case: CasePayload
    request_hash: str


def _store_and_audit(
    store: Store, scored: Sequence[tuple[ScoreRequest, ScoreResult]]
) -> None:
    """Store the scores and their audit entries (each with its own requester) in one transaction."""
    rows, events, people = [], [], []
    for asked, result in scored:
        principal = asked.principal
        people.append(people_rows(asked.case))
        rows.append({
            "referral_id": result.referral_id,
            "model_name": result.model_name,
            "model_version": result.model_version,
            "probability": result.probability,
            "score": result.score,
            "band": result.band,
            "rag": result.rag,
            "result": JsonText(result.model_dump_json()),
            "user_name": principal.name,
            "presenting_need": asked.case.referral.presenting_need,
            "created_at": utcnow(),
        })
        events.append(
            AuditEvent(
                user_name=principal.name,
                role=principal.role,
                action="score",
                referral_id=result.referral_id,
                model_version=result.model_version,
                request_hash=asked.request_hash,
                details={"score": result.score, "band": result.band, "rag": result.rag},
            )
        )
    store_with_audit(store.engine, events, first=check_subjects(
        [person for named in people for person in named]),
                     inserts={SCORE_TABLE: rows, REFERRAL_PERSON_TABLE: named_by(people)})


def _score_each(scorer: Scorer, cases: Sequence[CasePayload]
                ) -> list[ScoreResult | BaseException]:
    """The cases scored together; if that fails, one by one, so one bad case fails alone."""
    try:
        return list(_run_scorer(scorer, cases))
    except HTTPException:
        raise  # not ready: the same answer for every case
    except Exception as exc:
        if len(cases) == 1:
            raise
        logger.warning("scoring %d cases together failed (%s); scoring them one by one",
                       len(cases), type(exc).__name__)
    outcomes: list[ScoreResult | BaseException] = []
    for case in cases:
        try:
            outcomes.extend(_run_scorer(scorer, [case]))
        except Exception as exc:  # noqa: BLE001 - that request's own error
            outcomes.append(exc)
    return outcomes


async def _store_each(store: Store, scored: Sequence[tuple[ScoreRequest, ScoreResult]]
                      ) -> dict[ScoreRequest, Exception]:
    """Store the batch in one transaction; if that fails, each in its own, so one bad row
    fails alone. Returns the requests whose score could not be stored, with the error."""
    try:
        await store.write(_store_and_audit, store, scored)
        return {}
    except Exception as exc:
        if len(scored) == 1:
            return {scored[0][0]: exc}
        logger.warning("storing %d scores together failed (%s); storing them one by one",
                       len(scored), type(exc).__name__)
    failed: dict[ScoreRequest, Exception] = {}
    for item in scored:  # the joint transaction rolled back: nothing is stored twice
        try:
            await store.write(_store_and_audit, store, [item])
        except Exception as exc:  # noqa: BLE001 - that request's own error
            failed[item[0]] = exc
    return failed


def case_batcher(store: Store, scorer: Scorer, metrics: Metrics
                 ) -> MicroBatcher[ScoreRequest, ScoreResult]:
    """The batcher behind `POST /v1/score`: concurrent requests share a model call and a commit.

    Every request still gets its own result, score row and audit entry (naming its
    own user and the hash of its own request), as if it had been scored alone.
    """

    async def score_together(requests: Sequence[ScoreRequest]
                             ) -> list[ScoreResult | BaseException]:
        # Scored on the event loop, not handed to a worker thread: the trees'
        # predictions release the GIL around each tree, and in a worker every
        # release hands the GIL to the loop (busy parsing other requests) while the
        # worker waits to get it back. Storing goes to the store's writer thread
        # (`Store.write`), so the loop never waits on the chain's locks.
        metrics.batch_cases.observe(len(requests))
        outcomes = _score_each(scorer, [asked.case for asked in requests])
        scored = [(asked, outcome) for asked, outcome in zip(requests, outcomes, strict=True)
                  if isinstance(outcome, ScoreResult)]
        failed = await _store_each(store, scored) if scored else {}
        for index, asked in enumerate(requests):
            if asked in failed:
                outcomes[index] = failed[asked]
        metrics.count_scores((result.band, result.rag) for asked, result in scored
                             if asked not in failed)
        return outcomes

    return MicroBatcher(score_together, max_items=MAX_CASES_TOGETHER)


async def body_hash(request: Request) -> str:
    """SHA-256 of the request body as received (the audit's request hash for a score)."""
    return sha256_hex(await request.body())


# The route reads its own body (`case_body`) and caller (`authorise`), so its
# OpenAPI entry says what it expects of both.
_CASE_BODY: dict[str, Any] = {**AUTHORISED_ROUTE, "requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/CasePayload"}}}}}


@router.post("/score", responses=_SCORE_RESPONSES, openapi_extra=_CASE_BODY)
async def score_case(request: Request) -> ScoreResult:
    """Score one referral, store the result with its explanation, and audit it.

    Requests that arrive together are scored together (`case_batcher`); each gets
    its own result and audit entry.
    """
    # The caller is checked before the body is read, as a `TriageUser` dependency
    # would, but here: FastAPI's resolving of those dependencies cost ~0.1 ms a request.
    principal = await authorise(request, TRIAGE, ADMIN)
    received = await case_body(request)
    batcher: MicroBatcher[ScoreRequest, ScoreResult] = request.app.state.score_batcher
    return await batcher.submit(ScoreRequest(principal, received.case, received.request_hash))


async def batch_within_limit(request: Request, settings: SettingsDep) -> None:
    """Refuse a batch of more than `max_batch_cases` cases with 413, before any case is
    validated: validating 170,000 cases took seconds and listed an error for each.

    FastAPI has decoded the body before it solves the dependencies, and Starlette keeps
    that decoding (`Request.json`): it is not decoded twice."""
    try:
        cases = (await request.json()).get("cases")
    except (ValueError, AttributeError):
        return  # not a JSON object: validating the body says what is wrong
    if isinstance(cases, list) and len(cases) > settings.max_batch_cases:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"batch of {len(cases):,} cases exceeds the limit of {settings.max_batch_cases:,} "
            "cases a request (setting SAFEGUARD_MAX_BATCH_CASES)",
        )


@router.post("/score/batch", responses=_SCORE_RESPONSES)
def score_batch(
    batch: BatchIn,
    request: Request,
    principal: TriageUser,
    _utf8: Annotated[None, Depends(utf8_json)],
    _within_limit: Annotated[None, Depends(batch_within_limit)],
    repeated: Annotated[RepeatedKey | None, Depends(key_named_twice)],
    store: StoreDep,
    scorer: ScorerDep,
    request_hash: Annotated[str, Depends(body_hash)],
) -> BatchResult:
    """Score up to `max_batch_cases` referrals at once (413 beyond, before the cases are
    validated); each is stored and audited.

    A batch can take seconds, so it runs in the thread pool, never on the event loop.
    Each case's audit entry carries the hash of the whole batch request.
    """
    if repeated is not None:
        raise refusal(repeated)
    results = _run_scorer(scorer, batch.cases)
    _store_and_audit(store, [(ScoreRequest(principal, case, request_hash), result)
                             for case, result in zip(batch.cases, results, strict=True)])
    request.app.state.metrics.count_scores((r.band, r.rag) for r in results)
    return BatchResult(results=results)
