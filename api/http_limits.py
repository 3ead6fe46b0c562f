"""Limits on a request's head (its request line and headers), enforced as it is read.

uvicorn's httptools parser takes a request head of any size: one 100 MB header was
buffered whole, held up the worker's other requests for seconds, and a few of them
cost hundreds of megabytes. gunicorn's `limit_request_line`, `limit_request_field_size`
and `limit_request_fields` apply to gunicorn's own parser only, which a uvicorn worker
does not use, so the limits live in the worker's protocol instead:

- a request line (method, target, version) over `MAX_REQUEST_LINE` bytes: 414;
- a header field (name and value) over `MAX_FIELD_BYTES`: 431;
- more than `MAX_FIELDS` header fields: 431;
- a head over `MAX_HEAD_BYTES` in all, counted as the bytes arrive (so a header still
  being sent is refused before it is complete): 431.

The answer is a short JSON `Problem` and the connection is closed (once what the client
was still sending has been dropped, within `LINGER_BYTES` and `LINGER_SECONDS`). A
connection holds at most about `MAX_HEAD_BYTES` plus one read of the socket for a head.
"""

from __future__ import annotations

import json
import logging
from typing import Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.security_headers import security_headers

logger = logging.getLogger(__name__)

MAX_REQUEST_LINE: Final = 8 * 1024
MAX_FIELD_BYTES: Final = 8 * 1024
MAX_FIELDS: Final = 100
MAX_HEAD_BYTES: Final = 64 * 1024
# After a refusal, what the client is still sending is read and dropped, up to this many
# bytes for up to this long, so that the refusal reaches it: closing a socket with
# unread bytes resets the connection, and the client may lose the answer.
LINGER_BYTES: Final = 1024 * 1024
LINGER_SECONDS: Final = 2.0

_REASONS: Final = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
# The headers every response of the app carries (its middleware never sees these).
_SECURITY: Final = b"".join(b"%s: %s\r\n" % (name.lower().encode("latin-1"),
                                              value.encode("latin-1"))
                            for name, value in security_headers().items())


def refusal_bytes(status: int, detail: str) -> bytes:
    """A complete HTTP/1.1 response refusing a request, closing the connection."""
    body = json.dumps({"detail": detail}).encode("utf-8")
    return b"".join([
        b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        _SECURITY,
        b"connection: close\r\n\r\n",
        body,
    ])


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing request heads over the limits above.

    A callback that finds a limit broken notes the refusal and raises, which stops the
    parser; uvicorn then answers "400, invalid request" through `send_400_response`,
    which sends the refusal instead.
    """

    _head_bytes = 0
    _reading_head = False
    _fields = 0
    _refusal: tuple[int, str] | None = None
    _lingering = -1  # bytes dropped since a refusal; -1 before any

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._fields = 0
        self._reading_head = True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_REQUEST_LINE:
            self._stop(414, f"the request target is longer than {MAX_REQUEST_LINE} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if len(name) + len(value) > MAX_FIELD_BYTES:
            self._stop(431, f"a header field is longer than {MAX_FIELD_BYTES} bytes")
        if self._fields > MAX_FIELDS:
            self._stop(431, f"more than {MAX_FIELDS} header fields")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        """Parse `data`; refuse the request once its head passes `MAX_HEAD_BYTES`.

        While a head is incomplete, every byte received counts towards it (a read that
        ends one request and starts the next may count a little of the first).
        """
        if self._lingering >= 0:
            self._lingering += len(data)
            if self._lingering > LINGER_BYTES:
                self.transport.close()
            return
        super().data_received(data)
        if self._reading_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refusal = (431, f"the request head is longer than {MAX_HEAD_BYTES} bytes")
                self.send_400_response("")

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, or the refusal of a head."""
        if self._refusal is None:
            super().send_400_response(msg)
            return
        (status, detail), self._refusal = self._refusal, None
        self._reading_head = False
        client = "{}:{}".format(*self.client) if self.client else "a client"
        logger.warning("refused a request head from %s (%d): %s", client, status, detail)
        self.transport.write(refusal_bytes(status, detail))
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()  # the answer, then end of stream: the client reads it
        self._lingering = 0
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _stop(self, status: int, detail: str) -> None:
        self._refusal = (status, detail)
        raise ValueError(detail)  # stops the parser: uvicorn calls `send_400_response`
