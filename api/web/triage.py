"""Pages for triage staff: the queue and a case (its decision form:
`api.web.case_decisions`; scoring a referral: `api.web.score_pages`).

Each goes through the code the API uses: the queue through the store's queries, a
case view through `record_case_view` (audited as the API's views are).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response

from api.approvals import REJECT, latest_decision
from api.audit import commit_with_audit
from api.routes.deps import SessionDep
from api.routes.records import REFERRAL_ID_ROUTE, ReferralIdPath, record_case_view, view_event
from api.schemas import ScoreResult
from api.store import repository
from api.store.models import utcnow
from api.web.address_words import refused_in_address
from api.web.form_messages import decision_text_limits
from api.web.pages import (
    PAGE_METHODS,
    CasePage,
    PageUser,
    TriagePage,
    may_decide,
    refuse_form_address,
    render,
)
from api.web.views import (
    RAG_NAMES,
    BandTag,
    case_context,
    decision_history,
    queue_row,
)
from data_contracts.vocab import PRESENTING_NEEDS
from model.governance import GovernanceSettings

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25


def _bands(request: Request) -> list[BandTag]:
    """The governance bands, most urgent first."""
    governance: GovernanceSettings = request.app.state.governance
    return [BandTag(band.name, band.rag) for band in reversed(governance.bands)]


@router.api_route("/queue", methods=PAGE_METHODS)
def queue_page(
    request: Request, user: TriagePage, session: SessionDep,
    band: Annotated[list[str] | None, Query(max_length=10)] = None,
    need: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Referrals awaiting a decision: most urgent band first, then oldest."""
    bands = _bands(request)
    chosen, chosen_need = _filters(bands, band or [], need or None)
    urgency = [b.name for b in bands]
    found = repository.triage_queue(session, urgency=urgency, bands=chosen, need=chosen_need,
                                     offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-found.total // PAGE_SIZE))
    if page > pages:  # past the end (the queue shrank since the link was made): the last page
        page = pages
        found = repository.triage_queue(session, urgency=urgency, bands=chosen,
                                         need=chosen_need, offset=(page - 1) * PAGE_SIZE,
                                         limit=PAGE_SIZE)
    _record_queue_view(session, request, user, bands=chosen, need=chosen_need, page=page,
                       listed=len(found.waiting), waiting=found.total)
    now = utcnow()
    # The case page warns of a score from a version governance rejected; the queue did not.
    rejected = {version for version in {(w.score.model_name, w.score.model_version)
                                        for w in found.waiting}
                if (decided := latest_decision(session, *version)) is not None
                and decided.decision == REJECT}

    def page_link(number: int) -> str:
        kept = [("band", name) for name in chosen]
        kept += [("need", chosen_need)] if chosen_need else []
        return "/queue?" + urlencode([*kept, ("page", str(number))])

    return render(
        request, "pages/queue.html", user=user, title="Triage queue",
        rows=[queue_row(waiting, now, rejected) for waiting in found.waiting], total=found.total,
        bands=bands, chosen_bands=chosen, needs=PRESENTING_NEEDS, chosen_need=chosen_need,
        page=page, pages=pages, page_link=page_link)


def _filters(bands: list[BandTag], band: list[str], need: str | None
             ) -> tuple[list[str], str | None]:
    """The bands and presenting need filtered by, each one the service has: an unknown one
    is refused (400), as a bad page number is, where it was ignored and the whole queue
    listed as if filtered (the form's "Any presenting need" sends an empty `need`)."""
    names = [b.name for b in bands]
    if any(name not in names for name in band):
        raise refused_in_address("band", f"must name a band: {_listed(names)}")
    if need is not None and need not in PRESENTING_NEEDS:
        raise refused_in_address("need",
                                 f"must name a presenting need: {_listed(PRESENTING_NEEDS)}")
    return band, need


def _listed(names: Sequence[str]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}"


def _record_queue_view(session: SessionDep, request: Request, user: PageUser, *,
                       bands: list[str], need: str | None, page: int, listed: int,
                       waiting: int) -> None:
    """Put a view of the queue in the audit trail, as a case view and a reading of the
    trail are: its filters, its page, how many referrals it listed and how many wait
    (not each id, as a reading of the trail lists no entry: a case opened from the
    queue is audited as a case view, naming its referral)."""
    details = {"bands": bands, "need": need, "page": page, "listed": listed,
               "waiting": waiting}
    commit_with_audit(session, [view_event(request, user.principal, "queue_view",
                                            details=details)])


def case_page_for(request: Request, user: PageUser, session: SessionDep, referral_id: str, *,
                  errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
                  status_code: int = status.HTTP_200_OK) -> Response:
    """The case page (audited as a case view): after a decision form, with its `errors`
    and what it held (`form`)."""
    scores, decisions = record_case_view(session, request, user.principal, referral_id)
    if not scores:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no score is held for this referral")
    result = ScoreResult.model_validate(scores[-1].result)
    approval = latest_decision(session, result.model_name, result.model_version)
    rejection = approval if approval is not None and approval.decision == REJECT else None
    latest = decisions[-1] if decisions else None
    return render(
        request, "pages/case.html", user=user, title=f"{referral_id} - Referral",
        rejected_on=rejection.created_at if rejection else None,
        referral_id=referral_id, scored_at=scores[-1].created_at, score_id=scores[-1].id,
        history=decision_history(decisions, scores),
        latest_decision=latest, may_decide=may_decide(user),
        rag_names=RAG_NAMES, errors=errors or {}, form=form or {},
        text_limits=decision_text_limits(),
        # Said only when true: the current decision is this user's (`?recorded=true` is
        # only where recording one sends them; anyone can type it).
        recorded=(request.query_params.get("recorded") == "true" and latest is not None
                  and latest.practitioner == user.principal.name),
        status_code=status_code, **case_context(result))


@router.api_route(f"/cases/{REFERRAL_ID_ROUTE}", methods=PAGE_METHODS)
def case_page(referral_id: ReferralIdPath, request: Request, user: CasePage,
              session: SessionDep) -> Response:
    """A scored referral: score, band, explanation, the decision form and history."""
    refuse_form_address(request)  # not audited as a view: no referral's page is there
    return case_page_for(request, user, session, referral_id)
