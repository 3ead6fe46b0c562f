"""Pages for governance boards: model versions, override rates, approvals, the audit trail.

Versions come from the model registry (`model.registry.ModelRegistry.list_versions`,
as `safeguard model list` reads them), override rates from the store's decisions
through the pure `model.overrides.override_rates`, the audit trail's status from
`verify_trail` (as `safeguard audit verify`: with the audit key, signatures and
checkpoints too) and its search from the API's own
(`find_audit_entries`); reading the audit trail is itself audited. Approvals, model
cards and fairness reports are asked of `api.web.approvals` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import Response

from api.access_refusals import invalid_request_event
from api.approvals import APPROVE, REJECT, latest_decision
from api.audit import commit_with_audit
from api.audit_anchor import NOT_ANCHORED, TrailStatus, verify_trail
from api.audit_key import AuditAnchorError
from api.auth import GOVERNANCE
from api.routes.deps import SessionDep
from api.routes.records import (
    AuditFilter,
    find_audit_entries,
    record_audit_view,
    view_event,
)
from api.settings import Settings, board_thresholds, settings_registry
from api.store import AuditEntry, repository
from api.web.address_words import VERSION_PATTERN, refused_in_address
from api.web.approvals import approval_state, model_card_url, page_registry
from api.web.form_messages import AUDIT_PERIOD_FIELDS, audit_search_problems, shown
from api.web.pages import PAGE_METHODS, GovernancePage, PageUser, fields_at_fault, render
from api.web.reports import latest_reports
from model.governance import HEADLINE_METRICS
from model.overrides import DecisionRecord, override_rates
from model.provenance import Provenance, provenance
from model.registry_reach import RegistryError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from model.registry import ModelRegistry
    from model.registry_records import VersionInfo

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

VersionLister = Callable[[], "list[VersionInfo]"]
VersionPath = Annotated[str, Path(pattern=VERSION_PATTERN)]  # as the registry writes it
AUDIT_PAGE_SIZE = 50
_Text = Annotated[str | None, Query(max_length=100)]


def registry_versions(settings: Settings) -> VersionLister:
    """Lists the registered versions, newest first (MLflow is imported on first use)."""

    def listed() -> list[VersionInfo]:
        registry = settings_registry(settings)
        return registry.list_versions()

    return listed


def _versions(request: Request) -> tuple[list[VersionInfo], str | None]:
    """The registered versions, or none and why the registry could not be read."""
    lister: VersionLister = request.app.state.model_versions
    try:
        return lister(), None
    except Exception as exc:  # noqa: BLE001 - the page says the registry is unavailable
        said = str(exc) if isinstance(exc, RegistryError) else type(exc).__name__
        logger.warning("the model registry could not be read: %s", said)
        return [], "The model registry could not be read; try again later"


def _metrics(info: VersionInfo) -> list[tuple[str, float | None]]:
    return [(name, info.metrics.get(name)) for name in HEADLINE_METRICS]


def served_version(request: Request, session: SessionDep) -> str | None:
    """The version this service scores with now (None: none). A version rejected since it
    was loaded is not served: each worker withdraws it within `model_refresh_seconds`
    (`api.live_model`), and the pages say so at once."""
    scorer = request.app.state.scorer
    if not scorer.readiness()[0]:
        return None
    latest = latest_decision(session, scorer.name, scorer.version)
    return None if latest is not None and latest.decision == REJECT else scorer.version


@router.api_route("/governance", methods=PAGE_METHODS)
def governance_page(request: Request, user: GovernancePage, session: SessionDep) -> Response:
    """The champion and other versions with headline metrics; override rates."""
    versions, problem = _versions(request)
    settings: Settings = request.app.state.settings
    rates = override_rates(DecisionRecord(*row) for row in repository.decision_outcomes(session))
    decisions = {info.version: latest_decision(session, info.name, info.version)
                 for info in versions}
    # Override rates are read from practitioners' decisions: the view is audited, as
    # reading a case or the queue is.
    commit_with_audit(session, [view_event(request, user.principal, "governance_view",
                                            details={"versions": len(versions)})])
    return render(request, "pages/governance.html", user=user, title="Model governance",
                  versions=versions, problem=problem, champion_alias=settings.model_alias,
                  decisions=decisions, approve=APPROVE,
                  served=served_version(request, session),
                  metric_names=HEADLINE_METRICS, metrics_of=_metrics, rates=rates,
                  reports=latest_reports(settings))


def version_info(request: Request, version: str) -> VersionInfo:
    """The registered version named in a page's path (404 when there is none)."""
    versions, problem = _versions(request)
    found = next((info for info in versions if info.version == version), None)
    if found is None and problem:  # the registry could not say: not "not registered"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, problem)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"model version {version} is not registered")
    return found


def read_provenance(registry: ModelRegistry, version: str) -> Provenance | None:
    """A version's training extract and test period (None: its run could not be read; the
    page says so rather than failing)."""
    try:
        return provenance(registry, version)
    except Exception as exc:  # noqa: BLE001 - the page says the run could not be read
        logger.warning("version %s's run could not be read: %s", version, type(exc).__name__)
        return None


def record_version_view(session: Session, request: Request, user: PageUser,
                        action: str, version: str, *, found: bool = True) -> None:
    """Put a view of a version's page in the audit trail (its page, approval task list,
    decision form, card, fairness report): they show its approvals (who, why, each waiver)
    and the groups beyond each threshold. A version not registered is entered too
    (`found: false`), as a case view that finds nothing is."""
    details: dict[str, Any] = {"model_version": version} | ({} if found else {"found": False})
    commit_with_audit(session, [view_event(request, user.principal, action,
                                            model_version=version, details=details)])


def registered_version(request: Request, session: SessionDep, user: PageUser, action: str,
                       version: str) -> VersionInfo:
    """`version_info`, a version not registered audited as a view of it (`action`)."""
    try:
        return version_info(request, version)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            record_version_view(session, request, user, action, version, found=False)
        raise


@router.api_route("/governance/versions/{version}", methods=PAGE_METHODS)
def version_page(version: VersionPath, request: Request, user: GovernancePage,
                 session: SessionDep) -> Response:
    """One version: its metrics, model card, fairness report and approval."""
    info = registered_version(request, session, user, "model_version_view", version)
    settings: Settings = request.app.state.settings
    registry = page_registry(settings)
    approval = approval_state(session, version, registry=registry,
                              board=board_thresholds(settings))
    record_version_view(session, request, user, "model_version_view", version)
    return render(request, "pages/version.html", user=user, title=f"Model version {version}",
                  info=info, champion_alias=settings.model_alias,
                  provenance=read_provenance(registry, version),
                  served=served_version(request, session), metrics=sorted(info.metrics.items()),
                  card_url=model_card_url(version), approval=approval)


@router.api_route("/governance/versions/{version}/approval", methods=PAGE_METHODS)
def approval_page(version: VersionPath, request: Request, user: GovernancePage,
                  session: SessionDep) -> Response:
    """The approval task list of a version (after a decision, a banner saying it was
    recorded, when the version's latest decision is that one)."""
    info = registered_version(request, session, user, "approval_view", version)
    settings: Settings = request.app.state.settings
    approval = approval_state(session, version, registry=page_registry(settings),
                              board=board_thresholds(settings))
    record_version_view(session, request, user, "approval_view", version)
    recorded = request.query_params.get("recorded")
    decided = {"approved": APPROVE, "rejected": REJECT}.get(recorded or "")
    return render(request, "pages/approval.html", user=user,
                  title=f"Approval task list - Model version {version}", info=info,
                  card_url=model_card_url(version), approval=approval,
                  may_approve=user.principal.role == GOVERNANCE,
                  recorded=recorded if decided and decided == approval.latest_decision else None)


@router.api_route("/governance/audit", methods=PAGE_METHODS)
def audit_page(
    request: Request, user: GovernancePage, session: SessionDep,
    user_name: _Text = None, referral_id: _Text = None, model_version: _Text = None,
    since: _Text = None, until: _Text = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    before_seq: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """The audit trail's verification status and a search of its entries.

    The whole trail and every score and decision are verified on the page's opening view
    (no search, first page): about 6 s of CPU for 50,000 scores and 50,000 decisions, which
    each further page or search of the same visit repeated."""
    query = {"user_name": user_name or "", "referral_id": referral_id or "",
             "model_version": model_version or "", "since": since or "", "until": until or ""}
    given = request.query_params
    if paging := [name for name in ("after_seq", "before_seq") if len(given.getlist(name)) > 1]:
        raise refused_in_address(paging[0], "must be given once")
    moments, errors = audit_search_problems(
        query, repeated=[name for name in query if len(given.getlist(name)) > 1])
    if errors:  # nothing searched: never the whole trail in place of the search asked
        # Audited as the API's 422 for the same search is: the fields, never the values.
        commit_with_audit(session, [invalid_request_event(request, user.principal,
                                                          fields_at_fault(*errors))])
        return render(request, "pages/audit.html", user=user, title="Audit trail",
                      entries=[], verified=None, not_anchored=NOT_ANCHORED, errors=errors,
                      query={name: shown(value) for name, value in query.items()},
                      next_after=None, period_fields=AUDIT_PERIOD_FIELDS,
                      status_code=status.HTTP_400_BAD_REQUEST)
    wanted = AuditFilter(user=user_name or None, referral_id=referral_id or None,
                         model_version=model_version or None, since=moments.get("since"),
                         until=moments.get("until"))
    entries, earlier, later = _audit_entries(session, wanted, after_seq, before_seq)
    verified: TrailStatus | None = None
    if after_seq == 0 and before_seq is None and wanted == AuditFilter():
        try:
            verified = verify_trail(session, request.app.state.store.audit_anchor)
        except AuditAnchorError as exc:  # the key or checkpoint file is wrong: not verified
            verified = TrailStatus(False, 0, None, str(exc), True)
    record_audit_view(session, request, user.principal, wanted=wanted, after_seq=after_seq,
                      before_seq=before_seq, entries=len(entries))
    return render(request, "pages/audit.html", user=user, title="Audit trail",
                  entries=entries, verified=verified, not_anchored=NOT_ANCHORED, query=query,
                  errors={}, next_after=later, earlier_before=earlier, latest=LATEST,
                  period_fields=AUDIT_PERIOD_FIELDS)


LATEST = 2**62  # `before_seq` of the latest entries: past any entry's number


def _audit_entries(session: SessionDep, wanted: AuditFilter, after_seq: int,
                   before_seq: int | None) -> tuple[list[AuditEntry], int | None, int | None]:
    """A page of the entries searched for, oldest first: the first after `after_seq`, or
    the last before `before_seq`; and the `before_seq` of the earlier entries and the
    `after_seq` of the later ones, where there are any (a trail of 100,000 entries was
    read from its first, 50 at a time, with no way to its latest)."""
    rows = find_audit_entries(session, wanted, after_seq=after_seq, before_seq=before_seq,
                              limit=AUDIT_PAGE_SIZE + 1)
    if before_seq is None:
        entries = list(rows[:AUDIT_PAGE_SIZE])
        more_later = len(rows) > AUDIT_PAGE_SIZE
    else:
        entries = list(rows[-AUDIT_PAGE_SIZE:])
        more_later = bool(entries) and bool(
            find_audit_entries(session, wanted, after_seq=entries[-1].seq, limit=1))
    more_earlier = bool(entries) and bool(
        find_audit_entries(session, wanted, after_seq=0, before_seq=entries[0].seq, limit=1))
    return (entries, entries[0].seq if more_earlier else None,
            entries[-1].seq if more_later else None)
