"""What a user's name may be: the audit trail attributes every act to it."""

from __future__ import annotations

import unicodedata
from typing import Final

from api.free_text import visible

# The audit trail names the operator's and the service's own acts "cli:<os user>" and
# "service:<os user>" (`api.audit.operator_event`): no API user may look like either.
_RESERVED_PREFIXES: Final = ("cli:", "service:")
MAX_USER_NAME: Final = 100  # the users table's column, and every user_name column


def user_name_problem(name: str) -> str | None:
    """Why a name cannot be a user's (the audit trail attributes every act to it), or None."""
    if not visible(name) or name != name.strip():
        return "a user's name must say who it is, with no blanks around it"
    if len(name) > MAX_USER_NAME:
        return f"a user's name is at most {MAX_USER_NAME} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return "a user's name must not hold control or invisible format characters"
    if name.lower().startswith(_RESERVED_PREFIXES):
        return (f"a user's name must not begin {' or '.join(_RESERVED_PREFIXES)}: the audit "
                "trail names the command line's and the service's own acts so")
    return None
