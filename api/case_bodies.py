"""The bodies of the scoring routes read as cases, every problem of a refused case
listed in one 422: a key an object names twice (`api.json_keys`), the errors of its
fields and, beside them, the rules still checkable on its valid fields
(`api.case_rules.rules_beside`). Pydantic checks a case's rules over
several fields only once all its fields are valid, so a case came back once for a wrong
type and again for a date out of order. Where the errors of the fields alone fill a
422 (`MAX_ERRORS_LISTED`), the rules are not checked: they would not be listed, and a
hostile body of thousands of bad records cost five times as much to answer. Short of
that, the rules' errors are built only as far as the 422 lists them, the rest counted.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from api.audit import sha256_hex
from api.case_payload import CasePayload
from api.case_rules import Found, rules_beside
from api.json_encoding import utf8_body
from api.json_keys import RepeatedKey, case_keys_named, decoded, repeated_key
from api.routes.errors import MAX_ERRORS_LISTED, CountedInvalid


@dataclass(frozen=True, slots=True)
class ReceivedCase:
    """A validated case and the SHA-256 of the request body it came in."""

    case: CasePayload
    request_hash: str


class CaseRefused(Exception):
    """A case refused, with every problem found in it (`every_problem`)."""

    def __init__(self, found: Found) -> None:
        super().__init__("the case was refused")
        self.found = found


def every_problem(body: bytes, errors: list[ErrorDetails], *,
                  listed: int | None = None) -> Found:
    """The problems of a case refused from its JSON `body`: the first key an object
    names twice (its first value was never checked: the last is kept), then its fields'
    errors, then the rules still checkable on it (none when the body is not JSON, nor
    when the errors fill a 422); past the first `listed` in all (None: no end), the
    rules' are counted, not built."""
    if any(e["type"] == "json_invalid" for e in errors):
        return Found(errors)
    document, repeated = decoded(body)
    found = [*([repeated.error()] if repeated else []), *errors]
    if len(errors) >= MAX_ERRORS_LISTED:
        return Found(found)
    rules = rules_beside(document, errors,
                         budget=None if listed is None else listed - len(found))
    return Found([*found, *rules.errors], rules.more)


def validated_case(body: bytes, *, listed: int | None = None) -> CasePayload:
    """The case in the JSON ``body`` (UTF-8, without a byte-order mark), validated in one
    pass from its bytes, each key of its objects named once; `CaseRefused` with every
    problem of it (`every_problem`) otherwise, the API's 422 and the Score page's alike."""
    try:
        case = CasePayload.model_validate_json(body)
    except ValidationError as exc:
        # The values sent are not kept, only whether one was an empty string
        # (`api.routes.errors.error_message` says how to send a value not known).
        errors = exc.errors(include_url=False)
        for error in errors:
            if error.get("input") != "":
                error.pop("input", None)  # type: ignore[misc]
        raise CaseRefused(every_problem(body, errors, listed=listed)) from None
    if repeated := repeated_key(body, keys_named=case_keys_named(case)):
        raise CaseRefused(Found([repeated.error()]))
    return case


async def case_body(request: Request) -> ReceivedCase:
    """The body as a `CasePayload` (parsed and validated in one pass from the JSON bytes),
    with the SHA-256 of those bytes for the audit trail.

    FastAPI would decode the JSON into Python objects first and validate those: for a
    case of a few hundred records that costs as much again. The errors are the same
    422, field by field; a refused case is decoded to check its rules beside them, and
    for a key named twice.

    The body is UTF-8, a leading byte-order mark ignored (`api.json_encoding`). The hash
    is of the body as received, mark and all, as the batch route's.
    """
    received = await request.body()
    try:
        case = validated_case(utf8_body(received), listed=MAX_ERRORS_LISTED)
    except CaseRefused as refused:
        raise CountedInvalid([{**error, "loc": ("body", *error["loc"])}
                              for error in refused.found.errors],
                             more=refused.found.more) from None
    return ReceivedCase(case, sha256_hex(received))


def batch_problems(errors: Sequence[Any], batch: Any, *,
                   repeated: RepeatedKey | None = None) -> Found:
    """A refused batch's problems: the first key an object of it names twice (`repeated`),
    then its errors (FastAPI's, located in the body), each case's followed by the rules
    still checkable on it, built only as far as a 422 lists them (`MAX_ERRORS_LISTED`),
    the rest counted."""
    named = [] if repeated is None else [repeated.error(within_body=True)]
    cases = batch.get("cases") if isinstance(batch, dict) else None
    if not isinstance(cases, list) or len(errors) >= MAX_ERRORS_LISTED:
        return Found([*named, *errors])

    def case_of(error: Any) -> int | None:
        loc = tuple(error.get("loc", ()))
        return loc[2] if loc[:2] == ("body", "cases") and len(loc) > 2 \
            and isinstance(loc[2], int) and loc[2] < len(cases) else None

    by_case: dict[int, list[Any]] = {}
    for error in errors:
        if (index := case_of(error)) is not None:
            by_case.setdefault(index, []).append({**error, "loc": tuple(error["loc"])[3:]})
    problems: list[Any] = named
    more = 0
    for position, error in enumerate(errors):  # pydantic lists a batch's errors by case
        problems.append(error)
        index = case_of(error)
        if index in by_case and (position + 1 == len(errors)
                                 or case_of(errors[position + 1]) != index):
            rules = rules_beside(cases[index], by_case.pop(index),
                                 budget=MAX_ERRORS_LISTED - len(problems))
            problems += [{**rule, "loc": ("body", "cases", index, *rule["loc"])}
                         for rule in rules.errors]
            more += rules.more
    return Found(problems, more)


class CasesRoute(APIRoute):
    """A route whose body holds cases (`BatchIn`, read by FastAPI): its 422 lists every
    problem of each case (`batch_problems`), as `case_body` does for one. Such a route
    takes `key_named_twice` (not `each_key_once`, which refuses before FastAPI validates
    the body, so that the key alone was named) and refuses what it finds."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def listing_every_problem(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                if type(exc) is not RequestValidationError or exc.body is None:
                    raise
                found = batch_problems(exc.errors(), exc.body,
                                       repeated=repeated_key(await request.body()))
                raise CountedInvalid(found.errors, more=found.more, body=exc.body) from None

        return listing_every_problem
