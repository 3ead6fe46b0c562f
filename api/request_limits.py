"""What a request body must be before any route reads it: JSON (415 otherwise) and no
larger than `max_body_bytes` (413 otherwise), both answered as a JSON `Problem`.

The API (`/v1/...`) takes only JSON bodies, so one rule for every API request that
carries a body (POST, PUT, PATCH): `/v1/score`, which reads its body itself, refuses
the same requests as the routes FastAPI reads for. (FastAPI's own body limit answers in
plain text, unlike every other error of the API; this one raises an `HTTPException`, which the app's
handlers answer in JSON.) The web pages' forms post HTML form data, which is theirs to
read; the size limit holds for them too, as the page reads the body (a page can then
answer with itself, stating the limit, where a refusal here could only answer JSON).

A signed-in user's request refused so (415, 413) is audited as their 422s are
(`request_invalid`, with the method, route and the field at fault, never a value:
`audit_body_refusal`); the key of a request refused before its route checked it is
checked here, and a stranger's refusal is not entered (nor was a stranger's 422).
"""

from __future__ import annotations

from typing import Final

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access_refusals import held_in_store, invalid_request_event
from api.audit import store_with_audit
from data_contracts.digits import ascii_whole_number

BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
# The JSON API's routes; everything else (the web pages) may post form data.
API_PREFIX: Final = "/v1/"
# The field at fault in a refusal's audit entry, named as a 422's are (FastAPI's `loc`).
_AT_FAULT: Final = {413: ("body",), 415: ("header", "content-type")}


class BodyTooLarge(HTTPException):
    """The body grew past the limit while it was being read (a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than the limit of {limit} bytes")


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type is `application/json` (parameters aside): the only type the
    API's document names. A `+json` type names semantics of its own the API does not
    implement (`application/merge-patch+json` asks to patch, not to send a whole body),
    so it is refused (415) rather than read as if it were plain JSON."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def _declared_length(headers: Headers) -> int | None:
    value = headers.get("content-length")
    return None if value is None else ascii_whole_number(value)


def _has_body(headers: Headers) -> bool:
    """Whether the request carries a body (a bodiless POST goes on to its route, which
    answers 401 to a stranger and 422, body missing, to a user)."""
    return bool(_declared_length(headers)) or "transfer-encoding" in headers


class RequestBodyRules:
    """ASGI middleware refusing a body that is not JSON (415) or too large (413)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = None
        json_only = str(scope.get("path", "")).startswith(API_PREFIX)
        if (json_only and _has_body(headers)
                and not is_json_media_type(headers.get("content-type"))):
            refusal = JSONResponse(status_code=415, content={
                "detail": "send the body as JSON, with Content-Type: application/json"})
        elif json_only and (_declared_length(headers) or 0) > self.max_body_bytes:
            refusal = JSONResponse(status_code=413, content={
                "detail": BodyTooLarge(self.max_body_bytes).detail})
        if refusal is not None:
            if (routed := _routed(scope)) is not None:
                await audit_body_refusal(Request(routed[0]), refusal.status_code,
                                         route=routed[1])
            await refusal(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        """`receive`, raising `BodyTooLarge` once the body passes the limit (a chunked
        body, or one longer than its Content-Length said)."""
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return limited_receive


def _routed(scope: Scope) -> tuple[Scope, str] | None:
    """The request with its route's path values, and the route's address as the API's
    document writes it; None when no route of the document takes it (a 404 or 405 is
    entered nowhere, and its address may be anything). The document, not the router:
    a request refused here has not been routed."""
    document = getattr(scope.get("app"), "openapi", None)
    for template, operations in (document()["paths"] if document else {}).items():
        matched = compile_path(template)[0].fullmatch(str(scope.get("path", "")))
        if matched and str(scope["method"]).lower() in operations:
            return {**scope, "path_params": matched.groupdict()}, template
    return None


async def audit_body_refusal(request: Request, status_code: int, *,
                             route: str | None = None) -> None:
    """Enter a signed-in user's request refused for its body's type (415) or size (413)
    as `request_invalid` (`api.access_refusals`), as their 422s are. A request to the API
    whose key no route has checked yet (refused before its route, or while FastAPI read
    its body) is checked here; a stranger's, or one with a key refused (counted as any
    refused key is), is not entered: a stranger could otherwise fill the trail."""
    from api.auth import ROLES, authorise  # (api.auth imports the routes)

    principal = getattr(request.state, "principal", None)
    if principal is None and request.url.path.startswith(API_PREFIX):
        try:
            principal = await authorise(request, *ROLES)
        except HTTPException:
            return
    if principal is None or status_code not in _AT_FAULT:
        return
    store = request.app.state.store
    held = await held_in_store(request, store)
    await store.write(store_with_audit, store.engine, [invalid_request_event(
        request, principal, [{"loc": _AT_FAULT[status_code]}], route=route, held=held)])
