"""The API's roles (a module of its own: the command line names them without loading the
web stack)."""

from typing import Final

TRIAGE: Final = "triage"
DATA_SCIENTIST: Final = "data_scientist"
GOVERNANCE: Final = "governance"
ADMIN: Final = "admin"
ROLES: Final[tuple[str, ...]] = (TRIAGE, DATA_SCIENTIST, GOVERNANCE, ADMIN)
