"""What a request body must be before any route reads it: JSON (415 otherwise) and no
larger than `max_body_bytes` (413 otherwise), both answered as a JSON `Problem`.

The API (`/v1/...`) takes only JSON bodies, so one rule for every API request that
carries a body (POST, PUT, PATCH): `/v1/score`, which reads its body itself, refuses
the same requests as the routes FastAPI reads for. (FastAPI's own body limit answers in
plain text, unlike every other error of the API; this one raises an `HTTPException`, which the app's
handlers answer in JSON.) The web pages' forms post HTML form data, which is theirs to
read; the size limit holds for them too, as the page reads the body (a page can then
answer with itself, stating the limit, where a refusal here could only answer JSON).
"""

from __future__ import annotations

from typing import Final

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data_contracts.digits import ascii_whole_number

BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
# The JSON API's routes; everything else (the web pages) may post form data.
API_PREFIX: Final = "/v1/"


class BodyTooLarge(HTTPException):
    """The body grew past the limit while it was being read (a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than the limit of {limit} bytes")


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (`application/json`, or `application/...+json`)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


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
