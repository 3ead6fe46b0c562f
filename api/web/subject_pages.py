"""The subject access page: governance boards ask for everything held about one person.

The same record as `GET /v1/subjects/{person_id}` and `safeguard subject-access` give
(`api.routes.subjects.disclosed_record`), its disclosure audited as theirs is, for a
signed-in governance or admin user: a board member with a browser got a JSON 401 from
the API's address, which takes a key, not a session. The person's token is posted, not
put in the address, so it is in no browser history or access log.
"""

from __future__ import annotations

import re
from typing import Final

from fastapi import APIRouter, Request, status
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.routes.deps import SessionDep
from api.routes.subjects import disclosed_record
from api.web.pages import (
    PAGE_METHODS,
    GovernancePage,
    audit_refused_form,
    fields_at_fault,
    posted_form,
    render,
)
from data_contracts.vocab import TOKEN_MAX_LENGTH, TOKEN_PATTERN

router = APIRouter(include_in_schema=False)

SUBJECTS_PAGE: Final = "/governance/subjects"
PERSON_FIELD: Final = "person_id"
_NOT_A_TOKEN: Final = (f"Enter the person's pseudonymous token: 1 to {TOKEN_MAX_LENGTH} "
                       "letters, digits, hyphens (-) or underscores (_)")


def _form(request: Request, user: GovernancePage, *, error: str | None = None,
          person_id: str = "", status_code: int = status.HTTP_200_OK) -> Response:
    return render(request, "pages/subject_form.html", user=user,
                  title="Subject access request", error=error, person_id=person_id,
                  field=PERSON_FIELD, status_code=status_code)


@router.api_route(SUBJECTS_PAGE, methods=PAGE_METHODS)
def subject_form(request: Request, user: GovernancePage) -> Response:
    """Ask for a person's record by their pseudonymous token."""
    return _form(request, user)


@router.post(SUBJECTS_PAGE)
async def subject_record(request: Request, user: GovernancePage,
                         session: SessionDep) -> Response:
    """Everything held about the person, as the API and the command give it (audited)."""
    form = await posted_form(request, user.session)
    asked = form.get(PERSON_FIELD)
    person_id = asked.strip() if isinstance(asked, str) else ""
    if not re.fullmatch(TOKEN_PATTERN, person_id):
        # Audited as the API's 422 for the same is: the field, never what was entered.
        await audit_refused_form(request, user, fields_at_fault(PERSON_FIELD))
        # Shown back only when short: a long paste may be a key typed in the wrong place.
        return _form(request, user, error=_NOT_A_TOKEN,
                     person_id=person_id if len(person_id) <= TOKEN_MAX_LENGTH else "",
                     status_code=status.HTTP_400_BAD_REQUEST)
    record = await run_in_threadpool(disclosed_record, request, user.principal, session,
                                     person_id)
    return render(request, "reports/subject_access.html", user=user,
                  title="Subject access request", record=record,
                  back_link=("Another subject access request", SUBJECTS_PAGE))
