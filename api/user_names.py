"""What a user's name may be: the audit trail attributes every act to it."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

from api.free_text import visible

# The audit trail names the operator's and the service's own acts "cli:<os user>" and
# "service:<os user>" (`api.audit.operator_event`), and a stranger locked out for failed
# keys UNAUTHENTICATED (`api.auth_limits`): no API user may look like any of them.
_RESERVED_PREFIXES: Final = ("cli:", "service:")
UNAUTHENTICATED: Final = "unauthenticated"
MAX_USER_NAME: Final = 100  # the users table's column, and every user_name column


def name_key(name: str) -> str:
    """What two names are compared by: ``Ann`` and ``ann`` (or a name in another Unicode
    form of the same letters) would be one person to whoever reads the trail."""
    return unicodedata.normalize("NFKC", name).casefold()


def user_name_problem(name: str) -> str | None:
    """Why a name cannot be a user's (the audit trail attributes every act to it), or None."""
    if not visible(name) or name != name.strip():
        return "a user's name must say who it is, with no blanks around it"
    if len(name) > MAX_USER_NAME:
        return f"a user's name is at most {MAX_USER_NAME} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return "a user's name must not hold control or invisible format characters"
    if name_key(name).startswith(_RESERVED_PREFIXES):
        reserved = " or ".join(repr(prefix) for prefix in _RESERVED_PREFIXES)
        return (f"a user's name must not begin with {reserved}: the audit trail names the "
                "command line's and the service's own acts so")
    if name_key(name) == UNAUTHENTICATED:
        return (f"a user's name must not be {UNAUTHENTICATED!r}: the audit trail names a "
                "caller locked out for failed keys so")
    return None


def name_taken(name: str, existing: Iterable[str]) -> str | None:
    """The existing name ``name`` would be taken for (the same but for case), or None."""
    wanted = name_key(name)
    return next((other for other in existing if name_key(other) == wanted), None)
