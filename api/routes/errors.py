"""Error responses: field-level 422s, 503 while stopping, and a safe 500 that never echoes
or logs a payload.

Every 422 has one shape, `api.schemas.ValidationProblem` (`field_errors`), every other
error `api.schemas.Problem`; `api.routes.responses` documents both on every route.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.batching import BatchStopped

logger = logging.getLogger(__name__)

# Starlette's body limiter signals "413 sent" by raising through `send`; let it pass.
_BODY_LIMIT_MODULE = "starlette.middleware.body_limit"


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{field, message, type}``, without the submitted values."""
    formatted = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        formatted.append(
            {
                "field": ".".join(str(part) for part in loc) or "body",
                "loc": list(error.get("loc", ())),
                "message": message,
                "type": error.get("type", "value_error"),
            }
        )
    return formatted


def invalid_request(field: str, message: str) -> RequestValidationError:
    """A 422 about one body field, raised from a route (a rule pydantic cannot see)."""
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])


async def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=422, content={"detail": field_errors(errors)})


# FastAPI's answer to a body it cannot decode (not UTF-8, say): this API's is a 422.
_UNPARSED_BODY = "There was an error parsing the body"


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own, except that an undecodable body is a 422 like any other bad body."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
        error = {"loc": ("body",), "msg": "the body is not JSON in UTF-8", "type": "json_invalid"}
        return JSONResponse(status_code=422, content={"detail": field_errors([error])})
    return await http_exception_handler(request, exc)


async def _stopping_handler(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=503, headers={"Retry-After": "1"},
                        content={"detail": "the service is stopping: send the request again"})


def install_error_handlers(app: FastAPI) -> None:
    """Register the 422 handler, and 503 for a request caught by the service stopping."""
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(BatchStopped, _stopping_handler)


class SafeErrorMiddleware:
    """Turn any unhandled exception into a generic 500 with an error id.

    The log line names the error id, the exception type and the traceback frames,
    never the exception message or the request, which may carry case details.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if type(exc).__module__ == _BODY_LIMIT_MODULE:
                raise  # the body limiter unwinding after its own 413: not an error
            error_id = uuid.uuid4().hex
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("unhandled %s [error %s]\n%s", type(exc).__name__, error_id, frames)
            if started:
                raise
            response = JSONResponse(
                status_code=500, content={"detail": "internal error", "error_id": error_id}
            )
            await response(scope, receive, send)
