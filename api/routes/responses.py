"""The error answers each route documents in the OpenAPI document, in one place.

Every error body is a `Problem` (`{"detail": "..."}`) except a 422, which is always a
`ValidationProblem` (`{"detail": [{"field", "loc", "message", "type"}, ...]}`), whoever
refuses the request: pydantic, a route's own rule, or an unreadable body. A route that
takes input declares the 422 itself (`INPUT_RESPONSES`), so FastAPI's default 422 (its
`HTTPValidationError`, a shape this API never sends) appears nowhere.
"""

from __future__ import annotations

from typing import Any, Final

from api.schemas import Problem, ValidationProblem

Responses = dict[int | str, dict[str, Any]]

_RETRY_AFTER: Final = {"Retry-After": {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1}}}

AUTH_RESPONSES: Final[Responses] = {
    401: {"model": Problem, "description": "Missing, invalid or revoked API key"},
    403: {"model": Problem, "description": "The caller's role may not do this"},
    429: {"model": Problem, "headers": _RETRY_AFTER, "description": (
        "Too many failed authentications from this address or for this key id: "
        "refused until `Retry-After` seconds have passed")},
    503: {"model": Problem, "headers": _RETRY_AFTER, "description": (
        "The store is unreachable: not acknowledged, send it again after `Retry-After` "
        "seconds")},
}


# A route that reads a version from the model registry (`api.routes.errors.registry_refusal`).
REGISTRY_RESPONSES: Final[Responses] = {
    404: {"model": Problem, "description": "No such model version"},
    503: {"model": Problem, "headers": _RETRY_AFTER, "description": (
        "The store is unreachable, or the model registry is: send it again after "
        "`Retry-After` seconds")},
}


def input_responses(rules: str = "") -> Responses:
    """The 422 of a route that takes input; ``rules`` names the rules the schema cannot
    express, which are refused with 422 too."""
    description = "The request breaks a rule; each field in error is listed"
    if rules:
        description += f". Beyond the schema: {rules}"
    return {422: {"model": ValidationProblem, "description": description}}


INPUT_RESPONSES: Final[Responses] = input_responses()

JSON_BODY_RESPONSES: Final[Responses] = {
    413: {"model": Problem, "description": "The body is larger than the service accepts"},
    415: {"model": Problem, "description": "The body is not sent as `application/json`"},
}
