"""Every page that shows what the service holds puts its view in the audit trail, as the
API's reads do; a page added later is audited or listed here as showing nothing held."""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from api.store import AuditEntry, Store
from tests.api.conftest import ApiEnv, TrainedModel
from tests.api.web_client import csrf_token, scored_referral, signed_in_client

# Pages that show nothing the service holds: a form to fill, a way in, a signpost (the
# subject access form's answer is a POST, audited: tests/api/test_web_subjects.py).
SHOWS_NOTHING_HELD = {"/", "/sign-in", "/home", "/score", "/governance/subjects"}
# The JSON API and its documentation: audited by their own routes' tests.
NOT_PAGES = ("/v1/", "/docs", "/redoc", "/openapi", "/healthz", "/readyz", "/metrics",
             "/static/", "/assets")


def _page_routes(api: ApiEnv) -> set[str]:
    routes = iter_route_contexts(api.client.app.routes)  # type: ignore[attr-defined]
    return {route.path for route in routes if route.path and "GET" in (route.methods or ())
            and not route.path.startswith(NOT_PAGES)}


def _newest_entry(api: ApiEnv) -> tuple[int, str | None]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        seq = session.scalar(select(func.max(AuditEntry.seq))) or 0
        user = session.scalar(select(AuditEntry.user_name).where(AuditEntry.seq == seq))
    store.dispose()
    return seq, user


def test_every_page_showing_what_is_held_audits_each_view(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """A version's page, its approval task list (every group beyond a threshold, with its
    figure, from the full fairness report) and the decision form (the same) were read
    unaudited, while the card and fairness report beside them were audited."""
    referral, version = scored_referral(model_api), trained_model.version
    base = f"/governance/versions/{version}"
    opened = {  # route path -> (role, address opened)
        "/queue": ("triage", "/queue"),
        "/cases/{referral_id:path}": ("triage", f"/cases/{referral}"),
        "/governance": ("governance", "/governance"),
        "/governance/audit": ("governance", "/governance/audit"),
        "/governance/versions/{version}": ("governance", base),
        "/governance/versions/{version}/approval": ("governance", f"{base}/approval"),
        "/governance/versions/{version}/decide": ("governance", f"{base}/decide"),
        "/governance/versions/{version}/card": ("governance", f"{base}/card"),
        "/governance/versions/{version}/fairness": ("governance", f"{base}/fairness"),
        # No report is written in this app: the 404 names no report (audited when there is
        # one: tests/browser and test_web's report tests).
        "/governance/reports/{name}": ("", ""),
    }
    assert _page_routes(model_api) == set(opened) | SHOWS_NOTHING_HELD
    browsers = {role: signed_in_client(model_api.client, model_api.keys[role])
                for role in ("triage", "governance")}
    unaudited = []
    for route, (role, address) in opened.items():
        if not address:
            continue
        before, _ = _newest_entry(model_api)
        assert browsers[role].get(address).status_code == 200, address
        after, user = _newest_entry(model_api)
        if after == before or user is None or not user.startswith(f"{role}-"):
            unaudited.append(route)
    assert unaudited == []


def test_the_decision_form_shown_again_by_a_post_is_audited(
    model_api: ApiEnv, trained_model: TrainedModel
) -> None:
    """"Change your answers" (a POST to the form's address) shows the form again, with
    every threshold missed and its figure, as its GET does: audited as that view is."""
    base = f"/governance/versions/{trained_model.version}/decide"
    browser = signed_in_client(model_api.client, model_api.keys["governance"])
    token = csrf_token(browser.get(base).text)
    for form in ({"decision": "reject", "reason": "Not yet", "change": "yes"},  # change
                 {"decision": "approve", "reason": ""},  # incomplete: the form again
                 {"decision": "reject", "reason": "Not yet"}):  # check your answers
        before, _ = _newest_entry(model_api)
        response = browser.post(base, data={**form, "csrf_token": token})
        assert response.status_code in (200, 400), response.text
        after, user = _newest_entry(model_api)
        assert after > before and user is not None and user.startswith("governance-"), form


def test_a_version_page_of_a_version_not_registered_is_audited_as_a_view_of_it(
    api: ApiEnv
) -> None:
    """A case page that finds nothing is in the trail (found: false); a version's pages that
    found nothing were not: who asked for which version, and when, was lost. Each of the
    five is entered alike (the card's and fairness report's had a shape of their own)."""
    browser = signed_in_client(api.client, api.keys["governance"])
    pages = {"": "model_version_view", "/approval": "approval_view",
             "/decide": "approval_form_view", "/card": "model_card_view",
             "/fairness": "fairness_report_view"}
    for page, action in pages.items():
        before = _newest_entry(api)[0]

        response = browser.get(f"/governance/versions/997{page}")

        assert response.status_code == 404, page
        store = Store(api.settings.database_url)
        with store.session() as session:
            entries = list(session.scalars(select(AuditEntry).where(AuditEntry.seq > before)))
        store.dispose()
        assert [(e.action, e.role, e.model_version, e.details)
                for e in entries] == [(action, "governance", "997",
                                       {"model_version": "997", "found": False})], page


def test_a_decision_posted_on_a_version_not_registered_is_audited(api: ApiEnv) -> None:
    """The decision form's posts (check your answers, the confirmation) on a version the
    registry does not have answered 404 and entered nothing, while its GET was audited."""
    browser = signed_in_client(api.client, api.keys["governance"])
    token = csrf_token(browser.get("/governance").text)
    posts = {"/decide": "approval_form_view", "/decide/confirm": "model_decision_refused"}
    for page, action in posts.items():
        before = _newest_entry(api)[0]

        response = browser.post(f"/governance/versions/997{page}", data={
            "csrf_token": token, "decision": "reject", "reason": "Not yet"})

        assert response.status_code == 404, page
        entries = _entries_after(api, before)
        assert [(e.action, e.role, e.model_version, e.details.get("found"))
                for e in entries] == [(action, "governance", "997", False)], page
        assert entries[0].user_name.startswith("governance-")


def _entries_after(api: ApiEnv, seq: int) -> list[AuditEntry]:
    store = Store(api.settings.database_url)
    with store.session() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.seq > seq)))
    store.dispose()
    return entries


def test_a_confirmed_decision_on_a_version_not_registered_is_entered_as_the_apis(
    api: ApiEnv
) -> None:
    """The confirmation's entry (`model_decision_refused`, said to be audited "as the API's
    decision on it is") was a page view's, without the decision asked for; a decision
    field changed into anything else (a pasted key too) is not kept."""
    browser = signed_in_client(api.client, api.keys["governance"])
    token = csrf_token(browser.get("/governance").text)
    for decision in ("reject", "approve", "sk-pasted-key-0123456789"):  # pragma: allowlist secret
        before = _newest_entry(api)[0]

        response = browser.post("/governance/versions/997/decide/confirm", data={
            "csrf_token": token, "decision": decision, "reason": "Not yet"})

        assert response.status_code == 404
        asked = {"decision": decision} if decision in ("reject", "approve") else {}
        assert [(e.action, e.model_version, e.details) for e in _entries_after(api, before)] == [
            ("model_decision_refused", "997", {"model_version": "997", **asked, "found": False})]
