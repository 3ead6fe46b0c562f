"""The case page's decision form: a decision recorded through the API's own
`save_decision` (the same checks, the same audit entries); a refused form comes back to
the case page saying what is wrong, with what was entered.

Each refusal is audited once, as the API's refusal of the same decision is: a reason the
score's RAG owes, or the decision refused on what the store holds, as `decision_refused`
(by `save_decision`); a form refused on its own (no rating, a text over its limit) as
`request_invalid`, the fields at fault and no value; a changed hidden `score_id` as
`form_refused` alone.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.access_refusals import invalid_request_event
from api.audit import commit_with_audit
from api.routes.decisions import ScoreReplaced, is_score_of, save_decision
from api.routes.deps import SessionDep
from api.routes.records import REFERRAL_ID_ROUTE, ReferralIdPath
from api.schemas import DecisionIn
from api.store import repository
from api.store.models import Decision
from api.templating import case_path, when
from api.web.form_messages import (
    ALREADY_YOURS,
    RESCORED,
    STALE_DECISION,
    TEXT_FIELDS,
    YOURS_DIFFERS,
    decision_errors,
    shown,
)
from api.web.pages import PageUser, TriagePage, posted_form
from api.web.session import FormRefused
from api.web.triage import case_page_for
from data_contracts.digits import ascii_whole_number

router = APIRouter(include_in_schema=False)


def _repeats(decision: Decision, fields: dict[str, str]) -> bool:
    """Whether the form sent says what `decision` says (a second click), as it is stored."""
    return (decision.practitioner_rag == fields["practitioner_rag"]
            and decision.next_step == fields["next_step"].strip()
            and (decision.reason or "") == fields["reason"].strip())


def _conflict(request: Request, user: PageUser, session: SessionDep, referral_id: str,
              message: str, fields: dict[str, str]) -> Response:
    """The case page again, saying why the decision was not recorded (409)."""
    return case_page_for(request, user, session, referral_id, errors={"history": message},
                         form=_shown(fields), status_code=status.HTTP_409_CONFLICT)


def _owed_only(body: dict[str, Any]) -> DecisionIn | None:
    """The decision, when all that is wrong with it is the reason a RAG other than the
    score's owes (None otherwise): `save_decision` refuses it on the stored score and
    audits it (`decision_refused`), as the API's same decision is."""
    if body["agrees_with_band"]:
        return None
    try:
        agreeing = DecisionIn.model_validate({**body, "agrees_with_band": True})
    except ValidationError:
        return None  # something else is wrong with the form itself
    return agreeing.model_copy(update={"agrees_with_band": False})


def _decide(request: Request, user: PageUser, session: SessionDep, referral_id: str,
            fields: dict[str, str]) -> Response:
    latest = repository.latest_score(session, referral_id)
    # The page always gives the score it showed: without a number there, the form was
    # changed (a decision with none would be recorded on whatever score is latest), and a
    # score not the referral's (another referral's, one no score has) is refused as that
    # alone, not also as a decision refused.
    score_id = ascii_whole_number(fields["score_id"])
    if score_id is None or (latest is not None and score_id != latest.id
                            and not is_score_of(session, referral_id, score_id)):
        raise FormRefused("score_id")
    body = {"referral_id": referral_id, "practitioner_rag": fields["practitioner_rag"],
            "next_step": fields["next_step"],
            "agrees_with_band": latest is not None and fields["practitioner_rag"] == latest.rag,
            "reason": fields["reason"] or None,
            "previous_decision_id": ascii_whole_number(fields["previous_decision_id"]),
            "score_id": score_id}
    owed: ValidationError | None = None
    try:
        decision = DecisionIn.model_validate(body)
    except ValidationError as exc:
        if any("score_id" in error.get("loc", ()) for error in exc.errors()):
            raise FormRefused("score_id") from exc  # a number no score has (0, too large)
        if (only_owed := _owed_only(body)) is None:
            return _refused(request, user, session, referral_id, fields, exc)
        decision, owed = only_owed, exc
    try:
        save_decision(session, decision, user.principal)
    except RequestValidationError as exc:  # audited by `save_decision` (`decision_refused`)
        return case_page_for(request, user, session, referral_id,
                             errors=decision_errors(owed or exc), form=_shown(fields),
                             status_code=status.HTTP_400_BAD_REQUEST)
    except HTTPException as exc:
        if exc.status_code != status.HTTP_409_CONFLICT:
            raise
        if isinstance(exc, ScoreReplaced):  # the referral's own score: it was scored again
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


def _refused(request: Request, user: PageUser, session: SessionDep, referral_id: str,
             fields: dict[str, str], exc: ValidationError) -> Response:
    """The case page again with the form's problems (400), audited as the API's 422 for
    the same is (`request_invalid`: the fields the error summary names, no value)."""
    errors = decision_errors(exc)
    at_fault: list[Any] = [error for error in exc.errors()
                           if error["loc"][-1:] != ("reason",) or "reason" in errors]
    commit_with_audit(session, [invalid_request_event(request, user.principal, at_fault)])
    return case_page_for(request, user, session, referral_id, errors=errors,
                         form=_shown(fields), status_code=status.HTTP_400_BAD_REQUEST)


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
