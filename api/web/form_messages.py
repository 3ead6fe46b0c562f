"""What the pages' forms say when something entered is refused: what is actually wrong,
in the form's words (GOV.UK's error-message patterns), never the schema's own message.

The limits come from where the API's schema sets them (`api.schemas`, the service's
body limit), so a page never states a number of its own.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.free_text import HIDDEN_CHARACTERS, visible
from api.routes.records import period_problem, read_moment
from api.schemas import DecisionIn

# How a page shows the NUL a refused text held: a raw NUL is no character of HTML
# (browsers show U+FFFD in its place); this way the page says so itself.
NUL_MARK = "\ufffd"
# The decision's free-text fields (the form's text boxes), by their labels.
TEXT_FIELDS = {"next_step": "Next step", "reason": "Reason"}
_MISSING = {
    "practitioner_rag": "Select the RAG rating you decide on",
    "next_step": "Enter the next step",
    "reason": "Enter the reason your decision differs from the service's band",
}

# Why a decision was not recorded (409): the case changed while the user was deciding.
STALE_DECISION = ("Another decision was recorded on this referral while you were "
                  "deciding: check the history below, then record yours again")
RESCORED = ("The referral was scored again while you were deciding: read the new score "
            "below, then record your decision on it")
ALREADY_YOURS = ("Your decision on this referral was already recorded on {when}: check "
                 "the history below; to change it, record a new decision")
YOURS_DIFFERS = ("You recorded a different decision on this referral on {when} (in another "
                 "tab or window): check the history below; what you entered here is kept, "
                 "so record it again to change that decision")


@cache
def decision_text_limits() -> dict[str, int]:
    """The most characters each free-text field of a decision takes, from `DecisionIn`."""
    properties = DecisionIn.model_json_schema()["properties"]
    limits = {}
    for field in TEXT_FIELDS:
        schemas = [properties[field], *properties[field].get("anyOf", ())]
        limits[field] = min(s["maxLength"] for s in schemas if "maxLength" in s)
    return limits


def text_problem(label: str, entered: str, limit: int, *, too_long: bool = False
                 ) -> str | None:
    """What is wrong with a free text a form takes (None: nothing of these): over its
    limit (or `too_long`, as the schema found it), a NUL, a direction control."""
    if too_long or len(entered) > limit:
        return f"{label} must be {limit:,} characters or fewer"
    if "\x00" in entered:
        return (f"{label} must not include a hidden NUL character: delete the {NUL_MARK} "
                "that marks where it was")
    if HIDDEN_CHARACTERS.search(entered):
        return (f"{label} must not include a hidden direction control (it can show words "
                f"out of order): delete the {NUL_MARK} that marks where it was")
    return None


def decision_message(field: str, error: Mapping[str, Any]) -> str:
    """The message for a decision field's problem: too long, a NUL, nothing visible, or
    missing (a RAG rating outside the three, a reason the band requires)."""
    label = TEXT_FIELDS.get(field)
    entered = error.get("input")
    if label is None or not isinstance(entered, str):
        return _MISSING.get(field, str(error.get("msg", "")))
    too_long = "too_long" in str(error.get("type"))
    if problem := text_problem(label, entered, decision_text_limits()[field],
                               too_long=too_long):
        return problem
    if entered.strip() and not visible(entered):
        return f"{label} must include some visible text, not only spaces or invisible characters"
    return _MISSING[field]


def shown(text: str) -> str:
    """A refused text as a form shows it again: as entered, each hidden character (a NUL,
    a direction control) marked."""
    return HIDDEN_CHARACTERS.sub(NUL_MARK, text)


def byte_size(count: int) -> str:
    """A number of bytes as people read a limit: "5 MiB", "64 KiB" or "1,500 bytes"."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count % size == 0:
            return f"{count // size:,} {unit}"
    return f"{count:,} bytes"


def decision_errors(exc: ValidationError | RequestValidationError) -> dict[str, str]:
    """Each field's first problem, in the words of the form (never the value sent)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = next((str(part) for part in reversed(error.get("loc", ()))
                      if isinstance(part, str) and part != "body"), "")
        if field == "previous_decision_id":
            errors.setdefault("history", STALE_DECISION)
        else:
            errors.setdefault(field, decision_message(field, error))
    if "practitioner_rag" in errors and errors.get("reason") == _MISSING["reason"]:
        # No rating chosen: no decision differs from the band yet, so none needs a reason
        # (a reason refused for what it holds, too long or hidden, is still said).
        del errors["reason"]
    return errors


# The audit search's fields, by their labels on the page: text, and the moments between
# which entries were made (`since` and `until`, as `GET /v1/audit` names them).
AUDIT_TEXT_FIELDS = {"user_name": "User", "referral_id": "Referral",
                     "model_version": "Model version"}
AUDIT_PERIOD_FIELDS = {"since": "From", "until": "To"}


# What pydantic says of a date-time of the right form that is no real moment, in words.
_NO_MOMENT = {"month value": "its month must be 1 to 12",
              "day value": "its day must be one its month has",
              "year 0": "its year must be 1 to 9999"}


def _moment_message(label: str, said: str) -> str:
    if said.startswith("expected "):  # not RFC 3339 with an offset: say what is
        return f"{label} must be {said.removeprefix('expected ')}"
    if said.startswith("Input should"):  # pydantic's words ("Input should be a valid ...")
        said = next((words for start, words in _NO_MOMENT.items() if start in said),
                    "its hour must be 0 to 23, its minutes and seconds 0 to 59 and its "
                    "offset less than 24 hours")
    return f"{label} must be a real date and time ({said})"


def audit_search_problems(query: Mapping[str, str], *, repeated: Collection[str] = ()
                          ) -> tuple[dict[str, datetime], dict[str, str]]:
    """The moments an audit search is between (by field; an empty field: none), and a
    message for each field refused: a text holding a character no stored value holds (a
    NUL, which PostgreSQL cannot even compare, or a direction control), a time the API's
    `since` and `until` refuse (`read_moment`), a `since` later than `until`
    (`period_problem`), or a field the address gives more than once (`repeated`: the last
    was used, as `GET /v1/audit` refuses). The page answered such a search with the whole
    trail."""
    errors = {name: f"{label} must not include a hidden character (a NUL or a direction "
                    f"control): delete the {NUL_MARK} that marks where it was"
              for name, label in AUDIT_TEXT_FIELDS.items()
              if HIDDEN_CHARACTERS.search(query[name])}
    moments: dict[str, datetime] = {}
    for name, label in AUDIT_PERIOD_FIELDS.items():
        if query[name]:
            try:
                moments[name] = read_moment(query[name])
            except ValueError as exc:
                errors[name] = _moment_message(label, str(exc))
    if problem := period_problem(moments.get("since"), moments.get("until"), names=(
            AUDIT_PERIOD_FIELDS["since"], AUDIT_PERIOD_FIELDS["until"])):
        errors["since"] = problem
    labels = {**AUDIT_TEXT_FIELDS, **AUDIT_PERIOD_FIELDS}
    errors |= {name: f"{labels[name]} must be given once: the address gave it more than once"
               for name in repeated}
    return moments, errors
