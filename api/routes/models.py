"""Governance of model versions: `GET /v1/models/{version}/card` and
`POST /v1/models/{version}/approvals`.

Both read the registry and the stored files of a version (blocking I/O), so they are
plain functions that FastAPI runs in its thread pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import AfterValidator, BaseModel, Field

from api.access_refusals import asked_version
from api.approvals import (
    MAX_REASON,
    MAX_WAIVERS,
    ApprovalRefused,
    RepeatedWaiver,
    record_decision,
)
from api.audit import AuditEvent, commit_with_audit, request_hash
from api.auth import GOVERNANCE, AuditReader, Principal, require_roles
from api.free_text import ColumnText, PlainText, ShortText, require_visible, visible
from api.json_encoding import utf8_json
from api.json_keys import refusal, repeated_key
from api.model_card import card_html, card_with_history
from api.routes.deps import SessionDep, SettingsDep
from api.routes.errors import invalid_request, registry_refusal
from api.routes.responses import (
    AUTH_RESPONSES,
    INPUT_RESPONSES,
    JSON_BODY_RESPONSES,
    REGISTRY_RESPONSES,
    input_responses,
)
from api.schemas import StrictModel
from api.settings import board_thresholds, settings_registry
from model.registry import RegistryError
from model.registry_sqlite import (
    MAX_REFERENCE,
    REFERENCE_PATTERN,
    exact_version,
    well_formed_reference,
)

router = APIRouter(prefix="/v1/models", tags=["governance"])
GovernanceUser = Annotated[Principal, Depends(require_roles(GOVERNANCE))]


def _well_formed(version: str) -> str:
    if not well_formed_reference(version):
        raise ValueError("must be a version number or an alias (letters, digits, _ and -)")
    return version


# A version's number or an alias (422 otherwise, as any bad path parameter: `/v1/models/%00/
# card` was a 404 echoing the NUL it was sent). Checked in Python, as MLflow checks an
# alias (pydantic's regex engine reads `\w` otherwise: it refused `²`); the document
# states the same pattern.
VersionPath = Annotated[str, Path(max_length=MAX_REFERENCE,
                                  description="A version number or an alias (`champion`)",
                                  json_schema_extra={"pattern": REFERENCE_PATTERN}),
                        AfterValidator(_well_formed)]


def _stated_reason(reason: str) -> str:
    """A decision's reason, refused in plain words: limits put on `PlainText` run after its
    validator, and pydantic said "Value should have at least 1 item after validation" (or
    "at most 5000 items"); the JSON Schema states them (`minLength`, `maxLength`)."""
    if not visible(reason):
        raise ValueError("reason is required: say why (spaces or invisible characters "
                         "alone are no reason)")
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason is at most {MAX_REASON:,} characters "
                         f"({len(reason):,} sent)")
    return reason


class ApprovalIn(StrictModel):
    """A governance user's decision on a version, with a waiver per threshold it misses."""

    decision: Literal["approve", "reject"]
    reason: Annotated[PlainText, AfterValidator(_stated_reason),
                      Field(json_schema_extra={"minLength": 1, "maxLength": MAX_REASON})]
    waivers: dict[ColumnText, Annotated[ShortText, AfterValidator(require_visible)]] = Field(
        default_factory=dict, max_length=MAX_WAIVERS,
        description="Threshold name -> the reason it is waived")


class ApprovalOut(BaseModel):
    """The decision as recorded, with the content it covers."""

    id: int
    model_name: str
    model_version: str
    decision: str
    reason: str
    waivers: dict[str, str]
    user_name: str
    created_at: datetime
    model_sha256: str
    fairness_sha256: str | None
    card_sha256: str | None
    sources_sha256: dict[str, str | None] | None = Field(
        description="SHA-256 of each file the card and acceptance checks read, by path, "
                    "and of the run's metrics and parameters (None: the version has no "
                    "such file)")


async def _each_key_once(request: Request) -> None:
    """Refuse (422) an approval body that names a key twice (`api.json_keys`), a
    threshold among its waivers above all: the second reason would silently replace the
    first."""
    found = repeated_key(await request.body())
    if found is None:
        return
    if found.within == ("waivers",):
        raise invalid_request("waivers", str(RepeatedWaiver(found.key)))
    raise refusal(found)


@router.get("/{version}/card", responses={
    **AUTH_RESPONSES, **REGISTRY_RESPONSES, **INPUT_RESPONSES,
    200: {"content": {"text/html": {}, "application/json": {}},
          "description": "The model card: HTML, or JSON with `Accept: application/json`"}})
def model_card(version: VersionPath, request: Request, principal: AuditReader, session: SessionDep,
               settings: SettingsDep) -> Response:
    """A version's model card (ATRS layout) with its approval history."""
    registry = settings_registry(settings)
    as_json = "application/json" in request.headers.get("accept", "")
    try:
        card = card_with_history(session, registry, version, settings)
    except RegistryError as exc:
        refused = registry_refusal(exc)
        if refused.status_code == status.HTTP_404_NOT_FOUND:  # audited as a case view's 404
            _audit_card_read(session, principal, version, as_json=as_json, found=False)
        raise refused from exc
    _audit_card_read(session, principal, card.version, as_json=as_json, found=True)
    if as_json:
        body: dict[str, Any] = card.as_dict()
        return JSONResponse(body)
    return HTMLResponse(card_html(card, standalone=False))


def _audit_card_read(session: SessionDep, principal: Principal, version: str, *,
                     as_json: bool, found: bool) -> None:
    """Enter a read of a card (as the card page's reads are), or of one the registry does
    not have: its reference kept if a version number, else as its SHA-256 (it may be
    anything typed into the address, a pasted key too)."""
    details: dict[str, Any] = {"route": "/v1/models/{version}/card",
                               "format": "json" if as_json else "html"}
    kept = found or exact_version(version)
    details |= {"model_version": version} if found else asked_version(version)
    details |= {} if found else {"found": False}
    commit_with_audit(session, [AuditEvent(
        user_name=principal.name, role=principal.role, action="model_card_view",
        request_hash=request_hash(details), model_version=version if kept else None,
        details=details)])


@router.post("/{version}/approvals", status_code=status.HTTP_201_CREATED, responses={
    **AUTH_RESPONSES, **REGISTRY_RESPONSES, **JSON_BODY_RESPONSES,
    **input_responses("a threshold the version does not meet must be waived, by name and "
                      "with a reason, once; a rejection carries no waivers; no key is named "
                      "twice")})
def approve_version(version: VersionPath, approval: ApprovalIn, principal: GovernanceUser,
                    _utf8: Annotated[None, Depends(utf8_json)],
                    _keys: Annotated[None, Depends(_each_key_once)], session: SessionDep,
                    settings: SettingsDep) -> ApprovalOut:
    """Approve or reject a version's exact content; waive, by name and with a reason, each
    acceptance threshold it does not meet (governance users only)."""
    try:
        row = record_decision(session, settings_registry(settings), user=principal.name,
                              role=principal.role, version=version,
                              decision=approval.decision, reason=approval.reason,
                              waivers=approval.waivers, board=board_thresholds(settings))
    except RegistryError as exc:
        raise registry_refusal(exc) from exc
    except ApprovalRefused as exc:
        raise invalid_request("waivers", str(exc)) from exc
    return ApprovalOut.model_validate(row, from_attributes=True)
