"""What every page shares: who is signed in, what their role may open, and rendering.

A page's route declares the roles it admits as a dependency (`TriagePage`,
`CasePage`, `GovernancePage`), as the API's routes do with `require_roles`. A
visitor who is not signed in is sent to the sign-in page; a signed-in user whose
role may not open the page gets the 403 page.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import unquote

from fastapi import Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from fastapi.routing import iter_route_contexts
from starlette.datastructures import FormData

from api.access_refusals import audit_refusal, held_in_store, invalid_request_event
from api.audit import store_with_audit
from api.auth import (
    ADMIN,
    DATA_SCIENTIST,
    GOVERNANCE,
    TRIAGE,
    KeyHolder,
    Principal,
    key_holder_in_store,
)
from api.routes.deps import READ_METHODS
from api.store.db import Store
from api.templating import render_page
from api.web.session import CSRF_FIELD, WebSession, check_csrf, read_session, session_ended

SIGN_IN_PATH = "/sign-in"
# A page answers HEAD as it answers GET (its headers, no body), for uptime monitors.
PAGE_METHODS: Final = list(READ_METHODS)
_NAVIGATION: dict[str, tuple[tuple[str, str], ...]] = {
    TRIAGE: (("/queue", "Triage queue"), ("/score", "Score a referral")),
    GOVERNANCE: (("/governance", "Model governance"), ("/governance/audit", "Audit trail"),
                 ("/governance/subjects", "Subject access")),
    ADMIN: (("/queue", "Triage queue"), ("/score", "Score a referral"),
            ("/governance", "Model governance"), ("/governance/audit", "Audit trail"),
            ("/governance/subjects", "Subject access")),
    DATA_SCIENTIST: (),
}
HOME_PAGES = {TRIAGE: "/queue", ADMIN: "/queue", GOVERNANCE: "/governance",
              DATA_SCIENTIST: "/home"}


class SignInRequired(Exception):
    """The page needs a signed-in user; `next_path` is where to return afterwards, and
    `unsaved` whether a posted form was refused (what it held is not kept)."""

    def __init__(self, next_path: str, *, unsaved: bool = False) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.unsaved = unsaved


@dataclass(frozen=True)
class PageUser:
    """The signed-in user of a page and their session (for its forms' CSRF token)."""

    principal: Principal
    session: WebSession


def _holder_of(store: Store, session: WebSession) -> KeyHolder | None:
    """The holder of a signed-in session's key, unless it was signed out of, the key is
    revoked, or the session was not signed in with this key (`WebSession.holds_key`)."""
    if session.key_id is None or session_ended(store, session):
        return None
    holder = key_holder_in_store(store, session.key_id)
    return holder if holder is not None and session.holds_key(holder.key_hash) else None


async def signed_in_user(request: Request) -> PageUser | None:
    """The request's signed-in user, if its session is valid, bound to its key, and the
    key not revoked."""
    session = read_session(request)
    if session is None or session.key_id is None:
        return None
    store: Store = request.app.state.store
    holder = await store.run(_holder_of, store, session)
    if holder is None:
        return None
    principal = Principal(name=holder.name, role=holder.role)
    request.state.principal = principal
    return PageUser(principal=principal, session=session)


def _page_asked_for(request: Request) -> str:
    """Where to return after signing in: the page asked for or, for a posted form, the
    page the form is on (a post's own address may have no page, or name another one:
    `/cases/R1/decisions` reads as the case page of a referral "R1/decisions").

    A form's page is the page route whose path the post's route path is, or begins
    with: `/cases/{referral_id:path}` for `/cases/{referral_id:path}/decisions`. The
    address keeps the request's own quoting (a referral id's `#` or `%2F` comes back so).
    """
    path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    if request.method in READ_METHODS:
        return path
    routes = list(iter_route_contexts(request.app.routes))
    posted = next((route.path for route in routes
                   if route.original_route is request.scope.get("route")), "")
    pages = sorted((route.path for route in routes
                    if route.path and "GET" in (route.methods or ())), key=len, reverse=True)
    page = next((page for page in pages if f"{posted}/".startswith(f"{page}/")), None)
    if not posted or page is None:
        return "/"
    extra = posted[len(page):].count("/")  # the post's segments past its page's
    return path.rsplit("/", extra)[0] if extra else path


def refuse_form_address(request: Request) -> None:
    """Answer 404 when the address, as sent, is a form's and no page's: a GET of
    `/cases/R1/decisions`, where the decision form posts, is read by the case page's route as
    the case of a referral "R1/decisions" (and was audited as a view of it). That referral's
    page is `/cases/R1%2Fdecisions`, as `case_path` writes it: the address is matched with
    each `/` as sent, a `%2F` kept quoted, against the routes no GET is sent to.

    Raises:
        HTTPException: 404, when a route that takes no GET has this address.
    """
    raw = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    raw = raw.removeprefix(request.scope.get("root_path", ""))
    sent = "%2F".join(unquote(part) for part in re.split("%2[Ff]", raw))
    if any(route.path and "GET" not in (route.methods or ("GET",))
           and route.path_regex.match(sent)
           for route in iter_route_contexts(request.app.routes)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "there is no page at this address")


def page_roles(*roles: str) -> Callable[[Request], Awaitable[PageUser]]:
    """A dependency admitting signed-in users of the given roles (sign in first; 403 else)."""

    async def dependency(request: Request) -> PageUser:
        user = await signed_in_user(request)
        if user is None:
            raise SignInRequired(_page_asked_for(request),
                                 unsaved=request.method not in READ_METHODS)
        if user.principal.role not in roles:
            await audit_refusal(request, request.app.state.store, user.principal, roles)
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"the {user.principal.role} role may not open this page")
        return user

    return dependency


AnyPage = Annotated[PageUser, Depends(page_roles(TRIAGE, DATA_SCIENTIST, GOVERNANCE, ADMIN))]
TriagePage = Annotated[PageUser, Depends(page_roles(TRIAGE, ADMIN))]
CasePage = Annotated[PageUser, Depends(page_roles(TRIAGE, GOVERNANCE, ADMIN))]
GovernancePage = Annotated[PageUser, Depends(page_roles(GOVERNANCE, ADMIN))]


def may_decide(user: PageUser) -> bool:
    """Whether the user may record decisions (the API's `TriageUser` roles)."""
    return user.principal.role in (TRIAGE, ADMIN)


async def posted_form(request: Request, session: WebSession | None) -> FormData:
    """The posted form, once its CSRF token is checked against the session's.

    A field may be as large as the body the service takes (`max_body_bytes`, which
    `RequestBodyRules` holds): Starlette's own default of 1 MiB a field refused a
    pasted case that the same case uploaded as a file passed.

    Raises:
        BodyTooLarge: The body grew past the limit while it was read (a chunked body).
    """
    form = await request.form(max_part_size=request.app.state.settings.max_body_bytes)
    check_csrf(session, form.get(CSRF_FIELD))
    return form


async def audit_refused_form(request: Request, user: PageUser,
                            problems: Sequence[Any]) -> None:
    """Audit a form a page refused on its own (its 400), as the API's 422 is
    (`request_invalid`: the fields at fault, each a problem's `loc`, never the values sent:
    a value may be a pasted key or a child's record)."""
    store: Store = request.app.state.store
    held = await held_in_store(request, store)
    await store.write(store_with_audit, store.engine, [
        invalid_request_event(request, user.principal, list(problems), held=held)])


def fields_at_fault(*names: str) -> list[dict[str, Any]]:
    """The problems of a form's fields, as `audit_refused_form` names them."""
    return [{"loc": (name,)} for name in names]


def navigation(role: str | None, path: str) -> list[dict[str, Any]]:
    """The service navigation for a role, the current page marked."""
    return [{"href": href, "text": text, "current": path == href}
            for href, text in _NAVIGATION.get(role or "", ())]


def page_response(template: str, *, user: PageUser | None, path: str,
                  status_code: int = status.HTTP_200_OK, **context: Any) -> HTMLResponse:
    """A page from `api/templates/`, with the user, the navigation (`path` is the page's
    address, marked in it) and the CSRF token; never cached."""
    principal = user.principal if user else None
    visitor_token = context.pop("csrf_token", "")
    html = render_page(
        template, user=principal, csrf_field=CSRF_FIELD, status_code=status_code,
        csrf_token=user.session.csrf if user else visitor_token,
        navigation=navigation(principal.role if principal else None, path),
        **context,
    )
    return HTMLResponse(html, status_code=status_code,
                        headers={"Cache-Control": "no-store"})


def render(request: Request, template: str, *, user: PageUser | None,
           status_code: int = status.HTTP_200_OK, **context: Any) -> HTMLResponse:
    """The page answering `request` (`page_response` at the request's address)."""
    return page_response(template, user=user, path=request.url.path,
                         status_code=status_code, **context)
