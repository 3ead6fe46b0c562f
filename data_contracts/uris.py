"""A database URL or server address as an error message may show it: no password.

No heavy imports: the store's URL check and the model registry's reachability check
both name the address they could not use, and neither may print a password it holds.
"""

from __future__ import annotations

import re
from typing import Final

HIDDEN: Final = "***"
# The password of ``scheme://user:password@host``  # pragma: allowlist secret
# runs from the user's colon to the last ``@`` (a password written with an unescaped
# ``@`` or ``/`` is hidden whole; showing too little of a host is safer than showing any
# of a password).
_USERINFO_PASSWORD: Final = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^:@/?#]*:).*@")
# libpq and others also take the password as a query parameter (``?password=...``).
_QUERY_PASSWORD: Final = re.compile(r"([?&](?:password|passwd|pwd)=)[^&#]*", re.IGNORECASE)


def masked_uri(uri: str) -> str:
    """``uri`` with any password in it replaced by ``***``."""
    shown = _USERINFO_PASSWORD.sub(rf"\g<1>{HIDDEN}@", uri, count=1)
    return _QUERY_PASSWORD.sub(rf"\g<1>{HIDDEN}", shown)
