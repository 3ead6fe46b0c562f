"""Pages for triage staff: the queue, a case, recording a decision (scoring a referral:
`api.web.score_pages`).

Each goes through the code the API uses: the queue through the store's queries, a
case view through `record_case_view` (audited as the API's views are), a decision
through `save_decision`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.approvals import REJECT, latest_decision
from api.audit import commit_with_audit
from api.routes.decisions import ScoreReplaced, save_decision
from api.routes.deps import SessionDep
from api.routes.records import REFERRAL_ID_ROUTE, ReferralIdPath, record_case_view, view_event
from api.schemas import DecisionIn, ScoreResult
from api.store import repository
from api.store.models import Decision, utcnow
from api.templating import case_path, when
from api.web.form_messages import (
    ALREADY_YOURS,
    RESCORED,
    STALE_DECISION,
    TEXT_FIELDS,
    YOURS_DIFFERS,
    decision_errors,
    decision_text_limits,
    shown,
)
from api.web.pages import (
    PAGE_METHODS,
    CasePage,
    PageUser,
    TriagePage,
    may_decide,
    posted_form,
    refuse_form_address,
    render,
)
from api.web.session import FormRefused
from api.web.views import (
    RAG_NAMES,
    BandTag,
    case_context,
    decision_history,
    queue_row,
)
from data_contracts.digits import ascii_whole_number
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
    chosen = [name for name in band or () if name in {b.name for b in bands}]
    chosen_need = need if need in PRESENTING_NEEDS else None
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


def _case_page(request: Request, user: PageUser, session: SessionDep, referral_id: str, *,
               errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
               status_code: int = status.HTTP_200_OK) -> Response:
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
    return _case_page(request, user, session, referral_id)


def _repeats(decision: Decision, fields: dict[str, str]) -> bool:
    """Whether the form sent says what `decision` says (a second click), as it is stored."""
    return (decision.practitioner_rag == fields["practitioner_rag"]
            and decision.next_step == fields["next_step"].strip()
            and (decision.reason or "") == fields["reason"].strip())


def _conflict(request: Request, user: PageUser, session: SessionDep, referral_id: str,
              message: str, fields: dict[str, str]) -> Response:
    """The case page again, saying why the decision was not recorded (409)."""
    return _case_page(request, user, session, referral_id, errors={"history": message},
                      form=_shown(fields), status_code=status.HTTP_409_CONFLICT)


def _decide(request: Request, user: PageUser, session: SessionDep, referral_id: str,
            fields: dict[str, str]) -> Response:
    latest = repository.latest_score(session, referral_id)
    previous_id = ascii_whole_number(fields["previous_decision_id"])
    # The page always gives the score it showed: without a number there, the form was
    # changed (a decision with none would be recorded on whatever score is latest).
    if (score_id := ascii_whole_number(fields["score_id"])) is None:
        raise FormRefused("score_id")
    try:
        decision = DecisionIn.model_validate({
            "referral_id": referral_id, "practitioner_rag": fields["practitioner_rag"],
            "next_step": fields["next_step"],
            "agrees_with_band": latest is not None and fields["practitioner_rag"] == latest.rag,
            "reason": fields["reason"] or None,
            "previous_decision_id": previous_id, "score_id": score_id})
        save_decision(session, decision, user.principal)
    except (ValidationError, RequestValidationError) as exc:
        if any("score_id" in error.get("loc", ()) for error in exc.errors()):
            raise FormRefused("score_id") from exc  # a number no score has (0, too large)
        return _case_page(request, user, session, referral_id, errors=decision_errors(exc),
                          form=_shown(fields), status_code=status.HTTP_400_BAD_REQUEST)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_409_CONFLICT:
            raise
        if isinstance(exc, ScoreReplaced):  # the page's score, unless the number was changed
            if score_id not in {score.id for score in repository.scores_for(session, referral_id)}:
                raise FormRefused("score_id") from exc
            return _conflict(request, user, session, referral_id, RESCORED, fields)
        mine = repository.latest_decision(session, referral_id)
        if mine is None or mine.practitioner != user.principal.name:
            return _conflict(request, user, session, referral_id, STALE_DECISION, fields)
        if not _repeats(mine, fields):  # theirs from another tab: what they sent is kept
            return _conflict(request, user, session, referral_id,
                             YOURS_DIFFERS.format(when=when(mine.created_at)), fields)
        # The same decision (a second click): the form is not filled again, or a second
        # submit would record it twice.
        return _conflict(request, user, session, referral_id,
                         ALREADY_YOURS.format(when=when(mine.created_at)), {})
    return RedirectResponse(f"{case_path(referral_id)}?recorded=true#history",
                            status_code=status.HTTP_303_SEE_OTHER)


@router.post(f"/cases/{REFERRAL_ID_ROUTE}/decisions")
async def record_decision_page(referral_id: ReferralIdPath, request: Request, user: TriagePage,
                               session: SessionDep) -> Response:
    """Record a decision through the API's own path; errors return to the form."""
    form = await posted_form(request, user.session)
    fields = {name: str(form.get(name) or "") for name in
              ("practitioner_rag", "next_step", "reason", "previous_decision_id", "score_id")}
    # A browser sends a textarea's line breaks as CRLF but counts each as one character,
    # as its character count does: the text is checked and kept as the user saw it counted.
    fields.update({name: fields[name].replace("\r\n", "\n") for name in TEXT_FIELDS})
    # The store's calls block: they run in the thread pool, as the API's decision route does.
    return await run_in_threadpool(_decide, request, user, session, referral_id, fields)


def _shown(fields: dict[str, str]) -> dict[str, str]:
    return {name: shown(value) for name, value in fields.items()}
