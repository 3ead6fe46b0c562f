"""The web pages' session: a signed, expiring cookie and the CSRF token tied to it.

Signing in with an API key (checked exactly as the API checks it, `api.auth`) gives
a cookie that names the user's key id, carries a random CSRF token, and binds the
session to the key: an HMAC of the token keyed by the key's stored hash (`key_binding`).
The cookie is signed (itsdangerous) with a key derived from the service's pepper, so
every server process accepts it and nobody can alter it; it expires after
`SESSION_SECONDS` however busy it is. The signature alone does not make a user: the
pepper and a key id (which logs and lock-out entries name) would forge one. The key is
looked up again on every request, and the binding checked against the hash it holds
(`WebSession.holds_key`, one HMAC), so only a sign-in with the key's secret (or the
stored hash itself) gives a session; revoking a user's key (`safeguard users revoke`),
or giving them a new one, ends their sessions at once, and the role shown is the one
the store holds now.

Signing out, or signing in again over an open session, ends the session on the server
too (`end_session`): its cookie is refused from then on (`session_ended`), so a copy of
it kept elsewhere no longer works.

The cookie is HttpOnly, SameSite=Strict and Secure whenever the page was served
over TLS. Every form carries the session's CSRF token in a hidden field and a
post whose token does not match is refused (`check_csrf`), the sign-in form too
(a visitor who is not signed in has a session with a token and no user); only signing
out when no session is live has nothing to check (`api.web.signin.sign_out`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Connection, Engine, bindparam, delete, select

from api.audit import AuditEvent, store_with_audit
from api.store.db import Store
from api.store.models import ENDED_SESSION_TABLE, utcnow

SESSION_COOKIE: Final = "safeguard_session"
# A working shift: the cookie's signature is refused after this, whatever happens.
SESSION_SECONDS: Final = 8 * 60 * 60
CSRF_FIELD: Final = "csrf_token"
_SIGNING_PURPOSE = b"safeguard web session cookie"
_BINDING_PURPOSE = b"safeguard web session key binding\x00"


class FormRefused(Exception):
    """A form not as the service's page made it, refused whole (nothing in it is saved):
    a page of its own, and a signed-in user's is audited (`form_refused`) with `why`."""

    status_code = 400
    why = "the form is not as its page made it"

    def __init__(self, field: str | None = None) -> None:
        super().__init__(field)
        self.field = field  # the hidden field changed (None: the form as a whole)
        if field is not None:
            self.why = f"the form's hidden {field} field is not as its page made it"


class CsrfRefused(FormRefused):
    """A form arrived without the CSRF token of the session that showed it."""

    status_code = 403
    why = "the form's CSRF token is not its session's"


def _key_binding(key_hash: str, csrf: str) -> str:
    """What ties a session to the key it was signed in with: an HMAC of its CSRF token
    keyed by the key's stored hash (which only the store holds, and a new key changes)."""
    return hmac.new(key_hash.encode("utf-8"), _BINDING_PURPOSE + csrf.encode("utf-8"),
                    hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebSession:
    """What the cookie holds: the signed-in key's id and its binding (None before signing
    in) and the CSRF token of the session's forms."""

    csrf: str
    key_id: str | None = None
    key_binding: str | None = None

    @classmethod
    def anonymous(cls) -> WebSession:
        """A new session with a fresh CSRF token and nobody signed in."""
        return cls(csrf=secrets.token_urlsafe(32))

    def signed_in(self, key_id: str, *, key_hash: str) -> WebSession:
        """The session after signing in with the key whose stored hash is `key_hash`: a new
        CSRF token (never the one seen before), bound to that key."""
        fresh = self.anonymous()
        return replace(fresh, key_id=key_id, key_binding=_key_binding(key_hash, fresh.csrf))

    def holds_key(self, key_hash: str) -> bool:
        """Whether the session was signed in with the key whose stored hash is `key_hash`
        (a cookie made with the pepper and a key id alone is not)."""
        return self.key_binding is not None and hmac.compare_digest(
            self.key_binding, _key_binding(key_hash, self.csrf))


class SessionCodec:
    """Signs sessions into cookie values and reads them back (None when forged or old)."""

    def __init__(self, pepper: str, *, max_age: int = SESSION_SECONDS) -> None:
        key = hmac.new(pepper.encode("utf-8"), _SIGNING_PURPOSE, hashlib.sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(key, salt="web-session")
        self.max_age = max_age

    def dumps(self, session: WebSession) -> str:
        """The cookie value of a session."""
        return self._serializer.dumps({"csrf": session.csrf, "key_id": session.key_id,
                                       "key_binding": session.key_binding})

    def loads(self, value: str | None) -> WebSession | None:
        """The session a cookie value holds, or None if it is missing, forged or expired."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return None
        csrf, key_id, binding = data.get("csrf"), data.get("key_id"), data.get("key_binding")
        if not isinstance(csrf, str) or not all(
                value is None or isinstance(value, str) for value in (key_id, binding)):
            return None
        return WebSession(csrf=csrf, key_id=key_id, key_binding=binding)


def codec_of(request: Request) -> SessionCodec:
    """The application's session codec (`api.web.install_web` sets it)."""
    codec: SessionCodec = request.app.state.session_codec
    return codec


def read_session(request: Request) -> WebSession | None:
    """The request's session, if its cookie is valid."""
    return codec_of(request).loads(request.cookies.get(SESSION_COOKIE))


def write_session(request: Request, response: Response, session: WebSession) -> None:
    """Set the session cookie on a response (Secure when the page came over TLS)."""
    codec = codec_of(request)
    response.set_cookie(
        SESSION_COOKIE, codec.dumps(session), max_age=codec.max_age, path="/",
        httponly=True, secure=request.url.scheme == "https", samesite="strict",
    )


def clear_session(request: Request, response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True,
                           secure=request.url.scheme == "https", samesite="strict")


def check_csrf(session: WebSession | None, submitted: object) -> None:
    """Refuse a form whose CSRF token is not the session's (raises `CsrfRefused`)."""
    if session is None or not isinstance(submitted, str) or not hmac.compare_digest(
            session.csrf.encode("utf-8"), submitted.encode("utf-8")):
        raise CsrfRefused


def _session_hash(session: WebSession) -> str:
    """A session's name in the store: the SHA-256 of its CSRF token (random, one per
    signed-in session, never stored as it is)."""
    return hashlib.sha256(session.csrf.encode("utf-8")).hexdigest()


_ENDED = select(ENDED_SESSION_TABLE.c.id).where(
    ENDED_SESSION_TABLE.c.session_hash == bindparam("session_hash")).limit(1)


def session_ended(store: Store, session: WebSession) -> bool:
    """Whether the session was signed out of (its cookie still bearing a valid signature)."""
    return store.first_row(_ENDED, {"session_hash": _session_hash(session)}) is not None


def end_session(engine: Engine, events: Sequence[AuditEvent], session: WebSession,
                max_age: int) -> None:
    """Record that a session ended, with its audit entries, in one transaction; rows of
    sessions whose cookies have expired anyway go at the same time."""
    now = utcnow()

    def purge(connection: Connection) -> None:
        connection.execute(delete(ENDED_SESSION_TABLE).where(
            ENDED_SESSION_TABLE.c.expires_at < now))

    row = {"session_hash": _session_hash(session), "ended_at": now,
           "expires_at": now + timedelta(seconds=max_age)}
    store_with_audit(engine, events, inserts={ENDED_SESSION_TABLE: [row]}, first=purge)
