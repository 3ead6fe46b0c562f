"""A JSON body is UTF-8 (RFC 8259, section 8.1), with or without a byte-order mark.

`json.loads`, and so FastAPI's reading of a body, also takes UTF-16 and UTF-32 (it
guesses the encoding from the first bytes), while pydantic's parser (`POST /v1/score`)
takes UTF-8 only: the batch route scored a UTF-16 body that the single route refused as
"Invalid JSON". Every route taking a JSON body (scores, decisions, approvals) refuses
such a body alike, with a 422 saying what to send; a UTF-8 byte-order mark is ignored
(Windows tools write one). The Score page tells a case file so too (`not_utf8`): a
UTF-16 file without a byte-order mark is valid UTF-8 to a decoder (its ASCII characters
each followed by a NUL byte), which read it as "Invalid JSON".
"""

from __future__ import annotations

import codecs
import json

from fastapi import Request
from fastapi.exceptions import RequestValidationError


def not_utf8(received: bytes) -> str | None:
    """The encoding a JSON body's first bytes read as when it is not UTF-8, "UTF-16" or
    "UTF-32", or None. Told by a byte-order mark or, without one, by the NUL bytes among
    the first four: JSON text begins with an ASCII character, so UTF-16 and UTF-32 put
    NULs beside it (RFC 4627, section 3; `json.detect_encoding`)."""
    encoding = json.detect_encoding(received)
    if encoding in ("utf-8", "utf-8-sig"):
        return None
    return encoding.upper().removesuffix("-LE").removesuffix("-BE")


def utf8_body(received: bytes) -> bytes:
    """The body's UTF-8 bytes (a leading byte-order mark left out); RequestValidationError
    (422, ``json_invalid``) for a body whose first bytes read as UTF-16 or UTF-32
    (`not_utf8`)."""
    written = not_utf8(received)
    if written is None:
        return received.removeprefix(codecs.BOM_UTF8)
    raise RequestValidationError([{
        "loc": ("body",), "type": "json_invalid",
        "msg": f"The body reads as {written}, not UTF-8: send the JSON encoded in UTF-8 "
               "(RFC 8259)"}])


async def utf8_json(request: Request) -> None:
    """A route's dependency: its JSON body is UTF-8 (422 otherwise). Declare it after the
    caller's, so that a stranger is asked for a key first."""
    utf8_body(await request.body())
