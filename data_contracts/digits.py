"""Whole numbers written in ASCII digits: a header, a setting, a path or a form field.

No heavy imports: the service's request limits and the registry's quick version lookup
use it too.
"""

from __future__ import annotations


def ascii_whole_number(text: str) -> int | None:
    """The number ``text`` writes in ASCII digits only, else None (``str.isdigit`` alone
    also takes other scripts' digits and superscripts, which ``int`` reads or refuses)."""
    return int(text) if text.isascii() and text.isdigit() else None
