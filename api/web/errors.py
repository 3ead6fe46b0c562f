"""Error pages (400, 403, 404, 500 and the rest) in the service's style, for browsers.

A request gets an HTML error page when it is not for the JSON API and its browser
accepts HTML; everyone else gets the JSON errors the API has always given (the
handlers registered before these are kept and called). No page shows a stack
trace or an exception's message: a 500 page gives only an error id, which the log
line names. A signed-in user's error page keeps their account bar and navigation.
A visitor who is not signed in is sent to sign in; a form without its session's CSRF
token gets a 403 page of its own (not the role's), a form with a hidden field changed
the same page (400), and a signed-in user's is audited (`form_refused`), as a role's
refusal is; so is a signed-in user's request refused for its address, query or body
(`request_invalid`, through the API or a page).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import Scope

from api.access_refusals import form_refusal_event, held_in_store, invalid_request_event
from api.audit import store_with_audit
from api.request_limits import audit_body_refusal
from api.routes.errors import AuditedInvalid
from api.store.db import Store
from api.web.address_words import address_problem
from api.web.pages import SIGN_IN_PATH, PageUser, SignInRequired, page_response, signed_in_user
from api.web.session import FormRefused

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
# A form refused for its CSRF token, or a hidden field changed, has its own page: its role
# has nothing to do with it.
_FORM_PAGE = ("errors/form_refused.html", "Your form could not be sent")


def wants_page(path: str, accept: str) -> bool:
    """Whether an error should be an HTML page: not the API, and the client reads HTML."""
    return not path.startswith(API_PREFIXES) and "text/html" in accept


def error_page(status_code: int, *, message: str = "", error_id: str = "",
               page: tuple[str, str] | None = None, user: PageUser | None = None,
               path: str = "", **context: Any) -> HTMLResponse:
    """The error page for a status code (403, 404 and 500 have their own templates), or
    the `page` (template, title) given, with its `context`; with a signed-in `user`'s
    account bar and navigation (`path`: the address asked for, which the 404 page reads
    to say what may have gone: a referral, a model version, a report)."""
    template = f"errors/{status_code}.html" if status_code in (403, 404, 500) else \
        "errors/error.html"
    template, title = page or (template, _TITLES.get(status_code, "There is a problem"))
    return page_response(template, user=user, path=path, status_code=status_code,
                         title=title, message=message, error_id=error_id, asked=path,
                         **context)


async def _error_page_for(request: Request, status_code: int, **details: Any) -> Response:
    """The error page answering `request`, as signed in as the request is (a 5xx page asks
    the store nothing: the store may be what failed)."""
    user = await signed_in_user(request) if status_code < 500 else None
    return error_page(status_code, user=user, path=request.url.path, **details)


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
    # Page routes' own messages (and the 503s' reasons) are written for people; anything
    # else gets the title only.
    return exc.detail if exc.status_code in (403, 404, 503) and isinstance(exc.detail, str) \
        else ""


async def audit_invalid(request: Request, exc: RequestValidationError) -> None:
    """Enter a signed-in user's request refused for its address, query or body (a request
    that names no user is not: a stranger could otherwise fill the trail; one its route
    entered already, `AuditedInvalid`, is not entered twice)."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and not isinstance(exc, AuditedInvalid):
        store: Store = request.app.state.store
        held = await held_in_store(request, store)
        await store.write(store_with_audit, store.engine, [
            invalid_request_event(request, principal, list(exc.errors()), held=held)])


def _wrap(previous: Handler | None,
          page: Callable[[Request, Exception], Awaitable[Response]]) -> Handler:
    async def handler(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RequestValidationError):
            await audit_invalid(request, exc)
        elif isinstance(exc, HTTPException) and exc.status_code in (413, 415):
            await audit_body_refusal(request, exc.status_code)
        if wants_page(request.url.path, request.headers.get("accept", "")) or previous is None:
            return await page(request, exc)
        result = previous(request, exc)
        return await result if isinstance(result, Awaitable) else result

    return handler


def install_error_pages(app: FastAPI) -> None:
    """Serve error pages to browsers; call after the API's own handlers are installed."""

    async def http_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return await _error_page_for(request, exc.status_code, message=_page_message(exc))

    async def invalid_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return await _error_page_for(request, status.HTTP_400_BAD_REQUEST,
                                     message=address_problem(exc))

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

    async def form_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FormRefused)
        user = await signed_in_user(request)
        if user is not None:  # a visitor's refused sign-in names no one: not audited
            store: Store = request.app.state.store
            held = await held_in_store(request, store)
            await store.write(store_with_audit, store.engine, [
                form_refusal_event(request, user.principal, exc.why, held=held)])
        return error_page(exc.status_code, user=user, path=request.url.path,
                          page=_FORM_PAGE, field=exc.field)

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(FormRefused, form_refused)
