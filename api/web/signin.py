"""Signing in and out: `/`, `/sign-in`, `/sign-out`, and `/home` (the pages a role uses).

The API key is checked by the API's own check (`api.auth.verified_key_holder`), so a
revoked key, a wrong secret and a malformed key are refused alike, and a key id or
address locked out after failed attempts is told so, and for how long, as the API's
429 tells it. Signing in and out are in the audit trail.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from api.audit import AuditEvent, request_hash, store_with_audit
from api.auth import Principal, verified_key_holder
from api.store.db import Store
from api.web.pages import (
    HOME_PAGES,
    PAGE_METHODS,
    SIGN_IN_PATH,
    AnyPage,
    PageUser,
    posted_form,
    render,
    signed_in_user,
)
from api.web.session import (
    WebSession,
    clear_session,
    codec_of,
    end_session,
    read_session,
    write_session,
)

router = APIRouter(include_in_schema=False)
_MISSING_KEY = "Enter your API key"
_NOT_RECOGNISED = "Enter a valid API key: this one is not recognised, or has been revoked"


def _safe_next(path: object) -> str | None:
    """A path on this service to return to after signing in (never another site's)."""
    if isinstance(path, str) and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return None


def _event(request: Request, principal: Principal, action: str) -> AuditEvent:
    return AuditEvent(user_name=principal.name, role=principal.role, action=action,
                      request_hash=request_hash({"method": request.method,
                                                 "path": request.url.path}),
                      details={"via": "web"})


async def _audit(request: Request, events: list[AuditEvent], *, ending: PageUser | None
                 ) -> None:
    """Write audit entries; with the session `ending`, its sign-out first and the end of the
    session (its cookie refused from then on) in the same transaction."""
    store: Store = request.app.state.store
    if ending is None:
        await store.write(store_with_audit, store.engine, events)
        return
    await store.write(end_session, store.engine,
                      [_event(request, ending.principal, "sign_out"), *events],
                      ending.session, codec_of(request).max_age)


@router.api_route("/", methods=PAGE_METHODS)
async def home(request: Request) -> RedirectResponse:
    """The signed-in user's home page, or the sign-in page."""
    user = await signed_in_user(request)
    target = HOME_PAGES.get(user.principal.role, "/home") if user else SIGN_IN_PATH
    return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)


def _refused(exc: HTTPException) -> tuple[str, int, dict[str, str]]:
    """What the page says of a refused key, its status and headers: what the API answers,
    no more (a lockout names neither the key id nor the address that caused it)."""
    retry_after = (exc.headers or {}).get("Retry-After", "")
    if exc.status_code != status.HTTP_429_TOO_MANY_REQUESTS or not retry_after.isdigit():
        return (_NOT_RECOGNISED, status.HTTP_401_UNAUTHORIZED, {})
    minutes = max(1, math.ceil(int(retry_after) / 60))
    wait = f"{minutes} minute{'' if minutes == 1 else 's'}"
    return (f"Sign-in is locked after too many failed attempts with this key or from this "
            f"address: wait {wait}, then try again",
            exc.status_code, {"Retry-After": retry_after})


def _sign_in_page(request: Request, session: WebSession, *, user: PageUser | None,
                  error: str | None = None, next_path: str | None = None,
                  signed_out: bool = False, unsaved: bool = False,
                  status_code: int = status.HTTP_200_OK,
                  headers: dict[str, str] | None = None) -> Response:
    """The sign-in form; a signed-in `user` is told who they are signed in as (signing in
    with another key ends their session first, `sign_in`)."""
    # Only a visitor's session is written back here, never a signed-in one: writing it
    # again renews its signature, which would let a kept copy of a cookie signed out of
    # (or past its 8 hours) live on for ever. A signed-in user's is left as it is.
    if user is None and session.key_id is not None:
        session = WebSession.anonymous()
    response = render(
        request, "pages/sign_in.html", user=user, title="Sign in", csrf_token=session.csrf,
        error=error, next_path=next_path, signed_out=signed_out, unsaved=unsaved,
        status_code=status_code)
    response.headers.update(headers or {})
    if user is None:
        write_session(request, response, session)
    return response


@router.api_route(SIGN_IN_PATH, methods=PAGE_METHODS)
async def sign_in_form(request: Request, next: str | None = None, signed_out: bool = False,
                       unsaved: bool = False) -> Response:
    """The sign-in form (a visitor's session, for its CSRF token, starts here); `unsaved`
    when a form was posted after the session had ended (what it held was not kept)."""
    session = read_session(request) or WebSession.anonymous()
    return _sign_in_page(request, session, user=await signed_in_user(request),
                         next_path=_safe_next(next), signed_out=signed_out, unsaved=unsaved)


@router.post(SIGN_IN_PATH)
async def sign_in(request: Request) -> Response:
    """Check the key as the API does; a valid one gives a new signed-in session, ending
    (and auditing the end of) the one that was signed in, if any."""
    session = read_session(request)
    form = await posted_form(request, session)
    assert session is not None  # posted_form refuses a post without one
    current = await signed_in_user(request)
    next_path = _safe_next(form.get("next"))
    key = form.get("api_key")
    store: Store = request.app.state.store
    if not isinstance(key, str) or not key.strip():  # nothing entered: nothing to check
        return _sign_in_page(request, session, user=current, next_path=next_path,
                             error=_MISSING_KEY, status_code=status.HTTP_400_BAD_REQUEST)
    try:
        holder = await verified_key_holder(request, store, key if isinstance(key, str) else None)
    except HTTPException as exc:
        error, code, headers = _refused(exc)
        return _sign_in_page(request, session, user=current, next_path=next_path,
                             error=error, status_code=code, headers=headers)
    principal = Principal(name=holder.name, role=holder.role)
    key_id = str(key).strip().partition(".")[0]
    await _audit(request, [_event(request, principal, "sign_in")], ending=current)
    target = next_path or HOME_PAGES.get(principal.role, "/home")
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    write_session(request, response, session.signed_in(key_id, key_hash=holder.key_hash))
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session (its cookie is removed, and refused from now on wherever a copy
    of it is) and return to the sign-in page.

    Only a live session's sign-out needs the form's CSRF token (no other site may sign a
    user out). With none (expired, signed out already, its key revoked) there is nothing
    to end and no token to check: the cookie is cleared and the signed-out page shown,
    not the expired-form page.
    """
    user = await signed_in_user(request)
    if user is not None:
        await posted_form(request, user.session)
        await _audit(request, [], ending=user)
    response = RedirectResponse(f"{SIGN_IN_PATH}?signed_out=true",
                                status_code=status.HTTP_303_SEE_OTHER)
    clear_session(request, response)
    return response


@router.api_route("/home", methods=PAGE_METHODS)
def role_home(request: Request, user: AnyPage) -> Response:
    """Your account: the pages your role uses, or that it uses the API (the home page of
    a role with no pages; every role may open it)."""
    return render(request, "pages/home.html", user=user, title="Your account")
