"""Each object of a JSON body names a key once, on every JSON body the API takes.

`json.loads` and pydantic keep the last value of a key named twice, another reader may
keep the first: `{"referral": {"referral_id": "DUPKEY", "referral_id": "OTHER"}, ...}`
was scored as OTHER, while the audit entry's hash of the body as received vouches for
bytes that such a reader takes for DUPKEY. A body naming a key twice is refused (422),
naming the key and where it is.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic_core import ErrorDetails

if TYPE_CHECKING:
    from api.case_payload import CasePayload


@dataclass(frozen=True)
class RepeatedKey:
    """A key an object of a body names more than once, and the path to that object."""

    within: tuple[str | int, ...]
    key: str

    @property
    def message(self) -> str:
        where = ".".join(str(part) for part in self.within) or "the body"
        return f"{where} names {self.key} more than once: name each key once"

    def error(self, *, within_body: bool = False) -> ErrorDetails:
        """The refusal as a pydantic error of the body (`loc` from "body" as FastAPI
        locates one when `within_body`), without the value."""
        return ErrorDetails(loc=(*(("body",) if within_body else ()), *self.within, self.key),
                            msg=self.message, type="repeated_key", input=None)


class _Repeated(dict[str, Any]):
    """A decoded object that named `key` twice (its last value kept, as `json.loads`)."""

    key = ""


class _Objects:
    """`json.loads`'s object hook: each object as a dict, one that names a key twice as
    a `_Repeated`, remembering whether there was one (so a body without is not walked)."""

    def __init__(self) -> None:
        self.repeated = False

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        decoded = dict(pairs)
        if len(decoded) == len(pairs):
            return decoded
        self.repeated = True
        times = Counter(key for key, _ in pairs)
        repeated = _Repeated(decoded)
        repeated.key = next(key for key, _ in pairs if times[key] > 1)
        return repeated


def _first_repeated(document: Any) -> RepeatedKey | None:
    """The first object, in document order, that named a key twice (walked without
    recursion: a body may nest as deep as the decoder allows)."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _Repeated):
            return RepeatedKey(path, value.key)
        items = (value.items() if isinstance(value, dict) else
                 enumerate(value) if isinstance(value, list) else ())
        stack.extend(reversed([((*path, name), inner) for name, inner in items]))
    return None


def decoded(body: bytes | str) -> tuple[Any, RepeatedKey | None]:
    """``body`` as `json.loads` decodes it (the last value of a key named twice kept;
    None when the body is not JSON), with the first key an object of it names twice."""
    objects = _Objects()
    try:
        document = json.loads(body, object_pairs_hook=objects)
    except (ValueError, RecursionError):
        return None, None
    return document, _first_repeated(document) if objects.repeated else None


def repeated_key(body: bytes | str, *, keys_named: int | None = None) -> RepeatedKey | None:
    """The first key an object of ``body`` names twice; None when each is named once or
    the body is not JSON (its own validation says so).

    ``keys_named``, when the caller has validated the body already, is how many keys its
    objects hold (never more than the body names). Every key the body names is followed
    by one colon, so a body with exactly as many colons names no key twice and is not
    decoded again (a colon inside a text only sends the body the slow way).
    """
    if keys_named is not None:
        colons = body.count(b":") if isinstance(body, bytes) else body.count(":")
        if colons == keys_named:
            return None
    return decoded(body)[1]


def case_keys_named(case: CasePayload) -> int:
    """How many keys a validated case holds: those its body named, each once."""
    return (len(case.model_fields_set) + len(case.referral.model_fields_set)
            + sum(len(member.model_fields_set) for member in case.household_members)
            + sum(map(len, case.events))
            + sum(len(earlier.model_fields_set) for earlier in case.previous_referrals))


def refusal(found: RepeatedKey) -> RequestValidationError:
    """The 422 of a body naming a key twice."""
    return RequestValidationError([found.error(within_body=True)])


def refuse_repeated_keys(body: bytes, *, keys_named: int | None = None) -> None:
    """Raise the 422 of a body naming a key twice (see `repeated_key`)."""
    if found := repeated_key(body, keys_named=keys_named):
        raise refusal(found)


async def each_key_once(request: Request) -> None:
    """A route's dependency: its JSON body names each key once (422). Declare it after
    the caller's, so that a stranger is asked for a key first."""
    refuse_repeated_keys(await request.body())


async def key_named_twice(request: Request) -> RepeatedKey | None:
    """A route's dependency: the first key its JSON body names twice, which the route
    refuses (`refusal`) once its body is valid; when it is not, the body's problems are
    listed with the key (`api.case_bodies.CasesRoute`). Declare it after the caller's."""
    return repeated_key(await request.body())
