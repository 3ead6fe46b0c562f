"""Operations and model information: `/healthz`, `/readyz`, `GET /v1/model`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api.auth import AnyUser
from api.routes.deps import ScorerDep, StoreDep
from api.routes.responses import AUTH_RESPONSES

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up (no auth, no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready; `reasons` says why"}})
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
