"""A version's model card and fairness report, as pages (`api.web.decision_pages`: the
governance decision on it).

The card is `api.model_card`'s, with its approval history, as `GET /v1/models/{v}/card`
serves it; the fairness report is rendered again from the `fairness.json` logged with
the version's run, with the report's own template. Reading either is audited.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.model_card import CARD_TEMPLATE, card_context, card_with_history
from api.routes.deps import SessionDep
from api.routes.errors import registry_refusal
from api.web.approvals import page_registry
from api.web.governance import VersionPath, record_version_view
from api.web.pages import PAGE_METHODS, GovernancePage, PageUser, render
from model.fairness_report import FAIRNESS_TEMPLATE, audit_from_document, report_context
from model.registry import ModelRegistry, RegistryError

router = APIRouter(include_in_schema=False)



def page_registry_of(request: Request) -> ModelRegistry:
    """The registry for one page's reads, each made once (`page_registry`)."""
    return page_registry(request.app.state.settings)


def _refused(session: Session, request: Request, user: PageUser, action: str,
             version: str, exc: RegistryError) -> HTTPException:
    """The registry's refusal to raise; a version (or file) it does not have is audited as
    a view that found nothing."""
    refused = registry_refusal(exc)
    if refused.status_code == status.HTTP_404_NOT_FOUND:
        record_version_view(session, request, user, action, version, found=False)
    return refused


def _version_page(version: str) -> tuple[str, str]:
    """The back link from a version's card or fairness report: its version's page."""
    return f"Model version {version}", f"/governance/versions/{version}"


@router.api_route("/governance/versions/{version}/card", methods=PAGE_METHODS)
def card_page(
    version: VersionPath, request: Request, user: GovernancePage, session: SessionDep
) -> Response:
    """The version's model card with its approval history (the view is audited)."""
    registry = page_registry_of(request)
    try:
        card = card_with_history(session, registry, version, request.app.state.settings)
    except RegistryError as exc:
        raise _refused(session, request, user, "model_card_view", version, exc) from exc
    record_version_view(session, request, user, "model_card_view", version)
    return render(request, CARD_TEMPLATE, user=user, back_link=_version_page(version),
                  **card_context(card))


@router.api_route("/governance/versions/{version}/fairness", methods=PAGE_METHODS)
def fairness_page(
    version: VersionPath, request: Request, user: GovernancePage, session: SessionDep
) -> Response:
    """The version's fairness report, from the audit logged with its run (view audited)."""
    from model.fairness import FAIRNESS_ARTIFACT

    try:
        data = page_registry_of(request).read_artifact(version, FAIRNESS_ARTIFACT)
    except RegistryError as exc:
        raise _refused(session, request, user, "fairness_report_view", version, exc) from exc
    if data is None:
        record_version_view(session, request, user, "fairness_report_view", version, found=False)
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no fairness audit was logged with version {version}"
        )
    audit = audit_from_document(json.loads(data.decode("utf-8")))
    record_version_view(session, request, user, "fairness_report_view", version)
    return render(request, FAIRNESS_TEMPLATE, user=user, back_link=_version_page(version),
                  **report_context(audit))
