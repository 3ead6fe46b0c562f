"""Signing in to the web pages from a test client, as a browser does; a scored referral
and its decisions, as the web tests set them up and read them; the audit entries a test's
requests added."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.store import AuditEntry, Store
from tests.api import factories

if TYPE_CHECKING:
    from tests.api.conftest import ApiEnv

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SCORE_ID = re.compile(r'name="score_id" value="(\d+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def case_form(html: str) -> dict[str, str]:
    """The hidden fields a case page's decision form sends back, as a browser sends them:
    its CSRF token and the score the page shows (a form without it is refused)."""
    found = _SCORE_ID.search(html)
    assert found, "the page has no decision form"
    return {"csrf_token": csrf_token(html), "score_id": found.group(1)}


def signed_in_client(client: TestClient, key: str) -> TestClient:
    """A new client of the same app (its own cookies), signed in with `key`."""
    browser = TestClient(client.app, headers={"Accept": "text/html"})
    token = csrf_token(browser.get("/sign-in").text)
    response = browser.post("/sign-in", data={"api_key": key, "csrf_token": token},
                            follow_redirects=False)
    assert response.status_code == 303, response.text
    return browser


def scored_referral(api: ApiEnv, events: int = 15) -> str:
    """A referral scored through the API (15 records: the fake scorer's high, red)."""
    case = factories.case(events=events)
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 200
    return str(case["referral"]["referral_id"])


def decisions_of(api: ApiEnv, referral_id: str) -> list[dict[str, Any]]:
    """The referral's decisions, as the API's referral view gives them."""
    view = api.client.get(f"/v1/referrals/{referral_id}", headers=api.headers("admin")).json()
    return list(view["decisions"])


def last_audit_seq(api: ApiEnv) -> int:
    """The audit trail's latest entry's sequence number (0 when empty)."""
    store = Store(api.settings.database_url)
    with store.session() as session:
        last = session.scalar(select(func.max(AuditEntry.seq))) or 0
    store.dispose()
    return int(last)


def audit_entries_since(api: ApiEnv, seq: int, actions: tuple[str, ...] | None = None
                        ) -> list[AuditEntry]:
    """The audit entries after ``seq``, in order (only ``actions``' when given)."""
    wanted = select(AuditEntry).where(AuditEntry.seq > seq)
    if actions is not None:
        wanted = wanted.where(AuditEntry.action.in_(actions))
    store = Store(api.settings.database_url)
    with store.session() as session:
        found = list(session.scalars(wanted.order_by(AuditEntry.seq)))
    store.dispose()
    return found
