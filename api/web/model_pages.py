"""A version's model card and fairness report, as pages (`api.web.decision_pages`: the
governance decision on it).

The card is `api.model_card`'s, with its approval history, as `GET /v1/models/{v}/card`
serves it; the fairness report is rendered again from the `fairness.json` logged with
the version's run, with the report's own template. Reading either is audited.

That report is the test-period evaluation made at training (a fifth of the referrals),
while the approval gate judges the whole-extract audit `safeguard audit fairness`
recorded with the version (`model.audit_acceptance`): the page said "654 referrals... 2
groups have a finding" and never that it was the smaller one, nor what the recorded
audit (4,090 referrals, 12 groups with findings) found. It now says which audit each
figure comes from, with the recorded audit's findings, or that none is recorded.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.model_card import CARD_TEMPLATE, card_context, card_with_history
from api.routes.deps import SessionDep
from api.routes.errors import registry_refusal
from api.web.approvals import page_registry
from api.web.governance import VersionPath, read_provenance, record_version_view
from api.web.pages import PAGE_METHODS, GovernancePage, PageUser, render
from model.audit_acceptance import FAIRNESS_AUDIT_RECORDED, NO_EXTRACT_AUDIT
from model.fairness_report import FAIRNESS_TEMPLATE, audit_from_document, report_context
from model.registry import ModelRegistry, RegistryError
from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT, FAIRNESS_ARTIFACT

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


def _document(registry: ModelRegistry, version: str, path: str) -> dict[str, Any] | None:
    data = registry.read_artifact(version, path)
    return None if data is None else json.loads(data.decode("utf-8"))


def audits_context(registry: ModelRegistry, version: str) -> dict[str, Any]:
    """What the fairness page says of the version's two audits (`scope` in the report's
    template): the test period the report shown covers (`model.provenance`), and the
    whole-extract audit recorded for the approval gate, as the report reads it, every
    figure kept (its findings; None: none recorded, and the gate's check of it,
    `FAIRNESS_AUDIT_RECORDED`, is not met)."""
    recorded = _document(registry, version, EXTRACT_AUDIT_ARTIFACT)
    return {"test_period": read_provenance(registry, version),
            # Every figure, as the gate judges it and the approval task list shows it
            # (the board's page): published, a small count's finding had no sentence.
            "recorded": None if recorded is None else report_context(
                audit_from_document(recorded), publication=False),
            "gate_check": FAIRNESS_AUDIT_RECORDED, "gate_says": NO_EXTRACT_AUDIT,
            "approval_url": f"/governance/versions/{version}/approval"}


@router.api_route("/governance/versions/{version}/fairness", methods=PAGE_METHODS)
def fairness_page(
    version: VersionPath, request: Request, user: GovernancePage, session: SessionDep
) -> Response:
    """The version's fairness report, from the audit logged with its run, beside what the
    whole-extract audit recorded for approval found (the view is audited)."""
    registry = page_registry_of(request)
    try:
        document = _document(registry, version, FAIRNESS_ARTIFACT)
        if document is None:
            record_version_view(session, request, user, "fairness_report_view", version,
                                found=False)
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no fairness audit was logged with version {version}"
            )
        scope = audits_context(registry, version)
    except RegistryError as exc:
        raise _refused(session, request, user, "fairness_report_view", version, exc) from exc
    audit = audit_from_document(document)
    record_version_view(session, request, user, "fairness_report_view", version)
    return render(request, FAIRNESS_TEMPLATE, user=user, back_link=_version_page(version),
                  scope=scope, **report_context(audit))
