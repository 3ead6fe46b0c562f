"""Error responses: field-level 422s, 503 while stopping, while the store is unreachable or
while the board's governance settings cannot be read, and a safe 500 that never echoes or
logs a payload.

Every 422 has one shape, `api.schemas.ValidationProblem` (`field_errors`), every other
error `api.schemas.Problem`; `api.routes.responses` documents both on every route.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.batching import BatchStopped
from api.case_payload import OPTIONAL_CASE_FIELDS
from api.request_limits import API_PREFIX
from api.store.db import is_outage, outage_reason
from data_contracts.vocab import NOT_AN_IDENTIFIER
from model.governance import GovernanceError
from model.registry_reach import RegistryError, RegistryUnavailable

logger = logging.getLogger(__name__)

# The most errors a 422 lists; a last entry says how many more there were.
MAX_ERRORS_LISTED = 50
# Seconds a client is asked to wait before retrying while the store is unreachable.
STORE_RETRY_AFTER_SECONDS = 5

# Starlette's body limiter signals "413 sent" by raising through `send`; let it pass.
_BODY_LIMIT_MODULE = "starlette.middleware.body_limit"


def error_message(error: Any) -> str:
    """A pydantic error's message, an identifier its pattern refused named in words (the
    feeds' quarantine says the same), not shown the pattern; an empty string sent for a
    field a case may leave out says how to send it empty (a probe's hub, building JSON
    from CSV rows, sent "" for every empty recorded date and was told only "expected a
    date written YYYY-MM-DD")."""
    if named := NOT_AN_IDENTIFIER.get((error.get("ctx") or {}).get("pattern", "")):
        message = named[:1].upper() + named[1:]
    else:
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    loc = error.get("loc") or ("",)
    if error.get("input") == "" and loc[-1] in OPTIONAL_CASE_FIELDS:
        message += "; a value not known is sent as null, or the field left out"
    return message


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{field, message, type}``, without the submitted values."""
    formatted = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        message = error_message(error)
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


class CountedInvalid(RequestValidationError):
    """A 422 with `more` errors besides its `errors()`, counted but never built as they lie
    past the ones a 422 lists (`MAX_ERRORS_LISTED`): a case's broken rules, thousands of
    them in a hostile body, each costly to build."""

    def __init__(self, errors: Sequence[Any], *, more: int, body: Any = None) -> None:
        super().__init__(errors, body=body)
        self.more = more


class AuditedInvalid(RequestValidationError):
    """A 422 its route has entered in the audit trail already, under its own action (a
    decision refused on what the store holds is `decision_refused`, with the referral):
    the error handlers do not enter it again as `request_invalid`."""


def registry_refusal(exc: RegistryError) -> HTTPException:
    """404 for a version (or file) the registry does not have; 503 when the registry
    cannot be reached, which is not the version's absence (the log names the registry)."""
    if isinstance(exc, RegistryUnavailable):
        logger.warning("%s: answering 503", exc)
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                             RegistryUnavailable.WITHOUT_ADDRESS,
                             headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)})
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


def omitted_errors(errors: Sequence[Any], *, counted: int = 0) -> list[dict[str, Any]]:
    """At most MAX_ERRORS_LISTED errors, then one saying how many more were left out
    (a body of many bad records once gave a 106 MB answer): those past the first, and
    those `counted` but never built (`CountedInvalid`)."""
    listed = field_errors(errors[:MAX_ERRORS_LISTED])
    more = max(0, len(errors) - MAX_ERRORS_LISTED) + counted
    if more > 0:
        message = f"{more:,} more errors not listed (the first {MAX_ERRORS_LISTED} are)"
        listed.append({"field": "body", "loc": ["body"], "message": message,
                       "type": "too_many_errors"})
    return listed


def _json_error(error: Any) -> Any:
    """FastAPI's error for a body that is not JSON (``loc`` ending in a character offset,
    "JSON decode error") as the body's own, saying what is wrong and where, as pydantic
    says it for the routes that parse their body themselves (`POST /v1/score`)."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") != "json_invalid" or len(loc) != 2 or not isinstance(loc[1], int):
        return error
    why = (error.get("ctx") or {}).get("error") or "not JSON"
    return {"loc": ("body",), "msg": f"Invalid JSON: {why} at character {loc[1] + 1}",
            "type": "json_invalid"}


async def _stranger_refused(request: Request) -> Response | None:
    """The 401 (or 429) for a caller the API never got to ask for a key: FastAPI decodes
    a JSON body before it solves a route's dependencies, so a body that is not JSON was
    answered 422 to anyone. None: the caller has a key for the API (or the path is a
    page's, whose sign-in comes with its own answer)."""
    from api.auth import ROLES, authorise  # the routes' own check (api.auth imports routes)

    if not request.url.path.startswith(API_PREFIX) or hasattr(request.state, "principal"):
        return None
    try:
        await authorise(request, *ROLES)
    except StarletteHTTPException as refused:
        return await http_exception_handler(request, refused)
    return None


async def _validation_handler(request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if any(error.get("type") == "json_invalid" for error in errors) and (
            refused := await _stranger_refused(request)):
        return refused
    counted = exc.more if isinstance(exc, CountedInvalid) else 0
    return JSONResponse(status_code=422, content={
        "detail": omitted_errors([_json_error(e) for e in errors], counted=counted)})


# FastAPI's answer to a body it cannot decode (not UTF-8, or JSON nested deeper than the
# decoder's recursion limit, its cause a RecursionError): this API's is a 422.
_UNPARSED_BODY = "There was an error parsing the body"


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own, except that an undecodable body is a 422 like any other bad body."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSED_BODY:
        if refused := await _stranger_refused(request):
            return refused
        why = ("the body's JSON is nested too deeply to read"
               if isinstance(exc.__cause__, RecursionError) else "the body is not JSON in UTF-8")
        error = {"loc": ("body",), "msg": why, "type": "json_invalid"}
        return JSONResponse(status_code=422, content={"detail": field_errors([error])})
    return await http_exception_handler(request, exc)


async def _stopping_handler(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=503, headers={"Retry-After": "1"},
                        content={"detail": "the service is stopping: send the request again"})


async def _governance_handler(request: Request, exc: Exception) -> Response:
    """503 saying why: the board's governance settings file (read afresh on each request
    that judges a version against it) was edited into one that cannot be read. Nothing
    judged against it is shown or recorded until it is corrected; not a 500 with an id."""
    logger.error("%s: answering 503", exc)
    refused = StarletteHTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        f"The board's governance settings cannot be read, so nothing judged against them "
        f"was shown or recorded: {exc}. Correct the file; the service reads it again on the "
        "next request.")
    handler = request.app.exception_handlers.get(StarletteHTTPException, _http_error_handler)
    return await handler(request, refused)


def install_error_handlers(app: FastAPI) -> None:
    """Register the 422 handler, and 503 for a request caught by the service stopping or
    by the board's governance settings unreadable."""
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(BatchStopped, _stopping_handler)
    app.add_exception_handler(GovernanceError, _governance_handler)


def _store_unavailable(exc: Exception) -> JSONResponse:
    """503 with Retry-After: the store cannot be reached (a write may or may not have
    landed; a retried decision then meets 409, never a second copy)."""
    logger.warning("store unavailable (%s): answering 503", outage_reason(exc))
    return JSONResponse(
        status_code=503, headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        content={"detail": "the store is unavailable, so the request was not acknowledged: "
                           f"send it again in {STORE_RETRY_AFTER_SECONDS} seconds"})


class SafeErrorMiddleware:
    """Turn any unhandled exception into a generic 500 with an error id (a 503 with
    Retry-After when the store is unreachable: `is_outage`).

    The log line names the error id, the exception type and the traceback frames,
    never the exception message or the request, which may carry case details.
    """

    def __init__(self, app: ASGIApp,
                 html_page: Callable[[Scope, str], Response | None] | None = None) -> None:
        self.app = app
        self.html_page = html_page  # a page for browsers (`api.web.errors`); None: JSON

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
            if is_outage(exc) and not started:
                await _store_unavailable(exc)(scope, receive, send)
                return
            error_id = uuid.uuid4().hex
            frames = "".join(traceback.format_tb(exc.__traceback__))
            logger.error("unhandled %s [error %s]\n%s", type(exc).__name__, error_id, frames)
            if started:
                raise
            page = self.html_page(scope, error_id) if self.html_page else None
            response = page or JSONResponse(
                status_code=500, content={"detail": "internal error", "error_id": error_id}
            )
            await response(scope, receive, send)
