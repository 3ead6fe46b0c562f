"""The Score page for triage staff: upload or paste a referral's case payload to score it.

A case goes through the code the API uses: the same reading of it (`validated_case`: the
payload model, a key given twice, the rules beside the fields' errors) and the scoring
batcher; its problems, all of them at once, are listed by record and field.
"""

from __future__ import annotations

import codecs
from typing import Final

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from api.audit import sha256_hex
from api.case_bodies import CaseRefused, validated_case
from api.json_encoding import not_utf8
from api.referral_people import SubjectChanged
from api.request_limits import BodyTooLarge
from api.routes.scores import ScoreRequest
from api.templating import case_path
from api.web.form_messages import byte_size, shown
from api.web.pages import (
    PAGE_METHODS,
    PageUser,
    TriagePage,
    audit_refused_form,
    fields_at_fault,
    posted_form,
    render,
)
from api.web.views import case_problems

router = APIRouter(include_in_schema=False)


@router.api_route("/score", methods=PAGE_METHODS)
def score_form(request: Request, user: TriagePage) -> Response:
    """Upload or paste a referral's case payload to score it."""
    return _score_page(request, user, status_code=status.HTTP_200_OK)


async def _posted_case(request: Request, user: PageUser) -> tuple[bytes | None, str]:
    """The case file's bytes, less a UTF-8 byte-order mark (None: no file, or an empty
    one), and the pasted text, kept for the form."""
    form = await posted_form(request, user.session)
    pasted = form.get("case_json")
    pasted = pasted if isinstance(pasted, str) else ""
    upload = form.get("case_file")
    if upload is not None and not isinstance(upload, str):
        data = (await upload.read()).removeprefix(codecs.BOM_UTF8)
        if data.strip():
            return data, pasted
    return None, pasted


@router.post("/score")
async def score_referral(request: Request, user: TriagePage) -> Response:
    """Validate and score the case; problems are listed by record and field."""
    try:
        upload, pasted = await _posted_case(request, user)
    except BodyTooLarge:
        # What was sent is not kept: it was not read to its end.
        await audit_refused_form(request, user, _BODY)
        return _score_page(request, user,
                           form_error=f"The case must be smaller than {_body_limit(request)}",
                           status_code=status.HTTP_413_CONTENT_TOO_LARGE)
    if upload is not None and pasted.strip():  # the paste was silently ignored
        await audit_refused_form(request, user, fields_at_fault("case_file", "case_json"))
        return _score_page(request, user, pasted=pasted, form_error=_BOTH)
    body = pasted.encode("utf-8") if upload is None else upload
    if form_error := _file_problem(body):
        await audit_refused_form(request, user, _BODY)
        return _score_page(request, user, pasted=pasted, form_error=form_error)
    try:
        case = validated_case(body)
    except CaseRefused as refused:
        await audit_refused_form(request, user, refused.found.errors)
        return _score_page(request, user, problems=case_problems(refused.found.errors),
                           pasted=pasted)
    batcher = request.app.state.score_batcher
    try:
        result = await batcher.submit(ScoreRequest(user.principal, case, sha256_hex(body)))
    except SubjectChanged as exc:  # 409, as the API answers it
        return _score_page(request, user, pasted=pasted, status_code=exc.status_code, problems=[
            {"record": "Referral", "field": "person_id", "message": str(exc.detail)}])
    except HTTPException as exc:
        if exc.status_code != status.HTTP_503_SERVICE_UNAVAILABLE:
            raise
        # The service's fault, not the case's: the reason no model can score it.
        return _score_page(request, user, pasted=pasted, unavailable=str(exc.detail),
                           status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return RedirectResponse(case_path(result.referral_id),
                            status_code=status.HTTP_303_SEE_OTHER)


# A refusal of the whole case file (empty, too large, not UTF-8): its one field at fault.
_BODY: Final = fields_at_fault("body")
_BOTH: Final = "Upload a case file or paste the case, not both"


def _file_problem(body: bytes) -> str:
    """Why the case file cannot be read as a case ("": it can)."""
    if not body.strip():
        return "Upload a case file or paste the case"
    if written := not_utf8(body):  # UTF-16 without a byte-order mark decodes as UTF-8
        return (f"The case file reads as {written}, not UTF-8: a case must be UTF-8 JSON, so "
                "save it as UTF-8 and upload it again")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _NOT_UTF8
    return ""


def _body_limit(request: Request) -> str:
    return byte_size(request.app.state.settings.max_body_bytes)


_NOT_UTF8 = ("The case file must be UTF-8 text: save it as UTF-8 (JSON's encoding) and "
             "upload it again")


def _score_page(request: Request, user: PageUser, *,
                problems: list[dict[str, str]] | None = None, form_error: str = "",
                unavailable: str = "", pasted: str = "",
                status_code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    """The Score page; after a refusal, with what the user pasted (a file cannot be kept):
    the problems in the case, the form's one error, or why the service cannot score."""
    return render(request, "pages/score.html", user=user, title="Score a referral",
                  problems=problems or [], form_error=form_error, unavailable=unavailable,
                  pasted=shown(pasted), body_limit=_body_limit(request),
                  status_code=status_code)
