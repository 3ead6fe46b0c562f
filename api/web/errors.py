"""Error pages (400, 403, 404, 500 and the rest) in the service's style, for browsers.

A request gets an HTML error page when it is not for the JSON API and its browser
accepts HTML; everyone else gets the JSON errors the API has always given (the
handlers registered before these are kept and called). No page shows a stack
trace or an exception's message: a 500 page gives only an error id, which the log
line names. A visitor who is not signed in is sent to sign in; a form without its
session's CSRF token gets a 403 page of its own (not the role's).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import Scope

from api.templating import render_page
from api.web.pages import SIGN_IN_PATH, SignInRequired
from api.web.session import CsrfRefused

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]

# Paths that always answer as the JSON API does, whatever the client accepts.
API_PREFIXES = ("/v1/", "/v1", "/openapi.json", "/docs", "/metrics", "/healthz", "/readyz")
_TITLES = {
    400: "There is a problem with the address",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "Page not found",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}
# A form refused for its CSRF token has its own page: its role has nothing to do with it.
_CSRF_PAGE = ("errors/csrf.html", "Your form could not be sent")


def wants_page(path: str, accept: str) -> bool:
    """Whether an error should be an HTML page: not the API, and the client reads HTML."""
    return not path.startswith(API_PREFIXES) and "text/html" in accept


def error_page(status_code: int, *, message: str = "", error_id: str = "",
               page: tuple[str, str] | None = None) -> HTMLResponse:
    """The error page for a status code (403, 404 and 500 have their own templates), or
    the `page` (template, title) given."""
    template = f"errors/{status_code}.html" if status_code in (403, 404, 500) else \
        "errors/error.html"
    template, title = page or (template, _TITLES.get(status_code, "There is a problem"))
    html = render_page(template, title=title, status_code=status_code, message=message,
                       error_id=error_id, user=None, navigation=[])
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def server_error_page(scope: Scope, error_id: str) -> Response | None:
    """The 500 page for `SafeErrorMiddleware`, when the request wants a page (else None)."""
    accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
    if not wants_page(scope.get("path", ""), accept):
        return None
    try:
        return error_page(status.HTTP_500_INTERNAL_SERVER_ERROR, error_id=error_id)
    except Exception:  # noqa: BLE001 - the page itself failed: the plain JSON 500 will do
        return None


def _page_message(exc: HTTPException) -> str:
    # Page routes' own messages are written for people; anything else gets the title only.
    return exc.detail if exc.status_code in (403, 404) and isinstance(exc.detail, str) else ""


def _wrap(previous: Handler | None, page: Callable[[Request, Exception], Response]) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if wants_page(request.url.path, request.headers.get("accept", "")) or previous is None:
            return page(request, exc)
        result = previous(request, exc)
        return await result if isinstance(result, Awaitable) else result

    return handler


def install_error_pages(app: FastAPI) -> None:
    """Serve error pages to browsers; call after the API's own handlers are installed."""

    def http_page(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_page(exc.status_code, message=_page_message(exc))

    def invalid_page(_request: Request, _exc: Exception) -> Response:
        return error_page(status.HTTP_400_BAD_REQUEST)

    api_http = app.exception_handlers.get(HTTPException, http_exception_handler)
    app.add_exception_handler(HTTPException, _wrap(api_http, http_page))
    app.add_exception_handler(RequestValidationError, _wrap(
        app.exception_handlers.get(RequestValidationError), invalid_page))

    async def sign_in_first(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        # Only that a form was lost goes in the address, never what it held.
        unsaved = "&unsaved=true" if exc.unsaved else ""
        return RedirectResponse(f"{SIGN_IN_PATH}?next={quote(exc.next_path)}{unsaved}",
                                status_code=status.HTTP_303_SEE_OTHER)

    async def csrf_refused(_request: Request, _exc: Exception) -> Response:
        return error_page(status.HTTP_403_FORBIDDEN, page=_CSRF_PAGE)

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(CsrfRefused, csrf_refused)
