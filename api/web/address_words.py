"""What is wrong with a page's address, in words: the 400 page names the part of the
address at fault and what it must be, never the value sent (it may be a pasted key), nor
pydantic's own words ("Input should be greater than or equal to 1") or the regular
expression a part failed ("String should match pattern '^[1-9][0-9]{0,9}$'").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fastapi.exceptions import RequestValidationError

from data_contracts.vocab import NOT_AN_IDENTIFIER

# A model version in a page's address, as the registry numbers versions.
VERSION_PATTERN: Final = r"^[1-9][0-9]{0,9}$"
_PATTERNS: Final = {**NOT_AN_IDENTIFIER,
                    VERSION_PATTERN: "not a model version number (1, 2, 3 and so on)"}


def _limit(context: Mapping[str, Any], name: str) -> str:
    value = context.get(name)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _words(error: Mapping[str, Any]) -> str:
    """What a part of the address must be, a verb first ("must be 1 or more")."""
    kind, context = str(error.get("type", "")), error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return "is " + _PATTERNS.get(context.get("pattern", ""),
                                     "not of the form this page takes")
    said = {
        "string_too_long": f"must be {_limit(context, 'max_length')} characters or fewer",
        "string_too_short": f"must be at least {_limit(context, 'min_length')} characters",
        "too_long": f"must not be given more than {_limit(context, 'max_length')} times",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "int_type": "must be a whole number",
        "greater_than_equal": f"must be {_limit(context, 'ge')} or more",
        "less_than_equal": f"must be {_limit(context, 'le')} or less",
        "missing": "is missing",
    }
    if kind in said:
        return said[kind]
    if kind == "value_error":  # a page's own refusal, its words written for people
        return str(error.get("msg", "")).removeprefix("Value error, ")
    return "is not one this page takes"


def address_problem(exc: RequestValidationError) -> str:
    """What is wrong with the address, in words: the first problem of its path or query
    ("" when the problem is not the address's)."""
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        if len(loc) > 1 and loc[0] in ("path", "query"):
            return f"{'.'.join(loc[1:])} in the address {_words(error)}."
    return ""


def refused_in_address(name: str, words: str) -> RequestValidationError:
    """A page's refusal of a query parameter (`words`: what it must be, a verb first),
    answered and audited as any address the page's schema refuses."""
    return RequestValidationError([{"loc": ("query", name), "type": "value_error",
                                    "msg": words}])
