"""The governance decision on a version, as pages: a form, "check your answers", then a
confirmation recorded by `api.approvals.record_decision`, the function behind
`POST /v1/models/{v}/approvals` (same checks, same audit entries). Every view of the
form is audited (`approval_form_view`), and a double click records one decision.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.access_refusals import unregistered_decision_event
from api.approvals import (
    APPROVE,
    DECISIONS,
    MAX_REASON,
    ApprovalRefused,
    RepeatedWaiver,
    one_waiver_each,
)
from api.approvals import record_decision as record_approval
from api.audit import commit_with_audit
from api.auth import GOVERNANCE
from api.free_text import MAX_TEXT, visible
from api.routes.deps import SessionDep
from api.settings import board_thresholds, settings_registry
from api.templating import when
from api.web.approvals import (
    SEEN_FIELD,
    ApprovalState,
    DecidedMeanwhile,
    approval_state,
    decided_since,
    latest_seen,
    still_latest,
)
from api.web.form_messages import shown, text_problem
from api.web.governance import (
    VersionPath,
    record_version_view,
    registered_version,
    version_info,
)
from api.web.model_pages import page_registry_of
from api.web.pages import PAGE_METHODS, PageUser, page_roles, posted_form, render

router = APIRouter(include_in_schema=False)

# Approving and rejecting is the governance role's alone (as the API's route).
ApproverPage = Annotated[PageUser, Depends(page_roles(GOVERNANCE))]
_MESSAGES = {
    "decision": "Select whether you approve or reject this version",
    "reason": "Enter the reason for your decision",
}


def _state(request: Request, session: Session, version: str) -> ApprovalState:
    state = approval_state(session, version, registry=page_registry_of(request),
                           board=board_thresholds(request.app.state.settings))
    if not state.available:
        raise HTTPException(status.HTTP_404_NOT_FOUND, state.summary)
    return state


WAIVER_PREFIX = "waiver-"


def _text(form: dict[str, str], name: str) -> str:
    """A posted text as the user saw it counted: a browser sends a line break as CRLF but
    its character count counts one character (as the triage form keeps it)."""
    return form.get(name, "").replace("\r\n", "\n").strip()


def _answers(
    fields: list[tuple[str, str]], state: ApprovalState
) -> tuple[dict[str, str], dict[str, str]]:
    """The decision, reason and waivers posted, and what is missing, repeated, too long or
    hidden, field by field (a waiver field posted twice is refused: one reason would
    replace the other), all at the first submit as at the confirmation."""
    form = dict(fields)
    answers = {"decision": form.get("decision", ""), "reason": _text(form, "reason")}
    errors = {
        name: message
        for name, message in _MESSAGES.items()
        if not visible(answers[name]) or (name == "decision" and answers[name] not in DECISIONS)
    }
    if problem := text_problem("Reason", answers["reason"], MAX_REASON):
        errors["reason"] = problem
    try:
        one_waiver_each((name.removeprefix(WAIVER_PREFIX), value) for name, value in fields
                        if name.startswith(WAIVER_PREFIX))
    except RepeatedWaiver as exc:
        errors[f"{WAIVER_PREFIX}{exc.threshold}"] = str(exc)  # it opens with the name
    if answers["decision"] == APPROVE:
        for check in state.unmet:
            field = f"{WAIVER_PREFIX}{check.name}"
            answers[field] = why = _text(form, field)
            problem = (text_problem(f"The reason to waive {check.name}", why, MAX_TEXT)
                       or (None if visible(why) else
                           f"Enter the reason the {check.name} threshold is waived, or reject"))
            if problem:
                errors.setdefault(field, problem)
    return answers, errors


def _form_page(
    request: Request,
    user: PageUser,
    version: str,
    state: ApprovalState,
    *,
    answers: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return render(
        request,
        "pages/decide.html",
        user=user,
        title=f"Approve or reject this version - Model version {version}",
        version=version,
        approval=state,
        form={name: shown(value) for name, value in (answers or {}).items()},
        errors=errors or {},
        limits={"reason": MAX_REASON, "waiver": MAX_TEXT},
        status_code=status_code,
    )


@router.api_route("/governance/versions/{version}/decide", methods=PAGE_METHODS)
def decide_form(
    version: VersionPath, request: Request, user: ApproverPage, session: SessionDep
) -> Response:
    """The decision form: approve or reject, a reason, a waiver per threshold missed."""
    registered_version(request, session, user, "approval_form_view", version)
    state = _state(request, session, version)
    # As the task list's view.
    record_version_view(session, request, user, "approval_form_view", version)
    return _form_page(request, user, version, state)


async def _posted(request: Request, user: PageUser) -> list[tuple[str, str]]:
    """The form's text fields, each as posted (a field posted twice, twice)."""
    form = await posted_form(request, user.session)
    return [(name, value) for name, value in form.multi_items() if isinstance(value, str)]


@router.post("/governance/versions/{version}/decide")
async def check_answers(
    version: VersionPath, request: Request, user: ApproverPage, session: SessionDep
) -> Response:
    """Check your answers (or the form again, with an error summary, when incomplete);
    audited as the form's view: either shows the thresholds the version missed."""
    fields = await _posted(request, user)
    form = dict(fields)
    await run_in_threadpool(registered_version, request, session, user, "approval_form_view",
                            version)
    state = await run_in_threadpool(_state, request, session, version)
    await run_in_threadpool(record_version_view, session, request, user,
                            "approval_form_view", version)
    answers, errors = _answers(fields, state)
    if errors or form.get("change"):
        code = status.HTTP_400_BAD_REQUEST if errors and not form.get("change") else 200
        return _form_page(request, user, version, state, answers=answers,
                          errors={} if form.get("change") else errors, status_code=code)
    return render(
        request,
        "pages/check_decision.html",
        user=user,
        title=f"Check your answers before recording your decision - Model version {version}",
        version=version,
        approval=state,
        answers=answers,
        approve=answers["decision"] == APPROVE,
        seen_field=SEEN_FIELD,
        seen=latest_seen(session, request.app.state.settings.model_name, version),
    )


def _confirm(
    request: Request, user: PageUser, session: Session, version: str,
    fields: list[tuple[str, str]],
) -> Response:
    state = _state(request, session, version)
    answers, errors = _answers(fields, state)
    done = "approved" if answers["decision"] == APPROVE else "rejected"
    name, seen = request.app.state.settings.model_name, dict(fields).get(SEEN_FIELD)
    since = decided_since(session, name, version, seen)
    if since is None and not errors:
        waivers = {
            c.name: answers[f"{WAIVER_PREFIX}{c.name}"]
            for c in state.unmet
            if answers["decision"] == APPROVE
        }
        try:
            record_approval(
                session,
                settings_registry(request.app.state.settings),  # read afresh to record
                user=user.principal.name,
                role=user.principal.role,
                version=version,
                decision=answers["decision"],
                reason=answers["reason"],
                waivers=waivers,
                board=board_thresholds(request.app.state.settings),
                first=still_latest(name, version, seen),  # checked again as it is written
            )
        except ApprovalRefused as exc:  # the version changed since the form was checked
            errors = {"decision": f"The decision could not be recorded: {exc}"}
        except DecidedMeanwhile:  # sent at once with another (a double click)
            since = decided_since(session, name, version, seen)
    if since is not None and not errors:
        if (since.user_name, since.decision, since.reason) == (
                user.principal.name, answers["decision"], answers["reason"]):
            return _recorded(version, done)  # a second click: recorded once, as the first
        errors = {"decision": f"A decision on version {version} was recorded while you were "
                              f"deciding ({since.decision}, by {since.user_name}, on "
                              f"{when(since.created_at)}): read the approval task list, "
                              "then record yours again"}
    if errors:
        record_version_view(session, request, user, "approval_form_view", version)  # the form again
        return _form_page(request, user, version, state, answers=answers, errors=errors,
                          status_code=(status.HTTP_409_CONFLICT if since is not None
                                       else status.HTTP_400_BAD_REQUEST))
    return _recorded(version, done)


def _recorded(version: str, done: str) -> Response:
    return RedirectResponse(
        f"/governance/versions/{version}/approval?recorded={done}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


@router.post("/governance/versions/{version}/decide/confirm")
async def confirm_decision(
    version: VersionPath, request: Request, user: ApproverPage, session: SessionDep
) -> Response:
    """Record the checked decision through the API's own function (audited as the API's)."""
    fields = await _posted(request, user)
    await run_in_threadpool(_registered_to_decide, request, session, user, version,
                            dict(fields).get("decision", ""))
    return await run_in_threadpool(_confirm, request, user, session, version, fields)


def _registered_to_decide(request: Request, session: Session, user: PageUser, version: str,
                          decision: str) -> None:
    """A version not registered: refused (404) and audited as the API's decision on it is
    (`model_decision_refused`), with the decision asked when it is one (a field changed
    into anything else, a pasted key too, is not kept)."""
    try:
        version_info(request, version)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            commit_with_audit(session, [unregistered_decision_event(
                user.principal.name, user.principal.role, version=version,
                decision=decision if decision in DECISIONS else None)])
        raise
