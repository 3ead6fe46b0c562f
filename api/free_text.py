"""What free text the API and its pages take: no NUL, no direction control, and where a
reason must say something, a visible character."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

MAX_TEXT = 2_000

# Unicode's explicit direction controls (embeddings, overrides, isolates): one in a
# reason can make the case page or a subject access record show its words in another
# order than they were written. Text in a right-to-left script needs none of them.
_DIRECTION_CONTROLS = r"\u202a-\u202e\u2066-\u2069"  # as escapes: the pattern shows them
_REORDERING = re.compile(f"[{_DIRECTION_CONTROLS}]")
# Every character free text refuses (`refuse_hidden_characters`): NUL and the above.
HIDDEN_CHARACTERS = re.compile(f"[\\x00{_DIRECTION_CONTROLS}]")


def refuse_hidden_characters(value: str) -> str:
    """A text value, refused if it holds a NUL character (PostgreSQL cannot store one,
    SQLite can, so both stores refuse it here alike, as a 422) or a direction control."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (U+0000)")
    if found := _REORDERING.search(value):
        raise ValueError(f"must not contain the direction control U+{ord(found[0]):04X}: "
                         "it can show the text in another order than it was written")
    return value


# Characters that show nothing although Unicode does not class them as blank.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_BLANK_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def visible(text: str | None) -> bool:
    """Whether a text holds something a reader can see: a character that is not a space,
    a control or a format character (a zero-width space or a byte-order mark alone is as
    blank as no text)."""
    return any(unicodedata.category(ch) not in _BLANK_CATEGORIES
               and ch not in _INVISIBLE_LETTERS for ch in text or "")


def require_visible(value: str) -> str:
    """A text refused unless `visible`: a reason or a next step must say something."""
    if not visible(value):
        raise ValueError("must not be blank (spaces or invisible characters only)")
    return value


_NO_HIDDEN_CHARACTERS = AfterValidator(refuse_hidden_characters)
_NO_HIDDEN_IN_SCHEMA = Field(json_schema_extra={"pattern": f"^[^\\x00{_DIRECTION_CONTROLS}]*$"})

# Every free text the API takes (body fields and query parameters) is a `PlainText`.
PlainText = Annotated[str, _NO_HIDDEN_CHARACTERS, _NO_HIDDEN_IN_SCHEMA]
# A text's length is checked on the string, before `refuse_hidden_characters`, so a
# refusal counts characters ("String should have at most 2000 characters"): a limit
# put on `PlainText` from outside runs after its validator, and pydantic then says
# "Value should have at most 2000 items".
ShortText = Annotated[str, Field(max_length=MAX_TEXT), _NO_HIDDEN_CHARACTERS,
                      _NO_HIDDEN_IN_SCHEMA]
# A value compared with one of the store's short columns (a user, a referral id, a model
# version: 100 characters), e.g. an audit search's filter; its limit said in characters.
MAX_COLUMN_TEXT = 100
ColumnText = Annotated[str, Field(max_length=MAX_COLUMN_TEXT), _NO_HIDDEN_CHARACTERS,
                       _NO_HIDDEN_IN_SCHEMA]
# Text that must say something (a decision's next step): 1 to MAX_TEXT characters, one
# of them visible.
StatedText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT, pattern=r"\S"),
                       _NO_HIDDEN_CHARACTERS, _NO_HIDDEN_IN_SCHEMA,
                       AfterValidator(require_visible)]
