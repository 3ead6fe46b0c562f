"""Operations and model information: `/healthz`, `/readyz` (GET and HEAD, no key),
`GET /v1/model`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api.auth import AnyUser
from api.routes.deps import READ_METHODS, ScorerDep, StoreDep
from api.routes.responses import AUTH_RESPONSES

router = APIRouter(tags=["operations"])
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _get_and_head(path: str, **documented: Any) -> Callable[[Endpoint], Endpoint]:
    """Answer GET and HEAD on ``path`` with the function: load balancers and uptime checks
    ask with HEAD (it was a 405), answered with GET's status and headers, the server
    sending no body (uvicorn's protocols drop it for HEAD). That route comes first and
    answers both (a 405 says `Allow: GET, HEAD`); a GET route after it, never reached, is
    the one the OpenAPI document shows: a route of both would be two operations with one
    id."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.api_route(path, methods=list(READ_METHODS), include_in_schema=False)(endpoint)
        router.get(path, **documented)(endpoint)
        return endpoint

    return register


@_get_and_head("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no auth, no dependencies checked)."""
    return {"status": "ok"}


@_get_and_head("/readyz", responses={503: {"description": "Not ready; `reasons` says why"}})
def readyz(scorer: ScorerDep, store: StoreDep) -> JSONResponse:
    """Ready when a model can score and the store answers (no auth); 503 with reasons if not."""
    checks = {"model": scorer.readiness(), "store": store.ping()}
    ready = all(ok for ok, _ in checks.values())
    body = {
        "ready": ready,
        "checks": {name: {"ok": ok, "reason": reason} for name, (ok, reason) in checks.items()},
        "reasons": [reason for ok, reason in checks.values() if not ok],
    }
    code = status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse(status_code=code, content=body)


@router.get("/v1/model", tags=["model"], responses=AUTH_RESPONSES)
def model_info(principal: AnyUser, scorer: ScorerDep) -> dict[str, Any]:
    """The active model: version, training date, headline metrics, intended use, limitations."""
    ready, reason = scorer.readiness()
    return {**scorer.model_info(), "ready": ready, "readiness": reason}
